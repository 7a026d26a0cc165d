/** What the LL-HLS routes read: the streams castline packages itself (`packaging/live-hls.ts`). */
import type { PlaylistSegment } from '../packaging/ll-playlist';
import type { WaitOutcome } from '../packaging/part-store';

export interface PartPosition {
  msn: number;
  part: number;
}

/** One rendition's live window (`packaging/part-store.ts`). */
export interface LiveRendition {
  readonly isEnded: boolean;
  readonly initSegment: Buffer | null;
  /** Discontinuities (encoder restarts) before the window's first segment. */
  readonly discontinuitySequence: number;
  window(): PlaylistSegment[];
  last(): PartPosition | null;
  hinted(): PartPosition | null;
  segmentData(msn: number): Buffer | null;
  partData(msn: number, index: number): Buffer | null;
  waitFor(msn: number, part: number | null, timeoutMs: number): { done: Promise<WaitOutcome>; cancel: () => void };
}

export interface LiveHlsSource {
  stream(channel: string, streamId: string): { timing: { partSeconds: number; segmentSeconds: number }; renditions: ReadonlyMap<string, LiveRendition> } | undefined;
}

/** Cluster mode: which other node holds a stream's LL-HLS in memory (`cluster/live-hls-locator.ts`). */
export interface LiveHlsElsewhere {
  /** Base URL (`http://address:port`) of the node holding it, or null (nobody else: the disk answers). */
  locate(channel: string, streamId: string): Promise<string | null>;
}
