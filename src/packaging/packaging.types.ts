/** What the packager produces, and the port it produces it into. */
import type { TrackConfig } from '../domain/media';

/** One CMAF fragment: an LL-HLS part of segment `msn`. */
export interface PackagedPart {
  /** Media sequence number of the segment the part belongs to. */
  msn: number;
  /** Index of the part within its segment, from 0. */
  index: number;
  /** Seconds (lead track time from the part's first frame to the next part's). */
  duration: number;
  /** Starts with a keyframe (`INDEPENDENT=YES`). */
  independent: boolean;
  /** `moof` + `mdat`. */
  data: Buffer;
  /** Part 0 only: wall clock (ms) when the segment's first frame reached castline. */
  programDateTime?: number;
  /** Part 0 only: the segment follows an encoder restart (`EXT-X-DISCONTINUITY`). */
  discontinuity?: boolean;
}

export interface PackagedSegmentEnd {
  msn: number;
  /** Seconds. */
  duration: number;
  /**
   * The whole segment (its parts' bytes, contiguous; each part's `data` was a view of the same
   * bytes): the `Segmenter` writes every segment in one piece. Absent (the segment end an encode
   * worker forwards, `worker.types.ts`): the parts handed over before are the segment, in order.
   */
  data?: Buffer;
}

export interface PackagerSink {
  /** The CMAF header, before the first part. */
  init(data: Buffer, config: TrackConfig): void;
  part(part: PackagedPart): void;
  /** Segment `msn` is complete: it is the concatenation of its parts. */
  segmentEnd(segment: PackagedSegmentEnd): void;
}

export interface PackagerTiming {
  /** Target part duration, seconds (HLS_PART_SECONDS). */
  partSeconds: number;
  /** A segment is closed at the first keyframe at or after this many seconds (HLS_TIME_SECONDS). */
  segmentSeconds: number;
}
