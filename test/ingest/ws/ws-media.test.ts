/**
 * Real media through the WS ingest: ffmpeg publishes FLV (H.264/AAC) and WebM (VP8/Opus) over a
 * `ws` client; receivers write what they get to files that ffprobe must decode.
 */
import { expect } from 'chai';
import { spawn, execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ffmpegPath, ffprobePath } from '../../../src/encoding/binaries';
import { Client, sleep, startServer, testConfig, until, type TestServer } from './ws-helpers';

const run = promisify(execFile);

/** Runs ffmpeg and resolves with its stdout in the chunks it wrote (one per 'data' event). */
function ffmpegChunks(args: string[]): Promise<Buffer[]> {
  return new Promise((resolve, rejectRun) => {
    const ff = spawn(ffmpegPath, ['-hide_banner', '-loglevel', 'error', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    ff.stdout.on('data', (c: Buffer) => chunks.push(c));
    ff.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    ff.on('error', rejectRun);
    ff.on('close', (code) => (code === 0 ? resolve(chunks) : rejectRun(new Error(`ffmpeg exited ${code}: ${stderr}`))));
  });
}

interface Probe {
  duration: number;
  video?: { width: number; height: number; frames: number };
  audio: boolean;
}

async function probe(file: string): Promise<Probe> {
  const { stdout } = await run(ffprobePath, [
    '-v', 'error', '-count_frames', '-show_entries', 'format=duration:stream=codec_type,width,height,nb_read_frames', '-of', 'json', file,
  ]);
  const json = JSON.parse(stdout) as {
    format: { duration?: string };
    streams: Array<{ codec_type: string; width?: number; height?: number; nb_read_frames?: string }>;
  };
  const v = json.streams.find((s) => s.codec_type === 'video');
  return {
    duration: Number(json.format.duration ?? 0),
    video: v === undefined ? undefined : { width: v.width ?? 0, height: v.height ?? 0, frames: Number(v.nb_read_frames ?? 0) },
    audio: json.streams.some((s) => s.codec_type === 'audio'),
  };
}

const lavfi = (seconds: number) => [
  '-f', 'lavfi', '-i', `testsrc=size=320x180:rate=30:duration=${seconds}`,
  '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`,
];

describe('ws ingest: real media', function () {
  this.timeout(60_000);
  let srv: TestServer;
  let dir: string;
  before(async () => {
    srv = await startServer(testConfig({ gopCacheBytes: 24 * 1024, wsMaxMessageBytes: 4 * 1024 * 1024 }));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-ws-'));
  });
  after(async () => {
    await srv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('FLV from ffmpeg: a waiting receiver gets a decodable stream; EOF when the publisher leaves', async () => {
    const receiver = new Client(srv.url('/flv/k1/receive'));
    await receiver.opened;
    const pub = new Client(srv.url('/flv/k1/publish'));
    await pub.opened;
    const ff = spawn(ffmpegPath, [
      '-hide_banner', '-loglevel', 'error', ...lavfi(3),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-c:a', 'aac', '-f', 'flv', 'pipe:1',
    ], { stdio: ['ignore', 'pipe', 'ignore'] });
    ff.stdout.on('data', (c: Buffer) => pub.send(c));
    await new Promise((r) => ff.on('close', r));
    await pub.flush();
    pub.ws.close(1000);
    expect((await receiver.closed).code).to.equal(1000);
    const file = path.join(dir, 'flv.flv');
    fs.writeFileSync(file, receiver.bytes);
    const p = await probe(file);
    expect(p.video).to.deep.include({ width: 320, height: 180 });
    expect(p.video!.frames).to.be.within(85, 95);
    expect(p.audio).to.equal(true);
    expect(p.duration).to.be.within(2.8, 3.3);
  });

  it('WebM in arbitrary slices: a late receiver still decodes (header kept, old chunks evicted)', async () => {
    const webm = Buffer.concat(await ffmpegChunks([
      ...lavfi(4), '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '400k', '-g', '30', '-c:a', 'libopus', '-f', 'webm', 'pipe:1',
    ]));
    // chunk 0 = everything before the first Cluster (EBML + Segment + Tracks), as MediaRecorder does
    const firstCluster = webm.indexOf(Buffer.from([0x1f, 0x43, 0xb6, 0x75]));
    expect(firstCluster).to.be.greaterThan(0);
    const slices: Buffer[] = [webm.subarray(0, firstCluster)];
    let seed = 7;
    for (let at = firstCluster; at < webm.length; ) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const size = 500 + (seed % 9000);
      slices.push(webm.subarray(at, Math.min(webm.length, at + size)));
      at += size;
    }
    const pub = new Client(srv.url('/webm/k2/publish'));
    await pub.opened;
    const early = new Client(srv.url('/webm/k2/receive'));
    await early.opened;
    const half = Math.floor(slices.length / 2);
    for (const s of slices.slice(0, half)) pub.send(s);
    await pub.flush();
    await sleep(100);
    const late = new Client(srv.url('/webm/k2/receive'));
    await until(() => late.binary.length > 0, 5000, 'late replay');
    for (const s of slices.slice(half)) pub.send(s);
    await pub.flush();
    pub.ws.close(1000);
    await Promise.all([early.closed, late.closed]);

    expect(early.bytes.equals(webm)).to.equal(true);
    expect(late.bytes.length).to.be.lessThan(webm.length * 0.75); // it really joined late
    expect(late.bytes.subarray(0, firstCluster).equals(webm.subarray(0, firstCluster))).to.equal(true);
    const file = path.join(dir, 'late.webm');
    fs.writeFileSync(file, late.bytes);
    const p = await probe(file);
    expect(p.video).to.deep.include({ width: 320, height: 180 });
    expect(p.video!.frames).to.be.greaterThan(20);
  });

  it('FLV: probe gets the header, the encoder consumer (receive-clear-cache) the whole stream', async () => {
    const pub = new Client(srv.url('/enc/k3/publish'));
    await pub.opened;
    const chunks = await ffmpegChunks([...lavfi(2), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-c:a', 'aac', '-f', 'flv', 'pipe:1']);
    pub.send(chunks[0]!);
    await pub.flush();
    const probeClient = new Client(srv.url('/enc/k3/probe'));
    await probeClient.closed;
    expect(probeClient.binary).to.have.length(1);
    expect(probeClient.binary[0]!.subarray(0, 3).toString()).to.equal('FLV');
    const encoder = new Client(srv.url('/enc/k3/receive-clear-cache'));
    await encoder.opened;
    for (const c of chunks.slice(1)) pub.send(c);
    await pub.flush();
    pub.ws.close(1000);
    await encoder.closed;
    expect(encoder.bytes.equals(Buffer.concat(chunks))).to.equal(true);
    const file = path.join(dir, 'enc.flv');
    fs.writeFileSync(file, encoder.bytes);
    const p = await probe(file);
    expect(p.video!.frames).to.be.within(55, 65);
  });
});
