/**
 * Low-Latency HLS media playlists (RFC 8216bis §4.4): the live window of one rendition with its
 * parts, preload hint, rendition reports and delta updates. Pure: a snapshot in, text out.
 *
 * - `EXT-X-VERSION:9` (EXT-X-SKIP needs 9), `EXT-X-MAP` (CMAF header), `EXT-X-TARGETDURATION`
 *   = the longest listed segment rounded up, at least the configured segment time.
 * - `EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=` 6 × target duration
 *   `,PART-HOLD-BACK=` 3 × part target (the RFC's minimum).
 * - `EXT-X-PART-INF:PART-TARGET=` the configured part duration, or the longest listed part if longer.
 * - `EXT-X-PART` lines for the segments that end within 3 target durations of the playlist's end
 *   (§4.4.4.9: older parts SHOULD be removed), `INDEPENDENT=YES` on parts that start with a keyframe.
 * - `EXT-X-DISCONTINUITY` before a segment that follows an encoder restart (and
 *   `EXT-X-DISCONTINUITY-SEQUENCE` once such a segment slid out of the window).
 * - `EXT-X-PROGRAM-DATE-TIME` on every segment; `EXT-X-PRELOAD-HINT` for the next part while live;
 *   `EXT-X-RENDITION-REPORT` for every other rendition; `EXT-X-ENDLIST` once ended.
 * - Delta update (`_HLS_skip=YES`): segments more than CAN-SKIP-UNTIL before the end are replaced by
 *   `EXT-X-SKIP:SKIPPED-SEGMENTS=N`.
 */

export interface PlaylistPart {
  /** Seconds. */
  duration: number;
  independent: boolean;
}

export interface PlaylistSegment {
  msn: number;
  /** Wall clock (ms) of the segment's first frame. */
  programDateTime: number;
  /** Parts written so far (all of them once complete). */
  parts: readonly PlaylistPart[];
  /** Seconds once complete; null for the segment being written. */
  duration: number | null;
  /** Follows an encoder restart: `EXT-X-DISCONTINUITY` before it. */
  discontinuity?: boolean;
}

export interface RenditionReport {
  /** Relative URI of the other rendition's playlist. */
  uri: string;
  lastMsn: number;
  lastPart: number;
}

export interface LlPlaylistInput {
  /** The listed window, oldest first; the last one may be the segment being written. */
  segments: readonly PlaylistSegment[];
  /** HLS_TIME_SECONDS. */
  segmentSeconds: number;
  /** HLS_PART_SECONDS. */
  partSeconds: number;
  initUri: string;
  ended: boolean;
  renditionReports: readonly RenditionReport[];
  /** `_HLS_skip=YES|v2` asked for a delta update. */
  skip: boolean;
  /** Discontinuities before the first listed segment (`EXT-X-DISCONTINUITY-SEQUENCE`, written when > 0). */
  discontinuitySequence?: number;
}

export const segmentUri = (msn: number): string => `${msn}.m4s`;
export const partUri = (msn: number, index: number): string => `${msn}.${index}.m4s`;

const seconds = (s: number): string => s.toFixed(5).replace(/0+$/, '').replace(/\.$/, '.0');

function segmentDuration(s: PlaylistSegment): number {
  return s.duration ?? s.parts.reduce((t, p) => t + p.duration, 0);
}

export function llTargetDuration(segments: readonly PlaylistSegment[], segmentSeconds: number): number {
  let longest = segmentSeconds;
  for (const s of segments) if (s.duration !== null) longest = Math.max(longest, s.duration);
  return Math.ceil(longest - 1e-6);
}

export function partTarget(segments: readonly PlaylistSegment[], partSeconds: number): number {
  let longest = partSeconds;
  for (const s of segments) for (const p of s.parts) longest = Math.max(longest, p.duration);
  return Math.round(longest * 100000) / 100000;
}

/** The next part to be written: `{msn, part}` after the last listed part. */
export function nextPart(segments: readonly PlaylistSegment[]): { msn: number; part: number } | null {
  const last = segments[segments.length - 1];
  if (last === undefined) return null;
  return last.duration === null ? { msn: last.msn, part: last.parts.length } : { msn: last.msn + 1, part: 0 };
}

function partLines(s: PlaylistSegment): string[] {
  return s.parts.map((p, i) => `#EXT-X-PART:DURATION=${seconds(p.duration)},URI="${partUri(s.msn, i)}"${p.independent ? ',INDEPENDENT=YES' : ''}`);
}

function header(input: LlPlaylistInput, target: number, pt: number, firstMsn: number): string[] {
  return [
    '#EXTM3U',
    '#EXT-X-VERSION:9',
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=${seconds(6 * target)},PART-HOLD-BACK=${seconds(3 * pt)}`,
    `#EXT-X-PART-INF:PART-TARGET=${seconds(pt)}`,
    `#EXT-X-MEDIA-SEQUENCE:${firstMsn}`,
  ];
}

/** How many of the oldest segments a delta update leaves out (none within 6 × target of the end). */
export function skippableSegments(segments: readonly PlaylistSegment[], target: number): number {
  let after = 0;
  let skippable = 0;
  for (let i = segments.length - 1; i >= 0; i--) {
    if (after > 6 * target && segments[i]!.duration !== null) {
      skippable = i + 1;
      break;
    }
    after += segmentDuration(segments[i]!);
  }
  return skippable;
}

export function llPlaylist(input: LlPlaylistInput): string {
  const { segments } = input;
  const target = llTargetDuration(segments, input.segmentSeconds);
  const pt = partTarget(segments, input.partSeconds);
  const skipped = input.skip ? skippableSegments(segments, target) : 0;
  const lines = header(input, target, pt, segments[0]?.msn ?? 0);
  if ((input.discontinuitySequence ?? 0) > 0) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${input.discontinuitySequence}`);
  if (skipped > 0) lines.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped}`);
  lines.push(`#EXT-X-MAP:URI="${input.initUri}"`);
  // Parts are listed for the segments that end within 3 target durations of the end.
  let fromEnd = 0;
  const withParts = new Set<number>();
  for (let i = segments.length - 1; i >= 0 && fromEnd < 3 * target; i--) {
    withParts.add(i);
    fromEnd += segmentDuration(segments[i]!);
  }
  segments.forEach((s, i) => {
    if (i < skipped) return;
    if (s.discontinuity === true) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateTime).toISOString()}`);
    if (withParts.has(i)) lines.push(...partLines(s));
    if (s.duration !== null) lines.push(`#EXTINF:${s.duration.toFixed(5)},`, segmentUri(s.msn));
  });
  const next = nextPart(segments);
  if (!input.ended && next !== null) lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${partUri(next.msn, next.part)}"`);
  for (const r of input.renditionReports) lines.push(`#EXT-X-RENDITION-REPORT:URI="${r.uri}",LAST-MSN=${r.lastMsn},LAST-PART=${r.lastPart}`);
  if (input.ended) lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}
