/**
 * Where castline's own CMAF packaging meets the disk contract: a `PackagerSink` that hands a
 * rendition's init segment and every complete segment to the stream's `StreamOutputs`, which
 * writes `init.mp4`, `{n}.m4s` and the classic (non-LL) `live.m3u8` / `vod-K.m3u8` under
 * HLS_FILESYSTEM_PATH (same layout as MPEG-TS), writes the master playlist and announces outputs.
 * Parts are collected until their segment ends; the in-memory LL-HLS store gets them separately.
 */
import type { TrackConfig } from '../domain/media';
import { codecsOf } from '../packaging/cmaf-tracks';
import type { PackagedPart, PackagedSegmentEnd, PackagerSink } from '../packaging/packaging.types';
import type { StreamOutputs } from './outputs';

export class CmafOutputsSink implements PackagerSink {
  private parts: Buffer[] = [];

  /**
   * @param onError a write failed (disk full, permissions): the stream cannot publish further.
   * @param segmentData where a complete segment's bytes already are (the memory store, written
   *   before this sink): then parts are not collected and the segment is not concatenated twice.
   */
  constructor(
    private readonly outputs: StreamOutputs,
    private readonly renditionId: string,
    private readonly onError: (err: Error) => void,
    private readonly segmentData?: (msn: number) => Buffer | null,
  ) {}

  init(data: Buffer, config: TrackConfig): void {
    this.outputs.addInit(this.renditionId, data, codecsOf(config)).catch((err: Error) => this.onError(err));
  }

  part(part: PackagedPart): void {
    if (this.segmentData === undefined) this.parts.push(part.data);
  }

  segmentEnd(segment: PackagedSegmentEnd): void {
    const data = segment.data ?? this.segmentData?.(segment.msn) ?? Buffer.concat(this.parts);
    this.parts = [];
    this.outputs.addSegmentData(this.renditionId, segment.msn, segment.duration, data).catch((err: Error) => this.onError(err));
  }
}
