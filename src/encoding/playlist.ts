/**
 * HLS media playlists, written by castline (not ffmpeg): the live sliding window and the VOD
 * (recording) parts. Pure: segments in, text out. `fmp4` playlists list `{n}.m4s` after an
 * `EXT-X-MAP` naming the CMAF header `init.mp4` (version 7); `mpegts` ones list `{n}.ts` (version 3).
 */
import type { SegmentFormat } from '../domain/media';

/** The CMAF header of an fmp4 rendition, beside its segments. */
export const INIT_SEGMENT = 'init.mp4';

export function segmentExtension(format: SegmentFormat = 'mpegts'): 'ts' | 'm4s' {
  return format === 'fmp4' ? 'm4s' : 'ts';
}

function formatLines(format: SegmentFormat | undefined): { version: string; map: string[] } {
  return format === 'fmp4' ? { version: '#EXT-X-VERSION:7', map: [`#EXT-X-MAP:URI="${INIT_SEGMENT}"`] } : { version: '#EXT-X-VERSION:3', map: [] };
}

/** One complete, published segment `{n}.ts`. */
export interface Segment {
  n: number;
  /** Seconds. */
  duration: number;
  /** First segment after an encoder restart: preceded by `#EXT-X-DISCONTINUITY`. */
  discontinuity: boolean;
}

/** `#EXT-X-TARGETDURATION`: the longest listed segment rounded (up) to an integer, at least the configured T. */
export function targetDuration(segments: readonly Segment[], hlsTime: number): number {
  let longest = hlsTime;
  for (const s of segments) longest = Math.max(longest, s.duration);
  // HLS requires EXTINF rounded to the nearest integer ≤ target; rounding up is always safe.
  return Math.ceil(longest - 1e-6);
}

function segmentLines(segments: readonly Segment[], skipFirstDiscontinuity: boolean, format: SegmentFormat | undefined): string[] {
  const lines: string[] = [];
  const ext = segmentExtension(format);
  segments.forEach((s, i) => {
    if (s.discontinuity && !(i === 0 && skipFirstDiscontinuity)) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXTINF:${s.duration.toFixed(6)},`, `${s.n}.${ext}`);
  });
  return lines;
}

export interface LiveWindow {
  /** The listed window: the newest segments, oldest first. */
  segments: readonly Segment[];
  /** Discontinuities that slid out of the window (`#EXT-X-DISCONTINUITY-SEQUENCE`). */
  discontinuitySequence: number;
}

/** The last `size` segments of `all`, with the discontinuity count of what slid out. */
export function liveWindow(all: readonly Segment[], size: number): LiveWindow {
  const start = Math.max(0, all.length - size);
  let discontinuitySequence = 0;
  for (let i = 0; i < start; i++) if (all[i]!.discontinuity) discontinuitySequence++;
  return { segments: all.slice(start), discontinuitySequence };
}

/** `live.m3u8`: sliding window, media sequence = first listed segment number; ENDLIST once ended. */
export function livePlaylist(window: LiveWindow, options: { hlsTime: number; ended: boolean; format?: SegmentFormat }): string {
  const { segments } = window;
  const { version, map } = formatLines(options.format);
  const lines = [
    '#EXTM3U',
    version,
    `#EXT-X-TARGETDURATION:${targetDuration(segments, options.hlsTime)}`,
    `#EXT-X-MEDIA-SEQUENCE:${segments.length > 0 ? segments[0]!.n : 0}`,
  ];
  if (window.discontinuitySequence > 0) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${window.discontinuitySequence}`);
  lines.push(...map, ...segmentLines(segments, false, options.format));
  if (options.ended) lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}

/**
 * `vod-{K}.m3u8`: every segment of one recording part. While the stream is live it is an EVENT
 * playlist (it only grows; no ENDLIST); once ended it becomes VOD with ENDLIST.
 */
export function vodPlaylist(segments: readonly Segment[], options: { hlsTime: number; ended: boolean; format?: SegmentFormat }): string {
  const { version, map } = formatLines(options.format);
  const lines = [
    '#EXTM3U',
    version,
    `#EXT-X-PLAYLIST-TYPE:${options.ended ? 'VOD' : 'EVENT'}`,
    `#EXT-X-TARGETDURATION:${targetDuration(segments, options.hlsTime)}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    ...map,
    ...segmentLines(segments, true, options.format),
  ];
  if (options.ended) lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}

/** A parsed media playlist (for tests and for reading back). */
export interface ParsedPlaylist {
  targetDuration: number;
  mediaSequence: number;
  playlistType: string | null;
  ended: boolean;
  segments: Array<{ uri: string; duration: number; discontinuity: boolean }>;
}

/** Parses a media playlist; throws on anything malformed (a missing #EXTM3U, an EXTINF without URI). */
export function parseMediaPlaylist(text: string): ParsedPlaylist {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines[0] !== '#EXTM3U') throw new Error('not a playlist: no #EXTM3U');
  const result: ParsedPlaylist = { targetDuration: -1, mediaSequence: 0, playlistType: null, ended: false, segments: [] };
  let pending: { duration: number; discontinuity: boolean } | null = null;
  let discontinuity = false;
  for (const line of lines.slice(1)) {
    if (line.startsWith('#EXT-X-TARGETDURATION:')) result.targetDuration = Number(line.slice(22));
    else if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) result.mediaSequence = Number(line.slice(22));
    else if (line.startsWith('#EXT-X-PLAYLIST-TYPE:')) result.playlistType = line.slice(21);
    else if (line === '#EXT-X-ENDLIST') result.ended = true;
    else if (line === '#EXT-X-DISCONTINUITY') discontinuity = true;
    else if (line.startsWith('#EXTINF:')) {
      pending = { duration: Number(line.slice(8).split(',')[0]), discontinuity };
      discontinuity = false;
    } else if (!line.startsWith('#')) {
      if (pending === null) throw new Error(`URI without #EXTINF: ${line}`);
      result.segments.push({ uri: line, ...pending });
      pending = null;
    }
  }
  if (pending !== null) throw new Error('#EXTINF without URI (truncated playlist)');
  if (!Number.isInteger(result.targetDuration) || result.targetDuration < 1) throw new Error('missing #EXT-X-TARGETDURATION');
  return result;
}
