/**
 * The resolution ladder (docs/spec/cluster-protocols.md §5): which renditions a stream gets, given what the
 * source is and what `x-resolutions` asked for. Pure.
 *
 * Per requested rung, in order: the box is made even (≤0 → 1, odd → +1); fps = requested or the
 * source's, capped at the source's; the source is fitted into the box keeping its aspect ratio
 * (even dimensions); duplicates are dropped; rungs larger than the source are dropped. If nothing
 * is left and ORIGINAL was not requested, the smallest requested rung is encoded anyway.
 */
import type { ResolutionRequest, Rung } from '../domain/settings';
import { defaultAudioKbps, defaultVideoKbps } from './default-bitrates';

/** What the encoder learned about the source (from ffprobe). */
export interface SourceInfo {
  width: number;
  height: number;
  /** Frames per second rounded to an integer; 0 = unknown (variable rate, or not reported). */
  fps: number;
  videoCodec: string;
  /** null = no audio track. */
  audioCodec: string | null;
  /** H.264 profile name as ffprobe reports it (`High`, `Main`, `Constrained Baseline`), if H.264. */
  videoProfile?: string;
  /** H.264 level_idc (e.g. 31), if H.264. */
  videoLevel?: number;
  /** Container format as ffprobe names it (`flv`, `matroska,webm`, `mpegts`). */
  formatName: string;
}

/** One rendition to produce. */
export interface Rendition {
  /** `{W}x{H}-{FPS}` plus `~{KBPS}` when the request set a bitrate: the folder name and event resolution. */
  id: string;
  width: number;
  height: number;
  fps: number;
  /** Video bitrate actually used (requested, or the default table's); 0 when copied. */
  videoKbps: number;
  /** Whether the request set the bitrate (then it is part of the id). */
  bitrateRequested: boolean;
  audioKbps: number;
  /** `encode`: scaled and encoded; `copy`: the ORIGINAL passed through untouched. */
  mode: 'encode' | 'copy';
  original: boolean;
}

/** The fps used when the source does not say (browser VFR input). */
export const FALLBACK_FPS = 30;

export function renditionId(width: number, height: number, fps: number, kbps: number): string {
  return `${width}x${height}-${fps}${kbps > 0 ? `~${kbps}` : ''}`;
}

const even = (n: number) => (n % 2 === 0 ? n : n + 1);

/** Fits the source into the box keeping its aspect ratio; both results even. */
export function fitIntoBox(srcW: number, srcH: number, boxW: number, boxH: number): { width: number; height: number } {
  const propH = Math.ceil((srcH * boxW) / srcW / 2) * 2;
  const propW = Math.ceil((srcW * boxH) / srcH / 2) * 2;
  if (srcW > srcH) return propH > boxH ? { width: propW, height: boxH } : { width: boxW, height: propH };
  return propW > boxW ? { width: boxW, height: propH } : { width: propW, height: boxH };
}

export interface LadderOptions {
  /** ORIGINAL: `copy` passes H.264/AAC through untouched (other codecs are encoded anyway). */
  originalMode: 'copy' | 'encode';
}

/** Whether ORIGINAL can be copied: H.264 video, and AAC or no audio (what MPEG-TS HLS carries). */
export function canCopy(source: SourceInfo): boolean {
  return source.videoCodec === 'h264' && (source.audioCodec === null || source.audioCodec === 'aac');
}

export function selectLadder(source: SourceInfo, request: ResolutionRequest, options: LadderOptions): Rendition[] {
  const srcFps = source.fps > 0 ? source.fps : FALLBACK_FPS;
  const out: Rendition[] = [];
  const ids = new Set<string>();
  if (request.original) {
    const copy = options.originalMode === 'copy' && canCopy(source);
    // Encoded output must have even dimensions (yuv420p): an odd source is padded by one pixel.
    const width = copy ? source.width : even(source.width);
    const height = copy ? source.height : even(source.height);
    const original: Rendition = {
      id: renditionId(width, height, srcFps, 0),
      width,
      height,
      fps: srcFps,
      videoKbps: copy ? 0 : defaultVideoKbps(width, height, srcFps),
      bitrateRequested: false,
      audioKbps: copy ? 0 : defaultAudioKbps(width, height),
      mode: copy ? 'copy' : 'encode',
      original: true,
    };
    out.push(original);
    ids.add(original.id);
  }
  let smallest: Rendition | null = null;
  let kept = 0;
  for (const rung of request.rungs) {
    const r = fitRung(source, srcFps, rung);
    if (smallest === null || (r.width <= smallest.width && r.height <= smallest.height && r.fps <= smallest.fps)) smallest = r;
    if (ids.has(r.id)) continue;
    if (r.width > source.width || r.height > source.height) continue;
    ids.add(r.id);
    out.push(r);
    kept++;
  }
  if (kept === 0 && !request.original && smallest !== null) out.push(smallest);
  return out;
}

function fitRung(source: SourceInfo, srcFps: number, rung: Rung): Rendition {
  const boxW = rung.width <= 0 ? 2 : even(rung.width);
  const boxH = rung.height <= 0 ? 2 : even(rung.height);
  const fps = Math.min(rung.fps > 0 ? rung.fps : srcFps, srcFps);
  const { width, height } = fitIntoBox(source.width, source.height, boxW, boxH);
  const requested = rung.kbps > 0;
  return {
    id: renditionId(width, height, fps, requested ? rung.kbps : 0),
    width,
    height,
    fps,
    videoKbps: requested ? rung.kbps : defaultVideoKbps(width, height, fps),
    bitrateRequested: requested,
    audioKbps: defaultAudioKbps(width, height),
    mode: 'encode',
    original: false,
  };
}
