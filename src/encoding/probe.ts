/**
 * Learns what the source is (size, rate, codecs) before the ladder can be chosen, with the same
 * ffmpeg 4.1 binary that encodes (`ffmpeg -i INPUT` with no output prints the input's streams and
 * exits). The bundled ffprobe build (@ffprobe-installer, 2023) segfaults on MPEG-TS on this
 * machine, so it is not used. WS sources are probed from the bytes the job already receives (no
 * second connection); RTMP sources by URL. `parseInputDump` is pure.
 */
import { spawn } from 'node:child_process';
import { stderrSummary } from './ffmpeg-console';
import type { SourceInfo } from './ladder';

/** The probe's analysis budget: stream parameters only (the encoding ffmpeg analyses its own input again). */
export const PROBE_ANALYZE_DURATION_US = 200_000;

export class ProbeError extends Error {
  constructor(readonly code: 'INVALID_MEDIA' | 'INPUT_STALLED' | 'START_FAILED', message: string) {
    super(message);
    this.name = 'ProbeError';
  }
}

const STREAM_LINE = /Stream #0:\d+(?:\[0x[0-9a-f]+\])?(?:\([^)]*\))?: (Video|Audio): ([A-Za-z0-9_]+)(?: \(([^)]*)\))?(.*)$/;

/** Parses ffmpeg's input dump (stderr of `ffmpeg -i INPUT`); throws ProbeError INVALID_MEDIA when there is no usable video. */
export function parseInputDump(text: string): SourceInfo {
  const lines = text.split(/\r?\n/);
  const input = lines.map((l) => /^Input #0, (.+), from /.exec(l)).find((m) => m !== null);
  let video: RegExpExecArray | null = null;
  let audio: RegExpExecArray | null = null;
  for (const line of lines) {
    const m = STREAM_LINE.exec(line);
    if (!m) continue;
    if (m[1] === 'Video' && !video) video = m;
    if (m[1] === 'Audio' && !audio) audio = m;
  }
  if (!input) throw new ProbeError('INVALID_MEDIA', `the source could not be read: ${stderrSummary(text, 1) || 'no input found'}`);
  if (!video) throw new ProbeError('INVALID_MEDIA', 'the source has no video track');
  const rest = video[4] ?? '';
  const size = /, (\d+)x(\d+)[ ,\n]|, (\d+)x(\d+)$/.exec(rest);
  const width = Number(size?.[1] ?? size?.[3] ?? 0);
  const height = Number(size?.[2] ?? size?.[4] ?? 0);
  if (!(width > 0 && height > 0)) throw new ProbeError('INVALID_MEDIA', 'the source video has no picture size (undecodable)');
  const plausible = (f: number) => (f >= 1 && f <= 120 ? f : 0);
  const num = (s: string | undefined) => (s === undefined ? 0 : s.endsWith('k') ? Number(s.slice(0, -1)) * 1000 : Number(s));
  const fps = Math.round(plausible(num(/, ([\d.]+k?) fps/.exec(rest)?.[1])) || plausible(num(/, ([\d.]+k?) tbr/.exec(rest)?.[1])));
  const info: SourceInfo = {
    width,
    height,
    fps,
    videoCodec: video[2]!,
    audioCodec: audio ? audio[2]! : null,
    formatName: input[1]!,
  };
  if (video[3] && video[2] === 'h264') info.videoProfile = video[3];
  return info;
}

export interface ProbeRun {
  /** Feed input bytes (WS); ignored for URL probes. Returns false once the prober stopped reading. */
  write(chunk: Uint8Array): boolean;
  /** No more input. */
  end(): void;
  result: Promise<SourceInfo>;
  pid: number | undefined;
  kill(): void;
}

/** Probes stdin (`url` null) or a URL. Resolves with SourceInfo, or rejects with ProbeError. */
export function runProbe(ffmpegPath: string, url: string | null, timeoutSeconds: number, readTimeoutSeconds: number): ProbeRun {
  const args = ['-hide_banner', '-analyzeduration', String(PROBE_ANALYZE_DURATION_US)];
  if (url === null) args.push('-i', 'pipe:0');
  else args.push('-nostdin', '-rw_timeout', String(Math.round(readTimeoutSeconds * 1_000_000)), '-i', url);
  const child = spawn(ffmpegPath, args, { stdio: [url === null ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
  let stdinOpen = url === null;
  child.stdin?.on('error', () => { stdinOpen = false; });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (t: string) => { stderr = (stderr + t).slice(-16_000); });
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutSeconds * 1000);
  const result = new Promise<SourceInfo>((resolve, reject) => {
    child.on('error', (e) => { clearTimeout(timer); reject(new ProbeError('START_FAILED', `ffmpeg did not start: ${e.message}`)); });
    child.on('close', () => {
      clearTimeout(timer);
      stdinOpen = false;
      if (timedOut) return reject(new ProbeError('INPUT_STALLED', `no decodable media within ${timeoutSeconds} s`));
      try {
        resolve(parseInputDump(stderr));
      } catch (e) {
        reject(e);
      }
    });
  });
  return {
    write(chunk) {
      if (!stdinOpen || !child.stdin) return false;
      child.stdin.write(chunk);
      return true;
    },
    end() {
      if (stdinOpen) child.stdin?.end();
      stdinOpen = false;
    },
    result,
    pid: child.pid,
    kill: () => { child.kill('SIGKILL'); },
  };
}
