/**
 * Test media for the packager, made by the real ffmpeg outside the thing under test: an FLV file
 * like an RTMP publisher sends (H.264 with B-frames, AAC 48 kHz), read back as media events, and
 * the decode checks (every frame decoded by ffmpeg, frame timestamps as ffmpeg reports them).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { MediaEvent } from '../../src/domain/media';
import { ffmpegPath } from '../../src/encoding/binaries';
import { FlvReader } from '../../src/packaging/flv-reader';
import { flvTagToMedia } from '../../src/packaging/flv-tag';

export interface FlvOptions {
  seconds: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Keyframe interval in frames. */
  gop?: number;
  bframes?: number;
  audio?: boolean;
  sampleRate?: number;
  /** File name in `dir` (default source.flv). */
  name?: string;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `castline-${prefix}-`));
}

/** Writes an FLV file with ffmpeg's test pattern and a sine tone; returns its path. */
export function makeFlv(dir: string, o: FlvOptions): string {
  const file = path.join(dir, o.name ?? 'source.flv');
  const fps = o.fps ?? 30;
  const size = `${o.width ?? 320}x${o.height ?? 180}`;
  const args = ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=${fps}:duration=${o.seconds}`];
  if (o.audio !== false) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${o.sampleRate ?? 48000}:duration=${o.seconds}`);
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-bf', String(o.bframes ?? 2), '-g', String(o.gop ?? fps * 2), '-keyint_min', String(o.gop ?? fps * 2), '-sc_threshold', '0', '-pix_fmt', 'yuv420p');
  if (o.audio !== false) args.push('-c:a', 'aac', '-b:a', '64k', '-ar', String(o.sampleRate ?? 48000));
  args.push('-f', 'flv', file);
  execFileSync(ffmpegPath, args);
  return file;
}

/** The media events of an FLV file, as the RTMP ingest would produce them. */
export function flvEvents(file: string): MediaEvent[] {
  const reader = new FlvReader();
  const events: MediaEvent[] = [];
  for (const tag of reader.push(fs.readFileSync(file))) {
    const event = flvTagToMedia(tag.type, tag.timestamp, tag.body);
    if (event !== null) events.push(event);
  }
  return events;
}

export interface DecodedFrame {
  stream: number;
  /** Seconds. */
  pts: number;
}

/**
 * Decodes every frame of `file` with ffmpeg (`-xerror`: any decode error throws) and lists the
 * decoded frames with their timestamps.
 */
export function decodeFrames(file: string): DecodedFrame[] {
  const out = execFileSync(ffmpegPath, ['-v', 'error', '-xerror', '-i', file, '-f', 'framecrc', '-'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const timebases = new Map<number, number>();
  const frames: DecodedFrame[] = [];
  for (const line of out.split('\n')) {
    const tb = /^#tb (\d+): (\d+)\/(\d+)/.exec(line);
    if (tb !== null) timebases.set(Number(tb[1]), Number(tb[2]) / Number(tb[3]));
    if (line.startsWith('#') || line.trim() === '') continue;
    const [stream, , pts] = line.split(',').map((s) => Number(s.trim()));
    frames.push({ stream: stream!, pts: pts! * (timebases.get(stream!) ?? NaN) });
  }
  return frames;
}

/** The streams ffmpeg finds in a file: `Video: h264 ...` / `Audio: aac ...` lines. */
export function streamLines(file: string): string[] {
  let text = '';
  try {
    execFileSync(ffmpegPath, ['-hide_banner', '-i', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    text = String((err as { stderr?: string }).stderr ?? '');
  }
  return text.split('\n').filter((l) => /Stream #/.test(l)).map((l) => l.trim());
}
