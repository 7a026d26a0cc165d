import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Config } from '../../src/config/config';
import { ffmpegPath } from '../../src/encoding/binaries';
import { parseInputDump } from '../../src/encoding/probe';

export function encodingConfig(overrides: Partial<Config['encoding']> = {}): Config['encoding'] {
  return {
    capacity: 4,
    hlsTimeSeconds: 1,
    hlsLivePlaylistSize: 3,
    hlsVodMaxSize: 86400,
    h264Preset: 'ultrafast',
    videoCodec: 'libx264',
    audioCodec: 'aac',
    pixelFormat: 'yuv420p',
    originalMode: 'copy',
    segmentFormat: 'mpegts',
    partSeconds: 0.333,
    stopGraceSeconds: 5,
    stallTimeoutSeconds: 10,
    maxRestarts: 3,
    ...overrides,
  };
}

export function tempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'castline-enc-'));
}

export const settings = (over: Partial<StreamSettings> = {}): StreamSettings => ({
  resolutions: { original: false, rungs: [{ width: 320, height: 180, fps: 15, kbps: -1 }, { width: 160, height: 90, fps: 15, kbps: -1 }] },
  record: true,
  previews: { width: 160, height: 90, intervalSeconds: 1 },
  ...over,
});

let counter = 0;
export function job(uri: string, over: Partial<EncodeJob> = {}): EncodeJob {
  counter++;
  return { channel: 'ch', streamId: `0000000000000000000000000000${counter.toString(16).padStart(4, '0')}`, source: { type: 'WS', uri }, settings: settings(), attempt: 0, ...over };
}

/** Collects reports; `exited` resolves with the last one. */
export function collector() {
  const reports: EncoderReport[] = [];
  let resolve!: (r: Extract<EncoderReport, { type: 'exited' }>) => void;
  const exited = new Promise<Extract<EncoderReport, { type: 'exited' }>>((r) => { resolve = r; });
  const waiters: Array<{ pred: (r: EncoderReport) => boolean; fn: () => void }> = [];
  const report = (r: EncoderReport) => {
    reports.push(r);
    for (const w of waiters.splice(0)) if (w.pred(r)) w.fn(); else waiters.push(w);
    if (r.type === 'exited') resolve(r);
  };
  const waitFor = (pred: (r: EncoderReport) => boolean) =>
    reports.some(pred) ? Promise.resolve() : new Promise<void>((fn) => waiters.push({ pred, fn }));
  return { reports, report, exited, waitFor };
}

/**
 * A file's video size and codecs, from ffmpeg's input dump (the bundled ffprobe segfaults on
 * MPEG-TS on this machine).
 */
export function probeFile(file: string): { width: number; height: number; codecs: string[] } {
  const res = spawnSync(ffmpegPath, ['-hide_banner', '-i', file], { encoding: 'utf8' });
  const info = parseInputDump(res.stderr);
  return { width: info.width, height: info.height, codecs: [info.videoCodec, ...(info.audioCodec ? [info.audioCodec] : [])] };
}

/** Fully decodes a file (every frame); throws on decode errors. */
export function decodeFile(ffmpeg: string, file: string): void {
  execFileSync(ffmpeg, ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-'], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * A listed segment as a file ffmpeg reads on its own: a `.ts` as it is; a CMAF `.m4s` after its
 * rendition's `init.mp4` (concatenated into a temporary `.mp4`).
 */
let segmentScratch: string | null = null;

export function readableSegment(dir: string, uri: string): string {
  if (!uri.endsWith('.m4s')) return path.join(dir, uri);
  if (segmentScratch === null) {
    const made = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-segment-'));
    process.once('exit', () => fs.rmSync(made, { recursive: true, force: true }));
    segmentScratch = made;
  }
  // One scratch folder for the test process (removed at exit), one file per call.
  const file = path.join(fs.mkdtempSync(path.join(segmentScratch, 'x')), `${uri}.mp4`);
  fs.writeFileSync(file, Buffer.concat([fs.readFileSync(path.join(dir, 'init.mp4')), fs.readFileSync(path.join(dir, uri))]));
  return file;
}

/** PIDs of processes whose command line mentions `needle` (e.g. the test's unique output root). */
export function processesMentioning(needle: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(needle) && !l.includes('ps -eo')).map((l) => l.trim());
}

import { sleep } from '../helpers/wait';
import type { EncodeJob, EncoderReport } from '../../src/domain/jobs';
import type { StreamSettings } from '../../src/domain/settings';
export { sleep };

/**
 * The preview folder as the application sees it: `index.json`'s count, and the `{n}.jpg` numbers
 * there (sorted). Where every image is counted, `numbers` is exactly 0 … count-1.
 */
export function previewFolder(dir: string): { count: number; numbers: number[] } {
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { count: number };
  const numbers = fs.readdirSync(dir).filter((f) => /^\d+\.jpg$/.test(f)).map((f) => Number.parseInt(f, 10)).sort((a, b) => a - b);
  return { count: index.count, numbers };
}
