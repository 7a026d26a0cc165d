/**
 * One `ORIGINAL` H.264/AAC stream from RTMP or WS (FLV), packaged by castline itself: no ffmpeg.
 * The RTMP ingest's media tap, or the WS ingest's bytes read as FLV (`ws-flv-source.ts`), hand
 * over FLV tags; they become access units (`packaging/flv-tag.ts`), the
 * segmenter cuts CMAF parts and segments, which go to the in-memory LL-HLS store (served with
 * blocking reload) and to the disk (`init.mp4`, `{n}.m4s`, classic playlists, recordings,
 * `stream-available` events — `CmafOutputsSink` through `StreamOutputs`). Previews, when asked
 * for, come from one small keyframe-only ffmpeg fed from the same tags (`keyframe-previews.ts`),
 * started with the packaging and gone before the job reports its end.
 *
 * The first frames are buffered until the frame rate is measured (the rendition id carries it).
 * Anything this path cannot package before it published (another codec, no video within
 * `PLAN_LIMIT_MS`, a request that needs encoding, WS bytes that are not FLV — a browser's WebM)
 * hands the stream to `fallback()` — the ffmpeg job, as before. After it published, bad media ends
 * the job with `INVALID_MEDIA`, and so does WS FLV whose framing breaks, at any time; a disk write
 * failure with `STORAGE_FULL` / `STORAGE_ERROR` (or `ENCODER_CRASHED` for anything else); no media for the stall timeout with `INPUT_STALLED`. The
 * publisher leaving, or `stop()`, ends it cleanly: last part and segment flushed, ENDLIST written.
 */
import type { AccessUnit, MediaEvent, TrackConfig } from '../domain/media';
import type { EncodeJob, EncoderReport, JobErrorCode, JobHandle } from '../domain/jobs';
import type { Logger } from '../logging/logger';
import type { LiveHlsRegistry } from '../packaging/live-hls';
import { flvTagToMedia, UnsupportedMediaError } from '../packaging/flv-tag';
import { PartStore } from '../packaging/part-store';
import { Segmenter } from '../packaging/segmenter';
import { TeeSink } from '../packaging/tee-sink';
import type { FileStorage } from '../storage/filesystem';
import { storageFaultOf } from '../storage/storage-errors';
import { CmafOutputsSink } from './cmaf-outputs-sink';
import { KeyframePreviews, type PreviewProcessOptions } from './keyframe-previews';
import { layout } from './layout';
import { initialOutputs, StreamOutputs } from './outputs';
import { FPS_SAMPLE_FRAMES, fpsSample, measuredFps, passthroughRendition, passthroughSource } from './passthrough-plan';
import type { FlvMediaSource, FlvPacket, UnreadableMedia } from './passthrough.types';

/** Media time after which a stream still without a plannable video track goes to ffmpeg. */
const PLAN_LIMIT_MS = 3000;

export interface PassthroughOptions {
  storage: FileStorage;
  registry: LiveHlsRegistry;
  source: FlvMediaSource;
  hlsTimeSeconds: number;
  partSeconds: number;
  liveSize: number;
  vodMaxSize: number;
  originalMode: 'copy' | 'encode';
  stallTimeoutSeconds: number;
  /** Complete segments held in memory per rendition (the LL playlist's window). */
  memorySegments: number;
  /** How the preview ffmpeg of a stream with previews runs. */
  previews: PreviewProcessOptions;
  logger: Logger;
}

type Phase = 'buffering' | 'packaging' | 'handed-over' | 'done';

export class PassthroughJob implements JobHandle {
  private phase: Phase = 'buffering';
  private buffered: MediaEvent[] = [];
  /** The codec configuration seen so far (while buffering). */
  private readonly config: TrackConfig = { video: null, audio: null };
  private segmenter: Segmenter | null = null;
  private outputs: StreamOutputs | null = null;
  private store: PartStore | null = null;
  private release: (() => void) | null = null;
  private unsubscribe: (() => void) | null = null;
  private delegate: JobHandle | null = null;
  private lastMediaAt = Date.now();
  private stallTimer: NodeJS.Timeout | null = null;
  /** The stream's keyframe-only preview ffmpeg (fed from the start, run once packaging starts); null without previews. */
  private previews: KeyframePreviews | null = null;
  private readonly log: Logger;

  constructor(
    private readonly job: EncodeJob,
    private readonly options: PassthroughOptions,
    private readonly report: (r: EncoderReport) => void,
    private readonly fallback: () => JobHandle,
    private readonly onDone: () => void,
  ) {
    this.log = options.logger.child({ ch: job.channel, streamId: job.streamId, component: 'passthrough' });
    const previews = job.settings.previews;
    if (previews !== null) this.previews = new KeyframePreviews(previews, options.previews, this.log.child({ component: 'previews' }));
  }

  /** Subscribes to the publisher's media; false when there is no such publisher (the caller runs ffmpeg). */
  start(): boolean {
    const unsubscribe = this.options.source.subscribeMedia(this.job.channel, this.job.streamId, {
      packet: (p) => this.onPacket(p),
      end: () => this.finish(null),
      unreadable: (problem) => this.onUnreadable(problem),
    });
    if (unsubscribe === null) return false;
    // Ended or handed over during the subscription's replay: nothing more to watch.
    if (this.phase === 'done' || this.phase === 'handed-over') {
      unsubscribe();
      return true;
    }
    this.unsubscribe = unsubscribe;
    const every = Math.min(1000, this.options.stallTimeoutSeconds * 250);
    this.stallTimer = setInterval(() => this.checkStall(), every);
    this.stallTimer.unref();
    return true;
  }

  stop(): void {
    if (this.delegate !== null) return this.delegate.stop();
    this.finish(null);
  }

  private onPacket(packet: FlvPacket): void {
    if (this.phase === 'done' || this.phase === 'handed-over') return;
    this.lastMediaAt = Date.now();
    this.previews?.packet(packet);
    let event: MediaEvent | null;
    try {
      event = flvTagToMedia(packet.type, packet.timestamp, packet.body, this.lastMediaAt, packet.owned === true);
    } catch (err) {
      return this.rejectMedia(err as Error);
    }
    if (event === null) return;
    if (this.phase === 'packaging') return this.feed(event);
    this.buffered.push(event);
    if (event.type === 'config') {
      if (event.video !== undefined) this.config.video = event.video;
      if (event.audio !== undefined) this.config.audio = event.audio;
    }
    this.tryPlan(false);
  }

  private feed(event: MediaEvent): void {
    try {
      this.segmenter!.push(event);
    } catch (err) {
      this.rejectMedia(err as Error);
    }
  }

  /** WS bytes that are not FLV go to ffmpeg (before packaging: WebM…); broken FLV ends the stream. */
  private onUnreadable(problem: UnreadableMedia): void {
    if (this.phase === 'done' || this.phase === 'handed-over') return;
    if (problem.kind === 'not-flv' && this.phase === 'buffering') return this.handOver(problem.message);
    this.log.warn({ problem: problem.message }, 'unreadable media');
    this.finish({ code: 'INVALID_MEDIA', message: problem.message });
  }

  private rejectMedia(err: Error): void {
    if (!(err instanceof UnsupportedMediaError) && this.phase === 'packaging') this.log.warn({ err }, 'malformed media');
    if (this.phase === 'buffering') return this.handOver(err.message);
    this.finish({ code: 'INVALID_MEDIA', message: err.message });
  }

  /**
   * Plans once the frame rate is measured, or the media says it cannot be passed through;
   * `atEnd`: the publisher left before that, package what arrived if it can be.
   */
  private tryPlan(atEnd: boolean): void {
    const units: AccessUnit[] = this.buffered.flatMap((e) => (e.type === 'unit' ? [e.unit] : []));
    const sample = fpsSample(units);
    const span = units.length > 1 ? units[units.length - 1]!.dts - units[0]!.dts : 0;
    if (!atEnd && sample.length < FPS_SAMPLE_FRAMES && span < PLAN_LIMIT_MS) return;
    const source = passthroughSource(this.config, measuredFps(sample));
    const rendition = source === null ? null : passthroughRendition(source, this.job.settings.resolutions, this.options.originalMode);
    if (source !== null && rendition !== null && sample.length > 0) return this.beginPackaging(rendition, source);
    if (!atEnd) this.handOver(source === null || sample.length === 0 ? 'no H.264 video in the first seconds' : 'the request needs encoding');
  }

  private beginPackaging(rendition: NonNullable<ReturnType<typeof passthroughRendition>>, source: NonNullable<ReturnType<typeof passthroughSource>>): void {
    const o = this.options;
    const ref = { channel: this.job.channel, streamId: this.job.streamId };
    const state = initialOutputs(ref, { hlsTime: o.hlsTimeSeconds, liveSize: o.liveSize, vodMaxSize: o.vodMaxSize, record: this.job.settings.record, format: 'fmp4' }, source, [rendition], this.job.settings.previews);
    this.outputs = new StreamOutputs(state, o.storage, (output) => this.report({ type: 'available', output }), () => undefined);
    this.store = new PartStore({ windowSegments: o.memorySegments });
    const timing = { partSeconds: o.partSeconds, segmentSeconds: o.hlsTimeSeconds };
    this.release = o.registry.add(ref.channel, ref.streamId, rendition.id, this.store, timing);
    const onError = (err: Error) => this.finish(storageFaultOf(err, o.storage.root) ?? { code: 'ENCODER_CRASHED', message: `writing the HLS output failed: ${err.message}` });
    // The segmenter writes each segment as one buffer: the store keeps views of it, the disk writes it.
    const disk = new CmafOutputsSink(this.outputs, rendition.id, onError);
    this.segmenter = new Segmenter(new TeeSink(this.store, disk), { ...timing, onWarning: (message) => this.log.warn(message) });
    this.phase = 'packaging';
    o.source.committed?.(ref.channel, ref.streamId);
    this.startPreviews();
    this.log.info({ rendition: rendition.id, previews: state.previews?.id }, `packaging the stream itself (passthrough, ${state.previews === null ? 'no ffmpeg' : 'previews from a keyframe-only ffmpeg'})`);
    const buffered = this.buffered;
    this.buffered = [];
    for (const e of buffered) if (this.phase === 'packaging') this.feed(e);
  }

  /** Once the outputs exist: the preview folder, then the preview ffmpeg (unless the job ended meanwhile). */
  private startPreviews(): void {
    const previews = this.previews;
    const outputs = this.outputs!;
    const state = outputs.state.previews;
    if (previews === null || state === null) return;
    void this.options.storage.ensureDir(layout.previewDir({ channel: this.job.channel, streamId: this.job.streamId }, state.id)).then(
      (dir) => previews.start({ dir, count: state.count, onCount: (count) => outputs.setPreviewCount(count) }),
      (err: Error) => this.log.error({ err }, 'no previews: their folder could not be made'),
    );
  }

  private handOver(reason: string): void {
    this.log.info({ reason }, 'not packaged here: ffmpeg runs the stream');
    this.phase = 'handed-over';
    this.buffered = [];
    void this.previews?.stop();
    this.previews = null;
    this.stopWatching();
    this.onDone();
    this.delegate = this.fallback();
  }

  private checkStall(): void {
    if (this.phase !== 'packaging' && this.phase !== 'buffering') return;
    if (Date.now() - this.lastMediaAt < this.options.stallTimeoutSeconds * 1000) return;
    this.finish({ code: 'INPUT_STALLED', message: `no media for ${this.options.stallTimeoutSeconds} s` });
  }

  private stopWatching(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.stallTimer !== null) clearInterval(this.stallTimer);
    this.stallTimer = null;
  }

  /** Ends the job: flushes what was packaged, ends the playlists, reports `exited` once written. */
  private finish(error: { code: JobErrorCode; message: string } | null): void {
    if (this.phase === 'done' || this.phase === 'handed-over') return;
    if (this.phase === 'buffering' && error === null && this.buffered.length > 0) this.tryPlan(true);
    this.phase = 'done';
    this.stopWatching();
    try {
      this.segmenter?.end();
    } catch (err) {
      this.log.warn({ err }, 'could not flush the last part');
    }
    this.store?.end();
    this.release?.();
    const outputs = this.outputs;
    // The preview ffmpeg is gone (its last image counted) before the end is reported.
    const previewsStopped = this.previews?.stop() ?? Promise.resolve();
    // Outputs end after it: its last count is written before ENDLIST, never after the end.
    const written = outputs === null ? previewsStopped : previewsStopped.then(() => outputs.end()).then(() => outputs.flush());
    void written.catch((err: Error) => this.log.error({ err }, 'could not end the playlists')).then(() => {
      this.onDone();
      this.report(error === null ? { type: 'exited', clean: true } : { type: 'exited', clean: false, error });
      if (error?.code === 'STORAGE_FULL' || error?.code === 'STORAGE_ERROR') {
        this.log.error({ code: error.code, detail: error.message }, 'output storage failed: stream closed, no restart');
      } else if (error !== null) {
        this.log.warn({ error }, 'passthrough ended with an error');
      }
    });
  }
}
