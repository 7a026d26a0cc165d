/**
 * What a passthrough stream publishes, decided from its first media (no ffprobe): the source's
 * size from its SPS, its frame rate from the first frames' decode times, its codecs from the
 * sequence headers; then the same ladder rule as every stream (`selectLadder`). Pure.
 */
import type { AccessUnit, TrackConfig } from '../domain/media';
import type { ResolutionRequest } from '../domain/settings';
import { selectLadder, type Rendition, type SourceInfo } from './ladder';

/** Video frames after the first keyframe used to measure the frame rate. */
export const FPS_SAMPLE_FRAMES = 12;

/** Frames per second from decode timestamps (ms) of consecutive frames; 0 when unknown. */
export function measuredFps(videoDts: readonly number[]): number {
  if (videoDts.length < 2) return 0;
  const span = videoDts[videoDts.length - 1]! - videoDts[0]!;
  if (span <= 0) return 0;
  const fps = Math.round(((videoDts.length - 1) * 1000) / span);
  return fps >= 1 && fps <= 240 ? fps : 0;
}

/** The video decode times from the first keyframe on, up to `FPS_SAMPLE_FRAMES`. */
export function fpsSample(units: readonly AccessUnit[]): number[] {
  const video = units.filter((u) => u.track === 'video');
  const first = video.findIndex((u) => u.keyframe);
  return first < 0 ? [] : video.slice(first, first + FPS_SAMPLE_FRAMES).map((u) => u.dts);
}

export function passthroughSource(config: TrackConfig, fps: number): SourceInfo | null {
  const video = config.video;
  if (video === null) return null;
  return { width: video.width, height: video.height, fps, videoCodec: 'h264', audioCodec: config.audio === null ? null : 'aac', formatName: 'flv' };
}

/**
 * The one copied rendition of a passthrough stream, or null when the request needs encoding
 * (then ffmpeg runs the stream as before).
 */
export function passthroughRendition(source: SourceInfo, requested: ResolutionRequest, originalMode: 'copy' | 'encode'): Rendition | null {
  const request = requested.rungs.length > 0 || requested.original ? requested : { original: true, rungs: [] };
  const renditions = selectLadder(source, request, { originalMode });
  return renditions.length === 1 && renditions[0]!.mode === 'copy' ? renditions[0]! : null;
}
