/**
 * The node's `Encoder`: streams castline can package itself (HLS_SEGMENT_FORMAT=fmp4, an RTMP or
 * WS publisher of ours, first attempt, ORIGINAL only, HLS_ORIGINAL_MODE=copy) run as a
 * `PassthroughJob` without ffmpeg — with previews, one keyframe-only preview ffmpeg beside it;
 * every other stream, and any passthrough that finds its media cannot be passed through before it
 * published (a WS publish that is WebM, not FLV; another codec), runs in the ffmpeg pool (whose
 * jobs, with fmp4, package the renditions ffmpeg writes to FLV pipes: `pipe-packaging.ts`).
 * A passthrough counts toward the pool's capacity like any stream, its preview ffmpeg included
 * (one stream, one slot).
 */
import type { Config } from '../config/config';
import type { EncodeJob, Encoder, EncoderReport, JobHandle } from '../domain/jobs';
import type { Logger } from '../logging/logger';
import type { LiveHlsRegistry } from '../packaging/live-hls';
import { FileStorage } from '../storage/filesystem';
import type { OutputsState } from './outputs';
import { PassthroughJob } from './passthrough-job';
import { signalAll } from './child-processes';
import type { PreviewProcessOptions } from './keyframe-previews';
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
  /** The RTMP ingest's media tap, once it exists (null: every RTMP stream goes to ffmpeg). */
  source: () => FlvMediaSource | null;
  /** The WS ingest's publishes read as FLV, once it exists (null: every WS stream goes to ffmpeg). */
  wsSource?: () => FlvMediaSource | null;
  /** The ffmpeg of the passthroughs' previews. */
  ffmpegPath: string;
  /** Pause before a preview ffmpeg's first restart, ms (doubling to 8 s). Default 1000. */
  restartBackoffMs?: number;
  /** Told of each preview ffmpeg restart (metrics). */
  onRestart?: (reason: 'ffmpeg-crashed') => void;
  /** Complete segments held in memory per rendition. */
  memorySegments: number;
  logger: Logger;
}

export class PackagingEncoder implements Encoder {
  readonly id: number;
  readonly capacity: number;
  private readonly passthroughs = new Set<PassthroughJob>();
  private readonly storage: FileStorage;
  /** The passthroughs' preview ffmpegs now running. */
  private readonly children = new Set<number>();

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

  /** For the process's `exit` handler: no preview ffmpeg outlives castline. */
  killAllNow(): void {
    signalAll(this.children, 'SIGKILL');
  }

  /** `prior` (a cluster restart continuing another run's outputs) always goes to the pool. */
  start(job: EncodeJob, report: (r: EncoderReport) => void, prior: OutputsState | null = null): JobHandle {
    const source = job.source.type === 'WS' ? this.options.wsSource?.() ?? null : this.options.source();
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
        previews: this.previewProcess(), logger: this.options.logger,
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

  private previewProcess(): PreviewProcessOptions {
    const o = this.options;
    return {
      ffmpegPath: o.ffmpegPath, maxRestarts: o.encoding.maxRestarts, restartBackoffMs: o.restartBackoffMs ?? 1000, graceSeconds: o.encoding.stopGraceSeconds,
      onChild: (pid, alive) => void (alive ? this.children.add(pid) : this.children.delete(pid)),
      onRestart: () => o.onRestart?.('ffmpeg-crashed'),
    };
  }

  private eligible(job: EncodeJob): boolean {
    return this.options.encoding.segmentFormat === 'fmp4'
      && this.options.encoding.originalMode === 'copy'
      && (job.source.type === 'RTMP' || job.source.type === 'WS')
      && job.attempt === 0
      && job.settings.resolutions.rungs.length === 0;
  }
}
