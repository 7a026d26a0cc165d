/**
 * Passthrough CPU per stream: N concurrent RTMP publishers of the same 720p30 ~3 Mbit/s H.264 +
 * AAC file (`-c copy`, real time, looped) into
 *   - castline with HLS_SEGMENT_FORMAT=fmp4 (packaged in-process: no ffmpeg),
 *   - castline with HLS_SEGMENT_FORMAT=mpegts (one ffmpeg copy process per stream, as before),
 *   - nginx-rtmp (`hls on`, Debian's nginx + libnginx-mod-rtmp), when installed,
 * one after the other in the same run. CPU = utime+stime of the server process and of its child
 * processes (castline's ffmpeg, nginx's workers), read from /proc at the start and the end of the
 * measured window (after a warm-up). Publishers are not counted. Every mode must produce HLS for
 * every stream (checked). Output: CPU-% of one core per stream, and the ratios.
 *
 * Usage: npx tsc -p tsconfig.test.json && [MODES=fmp4,mpegts,nginx] [ROUNDS=1] node dist-test/bench/passthrough-cpu.js [streams=20] [seconds=30]
 * `ROUNDS=n` runs the modes n times, interleaved (fmp4, nginx, fmp4, nginx, …), and prints each
 * run and the median. Mode `base` runs another build of castline with fmp4 (a before/after in the
 * same run): `BASE_MAIN=/path/to/other/dist-test/src/main.js`. Modes `fmp4-heap` and `base-heap` add
 * the V8 flag `npm start` passed before castline set its heap growth itself
 * (`--initial-old-space-size=128`); plain `fmp4` and `base` run `node main.js` as a user does.
 * `CASTLINE_NODE_ARGS` adds node flags to every castline (e.g. `--cpu-prof`), `CASTLINE_STDOUT=file`
 * keeps its stdout (`--trace-gc`), `THREADS=1` (or `tid`) prints its CPU by thread.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ffmpegPath } from '../src/encoding/binaries';
import { findNginx, NginxRtmp } from './latency-nginx';
import { freePort } from '../test/helpers/process';

const STREAMS = Number(process.argv[2] ?? 20);
const SECONDS = Number(process.argv[3] ?? 30);
const WARMUP_SECONDS = 8;
const TICKS = 100; // USER_HZ

function cpuTicks(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** utime/stime ticks of each thread of `pid`, keyed by `name/tid`. */
function threadTicks(pid: number): Map<string, [number, number]> {
  const m = new Map<string, [number, number]>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = f.slice(f.indexOf('(') + 1, f.lastIndexOf(')'));
      const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
      m.set(`${name}/${tid}`, [Number(fields[11]), Number(fields[12])]);
    } catch {
      // gone
    }
  }
  return m;
}

/** THREADS=1: where the server's CPU went, by thread name (user / system seconds). */
function printThreads(before: Map<string, [number, number]>, after: Map<string, [number, number]>): void {
  const byName = new Map<string, [number, number]>();
  for (const [key, [u, s]] of after) {
    const [u0, s0] = before.get(key) ?? [0, 0];
    const name = process.env.THREADS === "tid" ? key : key.slice(0, key.lastIndexOf("/"));
    const sum = byName.get(name) ?? [0, 0];
    byName.set(name, [sum[0] + (u - u0) / TICKS, sum[1] + (s - s0) / TICKS]);
  }
  for (const [name, [u, s]] of [...byName].sort((a, b) => b[1][0] + b[1][1] - a[1][0] - a[1][1])) {
    if (u + s > 0) console.log(`  thread ${name.padEnd(18)} user ${u.toFixed(2)} s, system ${s.toFixed(2)} s`);
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(f.slice(f.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

/** CPU ticks of `pid` and its children, by pid. */
function snapshot(pid: number): Map<number, number> {
  const m = new Map<number, number>([[pid, cpuTicks(pid)]]);
  for (const child of childrenOf(pid)) m.set(child, cpuTicks(child));
  return m;
}

/** CPU seconds used between two snapshots (a process present in both, or started in between). */
function used(before: Map<number, number>, after: Map<number, number>): number {
  let ticks = 0;
  for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0);
  return ticks / TICKS;
}

function makeSource(dir: string): string {
  const file = path.join(dir, 'source-720p.flv');
  execFileSync(ffmpegPath, [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=20', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=20',
    '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '3000k', '-maxrate', '3000k', '-bufsize', '6000k', '-g', '60', '-bf', '2', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '128k', '-f', 'flv', file,
  ]);
  return file;
}

function publishers(urls: string[], file: string): ChildProcess[] {
  return urls.map((url) => spawn(ffmpegPath, ['-v', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'flv', url], { stdio: 'ignore' }));
}

interface Server {
  pid: number;
  urls: string[];
  /** HLS outputs present for how many streams. */
  produced(): number;
  stop(): Promise<void>;
}

/** The V8 flag `npm start` passed until castline set its heap growth at start: modes `*-heap` add it. */
const START_NODE_ARGS = ['--initial-old-space-size=128'];

async function startCastline(format: 'fmp4' | 'mpegts', dir: string, main = path.resolve(__dirname, '../src/main.js'), nodeArgs: string[] = []): Promise<Server> {
  const rtmpPort = await freePort();
  const httpPort = await freePort();
  const data = fs.mkdtempSync(path.join(dir, `castline-${format}-`));
  const child = spawn(process.execPath, [...nodeArgs, ...(process.env.CASTLINE_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''), main], {
    cwd: data,
    env: { PATH: process.env.PATH ?? '', RTMP_PORT: String(rtmpPort), HTTP_PORT: String(httpPort), BIND_ADDRESS: '127.0.0.1', HLS_SEGMENT_FORMAT: format, ENCODER_CAPACITY: '-1', LOG_LEVEL: 'warn', STUDIO_ENABLED: 'false' },
    // CASTLINE_STDOUT=file keeps the server's stdout (e.g. with CASTLINE_NODE_ARGS=--trace-gc).
    stdio: ['ignore', process.env.CASTLINE_STDOUT === undefined ? 'ignore' : fs.openSync(process.env.CASTLINE_STDOUT, 'a'), 'inherit'],
  });
  const deadline = Date.now() + 15_000;
  while ((await fetch(`http://127.0.0.1:${httpPort}/livez`).catch(() => null))?.status !== 200) {
    if (Date.now() > deadline) throw new Error('castline did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const ext = format === 'fmp4' ? '.m4s' : '.ts';
  return {
    pid: child.pid!,
    urls: Array.from({ length: STREAMS }, (_, i) => `rtmp://127.0.0.1:${rtmpPort}/bench${i}/key`),
    produced: () => Array.from({ length: STREAMS }, (_, i) => path.join(data, 'data', 'hls', `bench${i}`)).filter((d) => fs.existsSync(d) && findFile(d, ext)).length,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function findFile(dir: string, ext: string): boolean {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory() ? findFile(path.join(dir, e.name), ext) : e.name.endsWith(ext)) return true;
  }
  return false;
}

async function startNginx(): Promise<Server | null> {
  const found = findNginx();
  if (!found.ok) {
    console.log(`nginx-rtmp: skipped (${found.reason})`);
    return null;
  }
  const nginx = new NginxRtmp(found.bin, 2);
  await nginx.start();
  return {
    pid: nginx.pid,
    urls: Array.from({ length: STREAMS }, (_, i) => `rtmp://127.0.0.1:${nginx.rtmpPort}/live/bench${i}`),
    produced: () => Array.from({ length: STREAMS }, (_, i) => nginx.playlist(`bench${i}`)).filter((f) => fs.existsSync(f)).length,
    stop: () => nginx.stop(),
  };
}

async function measure(name: string, server: Server, file: string): Promise<number> {
  const pubs = publishers(server.urls, file);
  await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1000));
  const threads = process.env.THREADS === undefined ? null : threadTicks(server.pid);
  const before = snapshot(server.pid);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const after = snapshot(server.pid);
  const rss = rssMb(server.pid);
  if (threads !== null) printThreads(threads, threadTicks(server.pid));
  const produced = server.produced();
  for (const p of pubs) p.kill('SIGKILL');
  await server.stop();
  const perStream = (used(before, after) / SECONDS / STREAMS) * 100;
  console.log(`${name.padEnd(36)} ${perStream.toFixed(2)} % of a core per stream (${used(before, after).toFixed(1)} CPU-s in ${SECONDS} s, ${STREAMS} streams, HLS for ${produced}/${STREAMS}, server RSS ${rss} MB)`);
  if (produced !== STREAMS) throw new Error(`${name}: HLS for only ${produced} of ${STREAMS} streams`);
  return perStream;
}

/** Resident memory of the server's main process (MB, from /proc), '?' if unreadable. */
function rssMb(pid: number): string {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? '?' : (Number(kb) / 1024).toFixed(0);
  } catch {
    return '?';
  }
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function modeName(mode: string): string {
  const names: Record<string, string> = { fmp4: 'castline fmp4 (no ffmpeg)', 'fmp4-heap': 'castline fmp4 + old-space flag', mpegts: 'castline mpegts (ffmpeg)', base: 'castline fmp4 (BASE_MAIN)', 'base-heap': 'BASE_MAIN + old-space flag', nginx: 'nginx-rtmp' };
  return names[mode] ?? mode;
}

function startMode(mode: string, dir: string): Promise<Server | null> {
  switch (mode) {
    case 'fmp4':
    case 'mpegts':
      return startCastline(mode, dir);
    case 'fmp4-heap':
      return startCastline('fmp4', dir, undefined, START_NODE_ARGS);
    case 'base':
    case 'base-heap': {
      const main = process.env.BASE_MAIN;
      if (main === undefined) throw new Error(`mode ${mode} needs BASE_MAIN=/path/to/dist-test/src/main.js`);
      return startCastline('fmp4', dir, path.resolve(main), mode === 'base-heap' ? START_NODE_ARGS : []);
    }
    case 'nginx':
      return startNginx();
    default:
      throw new Error(`unknown mode ${mode} (fmp4, fmp4-heap, mpegts, base, base-heap, nginx)`);
  }
}

async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-bench-passthrough-'));
  try {
    const file = makeSource(dir);
    console.log(`${os.cpus().length} cores; ${STREAMS} streams of ${(fs.statSync(file).size * 8 / 20 / 1e6).toFixed(2)} Mbit/s 720p30, ${SECONDS} s measured after ${WARMUP_SECONDS} s`);
    const modes = (process.env.MODES ?? 'fmp4,mpegts,nginx').split(',');
    const rounds = Number(process.env.ROUNDS ?? 1);
    const results = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const mode of modes) {
        const server = await startMode(mode, dir);
        if (server === null) continue;
        const perStream = await measure(modeName(mode), server, file);
        results.set(mode, [...(results.get(mode) ?? []), perStream]);
      }
    }
    const med = (mode: string) => median(results.get(mode) ?? []);
    for (const [mode, values] of results) console.log(`${mode}: ${values.map((v) => v.toFixed(2)).join(', ')} (median ${med(mode).toFixed(2)})`);
    console.log(`ratio fmp4 / mpegts: ${(med('fmp4') / med('mpegts')).toFixed(3)}`);
    console.log(`ratio castline fmp4 / nginx-rtmp: ${(med('fmp4') / med('nginx')).toFixed(2)} (goal ≤ 2); castline mpegts / nginx-rtmp: ${(med('mpegts') / med('nginx')).toFixed(2)}`);
    if (results.has('fmp4-heap')) console.log(`ratio fmp4-heap / nginx-rtmp: ${(med('fmp4-heap') / med('nginx')).toFixed(2)}; fmp4-heap / fmp4: ${(med('fmp4-heap') / med('fmp4')).toFixed(3)}`);
    if (results.has('base')) console.log(`ratio fmp4 / base: ${(med('fmp4') / med('base')).toFixed(3)}; base / nginx-rtmp: ${(med('base') / med('nginx')).toFixed(2)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void run().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
