/**
 * The ffmpeg command line of a workflow step job (`ffmpeg_hls`, `ffmpeg_push`, `ffmpeg_transcode`,
 * `rtmp_watch`, `ffmpeg_pull`): one input, one output, media copied unless it has to be encoded.
 * Pure: one small function per part of the command and per step type.
 *
 *   ffmpeg GLOBAL INPUT CODECS OUTPUT
 *   GLOBAL  = -hide_banner -nostats -loglevel warning -progress pipe:1 -y   (ffmpeg-console.ts)
 *   INPUT   = -nostdin -rw_timeout 5000000 -i rtmp://…     (RTMP: pulled, read timeout)
 *           | -i pipe:0                                    (WS: the worker pipes the bytes in)
 *           | -nostdin -re [-rw_timeout 5000000] -i LOC    (ffmpeg_pull: any location, real time)
 *   CODECS  = -c:v copy | -c:v libx264 -preset P -pix_fmt yuv420p -force_key_frames … [-b:v …] [-vf scale=W:H]
 *             -c:a copy | -c:a aac
 *   OUTPUT  = -f hls -hls_time D -hls_list_size N … -hls_segment_filename DIR/NAME-%d.ts DIR/NAME.m3u8
 *           | -f flv -flvflags no_duration_filesize URL
 */
import * as path from 'node:path';
import type { MediaStep, StepJob } from '../domain/jobs';
import { globalArgs } from './ffmpeg-console';

/** ffmpeg's network read timeout for pulled inputs (µs): a silent RTMP socket ends the run. */
export const READ_TIMEOUT_US = 5_000_000;
/** Keyframe interval of encoded video (s): RTMP players join fast, HLS downstream can cut there. */
export const KEYFRAME_SECONDS = 2;
/** Preset used when `ffmpeg_pull` (or a browser WS input) has to be encoded to H.264. */
export const FALLBACK_H264_PRESET = 'veryfast';

/** Where a step's media comes from. */
export type StepInput =
  | { kind: 'rtmp'; url: string }
  /** `ws://host:port/{channel}/{key}`: the worker connects to `{uri}/receive` and pipes into stdin. */
  | { kind: 'ws'; uri: string }
  /** `ffmpeg_pull`: a file path or any URL ffmpeg opens, read in real time. */
  | { kind: 'location'; location: string };

/** What happens to each track: copied, or encoded to H.264 / AAC. */
export interface CodecPlan {
  video: 'copy' | 'h264';
  audio: 'copy' | 'aac';
  /** x264 preset when video is encoded. */
  preset: string;
}

export const COPY_CODECS: CodecPlan = { video: 'copy', audio: 'copy', preset: FALLBACK_H264_PRESET };

const NETWORK_URL = /^(rtmp[ste]*|https?|srt|tcp|udp|rtsp|mmsh?|ftp):\/\//i;

/** Classifies `job.input`; throws on an input the step cannot read. */
export function stepInput(job: Pick<StepJob, 'input' | 'step'>): StepInput {
  const input = job.input.trim();
  if (input === '') throw new Error('the step has no input');
  if (job.step.type === 'ffmpeg_pull') return { kind: 'location', location: input };
  if (/^rtmps?:\/\//i.test(input)) return { kind: 'rtmp', url: input };
  if (/^wss?:\/\//i.test(input)) return { kind: 'ws', uri: input };
  throw new Error(`unsupported step input '${input}': expected rtmp:// or ws://`);
}

/** The container of a WS-published stream, from its first bytes. */
export function sniffContainer(head: Uint8Array | null): 'flv' | 'webm' | 'unknown' {
  if (!head || head.length < 4) return 'unknown';
  if (head[0] === 0x46 && head[1] === 0x4c && head[2] === 0x56) return 'flv'; // "FLV"
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return 'webm'; // EBML
  return 'unknown';
}

/**
 * WS inputs: FLV (OBS/ffmpeg publishers, H.264/AAC) is copied; WebM/Matroska (a browser's
 * VP8/VP9/Opus, which neither FLV nor MPEG-TS carry usefully) is encoded to H.264/AAC.
 */
export function codecsForContainer(container: 'flv' | 'webm' | 'unknown'): CodecPlan {
  return container === 'webm' ? { video: 'h264', audio: 'aac', preset: FALLBACK_H264_PRESET } : COPY_CODECS;
}

/** `ffmpeg_pull`: copy what FLV/HLS carry (H.264, AAC), encode anything else. */
export function codecsForSource(info: { videoCodec: string; audioCodec: string | null }): CodecPlan {
  return {
    video: info.videoCodec === 'h264' ? 'copy' : 'h264',
    audio: info.audioCodec === null || info.audioCodec === 'aac' ? 'copy' : 'aac',
    preset: FALLBACK_H264_PRESET,
  };
}

export function stepInputArgs(input: StepInput): string[] {
  switch (input.kind) {
    case 'rtmp':
      return ['-nostdin', '-rw_timeout', String(READ_TIMEOUT_US), '-i', input.url];
    case 'ws':
      return ['-i', 'pipe:0'];
    case 'location':
      return ['-nostdin', '-re', ...(NETWORK_URL.test(input.location) ? ['-rw_timeout', String(READ_TIMEOUT_US)] : []), '-i', input.location];
  }
}

export function videoCodecArgs(video: 'copy' | 'h264', preset: string): string[] {
  if (video === 'copy') return ['-c:v', 'copy'];
  return ['-c:v', 'libx264', '-preset', preset, '-pix_fmt', 'yuv420p', '-force_key_frames', `expr:gte(t,n_forced*${KEYFRAME_SECONDS})`];
}

export function audioCodecArgs(audio: 'copy' | 'aac'): string[] {
  return audio === 'copy' ? ['-c:a', 'copy'] : ['-c:a', 'aac'];
}

export function codecArgs(plan: CodecPlan): string[] {
  return [...videoCodecArgs(plan.video, plan.preset), ...audioCodecArgs(plan.audio)];
}

/** FLV to an RTMP URL (or a file); no header rewrite on a stream that cannot seek. */
export function flvOutputArgs(url: string): string[] {
  return ['-f', 'flv', '-flvflags', 'no_duration_filesize', url];
}

type Step<T extends MediaStep['type']> = Extract<MediaStep, { type: T }>;

/** `{directory}/{name}.m3u8`. */
export function hlsPlaylistPath(step: Step<'ffmpeg_hls'>): string {
  return path.join(step.directory, `${step.name}.m3u8`);
}

/**
 * `ffmpeg_hls`: `count` 0 keeps every segment (an EVENT playlist); otherwise a sliding window whose
 * old segments are deleted. `append` (a restart of the same step) continues the existing playlist
 * and numbering after an `#EXT-X-DISCONTINUITY` instead of overwriting segment 0.
 */
export function hlsOutputArgs(step: Step<'ffmpeg_hls'>, append: boolean): string[] {
  const flags = [...(step.count > 0 ? ['delete_segments'] : []), ...(append ? ['append_list'] : [])];
  const segmentPattern = path.join(step.directory, `${step.name.replace(/%/g, '%%')}-%d.ts`);
  return [
    '-f', 'hls',
    '-hls_time', String(step.durationSeconds),
    '-hls_list_size', String(step.count),
    ...(step.count === 0 ? ['-hls_playlist_type', 'event'] : []),
    ...(flags.length > 0 ? ['-hls_flags', flags.join('+')] : []),
    '-hls_segment_filename', segmentPattern,
    hlsPlaylistPath(step),
  ];
}

export function pushOutputArgs(step: Step<'ffmpeg_push'>): string[] {
  return flvOutputArgs(step.target);
}

export function watchOutputArgs(step: Step<'rtmp_watch'>): string[] {
  return flvOutputArgs(step.output);
}

export function pullOutputArgs(step: Step<'ffmpeg_pull'>): string[] {
  return flvOutputArgs(step.output);
}

/** `ffmpeg_transcode`: size and bitrate apply only when video is encoded. */
export function transcodeArgs(step: Step<'ffmpeg_transcode'>): string[] {
  const args = videoCodecArgs(step.vcodec, step.preset);
  if (step.vcodec === 'h264') {
    if (step.kbps !== null && step.kbps > 0) args.push('-b:v', `${step.kbps}k`, '-maxrate', `${step.kbps}k`, '-bufsize', `${2 * step.kbps}k`);
    if (step.size) args.push('-vf', `scale=${step.size.width}:${step.size.height}`);
    if (step.fps !== undefined && step.fps !== null && step.fps > 0) args.push('-r', String(step.fps));
  }
  const audio = audioCodecArgs(step.acodec);
  if (step.acodec === 'aac' && step.audioKbps !== undefined && step.audioKbps !== null && step.audioKbps > 0) audio.push('-b:a', `${step.audioKbps}k`);
  return [...args, ...audio, ...flvOutputArgs(step.output)];
}

export interface StepArgsInput {
  input: StepInput;
  step: MediaStep;
  /** Codecs for the copying steps (every step but `ffmpeg_transcode`, which says what it wants). */
  codecs: CodecPlan;
  /** `ffmpeg_hls` only: continue the playlist of an earlier run. */
  appendHls: boolean;
}

export function buildStepArgs({ input, step, codecs, appendHls }: StepArgsInput): string[] {
  const head = [...globalArgs(), ...stepInputArgs(input)];
  switch (step.type) {
    case 'ffmpeg_hls':
      return [...head, ...codecArgs(codecs), ...hlsOutputArgs(step, appendHls)];
    case 'ffmpeg_push':
      return [...head, ...codecArgs(codecs), ...pushOutputArgs(step)];
    case 'rtmp_watch':
      return [...head, ...codecArgs(codecs), ...watchOutputArgs(step)];
    case 'ffmpeg_pull':
      return [...head, ...codecArgs(codecs), ...pullOutputArgs(step)];
    case 'ffmpeg_transcode':
      return [...head, ...transcodeArgs(step)];
  }
}

/** Checks what ffmpeg would otherwise fail on obscurely; throws with a clear message. */
export function validateStep(step: MediaStep): void {
  switch (step.type) {
    case 'ffmpeg_hls':
      if (!path.isAbsolute(step.directory)) throw new Error(`ffmpeg_hls: directory '${step.directory}' is not absolute`);
      if (step.name === '' || /[/\\\0]/.test(step.name) || step.name.startsWith('.')) throw new Error(`ffmpeg_hls: invalid playlist name '${step.name}'`);
      if (!(step.durationSeconds > 0)) throw new Error(`ffmpeg_hls: duration must be positive (got ${step.durationSeconds})`);
      if (!Number.isInteger(step.count) || step.count < 0) throw new Error(`ffmpeg_hls: count must be a non-negative integer (got ${step.count})`);
      return;
    case 'ffmpeg_push':
      if (step.target.trim() === '') throw new Error('ffmpeg_push: no target');
      return;
    case 'ffmpeg_transcode':
      if (step.size && !(step.size.width > 0 && step.size.height > 0)) throw new Error('ffmpeg_transcode: invalid size');
      if (step.output.trim() === '') throw new Error('ffmpeg_transcode: no output');
      return;
    case 'rtmp_watch':
    case 'ffmpeg_pull':
      if (step.output.trim() === '') throw new Error(`${step.type}: no output`);
      return;
  }
}

/**
 * Whether a run that produced nothing failed because its input could not be opened: ffmpeg prints
 * `{input}: {error}` (e.g. `rtmp://…/key: Connection refused`) when avformat_open_input fails.
 */
export function inputOpenFailed(stderrTail: string, input: StepInput): boolean {
  const name = input.kind === 'rtmp' ? input.url : input.kind === 'location' ? input.location : 'pipe:0';
  return stderrTail.split(/[\r\n]+/).some((l) => l.startsWith(`${name}: `));
}
