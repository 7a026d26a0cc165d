/**
 * The live window of one rendition in memory: the CMAF header, the last segments (bytes once
 * complete) and the parts of the segment being written, plus the requests waiting for a part
 * (blocking playlist reload, a request for the preload-hinted part). It is a `PackagerSink`: the
 * segmenter writes into it synchronously and nothing it does waits on a reader, so a slow viewer
 * never holds the ingest back. Memory is bounded by the window; segments that slide out are
 * dropped. A segment that came in one piece (`segmentEnd` with `data`: the in-process packager)
 * is that buffer, its parts views of it; one that came as parts only (each its own buffer: the
 * parts an encode worker transferred) stays so until the whole segment is first asked for, when
 * it is joined once and kept joined.
 *
 * Waiting is one pending promise per request, woken when the part it waits for is written (no
 * polling, no thread); every waiter has a deadline and can be cancelled (an aborted request).
 */
import type { TrackConfig } from '../domain/media';
import { nextPart, type PlaylistSegment } from './ll-playlist';
import type { PackagedPart, PackagedSegmentEnd, PackagerSink } from './packaging.types';

interface StoredPart {
  duration: number;
  independent: boolean;
  data: Buffer;
}

interface StoredSegment {
  msn: number;
  programDateTime: number;
  discontinuity: boolean;
  parts: StoredPart[];
  duration: number | null;
  data: Buffer | null;
}

/** `data` (the segment's parts' bytes, in order) becomes the segment's; its parts become views of it. */
function adopt(segment: StoredSegment, data: Buffer): Buffer {
  segment.data = data;
  let at = 0;
  for (const p of segment.parts) {
    p.data = data.subarray(at, at + p.data.length);
    at += p.data.length;
  }
  return data;
}

export type WaitOutcome = 'ready' | 'timeout' | 'ended';

interface Waiter {
  msn: number;
  part: number | null;
  resolve: (outcome: WaitOutcome) => void;
  timer: NodeJS.Timeout;
}

export interface PartStoreOptions {
  /** Complete segments kept (and listed); at least 1. */
  windowSegments: number;
}

export class PartStore implements PackagerSink {
  private initData: Buffer | null = null;
  private trackConfig: TrackConfig | null = null;
  private readonly segments: StoredSegment[] = [];
  private readonly waiters = new Set<Waiter>();
  private ended = false;
  /** Discontinuities that slid out of the window (`EXT-X-DISCONTINUITY-SEQUENCE`). */
  private droppedDiscontinuities = 0;

  constructor(private readonly options: PartStoreOptions) {}

  // ---- written by the segmenter -----------------------------------------------------------

  init(data: Buffer, config: TrackConfig): void {
    this.initData = data;
    this.trackConfig = config;
  }

  part(part: PackagedPart): void {
    let open = this.segments[this.segments.length - 1];
    if (open === undefined || open.msn !== part.msn) {
      open = { msn: part.msn, programDateTime: part.programDateTime ?? Date.now(), discontinuity: part.discontinuity === true, parts: [], duration: null, data: null };
      this.segments.push(open);
    }
    open.parts.push({ duration: part.duration, independent: part.independent, data: part.data });
    this.wake();
  }

  segmentEnd(end: PackagedSegmentEnd): void {
    const segment = this.segments.find((s) => s.msn === end.msn);
    if (segment === undefined) return;
    segment.duration = end.duration;
    if (end.data !== undefined) adopt(segment, end.data);
    const complete = this.segments.filter((s) => s.duration !== null).length;
    const excess = complete - Math.max(1, this.options.windowSegments);
    if (excess > 0) for (const dropped of this.segments.splice(0, excess)) if (dropped.discontinuity) this.droppedDiscontinuities++;
    this.wake();
  }

  /** The stream ended: the playlist gets ENDLIST and every waiter is answered. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  // ---- read by the server -----------------------------------------------------------------

  get isEnded(): boolean {
    return this.ended;
  }

  get initSegment(): Buffer | null {
    return this.initData;
  }

  get config(): TrackConfig | null {
    return this.trackConfig;
  }

  /** The listed window (a snapshot for `llPlaylist`). */
  window(): PlaylistSegment[] {
    return this.segments.map((s) => ({ msn: s.msn, programDateTime: s.programDateTime, discontinuity: s.discontinuity, parts: s.parts, duration: s.duration }));
  }

  /** `EXT-X-DISCONTINUITY-SEQUENCE` of the window's first segment. */
  get discontinuitySequence(): number {
    return this.droppedDiscontinuities;
  }

  /** The last part written, or null before the first. */
  last(): { msn: number; part: number } | null {
    const s = this.segments[this.segments.length - 1];
    return s === undefined ? null : { msn: s.msn, part: s.parts.length - 1 };
  }

  /** The part the preload hint names (the next to be written). */
  hinted(): { msn: number; part: number } | null {
    return this.ended ? null : nextPart(this.segments);
  }

  /** A complete segment in one buffer (one that came as parts is joined here, once). */
  segmentData(msn: number): Buffer | null {
    const segment = this.segments.find((s) => s.msn === msn);
    if (segment === undefined || segment.duration === null) return null;
    return segment.data ?? adopt(segment, Buffer.concat(segment.parts.map((p) => p.data)));
  }

  partData(msn: number, index: number): Buffer | null {
    return this.segments.find((s) => s.msn === msn)?.parts[index]?.data ?? null;
  }

  /** True when the playlist already holds segment `msn` (and its part `part`), or can never. */
  has(msn: number, part: number | null): boolean {
    if (this.ended) return true;
    const last = this.segments[this.segments.length - 1];
    if (last === undefined) return false;
    if (msn < last.msn) return true;
    if (msn > last.msn) return false;
    if (part === null) return last.duration !== null;
    return part < last.parts.length || last.duration !== null;
  }

  /**
   * Resolves when `has(msn, part)`, when the stream ends, or after `timeoutMs` ('timeout').
   * `cancel` forgets the waiter (its promise then never settles).
   */
  waitFor(msn: number, part: number | null, timeoutMs: number): { done: Promise<WaitOutcome>; cancel: () => void } {
    if (this.has(msn, part)) return { done: Promise.resolve(this.ended ? 'ended' : 'ready'), cancel: () => undefined };
    let waiter!: Waiter;
    const done = new Promise<WaitOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve('timeout');
      }, timeoutMs);
      waiter = { msn, part, resolve, timer };
      this.waiters.add(waiter);
    });
    return {
      done,
      cancel: () => {
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
      },
    };
  }

  /** Requests waiting now (for tests and metrics). */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Bytes held (segments and parts, header included). */
  get bytes(): number {
    let total = this.initData?.length ?? 0;
    for (const s of this.segments) total += s.data?.length ?? s.parts.reduce((t, p) => t + p.data.length, 0);
    return total;
  }

  private wake(): void {
    for (const w of this.waiters) {
      if (!this.has(w.msn, w.part)) continue;
      clearTimeout(w.timer);
      this.waiters.delete(w);
      w.resolve(this.ended ? 'ended' : 'ready');
    }
  }
}
