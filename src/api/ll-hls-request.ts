/**
 * The requests the LL-HLS server understands (RFC 8216bis §6.2.5), as plain values: which file
 * of a rendition is asked for, and the blocking-reload / delta-update query of a playlist. Pure.
 */

export type LlFile =
  | { kind: 'playlist' }
  | { kind: 'init' }
  | { kind: 'segment'; msn: number }
  | { kind: 'part'; msn: number; part: number }
  /** Anything else (`vod-K.m3u8`, `.ts`): served from disk. */
  | { kind: 'other' };

const SEGMENT = /^(\d{1,9})\.m4s$/;
const PART = /^(\d{1,9})\.(\d{1,6})\.m4s$/;

export function llFile(name: string): LlFile {
  if (name === 'live.m3u8') return { kind: 'playlist' };
  if (name === 'init.mp4') return { kind: 'init' };
  const part = PART.exec(name);
  if (part !== null) return { kind: 'part', msn: Number(part[1]), part: Number(part[2]) };
  const segment = SEGMENT.exec(name);
  if (segment !== null) return { kind: 'segment', msn: Number(segment[1]) };
  return { kind: 'other' };
}

export interface PlaylistQuery {
  /** `_HLS_msn`: hold the answer until the playlist holds this segment. */
  msn: number | null;
  /** `_HLS_part`: … and this part of it. */
  part: number | null;
  /** `_HLS_skip=YES|v2`: a delta update. */
  skip: boolean;
}

const NUMBER = /^\d{1,9}$/;

/** Parses the query of a playlist request; a string is the reason for a 400. */
export function playlistQuery(query: string): PlaylistQuery | string {
  const params = new URLSearchParams(query);
  const msn = params.get('_HLS_msn');
  const part = params.get('_HLS_part');
  const skip = params.get('_HLS_skip');
  if (msn !== null && !NUMBER.test(msn)) return '_HLS_msn must be a non-negative integer';
  if (part !== null && !NUMBER.test(part)) return '_HLS_part must be a non-negative integer';
  if (part !== null && msn === null) return '_HLS_part requires _HLS_msn';
  if (skip !== null && skip !== 'YES' && skip !== 'v2') return '_HLS_skip must be YES or v2';
  return { msn: msn === null ? null : Number(msn), part: part === null ? null : Number(part), skip: skip !== null };
}

/**
 * What to do with a playlist request given the last part written (null before the first) and the
 * preload-hinted one (null once ended): answer now, hold it until `{msn, part}`, refuse it (an
 * `_HLS_msn` more than two segments ahead of the last one, §6.2.5.2), or — a plain request of a
 * live playlist — answer it once the part being written is complete (`fresh`, bounded by the caller).
 *
 * Why `fresh`: a player joining a live stream places itself PART-HOLD-BACK behind the end of the
 * newest part of its first playlist, counted from when it got the playlist. Answered at once, that
 * part ended anywhere up to a part duration earlier (a third of a part on average), and the player
 * starts — and at playback rate 1 stays — that much further behind live. Answered as the next part
 * completes, the playlist's end is live. It costs a join at most one part (bench/RESULTS.md:
 * glass-to-glass 1.52 → 1.21 s with a low-latency publisher).
 */
export function playlistDecision(query: PlaylistQuery, last: { msn: number; part: number } | null, hinted: { msn: number; part: number } | null):
  | { action: 'now' }
  | { action: 'wait'; msn: number; part: number | null }
  | { action: 'fresh'; msn: number; part: number }
  | { action: 'refuse'; reason: string } {
  const lastMsn = last?.msn ?? -1;
  if (query.msn !== null) {
    if (query.msn > lastMsn + 2) return { action: 'refuse', reason: `_HLS_msn=${query.msn} is more than two segments ahead of the last one (${lastMsn})` };
    return { action: 'wait', msn: query.msn, part: query.part };
  }
  // Nothing written yet: a plain request waits for the first part.
  if (last === null) return { action: 'wait', msn: 0, part: 0 };
  return hinted === null ? { action: 'now' } : { action: 'fresh', msn: hinted.msn, part: hinted.part };
}
