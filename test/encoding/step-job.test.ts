import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MediaStep, StepJob, StepReport } from '../../src/domain/jobs';
import { ffmpegPath } from '../../src/encoding/binaries';
import { parseMediaPlaylist } from '../../src/encoding/playlist';
import { EncoderPool } from '../../src/encoding/pool';
import { parseInputDump } from '../../src/encoding/probe';
import { decodeFile, encodingConfig, probeFile, processesMentioning, sleep, tempRoot } from './helpers';
import { freePort, RtmpSink, RtmpTestSource, TestMediaSource, writeTestFile } from './media-source';

type Exited = Extract<StepReport, { type: 'exited' }>;

function stepCollector() {
  const reports: StepReport[] = [];
  let resolveExited!: (r: Exited) => void;
  const exited = new Promise<Exited>((r) => { resolveExited = r; });
  let resolveActive!: () => void;
  const active = new Promise<void>((r) => { resolveActive = r; });
  const report = (r: StepReport) => {
    reports.push(r);
    if (r.type === 'active') resolveActive();
    else resolveExited(r);
  };
  return { reports, report, exited, active };
}

/** Duration (s), size and codecs of a media file, from ffmpeg's input dump. */
function mediaInfo(file: string): { duration: number; width: number; height: number; codecs: string[]; videoProfile?: string } {
  const res = spawnSync(ffmpegPath, ['-hide_banner', '-i', file], { encoding: 'utf8' });
  const info = parseInputDump(res.stderr);
  const d = /Duration: (\d+):(\d+):([\d.]+)/.exec(res.stderr);
  const duration = d ? Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]) : 0;
  return { duration, width: info.width, height: info.height, codecs: [info.videoCodec, ...(info.audioCodec ? [info.audioCodec] : [])], ...(info.videoProfile ? { videoProfile: info.videoProfile } : {}) };
}

/** Seconds of media in a file, by decoding it (the FLV header of a live copy has no duration). */
function decodedSeconds(file: string): number {
  const res = spawnSync(ffmpegPath, ['-hide_banner', '-nostats', '-v', 'error', '-progress', 'pipe:1', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
  const times = [...res.stdout.matchAll(/out_time_ms=(\d+)/g)].map((m) => Number(m[1]));
  return (times[times.length - 1] ?? 0) / 1e6;
}

describe('workflow step jobs (real ffmpeg)', function () {
  this.timeout(90_000);
  let root: string;
  let tag: string;
  let pool: EncoderPool | null = null;
  const closers: Array<{ close(): unknown }> = [];

  beforeEach(() => {
    root = tempRoot();
    tag = path.basename(root); // in every step URL/path of the test: `ps` finds its processes
  });
  afterEach(async () => {
    await pool?.close();
    pool = null;
    for (const c of closers.splice(0)) await c.close();
    await sleep(100);
    expect(processesMentioning(tag), 'no ffmpeg left behind').to.deep.equal([]);
    fs.rmSync(root, { recursive: true, force: true });
  });

  const newPool = (over: Parameters<typeof encodingConfig>[0] = {}, restartBackoffMs = 200) =>
    (pool = new EncoderPool({ storageRoot: root, encoding: encodingConfig({ stopGraceSeconds: 3, ...over }), restartBackoffMs }));
  const wsSource = async (seconds: number, kind: 'flv' | 'webm' = 'flv') => {
    const s = await TestMediaSource.start({ seconds, kind });
    closers.push(s);
    return s;
  };
  const sink = async (name = 'out.flv') => {
    const s = await RtmpSink.start(path.join(root, name), tag);
    closers.push(s);
    return s;
  };
  const rtmpSource = async (seconds: number) => {
    const s = await RtmpTestSource.start(seconds, tag);
    closers.push(s);
    return s;
  };
  const hlsStep = (over: Partial<Extract<MediaStep, { type: 'ffmpeg_hls' }>> = {}): MediaStep =>
    ({ type: 'ffmpeg_hls', directory: path.join(root, 'hls', 'nested'), name: 'cam', durationSeconds: 1, count: 0, ...over });
  const stepJob = (input: string, step: MediaStep): StepJob => ({ label: `wf/${step.type}/${tag}`, input, step, attempt: 0 });

  it('ffmpeg_hls from WS (/receive): playlist + decodable segments, ENDLIST after the source ends; active then exited clean', async () => {
    const p = newPool();
    const source = await wsSource(4);
    const c = stepCollector();
    p.startStep(stepJob(source.uri('ch', 'key'), hlsStep()), c.report);
    await c.active;
    expect(p.activeSteps).to.equal(1);
    expect(p.active, 'steps do not count as streams').to.equal(0);
    expect(await c.exited).to.deep.equal({ type: 'exited', clean: true });
    expect(c.reports.map((r) => r.type)).to.deep.equal(['active', 'exited']);
    expect(source.paths).to.deep.equal(['/ch/key/receive']);

    const dir = path.join(root, 'hls', 'nested');
    const playlist = parseMediaPlaylist(fs.readFileSync(path.join(dir, 'cam.m3u8'), 'utf8'));
    expect(playlist.ended).to.equal(true);
    expect(playlist.segments.length).to.be.greaterThan(2);
    expect(playlist.segments.map((s) => s.uri)).to.deep.equal(playlist.segments.map((_, i) => `cam-${i}.ts`));
    for (const s of playlist.segments) {
      const file = path.join(dir, s.uri);
      expect(probeFile(file)).to.deep.equal({ width: 320, height: 180, codecs: ['h264', 'aac'] });
      decodeFile(ffmpegPath, file);
    }
  });

  it('ffmpeg_push from WS delivers a decodable FLV to a listening RTMP server', async () => {
    const p = newPool();
    const source = await wsSource(4);
    const target = await sink();
    const c = stepCollector();
    p.startStep(stepJob(source.uri('ch'), { type: 'ffmpeg_push', target: target.url }), c.report);
    expect(await c.exited).to.deep.equal({ type: 'exited', clean: true });
    expect(await target.exited).to.equal(0);
    const info = mediaInfo(target.file);
    expect(info).to.deep.include({ width: 320, height: 180, codecs: ['h264', 'aac'] });
    expect(info.videoProfile, 'video copied, not re-encoded').to.equal('Constrained Baseline');
    decodeFile(ffmpegPath, target.file);
    expect(decodedSeconds(target.file)).to.be.greaterThan(2.5);
  });

  it('ffmpeg_transcode from RTMP: H.264/AAC at the requested size to the output', async () => {
    const p = newPool();
    const input = await rtmpSource(4);
    const out = await sink();
    const c = stepCollector();
    p.startStep(stepJob(input.url, { type: 'ffmpeg_transcode', vcodec: 'h264', acodec: 'aac', preset: 'ultrafast', size: { width: 160, height: 90 }, kbps: 200, output: out.url }), c.report);
    await c.active;
    expect(await c.exited).to.deep.equal({ type: 'exited', clean: true });
    expect(await out.exited).to.equal(0);
    expect(mediaInfo(out.file)).to.deep.include({ width: 160, height: 90, codecs: ['h264', 'aac'] });
    decodeFile(ffmpegPath, out.file);
  });

  it('rtmp_watch from RTMP copies the stream to the output', async () => {
    const p = newPool();
    const input = await rtmpSource(3);
    const out = await sink();
    const c = stepCollector();
    p.startStep(stepJob(input.url, { type: 'rtmp_watch', output: out.url }), c.report);
    expect(await c.exited).to.deep.equal({ type: 'exited', clean: true });
    expect(await out.exited).to.equal(0);
    expect(mediaInfo(out.file)).to.deep.include({ width: 320, height: 180, codecs: ['h264', 'aac'], videoProfile: 'Constrained Baseline' });
    decodeFile(ffmpegPath, out.file);
  });

  it('ffmpeg_pull from a local H.264/AAC file publishes it (copied, in real time)', async () => {
    const p = newPool();
    const file = path.join(root, `in-${tag}.mp4`);
    writeTestFile(file, 3);
    const out = await sink();
    const c = stepCollector();
    const t0 = Date.now();
    p.startStep(stepJob(file, { type: 'ffmpeg_pull', output: out.url }), c.report);
    expect(await c.exited).to.deep.equal({ type: 'exited', clean: true });
    expect(Date.now() - t0, 'read at native rate (-re)').to.be.greaterThan(2500);
    expect(await out.exited).to.equal(0);
    expect(mediaInfo(out.file)).to.deep.include({ width: 320, height: 180, codecs: ['h264', 'aac'], videoProfile: 'Constrained Baseline' });
    expect(decodedSeconds(out.file)).to.be.within(2.5, 3.5);
  });

  it('ffmpeg_pull from a VP8/Opus file: encoded to H.264/AAC (FLV cannot carry them)', async () => {
    const p = newPool();
    const file = path.join(root, `in-${tag}.webm`);
    writeTestFile(file, 2);
    const out = await sink();
    const c = stepCollector();
    p.startStep(stepJob(file, { type: 'ffmpeg_pull', output: out.url }), c.report);
    expect(await c.exited).to.deep.equal({ type: 'exited', clean: true });
    expect(await out.exited).to.equal(0);
    expect(mediaInfo(out.file)).to.deep.include({ width: 320, height: 180, codecs: ['h264', 'aac'] });
    decodeFile(ffmpegPath, out.file);
  });

  it('ffmpeg_hls from a browser WS input (WebM): encoded to H.264/AAC segments', async () => {
    const p = newPool();
    const source = await wsSource(3, 'webm');
    const c = stepCollector();
    p.startStep(stepJob(source.uri('ch'), hlsStep({ count: 2 })), c.report);
    expect(await c.exited).to.deep.equal({ type: 'exited', clean: true });
    const dir = path.join(root, 'hls', 'nested');
    const playlist = parseMediaPlaylist(fs.readFileSync(path.join(dir, 'cam.m3u8'), 'utf8'));
    expect(playlist.ended).to.equal(true);
    expect(playlist.segments.length).to.be.within(1, 2);
    expect(probeFile(path.join(dir, playlist.segments[0]!.uri)).codecs).to.deep.equal(['h264', 'aac']);
  });

  it('push to a closed port: restarted with backoff, then exited STEP_FAILED with ffmpeg\'s error', async () => {
    const p = newPool({ maxRestarts: 2 }, 300);
    const source = await wsSource(30);
    const port = await freePort();
    const c = stepCollector();
    const t0 = Date.now();
    p.startStep(stepJob(source.uri('ch'), { type: 'ffmpeg_push', target: `rtmp://127.0.0.1:${port}/app/${tag}` }), c.report);
    const exit = await c.exited;
    const elapsed = Date.now() - t0;
    expect(exit.clean).to.equal(false);
    expect(exit.error?.code).to.equal('STEP_FAILED');
    expect(exit.error?.message).to.match(/exited with code 1: .*Connection refused.*\(after 2 restart\(s\)\)$/);
    expect(c.reports.map((r) => r.type)).to.deep.equal(['exited']);
    expect(source.connections, 'the input is reconnected before each restart').to.equal(3);
    expect(elapsed, 'backoff 300 ms then 600 ms').to.be.greaterThan(900);
    expect(p.activeSteps).to.equal(0);
  });

  it('stop() on a WS input: EOF, ENDLIST, exited clean; idempotent', async () => {
    const p = newPool();
    const source = await wsSource(30);
    const c = stepCollector();
    const handle = p.startStep(stepJob(source.uri('ch'), hlsStep()), c.report);
    await c.active;
    await sleep(1500);
    const t0 = Date.now();
    handle.stop();
    handle.stop();
    expect(await c.exited).to.deep.equal({ type: 'exited', clean: true });
    expect(Date.now() - t0).to.be.lessThan(3000);
    handle.stop();
    const playlist = parseMediaPlaylist(fs.readFileSync(path.join(root, 'hls', 'nested', 'cam.m3u8'), 'utf8'));
    expect(playlist.ended).to.equal(true);
    expect(playlist.segments.length).to.be.greaterThan(0);
  });

  it('stop() on an RTMP input: SIGINT, ffmpeg writes ENDLIST, exited clean', async () => {
    const p = newPool();
    const input = await rtmpSource(30);
    const c = stepCollector();
    const handle = p.startStep(stepJob(input.url, hlsStep()), c.report);
    await c.active;
    await sleep(1500);
    const t0 = Date.now();
    handle.stop();
    expect(await c.exited).to.deep.equal({ type: 'exited', clean: true });
    expect(Date.now() - t0).to.be.lessThan(3000);
    const text = fs.readFileSync(path.join(root, 'hls', 'nested', 'cam.m3u8'), 'utf8');
    expect(text.match(/#EXT-X-ENDLIST/g), 'written once, by ffmpeg').to.have.length(1);
  });

  it('RTMP input: ffmpeg killed mid-stream, the reconnect is refused (stream over) → exited clean, playlist ended', async () => {
    const p = newPool();
    const input = await rtmpSource(30); // serves one player only: a second connection is refused
    const c = stepCollector();
    p.startStep(stepJob(input.url, hlsStep()), c.report);
    await c.active;
    await sleep(1500);
    const pids = p.childPids;
    expect(pids).to.have.length(1);
    process.kill(pids[0]!, 'SIGKILL');
    expect(await c.exited).to.deep.equal({ type: 'exited', clean: true });
    const text = fs.readFileSync(path.join(root, 'hls', 'nested', 'cam.m3u8'), 'utf8');
    expect(parseMediaPlaylist(text).ended, 'ENDLIST added for the killed ffmpeg').to.equal(true);
  });

  it('WS input: ffmpeg killed mid-stream → restarted; the playlist continues after a DISCONTINUITY', async () => {
    const p = newPool();
    const source = await wsSource(7);
    const c = stepCollector();
    p.startStep(stepJob(source.uri('ch'), hlsStep()), c.report);
    await c.active;
    await sleep(2000);
    process.kill(p.childPids[0]!, 'SIGKILL');
    expect(await c.exited).to.deep.equal({ type: 'exited', clean: true });
    expect(source.connections).to.equal(2);
    expect(c.reports.map((r) => r.type), 'active once per job').to.deep.equal(['active', 'exited']);
    const playlist = parseMediaPlaylist(fs.readFileSync(path.join(root, 'hls', 'nested', 'cam.m3u8'), 'utf8'));
    expect(playlist.ended).to.equal(true);
    expect(playlist.segments.map((s) => s.uri)).to.deep.equal(playlist.segments.map((_, i) => `cam-${i}.ts`));
    expect(playlist.segments.filter((s) => s.discontinuity)).to.have.length(1);
  });

  it('pool.close() stops every step (clean) and leaves no ffmpeg; later steps are refused with SHUTTING_DOWN', async () => {
    const p = newPool();
    const source = await wsSource(30);
    const input = await rtmpSource(30);
    const out = await sink();
    const a = stepCollector();
    const b = stepCollector();
    p.startStep(stepJob(source.uri('ch'), hlsStep()), a.report);
    p.startStep(stepJob(input.url, { type: 'rtmp_watch', output: out.url }), b.report);
    await a.active;
    await b.active;
    expect(p.childPids).to.have.length(2);
    await p.close();
    expect(await a.exited).to.deep.equal({ type: 'exited', clean: true });
    expect(await b.exited).to.deep.equal({ type: 'exited', clean: true });
    expect(processesMentioning(path.join(root, 'hls'))).to.deep.equal([]);
    expect(processesMentioning(`-i ${input.url}`)).to.deep.equal([]);
    const d = stepCollector();
    p.startStep(stepJob(source.uri('ch'), hlsStep()), d.report);
    expect((await d.exited).error?.code).to.equal('SHUTTING_DOWN');
  });

  it('worker thread killed: WORKER_DIED for its steps (WS and RTMP inputs), their ffmpeg gone (no orphan), playlists ended', async () => {
    const p = (pool = new EncoderPool({ storageRoot: root, encoding: encodingConfig({ stopGraceSeconds: 3 }), maxThreads: 1 }));
    const source = await wsSource(30);
    const input = await rtmpSource(30);
    const a = stepCollector();
    const b = stepCollector();
    p.startStep(stepJob(source.uri('ch'), hlsStep()), a.report);
    p.startStep(stepJob(input.url, hlsStep({ name: 'rtmp' })), b.report);
    await a.active;
    await b.active;
    await sleep(1200);
    const pids = p.childPids;
    expect(pids).to.have.length(2);
    expect(p.stepThreads).to.have.length(1);
    await p.stepThreads[0]!.terminate();
    for (const c of [a, b]) {
      const exit = await c.exited;
      expect(exit.clean).to.equal(false);
      expect(exit.error?.code).to.equal('WORKER_DIED');
    }
    for (const pid of pids) {
      // Gone, or a zombie: its parent thread's event loop, which would reap it, died with the worker.
      const status = fs.existsSync(`/proc/${pid}/status`) ? fs.readFileSync(`/proc/${pid}/status`, 'utf8') : 'State:\tX';
      expect(status, 'ffmpeg of the dead worker is gone').to.match(/State:\s+[ZX]/);
    }
    expect(p.childPids).to.deep.equal([]);
    for (const name of ['cam', 'rtmp']) {
      const playlist = parseMediaPlaylist(fs.readFileSync(path.join(root, 'hls', 'nested', `${name}.m3u8`), 'utf8'));
      expect(playlist.ended, name).to.equal(true);
      expect(playlist.segments.length, name).to.be.greaterThan(0);
    }
  });

  it('stop(): an ffmpeg that ignores SIGINT is SIGKILLed after stopGraceSeconds and the exit is not clean', async () => {
    // A stand-in for ffmpeg: reports progress, ignores SIGINT (kept across exec), never ends.
    const fake = path.join(root, 'fake-ffmpeg.sh');
    fs.writeFileSync(fake, "#!/bin/sh\ntrap '' INT\necho out_time_ms=1000000\necho progress=continue\nexec sleep 60\n", { mode: 0o755 });
    const p = (pool = new EncoderPool({ storageRoot: root, encoding: encodingConfig({ stopGraceSeconds: 1 }), ffmpegPath: fake }));
    const c = stepCollector();
    const handle = p.startStep(stepJob(`rtmp://127.0.0.1:1/live/${tag}`, { type: 'rtmp_watch', output: `rtmp://127.0.0.1:1/w/${tag}` }), c.report);
    await c.active;
    const pids = p.childPids;
    const t0 = Date.now();
    handle.stop();
    const exit = await c.exited;
    expect(Date.now() - t0).to.be.within(900, 3000);
    expect(exit.clean).to.equal(false);
    expect(exit.error?.code).to.equal('STEP_FAILED');
    expect(exit.error?.message).to.match(/did not finish within 1 s/);
    await sleep(100);
    expect(fs.existsSync(`/proc/${pids[0]}`) && !/State:\s+[ZX]/.test(fs.readFileSync(`/proc/${pids[0]}/status`, 'utf8'))).to.equal(false);
  });

  it('START_FAILED: invalid step, unsupported input, unreadable pull location, RTMP input not there', async () => {
    const p = newPool();
    const port = await freePort();
    const cases: Array<[StepJob, RegExp]> = [
      [stepJob('ws://127.0.0.1:1/ch/k', hlsStep({ directory: 'relative' })), /not absolute/],
      [stepJob('/some/file.mp4', { type: 'ffmpeg_push', target: 'rtmp://127.0.0.1/a/b' }), /unsupported step input/],
      [stepJob(path.join(root, `missing-${tag}.mp4`), { type: 'ffmpeg_pull', output: 'rtmp://127.0.0.1/a/b' }), /cannot read .*No such file/],
      [stepJob(`rtmp://127.0.0.1:${port}/live/${tag}`, hlsStep()), /could not be opened: .*Connection refused/],
    ];
    for (const [job, message] of cases) {
      const c = stepCollector();
      p.startStep(job, c.report);
      const exit = await c.exited;
      expect(exit.error?.code, job.label).to.equal('START_FAILED');
      expect(exit.error?.message).to.match(message);
    }
  });

  it('WS input that goes silent (socket open): INPUT_STALLED, playlist ended', async () => {
    const p = newPool({ stallTimeoutSeconds: 2 });
    const source = await TestMediaSource.start({ seconds: 30, kind: 'stall' });
    closers.push(source);
    const c = stepCollector();
    p.startStep(stepJob(source.uri('ch'), hlsStep()), c.report);
    const exit = await c.exited;
    expect(exit.error?.code).to.equal('INPUT_STALLED');
    const file = path.join(root, 'hls', 'nested', 'cam.m3u8');
    if (fs.existsSync(file)) expect(parseMediaPlaylist(fs.readFileSync(file, 'utf8')).ended).to.equal(true);
  });
});
