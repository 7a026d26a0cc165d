/** One packager output written to several sinks (the in-memory LL-HLS store and the disk), in order. */
import type { TrackConfig } from '../domain/media';
import type { PackagedPart, PackagedSegmentEnd, PackagerSink } from './packaging.types';

export class TeeSink implements PackagerSink {
  private readonly sinks: readonly PackagerSink[];

  constructor(...sinks: PackagerSink[]) {
    this.sinks = sinks;
  }

  init(data: Buffer, config: TrackConfig): void {
    for (const s of this.sinks) s.init(data, config);
  }

  part(part: PackagedPart): void {
    for (const s of this.sinks) s.part(part);
  }

  segmentEnd(segment: PackagedSegmentEnd): void {
    for (const s of this.sinks) s.segmentEnd(segment);
  }
}
