/**
 * The glass-to-glass bench's camera: a child process that makes raw 640x360 yuv420p frames at
 * 30 fps paced by the wall clock, draws each frame's capture time (Date.now() when the frame is
 * made) into it (bench/glass-clock.ts), and pipes them into the bundled ffmpeg, which encodes them
 * as an OBS-like publisher does and publishes RTMP.
 *
 * Encoding (OBS's defaults for "Streaming" with x264): libx264 `veryfast`, no tune (so B-frames and
 * lookahead, as OBS sends them), keyframe every 2 s (`-g 60 -keyint_min 60 -sc_threshold 0`),
 * 1500 kbit/s CBR-ish (`-maxrate 1500k -bufsize 3000k`), AAC 128k 48 kHz of a 440 Hz sine that this
 * process writes on a second pipe (fd 3), 1/30 s of it with each frame: audio and video are paced by
 * the same clock from the same start, as a capture app does (a `-re` lavfi sine started with ffmpeg
 * runs ahead of or behind the piped video, and ffmpeg's FLV interleaving then holds the video back
 * by the difference: ~0.3 s here). `--tune zerolatency` encodes without lookahead and B-frames.
 * Below the clock grid the frame holds moving content (diagonal bars scrolling 4 px a frame and a
 * square bouncing across it) so the encoder has motion to code, as with a camera.
 *
 * Output on stdout, one line per frame: `n capturedMs` (frame n has the source timestamp n/30 s),
 * so the bench can map the RTMP timestamps it taps to capture times. Stops on SIGINT/SIGTERM or
 * after `--seconds`.
 *
 * Usage: node dist-test/bench/glass-publisher.js --url rtmp://… [--seconds 60] [--tune zerolatency]
 */
import { spawn } from 'node:child_process';
import { ffmpegPath } from '../src/encoding/binaries';
import { CLOCK_HEIGHT_FRACTION, drawClock } from './glass-clock';

export const WIDTH = 640;
export const HEIGHT = 360;
export const FPS = 30;
export const SAMPLE_RATE = 48_000;
const SAMPLES_PER_FRAME = SAMPLE_RATE / FPS;

/** The 1/30 s of a 440 Hz sine (s16le, mono) that goes with video frame `n`. */
export function audioFor(n: number): Buffer {
  const out = Buffer.alloc(SAMPLES_PER_FRAME * 2);
  for (let i = 0; i < SAMPLES_PER_FRAME; i++) {
    out.writeInt16LE(Math.round(6000 * Math.sin((2 * Math.PI * 440 * (n * SAMPLES_PER_FRAME + i)) / SAMPLE_RATE)), i * 2);
  }
  return out;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

export function publisherArgs(url: string, tune: string): string[] {
  return [
    '-hide_banner', '-loglevel', 'error',
    '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${WIDTH}x${HEIGHT}`, '-framerate', String(FPS), '-thread_queue_size', '64', '-i', 'pipe:0',
    '-f', 's16le', '-ar', String(SAMPLE_RATE), '-ac', '1', '-thread_queue_size', '64', '-i', 'pipe:3',
    '-map', '0:v', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'veryfast', ...(tune === '' ? [] : ['-tune', tune]),
    '-g', String(2 * FPS), '-keyint_min', String(2 * FPS), '-sc_threshold', '0', '-pix_fmt', 'yuv420p',
    '-b:v', '1500k', '-maxrate', '1500k', '-bufsize', '3000k',
    '-c:a', 'aac', '-b:a', '128k', '-ar', '48000',
    '-f', 'flv', url,
  ];
}

/** A frame's moving part: diagonal bars scrolling with `n`, and a bouncing 64 px square. */
export function drawScene(frame: Uint8Array, n: number): void {
  const top = Math.round(HEIGHT * CLOCK_HEIGHT_FRACTION) + 8;
  for (let y = top; y < HEIGHT; y++) {
    const line = y * WIDTH;
    for (let x = 0; x < WIDTH; x++) frame[line + x] = 40 + ((x + y + 4 * n) & 127);
  }
  const span = WIDTH - 64;
  const sx = Math.abs(((n * 6) % (2 * span)) - span);
  for (let y = top + 40; y < top + 104; y++) frame.fill(235, y * WIDTH + sx, y * WIDTH + sx + 64);
}

function main(): void {
  const url = arg('url', '');
  if (url === '') throw new Error('--url is required');
  const seconds = Number(arg('seconds', '60'));
  const ffmpeg = spawn(ffmpegPath, publisherArgs(url, arg('tune', '')), { stdio: ['pipe', 'ignore', 'inherit', 'pipe'] });
  const audio = ffmpeg.stdio[3] as import('node:stream').Writable;
  const ySize = WIDTH * HEIGHT;
  const frame = new Uint8Array(ySize * 1.5);
  frame.fill(128, ySize); // neutral chroma
  frame.fill(16, 0, ySize);
  const start = Date.now();
  let n = 0;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    ffmpeg.stdin!.end();
    audio.end();
  };
  ffmpeg.stdin!.on('error', () => stop());
  audio.on('error', () => stop());
  ffmpeg.on('exit', (code) => process.exit(code ?? 0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const tick = () => {
    if (stopped) return;
    const now = Date.now();
    if (now - start > seconds * 1000) return stop();
    // Every frame due by now (normally one; more only after a stall of this process).
    while (start + (n * 1000) / FPS <= now) {
      const captured = Date.now();
      drawScene(frame, n);
      drawClock(frame, WIDTH, HEIGHT, captured);
      ffmpeg.stdin!.write(Buffer.from(frame)); // a copy: the pipe may still hold the previous one
      audio.write(audioFor(n));
      process.stdout.write(`${n} ${captured}\n`);
      n++;
    }
    setTimeout(tick, Math.max(0, start + (n * 1000) / FPS - Date.now()));
  };
  tick();
}

if (require.main === module) main();
