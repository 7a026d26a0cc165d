/**
 * Encoding benchmarks (castline encoder pool vs bare ffmpeg), on this machine:
 *  1. overhead: CPU seconds of castline encoding a fixed 30 s 640x360@30 input with a 3-rung
 *     ladder ÷ CPU seconds of the same ffmpeg command run bare on the same input (same run);
 *  2. ORIGINAL copy mode vs encode mode: CPU seconds per stream for the same input;
 *  3. streams held in real time: N simultaneous real-time 640x360 publishers, 2-rung ladder.
 *
 * CPU = utime+stime+cutime+cstime of this process (/proc/self/stat): node (all threads) plus every
 * reaped child (ffmpeg, the probe). The bare run spawns ffmpeg with the file as its stdin.
 *
 * Run: npx tsc -p tsconfig.test.json && node dist-test/bench/encoding.js [--quick] [--overhead-only] [--formats mpegts,fmp4] [--reps N]
 */
import { spawn, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { Config } from '../src/config/config';
import type { EncoderReport } from '../src/domain/jobs';
import type { ResolutionRequest } from '../src/domain/settings';
import { ffmpegPath } from '../src/encoding/binaries';
import { buildFfmpegArgs, type EncodingOptions } from '../src/encoding/ffmpeg-args';
import { selectLadder } from '../src/encoding/ladder';
import { h264Level } from '../src/encoding/master';
import { EncoderPool } from '../src/encoding/pool';
import { parseInputDump } from '../src/encoding/probe';
import { LiveHlsRegistry } from '../src/packaging/live-hls';
import { spaceOutFullGcs } from '../src/main';

const quick = process.argv.includes('--quick');
/** `--overhead-only`: only section 1. `--formats mpegts,fmp4` (default both): the segment formats section 1 compares. */
const overheadOnly = process.argv.includes('--overhead-only');
const formatsArg = process.argv.indexOf('--formats');
const formats = (formatsArg >= 0 ? process.argv[formatsArg + 1]! : 'mpegts,fmp4').split(',') as Array<'mpegts' | 'fmp4'>;
const repsArg = process.argv.indexOf('--reps');
const reps = repsArg >= 0 ? Number(process.argv[repsArg + 1]) : quick ? 1 : 3;
const CLK = 100; // USER_HZ
function cpuSeconds(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after comm: state(0) ... utime(11) stime(12) cutime(13) cstime(14)
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK;
}

const encoding = (over: Partial<Config['encoding']> = {}): Config['encoding'] => ({
  capacity: -1, hlsTimeSeconds: 2, hlsLivePlaylistSize: 6, hlsVodMaxSize: 86400, h264Preset: 'veryfast', videoCodec: 'libx264',
  audioCodec: 'aac', pixelFormat: 'yuv420p', originalMode: 'copy', segmentFormat: 'mpegts', partSeconds: 0.333, stopGraceSeconds: 10, stallTimeoutSeconds: 30, maxRestarts: 0, ...over,
});

/** Serves `file` to every receiver: as fast as the socket takes it, or paced at its average byte rate (real time). */
async function fileServer(file: string, seconds: number, paced: boolean): Promise<{ uri: (ch: string) => string; close: () => Promise<void> }> {
  const bytes = fs.readFileSync(file);
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    if (!paced) {
      for (let i = 0; i < bytes.length; i += 65536) ws.send(bytes.subarray(i, i + 65536));
      ws.close();
      return;
    }
    const perTick = Math.ceil(bytes.length / (seconds * 10));
    let offset = 0;
    // Send the first second at once (a GOP cache), then real time.
    const first = perTick * 10;
    ws.send(bytes.subarray(0, first));
    offset = first;
    const timer = setInterval(() => {
      if (offset >= bytes.length) { clearInterval(timer); ws.close(); return; }
      ws.send(bytes.subarray(offset, offset + perTick));
      offset += perTick;
    }, 100);
    ws.on('close', () => clearInterval(timer));
  });
  return {
    uri: (ch) => `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/${ch}/key`,
    close: () => new Promise((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }),
  };
}

let streamCounter = 0;
async function castlineRun(pool: EncoderPool, uri: string, resolutions: ResolutionRequest, channel = 'bench'): Promise<{ exited: EncoderReport; seconds: number; firstMs: number }> {
  const t0 = Date.now();
  let firstMs = -1;
  const exited = await new Promise<EncoderReport>((resolve) => {
    pool.start({ channel, streamId: `bench${(++streamCounter).toString().padStart(27, '0')}`, source: { type: 'WS', uri }, settings: { resolutions, record: false, previews: null }, attempt: 0 }, (r) => {
      if (r.type === 'available' && firstMs < 0) firstMs = Date.now() - t0;
      if (r.type === 'exited') resolve(r);
    });
  });
  return { exited, seconds: (Date.now() - t0) / 1000, firstMs };
}

function bareRun(args: string[], file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = fs.openSync(file, 'r');
    const child = spawn(ffmpegPath, args, { stdio: [fd, 'ignore', 'ignore'] });
    child.on('close', (code) => { fs.closeSync(fd); code === 0 ? resolve() : reject(new Error(`bare ffmpeg exit ${code}`)); });
  });
}

/**
 * castline's encode job (pool, WS input served as fast as it is read) vs the same ffmpeg command
 * run bare on the same file, alternating; CPU seconds of each. `mpegts`: ffmpeg's segment muxer
 * cuts .ts in both. `fmp4`: castline gets every rung as FLV on a pipe and packages CMAF (LL parts
 * to the main thread, .m4s + playlists on disk); the bare command writes the same FLV outputs to
 * files (the same encode, no packaging).
 */
async function overhead(format: 'mpegts' | 'fmp4', run: { work: string; input: string; info: ReturnType<typeof parseInputDump>; root: string; uri: (ch: string) => string; ladder3: ResolutionRequest }): Promise<string> {
  const pool = new EncoderPool({ storageRoot: run.root, encoding: encoding({ segmentFormat: format }), liveHls: { registry: new LiveHlsRegistry(1000), windowSegments: 6 } });
  const options: EncodingOptions = { hlsTimeSeconds: 2, h264Preset: 'veryfast', videoCodec: 'libx264', audioCodec: 'aac', pixelFormat: 'yuv420p', readTimeoutSeconds: 32 };
  const renditions = selectLadder(run.info, run.ladder3, { originalMode: 'copy' });
  const bareDir = path.join(run.work, `bare-${format}`);
  const bareArgs = buildFfmpegArgs({
    source: { type: 'WS', uri: 'unused' }, info: run.info, options, previews: null,
    renditions: renditions.map((r, i) => {
      const d = path.join(bareDir, `r${i}`);
      fs.mkdirSync(d, { recursive: true });
      return { rendition: r, level: h264Level(r.width, r.height, r.fps), target: format === 'mpegts' ? { kind: 'segments' as const, dir: d, startNumber: 0 } : { kind: 'flv-pipe' as const, fd: 3 + i } };
    }),
  }).map((a) => (/^pipe:[3-9]$/.test(a) ? path.join(bareDir, `r${Number(a.slice(5)) - 3}.flv`) : a));
  let castCpu = 0;
  let bareCpu = 0;
  let mainBusy = 0;
  let mainWall = 0;
  for (let i = 0; i < reps; i++) {
    let c0 = cpuSeconds();
    const elu0 = performance.eventLoopUtilization();
    const result = await castlineRun(pool, run.uri(`ov${format}${i}`), run.ladder3, `ov${format}${i}`);
    castCpu += cpuSeconds() - c0;
    const elu = performance.eventLoopUtilization(elu0);
    mainBusy += elu.active;
    mainWall += elu.active + elu.idle;
    if (result.exited.type !== 'exited' || !result.exited.clean) throw new Error(`castline run failed: ${JSON.stringify(result.exited)}`);
    c0 = cpuSeconds();
    await bareRun(bareArgs, run.input);
    bareCpu += cpuSeconds() - c0;
  }
  await pool.close();
  const line = `overhead ${format} (3 rungs ${renditions.map((r) => r.id).join(', ')}; ${reps} alternating runs): castline ${castCpu.toFixed(2)} CPU-s, bare ffmpeg ${bareCpu.toFixed(2)} CPU-s, ratio ${(castCpu / bareCpu).toFixed(3)}; main thread busy ${((mainBusy / mainWall) * 100).toFixed(2)} % of the castline runs (${(mainBusy / 1000).toFixed(2)} s)`;
  console.log(line);
  return line;
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-bench-'));
  const input = path.join(work, 'input.flv');
  const seconds = quick ? 10 : 30;
  spawnSync(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-b:v', '1200k', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k', '-f', 'flv', input]);
  const info = parseInputDump(spawnSync(ffmpegPath, ['-hide_banner', '-i', input], { encoding: 'utf8' }).stderr);
  console.log(`input: ${seconds} s ${info.width}x${info.height}@${info.fps} ${info.videoCodec}/${info.audioCodec}, ${fs.statSync(input).size} bytes; cores: ${os.cpus().length}`);
  const results: string[] = [];

  // 1. Overhead vs bare ffmpeg, 3 rungs, for each segment format.
  const ladder3: ResolutionRequest = { original: false, rungs: [{ width: 640, height: 360, fps: -1, kbps: -1 }, { width: 480, height: 270, fps: -1, kbps: -1 }, { width: 320, height: 180, fps: -1, kbps: -1 }] };
  const root = path.join(work, 'out');
  const pool = new EncoderPool({ storageRoot: root, encoding: encoding() });
  const fast = await fileServer(input, seconds, false);
  for (const format of formats) results.push(await overhead(format, { work, input, info, root, uri: fast.uri, ladder3 }));
  if (overheadOnly) {
    await fast.close();
    await pool.close();
    for (const r of results) console.log(r);
    return;
  }

  // 2. ORIGINAL copy vs encode, CPU per stream.
  const original: ResolutionRequest = { original: true, rungs: [] };
  const copyPool = new EncoderPool({ storageRoot: root, encoding: encoding({ originalMode: 'copy' }) });
  const encodePool = new EncoderPool({ storageRoot: root, encoding: encoding({ originalMode: 'encode' }) });
  let c0 = cpuSeconds();
  await castlineRun(copyPool, fast.uri('copy'), original, 'copy');
  const copyCpu = cpuSeconds() - c0;
  c0 = cpuSeconds();
  await castlineRun(encodePool, fast.uri('enc'), original, 'enc');
  const encodeCpu = cpuSeconds() - c0;
  results.push(`ORIGINAL ${info.width}x${info.height}@${info.fps}, ${seconds} s input: copy ${copyCpu.toFixed(2)} CPU-s (${((copyCpu / seconds) * 100).toFixed(1)} % of a core in real time), encode ${encodeCpu.toFixed(2)} CPU-s (${((encodeCpu / seconds) * 100).toFixed(1)} %)`);
  console.log(results[results.length - 1]);
  await copyPool.close();
  await encodePool.close();
  await fast.close();

  // 3. Real-time streams, 640x360 2-rung ladder.
  const ladder2: ResolutionRequest = { original: false, rungs: [{ width: 640, height: 360, fps: -1, kbps: -1 }, { width: 320, height: 180, fps: -1, kbps: -1 }] };
  const paced = await fileServer(input, seconds, true);
  let held = 0;
  for (let n = 1; n <= (quick ? 2 : 6); n++) {
    const t0 = Date.now();
    const c1 = cpuSeconds();
    const runs = await Promise.all(Array.from({ length: n }, (_, i) => castlineRun(pool, paced.uri(`rt${n}-${i}`), ladder2, `rt${n}-${i}`)));
    const wall = (Date.now() - t0) / 1000;
    const cpu = cpuSeconds() - c1;
    // Real time held if the whole input was encoded within input length + 3 s of slack (start-up, last segment).
    const worst = Math.max(...runs.map((r) => r.seconds));
    const ok = runs.every((r) => r.exited.type === 'exited' && r.exited.clean) && worst <= seconds + 3;
    results.push(`real time, ${n} stream(s) of 640x360 2-rung: slowest finished in ${worst.toFixed(1)} s for ${seconds} s of media, first segment after ${Math.min(...runs.map((r) => r.firstMs))}–${Math.max(...runs.map((r) => r.firstMs))} ms, CPU ${(cpu / wall).toFixed(2)} cores → ${ok ? 'held' : 'NOT held'}`);
    console.log(results[results.length - 1]);
    if (!ok) break;
    held = n;
  }
  results.push(`streams held in real time: ${held}`);
  console.log(results[results.length - 1]);
  await paced.close();
  await pool.close();
  fs.rmSync(work, { recursive: true, force: true });
}

// The V8 heap setting castline's main() makes (this process is the castline measured).
spaceOutFullGcs();
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
