/**
 * Where castline's own CMAF packaging meets the disk contract: a `PackagerSink` that hands a
 * rendition's init segment and every complete segment to the stream's `StreamOutputs`, which
 * writes `init.mp4`, `{n}.m4s` and the classic (non-LL) `live.m3u8` / `vod-K.m3u8` under
 * HLS_FILESYSTEM_PATH (same layout as MPEG-TS), writes the master playlist and announces outputs.
 * The segmenter hands each complete segment over in one piece; the in-memory LL-HLS store gets the
 * parts separately.
 */
import type { TrackConfig } from '../domain/media';
import { codecsOf } from '../packaging/cmaf-tracks';
import type { PackagedPart, PackagedSegmentEnd, PackagerSink } from '../packaging/packaging.types';
import type { StreamOutputs } from './outputs';

export class CmafOutputsSink implements PackagerSink {
  /** @param onError a write failed (disk full, permissions): the stream cannot publish further. */
  constructor(
    private readonly outputs: StreamOutputs,
    private readonly renditionId: string,
    private readonly onError: (err: Error) => void,
  ) {}

  init(data: Buffer, config: TrackConfig): void {
    this.outputs.addInit(this.renditionId, data, codecsOf(config)).catch((err: Error) => this.onError(err));
  }

  part(_part: PackagedPart): void {
    // Written with their segment, in segmentEnd.
  }

  segmentEnd(segment: PackagedSegmentEnd): void {
    if (segment.data === undefined) return this.onError(new Error(`segment ${segment.msn} came without its bytes`));
    this.outputs.addSegmentData(this.renditionId, segment.msn, segment.duration, segment.data).catch((err: Error) => this.onError(err));
  }
}
