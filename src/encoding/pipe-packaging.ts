/**
 * castline's own packaging of an encode run (HLS_SEGMENT_FORMAT=fmp4): ffmpeg writes every
 * rendition as FLV to its own pipe (`pipe:3`, `pipe:4`, … in the outputs state's order); here, on
 * the job's worker thread, each pipe is demuxed (`FlvReader` + `flvTagToMedia`) and cut by its own
 * `Segmenter` into CMAF parts and segments. Each part goes two ways: to the disk (`CmafOutputsSink`
 * → `init.mp4`, `{n}.m4s`, classic playlists, recordings, announcements — the worker writes them,
 * as it wrote the MPEG-TS segments) and, copied into a transferred buffer, to the main thread,
 * whose in-memory LL-HLS store serves it (`live-renditions.ts`). A segment is assembled once: the
 * segmenter writes its parts one after the other into one buffer, which the disk gets; the main
 * thread gets the parts (a copy each: both threads keep the bytes) and the segment's end, not its
 * bytes again.
 *
 * Numbering continues from the outputs state (`nextNumber`); the first segment of a run after a
 * restart carries the discontinuity. Media castline cannot package (a non-FLV stream, a codec
 * other than H.264/AAC, a codec configuration that changes mid-run) stops the run through
 * `onInvalid` (the job ends `INVALID_MEDIA`); a failed disk write goes to `onStorageError`.
 */
import type { Readable } from 'node:stream';
import type { TrackConfig } from '../domain/media';
import { FlvReader } from '../packaging/flv-reader';
import { flvTagToMedia } from '../packaging/flv-tag';
import type { PackagedPart, PackagedSegmentEnd, PackagerSink, PackagerTiming } from '../packaging/packaging.types';
import { Segmenter } from '../packaging/segmenter';
import { TeeSink } from '../packaging/tee-sink';
import { CmafOutputsSink } from './cmaf-outputs-sink';
import type { OutputsState, StreamOutputs } from './outputs';
import type { LivePackagingEvent } from './worker.types';

export interface PipePackagingOptions {
  state: OutputsState;
  outputs: StreamOutputs;
  timing: PackagerTiming;
  /** Hands one rendition's event to the main thread, transferring `transfer`. */
  post: (renditionId: string, event: LivePackagingEvent, transfer: ArrayBuffer[]) => void;
  onStorageError: (err: Error) => void;
  /** The run's media cannot be packaged: the caller stops ffmpeg; the job ends INVALID_MEDIA. */
  onInvalid: (message: string) => void;
  onWarning: (message: string) => void;
}

/** Copies `bytes` into a buffer of its own, so that it can be transferred without taking the original. */
function own(bytes: Uint8Array): { data: Uint8Array; transfer: ArrayBuffer[] } {
  const data = new Uint8Array(bytes.byteLength);
  data.set(bytes);
  return { data, transfer: [data.buffer] };
}

/** The `PackagerSink` that forwards a rendition's output to the main thread. */
class MainThreadSink implements PackagerSink {
  segments = 0;

  constructor(private readonly renditionId: string, private readonly post: PipePackagingOptions['post']) {}

  init(data: Buffer, config: TrackConfig): void {
    const copy = own(data);
    this.post(this.renditionId, { kind: 'init', data: copy.data, config }, copy.transfer);
  }

  part(part: PackagedPart): void {
    const copy = own(part.data);
    this.post(this.renditionId, { kind: 'part', part: { ...part, data: copy.data } }, copy.transfer);
  }

  segmentEnd(segment: PackagedSegmentEnd): void {
    this.segments++;
    // Not the whole segment's bytes (`data`, which the disk sink writes): the main thread has its
    // parts already; its store joins them only if a player asks for the whole segment.
    const { data: _whole, ...end } = segment;
    this.post(this.renditionId, { kind: 'segment-end', segment: end }, []);
  }
}

/** One rendition's pipe: FLV in, CMAF out. */
class RenditionPipe {
  private readonly reader = new FlvReader();
  private readonly segmenter: Segmenter;
  private readonly live: MainThreadSink;
  private failed = false;

  constructor(index: number, private readonly options: PipePackagingOptions) {
    const r = options.state.renditions[index]!;
    const id = r.rendition.id;
    this.live = new MainThreadSink(id, options.post);
    const disk = new CmafOutputsSink(options.outputs, id, options.onStorageError);
    this.segmenter = new Segmenter(new TeeSink(this.live, disk), {
      ...options.timing,
      firstMsn: r.nextNumber,
      discontinuity: r.discontinuityPending,
      onWarning: (message) => options.onWarning(`${id}: ${message}`),
    });
  }

  get segments(): number {
    return this.live.segments;
  }

  push(chunk: Buffer): void {
    if (this.failed) return;
    const receivedAt = Date.now();
    try {
      for (const tag of this.reader.push(chunk)) {
        const event = flvTagToMedia(tag.type, tag.timestamp, tag.body, receivedAt, true); // views into pipe chunks Node never reuses
        if (event !== null) this.segmenter.push(event);
      }
    } catch (err) {
      this.failed = true;
      this.options.onInvalid((err as Error).message);
    }
  }

  /** Flushes the last part and segment (the pipe ended). */
  end(): void {
    if (this.failed) return;
    try {
      this.segmenter.end();
    } catch (err) {
      this.options.onWarning(`could not flush the last part: ${(err as Error).message}`);
    }
  }
}

export class PipePackaging {
  private readonly pipes: RenditionPipe[];

  constructor(options: PipePackagingOptions) {
    this.pipes = options.state.renditions.map((_, i) => new RenditionPipe(i, options));
  }

  /** Starts reading ffmpeg's output pipes (one per rendition, in order). */
  attach(outputs: readonly Readable[]): void {
    outputs.forEach((stream, i) => {
      const pipe = this.pipes[i];
      if (pipe === undefined) return;
      stream.on('data', (chunk: Buffer) => pipe.push(chunk));
      stream.on('error', () => undefined); // ffmpeg killed: its exit is what counts
    });
  }

  /** Segments completed by this run, every rendition counted. */
  get segments(): number {
    return this.pipes.reduce((total, p) => total + p.segments, 0);
  }

  /** After ffmpeg exited (every pipe read to its end): flushes every rendition. */
  end(): void {
    for (const p of this.pipes) p.end();
  }
}
