/**
 * CPU of a passthrough stream's preview ffmpeg (issue 9): the keyframe-only decoder castline runs
 * (`keyframePreviewArgs`: keyframes piped as FLV, `-skip_frame nokey`, one decoder thread) against
 * a full-decode preview ffmpeg (every frame piped and decoded, the rest of the command the same),
 * on the same 720p30 H.264 input, in the same run, modes interleaved run by run.
 *
 * Input: a 720p30 ~3 Mbit/s H.264 FLV (B-frames, 2 s GOP, testsrc2) made once with the bundled
 * ffmpeg. Each run pipes the stream's video tags (re-muxed with `flv-writer`, as castline does)
 * into the preview ffmpeg as fast as it reads them; CPU = the user+system time ffmpeg reports
 * itself (`-benchmark`), per second of media → % of one core a live stream costs. Then once in
 * real time (tags written at their timestamps, as a live stream arrives), `keyframes` and `full`
 * side by side: that includes what a live ffmpeg costs beyond decoding (wake-ups, progress
 * reports every 0.5 s).
 *
 * Modes:
 *   keyframes   what castline runs: keyframes only, -skip_frame nokey, -threads 1
 *   skip-all    every frame piped, -skip_frame nokey, -threads 1 (the decoder skips)
 *   full        every frame piped and decoded, -threads 1
 *   full-mt     every frame piped and decoded, ffmpeg's default decoder threads
 *
 * Usage: npx tsc -p tsconfig.test.json && node dist-test/bench/preview-cpu.js [runs=5] [seconds=60] [previews=320x180,1]
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ffmpegPath } from '../src/encoding/binaries';
import { keyframePreviewArgs } from '../src/encoding/keyframe-previews';
import { FlvReader } from '../src/packaging/flv-reader';
import { flvHeader, flvTag } from '../src/packaging/flv-writer';

const RUNS = Number(process.argv[2] ?? 5);
const SECONDS = Number(process.argv[3] ?? 60);
const [size, interval] = (process.argv[4] ?? '320x180,1').split(',');
const [W, H] = size!.split('x').map(Number);
const PREVIEWS = { width: W!, height: H!, intervalSeconds: Number(interval) };
const MODES = ['keyframes', 'skip-all', 'full', 'full-mt'] as const;
type Mode = (typeof MODES)[number];

function makeSource(dir: string): string {
  const file = path.join(dir, 'source-720p30.flv');
  execFileSync(ffmpegPath, [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${SECONDS}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '2', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0',
    '-b:v', '3M', '-maxrate', '3M', '-bufsize', '6M', '-pix_fmt', 'yuv420p', '-an', '-f', 'flv', file,
  ]);
  return file;
}

/** The FLV castline would pipe for `mode`: header, the AVC sequence header, then keyframes only or every frame. */
function pipedBytes(source: string, keyframesOnly: boolean): Buffer {
  const out = [flvHeader({ audio: false, video: true })];
  for (const tag of new FlvReader().push(fs.readFileSync(source))) {
    const b = tag.body;
    if (tag.type !== 9 || b.length < 2) continue;
    if (keyframesOnly && b[1] !== 0 && b[0]! >> 4 !== 1) continue;
    out.push(flvTag(9, tag.timestamp, b));
  }
  return Buffer.concat(out);
}

function argsFor(mode: Mode, dir: string): string[] {
  let args = keyframePreviewArgs(PREVIEWS, dir, 0);
  const drop = (flag: string) => {
    const i = args.indexOf(flag);
    if (i >= 0) args = [...args.slice(0, i), ...args.slice(i + 2)];
  };
  if (mode === 'full' || mode === 'full-mt') drop('-skip_frame');
  if (mode === 'full-mt') drop('-threads');
  // -benchmark prints ffmpeg's own user/system time at the INFO level.
  args[args.indexOf('-loglevel') + 1] = 'info';
  return ['-benchmark', ...args];
}

/** `input`: all at once, or tags paced at their timestamps (real time). */
async function runOnce(mode: Mode, input: Buffer | PacedTags, dir: string): Promise<{ cpu: number; images: number }> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const child = spawn(ffmpegPath, argsFor(mode, dir), { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (t: string) => (stderr += t));
  child.stdin.on('error', () => undefined);
  if (Buffer.isBuffer(input)) child.stdin.end(input);
  else void pace(input, (b) => child.stdin.write(b)).then(() => child.stdin.end());
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const m = /bench: utime=([\d.]+)s stime=([\d.]+)s/.exec(stderr);
  if (code !== 0 || m === null) throw new Error(`${mode}: ffmpeg failed (${code}): ${stderr.slice(-500)}`);
  return { cpu: Number(m[1]) + Number(m[2]), images: fs.readdirSync(dir).filter((f) => f.endsWith('.jpg')).length };
}

interface PacedTags {
  header: Buffer;
  tags: Array<{ at: number; bytes: Buffer }>;
}

function pacedTags(source: string, keyframesOnly: boolean): PacedTags {
  const tags: PacedTags['tags'] = [];
  for (const tag of new FlvReader().push(fs.readFileSync(source))) {
    const b = tag.body;
    if (tag.type !== 9 || b.length < 2) continue;
    if (keyframesOnly && b[1] !== 0 && b[0]! >> 4 !== 1) continue;
    tags.push({ at: tag.timestamp, bytes: flvTag(9, tag.timestamp, b) });
  }
  return { header: flvHeader({ audio: false, video: true }), tags };
}

async function pace(input: PacedTags, write: (b: Buffer) => void): Promise<void> {
  const t0 = Date.now();
  write(input.header);
  for (const tag of input.tags) {
    const wait = t0 + tag.at - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    write(tag.bytes);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-preview-cpu-'));
  try {
    const source = makeSource(dir);
    const inputs = { keyframes: pipedBytes(source, true), all: pipedBytes(source, false) };
    console.log(`input: ${SECONDS} s 720p30, ${(fs.statSync(source).size * 8 / SECONDS / 1e6).toFixed(2)} Mbit/s; piped: keyframes ${(inputs.keyframes.length / 1e6).toFixed(1)} MB, all ${(inputs.all.length / 1e6).toFixed(1)} MB; previews ${size} every ${interval} s; ${RUNS} runs`);
    const cpu: Record<Mode, number[]> = { keyframes: [], 'skip-all': [], full: [], 'full-mt': [] };
    const images: Record<Mode, number> = { keyframes: 0, 'skip-all': 0, full: 0, 'full-mt': 0 };
    for (let run = 0; run < RUNS; run++) {
      for (const mode of MODES) {
        const r = await runOnce(mode, mode === 'keyframes' ? inputs.keyframes : inputs.all, path.join(dir, mode));
        cpu[mode].push(r.cpu);
        images[mode] = r.images;
      }
      console.log(`run ${run + 1}: ${MODES.map((m) => `${m} ${cpu[m].at(-1)!.toFixed(2)} s`).join(', ')}`);
    }
    const full = median(cpu.full);
    console.log('\n| mode | CPU-s per media minute (median) | % of one core per live stream | vs full decode | images |');
    console.log('|---|---|---|---|---|');
    for (const mode of MODES) {
      const m = median(cpu[mode]);
      console.log(`| ${mode} | ${(m * 60 / SECONDS).toFixed(2)} | ${(m / SECONDS * 100).toFixed(2)} | ${(m / full).toFixed(3)} | ${images[mode]} |`);
    }
    console.log(`\nreal time (${SECONDS} s, keyframes and full side by side):`);
    const [k, f] = await Promise.all([
      runOnce('keyframes', pacedTags(source, true), path.join(dir, 'live-keyframes')),
      runOnce('full', pacedTags(source, false), path.join(dir, 'live-full')),
    ]);
    console.log('| mode | % of one core | vs full decode | images |');
    console.log('|---|---|---|---|');
    console.log(`| keyframes | ${(k.cpu / SECONDS * 100).toFixed(2)} | ${(k.cpu / f.cpu).toFixed(3)} | ${k.images} |`);
    console.log(`| full | ${(f.cpu / SECONDS * 100).toFixed(2)} | 1 | ${f.images} |`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
