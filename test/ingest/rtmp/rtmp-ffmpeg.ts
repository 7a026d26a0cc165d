/**
 * Real ffmpeg publishers and players for the RTMP ingest tests, and ffprobe to check what a player
 * recorded. Every child is tracked; `killAll()` (afterEach) kills whatever is still running.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { ffmpegPath, ffprobePath } from '../../../src/encoding/binaries';

export interface Child {
  proc: ChildProcess;
  /** Resolves once the process exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  stderr(): string;
  running(): boolean;
}

const children = new Set<Child>();

function run(args: string[]): Child {
  const proc = spawn(ffmpegPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    if (err.length < 20_000) err += chunk.toString();
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    proc.once('close', (code, signal) => {
      done = true;
      children.delete(child);
      resolve({ code, signal, at: Date.now() });
    });
  });
  const child: Child = { proc, exited, stderr: () => err, running: () => !done };
  children.add(child);
  return child;
}

/** Publishes a 320x180 test pattern + sine, in real time, for `seconds`. */
export function publish(url: string, seconds: number): Child {
  return run([
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '64k',
    '-f', 'flv', url,
  ]);
}

/** Publishes like OBS does: H.264 with B-frames and 1 s keyframes, AAC 48 kHz, in real time. */
export function publishObsLike(url: string, seconds: number, size = '320x180', fps = 30): Child {
  return run([
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=${fps}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '2', '-g', String(fps), '-keyint_min', String(fps), '-sc_threshold', '0', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '64k', '-ar', '48000',
    '-f', 'flv', url,
  ]);
}

/** Publishes an existing media file untouched (`-c copy`), in real time. */
export function publishFile(url: string, file: string): Child {
  return run(['-hide_banner', '-loglevel', 'error', '-re', '-i', file, '-c', 'copy', '-f', 'flv', url]);
}

/**
 * Plays `url` and records it untouched to an FLV file. No read timeout: it must end on EOF.
 * `copyTs`: keep the stream's own timestamps (else the recording starts at 0).
 */
export function play(url: string, outFile: string, copyTs = false): Child {
  return run(['-hide_banner', '-loglevel', 'error', ...(copyTs ? ['-copyts'] : []), '-i', url, '-c', 'copy', '-f', 'flv', '-y', outFile]);
}

export async function killAll(): Promise<void> {
  const all = [...children];
  for (const child of all) child.proc.kill('SIGKILL');
  await Promise.all(all.map((c) => c.exited));
}

export interface Probe {
  codecTypes: string[];
  duration: number;
  startTime: number;
}

/** What ffprobe finds in a file; null when it cannot read it (missing, empty, no streams). */
export function probe(file: string): Promise<Probe | null> {
  if (!fs.existsSync(file) || fs.statSync(file).size === 0) return Promise.resolve(null);
  return new Promise((resolve) => {
    execFile(ffprobePath, ['-v', 'error', '-show_entries', 'format=duration,start_time:stream=codec_type', '-of', 'json', file], (err, stdout) => {
      if (err) return resolve(null);
      const out = JSON.parse(stdout) as { streams?: Array<{ codec_type: string }>; format?: { duration?: string; start_time?: string } };
      const codecTypes = (out.streams ?? []).map((s) => s.codec_type);
      if (codecTypes.length === 0) return resolve(null);
      resolve({ codecTypes, duration: Number(out.format?.duration ?? 0), startTime: Number(out.format?.start_time ?? 0) });
    });
  });
}

import { sleep } from '../../helpers/wait';
export { sleep };

/** Rejects after `ms` with `what` in the message, else resolves with the promise's value. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
