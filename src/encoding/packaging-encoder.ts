/**
 * The node's `Encoder`: streams castline can package itself (HLS_SEGMENT_FORMAT=fmp4, an RTMP
 * publisher of ours, first attempt, ORIGINAL only, no previews, HLS_ORIGINAL_MODE=copy) run as a
 * `PassthroughJob` without ffmpeg; every other stream, and any passthrough that finds its media
 * cannot be passed through before it published, runs in the ffmpeg pool (whose jobs, with fmp4,
 * package the renditions ffmpeg writes to FLV pipes: `pipe-packaging.ts`). Passthrough
 * jobs count toward the pool's capacity like any stream.
 */
import type { Config } from '../config/config';
import type { EncodeJob, Encoder, EncoderReport, JobHandle } from '../domain/jobs';
import type { Logger } from '../logging/logger';
import type { LiveHlsRegistry } from '../packaging/live-hls';
import { FileStorage } from '../storage/filesystem';
import type { OutputsState } from './outputs';
import { PassthroughJob } from './passthrough-job';
import type { FlvMediaSource } from './passthrough.types';

/** The pool's side: start ffmpeg jobs (a restart may continue a prior outputs state), and how many run now. */
export interface FfmpegEncoder extends Encoder {
  readonly active: number;
  start(job: EncodeJob, report: (r: EncoderReport) => void, prior?: OutputsState | null): JobHandle;
}

export interface PackagingEncoderOptions {
  pool: FfmpegEncoder;
  encoding: Config['encoding'];
  storageRoot: string;
  registry: LiveHlsRegistry;
  /** The RTMP ingest's media tap, once it exists (null: every stream goes to ffmpeg). */
  source: () => FlvMediaSource | null;
  /** Complete segments held in memory per rendition. */
  memorySegments: number;
  logger: Logger;
}

export class PackagingEncoder implements Encoder {
  readonly id: number;
  readonly capacity: number;
  private readonly passthroughs = new Set<PassthroughJob>();
  private readonly storage: FileStorage;

  constructor(private readonly options: PackagingEncoderOptions) {
    this.id = options.pool.id;
    this.capacity = options.pool.capacity;
    this.storage = new FileStorage(options.storageRoot);
  }

  /** Streams packaged here now (no ffmpeg). */
  get passthroughCount(): number {
    return this.passthroughs.size;
  }

  /** Streams running on this node: ffmpeg jobs and passthroughs. */
  get active(): number {
    return this.options.pool.active + this.passthroughs.size;
  }

  /** `prior` (a cluster restart continuing another run's outputs) always goes to the pool. */
  start(job: EncodeJob, report: (r: EncoderReport) => void, prior: OutputsState | null = null): JobHandle {
    const source = this.options.source();
    if (source === null || prior !== null || !this.eligible(job)) return this.options.pool.start(job, report, prior);
    if (this.capacity >= 0 && this.options.pool.active + this.passthroughs.size >= this.capacity) {
      setImmediate(() => report({ type: 'exited', clean: false, error: { code: 'CAPACITY_FULL', message: `encoder ${this.id} is at capacity (${this.capacity})` } }));
      return { stop: () => undefined };
    }
    const e = this.options.encoding;
    const passthrough: PassthroughJob = new PassthroughJob(
      job,
      {
        storage: this.storage, registry: this.options.registry, source,
        hlsTimeSeconds: e.hlsTimeSeconds, partSeconds: e.partSeconds, liveSize: e.hlsLivePlaylistSize, vodMaxSize: e.hlsVodMaxSize,
        originalMode: e.originalMode, stallTimeoutSeconds: e.stallTimeoutSeconds, memorySegments: this.options.memorySegments,
        logger: this.options.logger,
      },
      report,
      () => this.options.pool.start(job, report),
      () => this.passthroughs.delete(passthrough),
    );
    this.passthroughs.add(passthrough);
    if (passthrough.start()) return passthrough;
    this.passthroughs.delete(passthrough);
    return this.options.pool.start(job, report);
  }

  private eligible(job: EncodeJob): boolean {
    const { settings } = job;
    return this.options.encoding.segmentFormat === 'fmp4'
      && this.options.encoding.originalMode === 'copy'
      && job.source.type === 'RTMP'
      && job.attempt === 0
      && settings.previews === null
      && settings.resolutions.rungs.length === 0;
  }
}
