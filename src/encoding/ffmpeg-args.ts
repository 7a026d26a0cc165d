/**
 * The ffmpeg command line of one stream: one input, decoded once, and one output per rendition,
 * plus one for previews. A rendition's output is either cut by ffmpeg (HLS_SEGMENT_FORMAT=mpegts:
 * segment muxer → MPEG-TS segments + a CSV list in the staging folder) or written as FLV to a pipe
 * (fmp4: castline demuxes it and packages CMAF itself, `pipe-packaging.ts`).
 * Pure: a list of small functions, one per part of the command.
 */
import type { PreviewSettings } from '../domain/settings';
import type { MediaSource } from '../domain/stream';
import { globalArgs } from './ffmpeg-console';
import type { Rendition, SourceInfo } from './ladder';

export interface EncodingOptions {
  hlsTimeSeconds: number;
  h264Preset: string;
  videoCodec: string;
  audioCodec: string;
  pixelFormat: string;
  /** ffmpeg's network read timeout for pulled (RTMP) inputs, seconds. */
  readTimeoutSeconds: number;
}

/**
 * Input probing budget (µs). ffmpeg's default (~1.9 s of probing before the first segment is even
 * opened) made probing the limit of the time to the first segment; 500 ms brought the first
 * playlist from 1.9 s to 1.6 s with 1 s segments. `-analyzeduration 0 -probesize 32768` is too
 * small: AAC then fails with "Could not find codec parameters … unspecified sample format".
 * Measurements in docs/encoding.md.
 */
export const ANALYZE_DURATION_US = 500_000;

/** WS media arrives on stdin; RTMP is pulled by ffmpeg itself, with a read timeout. */
export function inputArgs(source: MediaSource, info: SourceInfo | null, options: EncodingOptions): string[] {
  const probe = ['-analyzeduration', String(ANALYZE_DURATION_US)];
  if (source.type === 'WS') {
    const browser = info !== null && /matroska|webm/.test(info.formatName);
    return [...probe, ...(browser ? ['-fflags', '+genpts'] : []), '-i', 'pipe:0'];
  }
  return ['-nostdin', '-rw_timeout', String(Math.round(options.readTimeoutSeconds * 1_000_000)), ...probe, '-i', source.uri];
}

/** Whether the source needs an explicit output rate: unknown/variable frame rate (browser WebM). */
export function isVariableRate(info: SourceInfo): boolean {
  return info.fps <= 0 || /matroska|webm/.test(info.formatName);
}

/**
 * A lower frame rate that keeps every source keyframe (for `-force_key_frames source`): a frame is
 * kept when it is the first in a new 1/fps slot (slots offset by half a source frame, so the
 * millisecond jitter of FLV timestamps does not slip a slot) or when it is a keyframe. The `fps`
 * filter instead drops whichever frames fall between its slots, keyframes too: a source keyframe on
 * such a frame (a 61-frame GOP at 30 fps, a 15 fps rung) was lost, and that rung's segment ran on
 * past the copy rung's cut. Cost: one extra frame per keyframe that falls between slots.
 */
export function keyframeKeepingRate(fps: number, sourceFps: number): string {
  const half = (0.5 / sourceFps).toFixed(6);
  const slot = (t: string) => `floor((${t}+${half})*${fps})`;
  return `select=isnan(prev_selected_t)+eq(pict_type\\,I)+gt(${slot('t')}\\,${slot('prev_selected_t')})`;
}

export function videoFilter(r: Rendition, info: SourceInfo, keyframes: KeyframePolicy = 'interval'): string {
  const filters: string[] = [];
  if (keyframes === 'source' && !isVariableRate(info) && r.fps < info.fps) filters.push(keyframeKeepingRate(r.fps, info.fps));
  else if (isVariableRate(info) || r.fps < info.fps) filters.push(`fps=${r.fps}`);
  if (r.original) {
    if (info.width % 2 !== 0 || info.height % 2 !== 0) filters.push('pad=ceil(iw/2)*2:ceil(ih/2)*2');
  } else {
    filters.push(`scale=${r.width}:${r.height}`);
  }
  if (filters.length === 0) filters.push('null');
  return filters.join(',');
}

/**
 * Live rungs cut into MPEG-TS by ffmpeg (HLS_SEGMENT_FORMAT=mpegts): no x264 lookahead. With `veryfast` (rc-lookahead 10, 3 B-frames, auto sync-lookahead)
 * x264 holds ~16 frames before it outputs one, so the keyframe that closes a segment left the
 * encoder ~0.65 s after it arrived (0.53 s at 30 fps, more at low fps): the first HLS-LIVE came
 * 3.6 s after the publisher's first byte vs 2.9 s for ORIGINAL copy (bench/latency.ts). Without
 * lookahead (which also turns mb-tree off) the hold is the B-frames and the frame threads only:
 * +0.28 s instead of +0.66 s, for -0.1 dB PSNR at the same bitrate on a hard zoom (lavfi
 * mandelbrot, 640x360 at 800k) and no measurable change on testsrc2. `-tune zerolatency` gets
 * +0.07 s but drops B-frames and costs -0.5 dB there; bench/RESULTS.md has the whole table.
 */
export const X264_LIVE_PARAMS: readonly string[] = ['-x264-params', 'rc-lookahead=0:sync-lookahead=0'];

/**
 * Live rungs castline packages as LL-HLS (FLV pipes, the default fmp4): `-tune zerolatency` (no
 * lookahead, no B-frames, sliced instead of frame threads). Glass to glass (bench/glass-to-glass.ts,
 * low-latency publisher) the encoded rung went from 0.31 s behind passthrough to 0.11 s (1.52 →
 * 1.32 s against 1.21 s). The quality cost is the B-frames' (-0.4 dB PSNR on the hard zoom above,
 * nothing measurable on testsrc2); `-bf 0` alone costs the same quality and saves less (+0.17 s).
 */
export const X264_LL_PARAMS: readonly string[] = ['-tune', 'zerolatency'];

/**
 * Where encoded rungs get their keyframes: `interval` = every multiple of HLS_TIME (every rung cuts
 * there); `source` = where the source has one (beside an ORIGINAL copy rung, which can only cut at
 * the source's keyframes: every rung then has its keyframes on the same frames, and x264's own
 * scene-cut keyframes are turned off so no rung gets one the others lack).
 */
export type KeyframePolicy = 'interval' | 'source';

/** Frames: longer than any source GOP castline expects (x264 then never inserts a keyframe itself). */
const NO_KEYFRAME_INTERVAL = 100_000;

export function keyframeArgs(policy: KeyframePolicy, options: EncodingOptions): string[] {
  // x264 also adds a keyframe of its own every `-g` frames (250 by default): a source GOP longer
  // than that would cut the encoded rungs where the copy rung cannot. So no interval of its own.
  if (policy === 'source') return ['-force_key_frames', 'source', ...(options.videoCodec === 'libx264' ? ['-sc_threshold', '0', '-g', String(NO_KEYFRAME_INTERVAL)] : [])];
  // Keyframes at every multiple of T in every rendition: segment boundaries align across the ladder.
  return ['-force_key_frames', `expr:gte(t,n_forced*${options.hlsTimeSeconds})`];
}

export function h264Args(r: Rendition, level: number, options: EncodingOptions, keyframes: KeyframePolicy = 'interval', lowLatency = false): string[] {
  const args = ['-c:v', options.videoCodec, '-preset', options.h264Preset];
  if (options.videoCodec === 'libx264') args.push('-profile:v', 'high', '-level:v', (level / 10).toFixed(1), ...(lowLatency ? X264_LL_PARAMS : X264_LIVE_PARAMS));
  args.push('-pix_fmt', options.pixelFormat);
  args.push('-b:v', `${r.videoKbps}k`, '-maxrate', `${r.videoKbps}k`, '-bufsize', `${2 * r.videoKbps}k`);
  args.push(...keyframeArgs(keyframes, options));
  return args;
}

export function audioArgs(r: Rendition, info: SourceInfo, options: EncodingOptions): string[] {
  if (info.audioCodec === null) return [];
  if (r.mode === 'copy') return ['-c:a', 'copy'];
  return ['-c:a', options.audioCodec, '-b:a', `${r.audioKbps}k`, '-ac', '2'];
}

/** Segment muxer into the staging folder: `{dir}/{n}.ts` numbered from `startNumber`, list appended to `{dir}/list.csv`. */
export function segmentArgs(stagingDir: string, startNumber: number, options: EncodingOptions): string[] {
  return [
    '-max_muxing_queue_size', '1024',
    '-f', 'segment',
    '-segment_time', String(options.hlsTimeSeconds),
    '-segment_format', 'mpegts',
    '-segment_list', `${stagingDir}/list.csv`,
    '-segment_list_type', 'csv',
    '-segment_start_number', String(startNumber),
    `${stagingDir}/%d.ts`,
  ];
}

/** FLV to an inherited pipe (`pipe:3`, `pipe:4`, …): castline reads it as it is written. */
export function flvPipeArgs(fd: number): string[] {
  return ['-max_muxing_queue_size', '1024', '-f', 'flv', '-flvflags', 'no_duration_filesize', `pipe:${fd}`];
}

/** Where one rendition goes: segments cut by ffmpeg into a staging folder, or FLV to a pipe. */
export type RenditionTarget = { kind: 'segments'; dir: string; startNumber: number } | { kind: 'flv-pipe'; fd: number };

export function renditionArgs(r: Rendition, info: SourceInfo, level: number, target: RenditionTarget, options: EncodingOptions, keyframes: KeyframePolicy = 'interval'): string[] {
  const maps = ['-map', '0:v:0', ...(info.audioCodec !== null ? ['-map', '0:a:0'] : [])];
  const video = r.mode === 'copy' ? ['-c:v', 'copy'] : ['-vf', videoFilter(r, info, keyframes), ...h264Args(r, level, options, keyframes, target.kind === 'flv-pipe')];
  const output = target.kind === 'segments' ? segmentArgs(target.dir, target.startNumber, options) : flvPipeArgs(target.fd);
  return [...maps, ...video, ...audioArgs(r, info, options), ...output];
}

/**
 * `source` when castline packages the renditions (FLV pipes) and an ORIGINAL copy rung sits beside
 * encoded ones; the MPEG-TS path keeps `interval`.
 */
export function keyframePolicy(plan: Pick<CommandPlan, 'renditions'>): KeyframePolicy {
  const piped = plan.renditions.some((r) => r.target.kind === 'flv-pipe');
  const copied = plan.renditions.some((r) => r.rendition.mode === 'copy');
  const encoded = plan.renditions.some((r) => r.rendition.mode === 'encode');
  return piped && copied && encoded ? 'source' : 'interval';
}

/** One JPEG every `intervalSeconds`, letterboxed to exactly W x H, written atomically (temp + rename) into `dir`. */
export function previewArgs(p: PreviewSettings, dir: string, startNumber: number): string[] {
  const { width: w, height: h } = p;
  return [
    '-map', '0:v:0', '-an',
    '-vf', `fps=1/${p.intervalSeconds},scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2`,
    '-q:v', '5',
    '-max_muxing_queue_size', '1024',
    '-f', 'image2', '-atomic_writing', '1', '-start_number', String(startNumber),
    `${dir}/%d.jpg`,
  ];
}

export interface CommandPlan {
  source: MediaSource;
  info: SourceInfo;
  renditions: ReadonlyArray<{ rendition: Rendition; level: number; target: RenditionTarget }>;
  previews: { settings: PreviewSettings; dir: string; startNumber: number } | null;
  options: EncodingOptions;
}

export function buildFfmpegArgs(plan: CommandPlan): string[] {
  const args = [...globalArgs(), ...inputArgs(plan.source, plan.info, plan.options)];
  const keyframes = keyframePolicy(plan);
  for (const r of plan.renditions) args.push(...renditionArgs(r.rendition, plan.info, r.level, r.target, plan.options, keyframes));
  if (plan.previews) args.push(...previewArgs(plan.previews.settings, plan.previews.dir, plan.previews.startNumber));
  return args;
}
