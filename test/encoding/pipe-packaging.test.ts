/**
 * The worker's packager of ffmpeg's FLV pipes and the main thread's LL-HLS stores it feeds, joined
 * as the pool joins them (events through a real MessageChannel, buffers transferred): a real FLV
 * stream in chunks cut anywhere, files on a real disk, the store the HLS server reads; restarts
 * and media castline cannot package.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { MessageChannel } from 'node:worker_threads';
import { LiveRenditions } from '../../src/encoding/live-renditions';
import { initialOutputs, StreamOutputs, type OutputsState } from '../../src/encoding/outputs';
import { PipePackaging } from '../../src/encoding/pipe-packaging';
import type { WorkerToMain } from '../../src/encoding/worker.types';
import { LiveHlsRegistry } from '../../src/packaging/live-hls';
import type { PartStore } from '../../src/packaging/part-store';
import { FileStorage } from '../../src/storage/filesystem';
import { decodeFrames, makeFlv, tempDir } from '../packaging/media';
import { readableSegment } from './helpers';

const ref = { channel: 'ch', streamId: '0123456789abcdef0123456789abcdef' };
const rendition = { id: '320x180-30', width: 320, height: 180, fps: 30, videoKbps: 300, bitrateRequested: false, audioKbps: 64, mode: 'encode' as const, original: false };
const info = { width: 320, height: 180, fps: 30, videoCodec: 'h264', audioCodec: 'aac', formatName: 'flv' };
const timing = { partSeconds: 0.333, segmentSeconds: 1 };

/** `bytes` in chunks of `size` (tags split across chunks). */
const chunked = (bytes: Buffer, size: number) => Readable.from(Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size)));

interface Run {
  invalid: string[];
  storageErrors: Error[];
  packaging: PipePackaging;
}

/** One run: the worker side posts on a real port; the main side applies what arrives. */
async function packageRun(state: OutputsState, outputs: StreamOutputs, live: LiveRenditions, input: Readable): Promise<Run> {
  const { port1, port2 } = new MessageChannel();
  const received = new Promise<void>((resolve) => {
    port1.on('message', (m: WorkerToMain | { type: 'done' }) => {
      if (m.type === 'live') live.apply(m.rendition, m.event);
      if (m.type === 'done') resolve();
    });
  });
  const run: Run = { invalid: [], storageErrors: [], packaging: null as unknown as PipePackaging };
  run.packaging = new PipePackaging({
    state, outputs, timing,
    post: (id, event, transfer) => port2.postMessage({ type: 'live', rendition: id, event }, transfer),
    onStorageError: (err) => run.storageErrors.push(err),
    onInvalid: (message) => run.invalid.push(message),
    onWarning: () => undefined,
  });
  run.packaging.attach([input]);
  await new Promise((resolve) => input.on('end', resolve));
  run.packaging.end();
  await outputs.flush();
  port2.postMessage({ type: 'done' });
  await received;
  port1.close();
  return run;
}

describe('encoding: FLV pipes packaged on the worker, LL-HLS stores on the main thread', function () {
  this.timeout(60_000);
  let root: string;
  let flv: Buffer;

  before(() => {
    root = tempDir('pipe-packaging');
    flv = fs.readFileSync(makeFlv(root, { seconds: 3, fps: 30, gop: 30, bframes: 2 }));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('a stream in arbitrary chunks → init.mp4 + {n}.m4s on disk and the same segments in the registered store; a restart continues with a discontinuity', async () => {
    const state = initialOutputs(ref, { hlsTime: 1, liveSize: 6, vodMaxSize: 100, record: false, format: 'fmp4' }, info, [rendition], null);
    const outputs = new StreamOutputs(state, new FileStorage(path.join(root, 'a')), () => undefined, () => undefined);
    const registry = new LiveHlsRegistry(60_000);
    const live = new LiveRenditions(ref, { registry, timing, windowSegments: 8 });
    const first = await packageRun(state, outputs, live, chunked(flv, 1000));
    expect(first.invalid).to.deep.equal([]);
    expect(first.storageErrors).to.deep.equal([]);
    expect(first.packaging.segments).to.equal(3);
    const store = registry.stream(ref.channel, ref.streamId)!.renditions.get(rendition.id) as PartStore;
    expect(store.window().map((s) => s.msn)).to.deep.equal([0, 1, 2]);
    const dir = path.join(root, 'a', 'hls', ref.channel, ref.streamId, rendition.id);
    expect(fs.readFileSync(path.join(dir, '1.m4s')).equals(store.segmentData(1)!), 'disk and memory hold the same segment').to.equal(true);
    expect(decodeFrames(readableSegment(dir, '2.m4s')).filter((f) => f.stream === 0)).to.have.length(30);

    await outputs.restart(); // what the job does before the next ffmpeg run
    await packageRun(state, outputs, live, chunked(flv, 7777));
    expect(store.window().map((s) => `${s.msn}${s.discontinuity ? 'd' : ''}`)).to.deep.equal(['0', '1', '2', '3d', '4', '5']);
    expect(fs.readFileSync(path.join(dir, 'live.m3u8'), 'utf8')).to.match(/2\.m4s\n#EXT-X-DISCONTINUITY\n#EXTINF:[\d.]+,\n3\.m4s/);
    live.end();
    expect(store.isEnded).to.equal(true);
  });

  it('bytes that are not FLV, and a codec change mid-run, are invalid media (the job then stops ffmpeg and ends INVALID_MEDIA)', async () => {
    const state = initialOutputs(ref, { hlsTime: 1, liveSize: 6, vodMaxSize: 100, record: false, format: 'fmp4' }, info, [rendition], null);
    const outputs = new StreamOutputs(state, new FileStorage(path.join(root, 'b')), () => undefined, () => undefined);
    const live = new LiveRenditions(ref, { registry: new LiveHlsRegistry(60_000), timing, windowSegments: 8 });
    const garbage = await packageRun(state, outputs, live, Readable.from([Buffer.from('this is not an FLV stream at all')]));
    expect(garbage.invalid).to.deep.equal(['not an FLV stream']);
    expect(garbage.packaging.segments).to.equal(0);

    const other = fs.readFileSync(makeFlv(root, { seconds: 2, fps: 30, gop: 30, width: 160, height: 90, name: 'small.flv' }));
    // The second file's tags after the first's: its AVC sequence header differs (another size).
    const spliced = Buffer.concat([flv, other.subarray(13)]);
    const changed = await packageRun(state, outputs, live, chunked(spliced, 4096));
    expect(changed.invalid).to.deep.equal(['the video codec configuration changed mid-stream']);
  });
});
