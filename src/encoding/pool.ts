/**
 * The local encoder: a piscina worker-thread pool running one long-lived encode job per stream
 * (`concurrentTasksPerWorker` sized so no stream waits in the queue). Implements `Encoder`, and
 * `StepRunner` for workflow step jobs (one supervised ffmpeg each, see `step-job.ts`): those run
 * in a second piscina of the same worker file, created on the first step, so they never take a
 * stream's slot and do not count toward `capacity`; they are tracked, stopped on `close()` and
 * orphan-killed exactly like encode jobs.
 *
 * Both kinds of job share one lifecycle (`job-supervisor.ts`: PIDs tracked so a dead worker's
 * ffmpeg is still killed, reports forwarded, stop with a SIGKILL safety net, one final report).
 * What differs is each kind's `JobKind`: an encode job keeps a mirror of its outputs state on the
 * main thread (so a restart with `attempt > 0` continues the numbering with a discontinuity, and a
 * dead worker's playlists still get ENDLIST); a step job whose worker died gets its ffmpeg ended
 * gracefully and its HLS playlist ended. `close()` stops every job, awaits them (SIGKILL
 * fallback), then destroys the pools. `killAllNow()` is for the process's `exit` handler.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Config } from '../config/config';
import type { JobHandle, EncodeJob, Encoder, EncoderReport, StepJob, StepReport, StepRunner } from '../domain/jobs';
import { silentLogger, type Logger } from '../logging/logger';
import type { LiveHlsRegistry } from '../packaging/live-hls';
import { FileStorage } from '../storage/filesystem';
import { ffmpegPath } from './binaries';
import { signalAll, waitGone } from './child-processes';
import { JobSupervisor, type JobKind } from './job-supervisor';
import { LiveRenditions } from './live-renditions';
import { applyOutputEvent, finalizeSync, markAnnounced, type OutputsState } from './outputs';
import { hlsPlaylistPath } from './step-args';
import { endHlsPlaylistSync, readWholePlaylist } from './step-playlist';
import type { JobOptions, StepOptions, StepTask, StepWorkerToMain, WorkerTask, WorkerToMain } from './worker.types';

export interface EncoderPoolOptions {
  /** Encoder id shown in reports. Default 0. */
  id?: number;
  /** Root of the HLS / preview output (`config.hlsFilesystemPath`). */
  storageRoot: string;
  /** `config.encoding` (capacity, HLS settings, grace, stall, restarts). */
  encoding: Config['encoding'];
  logger?: Logger;
  /** Worker threads. Default min(2, cores): the jobs are I/O-bound, ffmpeg does the work. */
  maxThreads?: number;
  /** First in-job restart delay in ms (doubles, capped at 8 s). Default 1000. */
  restartBackoffMs?: number;
  /** How long a crashed stream's outputs state is kept for a restart with `attempt > 0`. Default 10 min. */
  retainMs?: number;
  ffmpegPath?: string;
  /** Step jobs: a run that produced output this long resets the restart count. Default 30. */
  stepStableRunSeconds?: number;
  /** Told of every ffmpeg restart of an encode job: in the job after a crash, or a new job after its worker died (metrics). */
  onRestart?: (reason: 'ffmpeg-crashed' | 'worker-died') => void;
  /**
   * Told of every change of an encode job's outputs state (plan, segment, preview, end): a cluster
   * keeps it where another node can continue the stream's playlists if this one dies.
   */
  onOutputsState?: (job: EncodeJob, state: OutputsState) => void;
  /**
   * HLS_SEGMENT_FORMAT=fmp4: where the LL-HLS parts the jobs package go (the registry the HLS
   * server reads) and how many complete segments each rendition keeps in memory. Without it the
   * parts are dropped (the disk still gets everything).
   */
  liveHls?: { registry: LiveHlsRegistry; windowSegments: number };
}

/** The reports of each kind before its final `exited`. */
type EncodeProgress = Exclude<EncoderReport, { type: 'exited' }>;
type StepProgress = Exclude<StepReport, { type: 'exited' }>;
/** An encode job's main-thread state: the mirror of its outputs (null until the worker posted the plan). */
type EncodeMirror = OutputsState | null;

/** Step jobs per step thread: they are I/O-bound (ffmpeg does the work). */
const STEPS_PER_THREAD = 64;

/**
 * The worker threads' environment: ours, without ws's native bufferutil. A worker loads `ws` (for
 * WS inputs); a thread terminated while that addon initialises (a pool closed right after it was
 * made, at shutdown) fails an assertion inside the addon and aborts the whole process. Masking
 * the few frames a WS input client sends needs no native help.
 */
const WORKER_ENV = { ...process.env, WS_NO_BUFFER_UTIL: '1' };

export class EncoderPool implements Encoder, StepRunner {
  readonly id: number;
  readonly capacity: number;
  private readonly piscina: Piscina;
  private readonly encodes: JobSupervisor<EncodeJob, EncodeProgress, EncodeMirror, WorkerToMain>;
  private readonly steps: JobSupervisor<StepJob, StepProgress, null, StepWorkerToMain>;
  private stepPiscina: Piscina | null = null;
  private nextStepId = 1;
  private readonly stepOptions: StepOptions;
  private readonly maxThreads: number;
  private readonly retained = new Map<string, { state: OutputsState; timer: NodeJS.Timeout }>();
  private readonly storage: FileStorage;
  private readonly jobOptions: JobOptions;
  private readonly logger: Logger;
  private readonly retainMs: number;
  private closing: Promise<void> | null = null;
  /** Jobs (by key) resumed from a dead worker's outputs: their first `restart` output event is that resume, not a crash. */
  private readonly resumed = new Set<string>();
  /** Encode jobs' LL-HLS stores on this thread, by job key (fmp4). */
  private readonly live = new Map<string, LiveRenditions>();

  constructor(private readonly options: EncoderPoolOptions) {
    this.id = options.id ?? 0;
    this.capacity = options.encoding.capacity;
    this.logger = (options.logger ?? silentLogger).child({ component: 'encoder-pool', encoder: this.id });
    this.storage = new FileStorage(options.storageRoot);
    this.retainMs = options.retainMs ?? 10 * 60_000;
    this.jobOptions = jobOptionsFor(options, this.storage.root);
    this.stepOptions = {
      ffmpegPath: this.jobOptions.ffmpegPath,
      stopGraceSeconds: options.encoding.stopGraceSeconds,
      stallTimeoutSeconds: options.encoding.stallTimeoutSeconds,
      maxRestarts: options.encoding.maxRestarts,
      restartBackoffMs: this.jobOptions.restartBackoffMs,
      stableRunSeconds: options.stepStableRunSeconds ?? 30,
    };
    const maxThreads = options.maxThreads ?? Math.max(1, Math.min(2, os.cpus().length));
    this.maxThreads = maxThreads;
    this.piscina = new Piscina({
      filename: path.join(__dirname, 'worker.js'),
      name: 'encode',
      minThreads: 1,
      maxThreads,
      // One slot per stream across the threads: a stream never waits in the queue behind another.
      concurrentTasksPerWorker: this.capacity < 0 ? 64 : Math.max(1, Math.ceil(this.capacity / maxThreads)),
      atomics: 'disabled',
      idleTimeout: 60_000,
      env: WORKER_ENV,
    });
    const supervision = { logger: this.logger, stopGraceSeconds: this.jobOptions.stopGraceSeconds };
    this.encodes = new JobSupervisor(this.encodeKind(), supervision);
    this.steps = new JobSupervisor(this.stepKind(), supervision);
  }

  /** Streams being encoded now. */
  get active(): number {
    return this.encodes.size;
  }

  /** The pool's worker threads (tests use it to kill one). */
  get threads(): readonly Worker[] {
    return this.piscina.threads;
  }

  /** Step jobs running now (not counted in `active` nor against `capacity`). */
  get activeSteps(): number {
    return this.steps.size;
  }

  /** The step jobs' worker threads (tests use it to kill one). */
  get stepThreads(): readonly Worker[] {
    return this.stepPiscina?.threads ?? [];
  }

  /** PIDs of every ffmpeg/ffprobe this pool runs now (encode and step jobs). */
  get childPids(): number[] {
    return [...this.encodes.childPids, ...this.steps.childPids];
  }

  /**
   * Starts an encode job. A restart (`attempt > 0`) continues the outputs state this pool kept of
   * the crashed run, else `prior` (another node's, in a cluster), else starts over.
   */
  start(job: EncodeJob, report: (r: EncoderReport) => void, prior: OutputsState | null = null): JobHandle {
    const key = `${job.channel}/${job.streamId}`;
    if (this.closing) return this.encodes.refuse(report, 'SHUTTING_DOWN', 'the encoder is shutting down');
    if (this.capacity >= 0 && this.encodes.size >= this.capacity) return this.encodes.refuse(report, 'CAPACITY_FULL', `encoder ${this.id} is at capacity (${this.capacity})`);
    if (this.encodes.has(key)) return this.encodes.refuse(report, 'START_FAILED', `stream ${key} is already being encoded`);
    const resume = job.attempt > 0 ? this.takeRetained(key, job, prior) : null;
    if (job.attempt > 0) this.options.onRestart?.('worker-died');
    if (resume !== null) this.resumed.add(key);
    return this.encodes.start(key, job, resume, (port): WorkerTask => ({ job, options: this.jobOptions, prior: resume, port }), report);
  }

  startStep(job: StepJob, report: (r: StepReport) => void): JobHandle {
    if (this.closing) return this.steps.refuse(report, 'SHUTTING_DOWN', 'the encoder is shutting down');
    return this.steps.start(`step-${this.nextStepId++}`, job, null, (port): StepTask => ({ job, options: this.stepOptions, port }), report);
  }

  /** The outputs state a crashed stream left (a restart continues it), or null if none was kept. */
  private takeRetained(key: string, job: EncodeJob, given: OutputsState | null): OutputsState | null {
    const kept = this.retained.get(key);
    if (!kept) {
      if (given !== null) return given;
      this.logger.warn({ ch: job.channel, streamId: job.streamId, attempt: job.attempt }, 'restart without retained outputs state: starting over');
      return null;
    }
    clearTimeout(kept.timer);
    this.retained.delete(key);
    return kept.state;
  }

  private encodeKind(): JobKind<EncodeJob, EncodeProgress, EncodeMirror, WorkerToMain> {
    return {
      label: 'encoder',
      taskName: 'encode',
      pool: () => this.piscina,
      describe: (job) => ({ ch: job.channel, streamId: job.streamId }),
      onMessage: (active, message) => {
        if (message.type === 'live') return this.liveOf(active.job)?.apply(message.rendition, message.event);
        if (message.type === 'warning') return this.logger.warn({ ch: active.job.channel, streamId: active.job.streamId }, message.message);
        if (message.type === 'plan') active.state = message.state;
        else if (message.type === 'output' && active.state) applyOutputEvent(active.state, message.event);
        if (active.state && (message.type === 'plan' || message.type === 'output')) this.options.onOutputsState?.(active.job, active.state);
        if (message.type === 'output' && message.event.kind === 'restart' && !this.resumed.delete(`${active.job.channel}/${active.job.streamId}`)) this.options.onRestart?.('ffmpeg-crashed');
      },
      // What was announced is part of the state a continuation starts from: not announced twice.
      onProgress: (active, report) => {
        if (report.type !== 'available' || !active.state) return;
        markAnnounced(active.state, report.output);
        this.options.onOutputsState?.(active.job, active.state);
      },
      // The dead worker's ffmpeg is killed and its playlists finalized from the mirror.
      cleanUpAfterWorkerDied: (active) => {
        signalAll(active.pids, 'SIGKILL');
        if (!active.state) return;
        try {
          finalizeSync(active.state, this.storage);
        } catch (e) {
          this.logger.error({ err: e, ch: active.job.channel, streamId: active.job.streamId }, 'could not finalize playlists of a dead worker');
        }
      },
      // A crashed stream's outputs are kept for a while: the stream actor may restart it (`attempt > 0`).
      onEnded: (active, exited) => {
        this.resumed.delete(`${active.job.channel}/${active.job.streamId}`);
        this.endLive(active.job);
        if (exited.error?.code === 'STORAGE_FULL' || exited.error?.code === 'STORAGE_ERROR') {
          this.logger.error({ ch: active.job.channel, streamId: active.job.streamId, code: exited.error.code, detail: exited.error.message }, 'output storage failed: stream closed, no restart');
        }
        if (exited.clean || !active.state || this.closing) return;
        const key = `${active.job.channel}/${active.job.streamId}`;
        const timer = setTimeout(() => this.retained.delete(key), this.retainMs);
        timer.unref();
        this.retained.set(key, { state: active.state, timer });
      },
    };
  }

  /** The job's LL-HLS stores (made at its first part), or null without a registry. */
  private liveOf(job: EncodeJob): LiveRenditions | null {
    const liveHls = this.options.liveHls;
    if (liveHls === undefined) return null;
    const key = `${job.channel}/${job.streamId}`;
    let live = this.live.get(key);
    if (live === undefined) {
      const timing = { partSeconds: this.options.encoding.partSeconds, segmentSeconds: this.options.encoding.hlsTimeSeconds };
      live = new LiveRenditions({ channel: job.channel, streamId: job.streamId }, { registry: liveHls.registry, timing, windowSegments: liveHls.windowSegments });
      this.live.set(key, live);
    }
    return live;
  }

  private endLive(job: EncodeJob): void {
    const key = `${job.channel}/${job.streamId}`;
    this.live.get(key)?.end();
    this.live.delete(key);
  }

  private stepKind(): JobKind<StepJob, StepProgress, null, StepWorkerToMain> {
    return {
      label: 'step',
      taskName: 'step',
      pool: () => this.stepPool(),
      describe: (job) => ({ step: job.label }),
      cleanUpAfterWorkerDied: (active) => this.endOrphanedStep(active.job, [...active.pids]),
    };
  }

  private stepPool(): Piscina {
    this.stepPiscina ??= new Piscina({
      filename: path.join(__dirname, 'worker.js'),
      name: 'step',
      minThreads: 0,
      maxThreads: this.maxThreads,
      concurrentTasksPerWorker: STEPS_PER_THREAD,
      atomics: 'disabled',
      idleTimeout: 60_000,
      env: WORKER_ENV,
    });
    return this.stepPiscina;
  }

  /**
   * A step's worker thread died. Its ffmpeg outlives it (it ignores SIGPIPE; a WS input just got
   * EOF) and is likely finishing its output right now: SIGINT, let it end within the grace
   * period, then SIGKILL. An HLS playlist cut by the kill is restored from a snapshot and ended.
   */
  private async endOrphanedStep(job: StepJob, pids: number[]): Promise<void> {
    const step = job.step;
    const playlist = step.type === 'ffmpeg_hls' ? hlsPlaylistPath(step) : null;
    const snapshot = playlist ? readWholePlaylist(playlist) : null;
    signalAll(pids, 'SIGINT');
    await waitGone(pids, this.stepOptions.stopGraceSeconds * 1000);
    signalAll(pids, 'SIGKILL');
    await waitGone(pids, 2000);
    if (!playlist) return;
    try {
      endHlsPlaylistSync(playlist, snapshot);
    } catch (e) {
      this.logger.error({ err: e, step: job.label }, 'could not finalize the playlist of a dead step worker');
    }
  }

  /** SIGKILLs every ffmpeg/ffprobe of every job, synchronously: for the process's `exit` handler. */
  killAllNow(): void {
    this.encodes.killAllNow();
    this.steps.killAllNow();
  }

  /** Stops every job, waits for them (SIGKILL after the grace period), then destroys the pool. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const all = Promise.all([this.encodes.stopAll(), this.steps.stopAll()]);
    const graceMs = (this.jobOptions.stopGraceSeconds + 2) * 1000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((r) => { timer = setTimeout(() => r(true), graceMs); })]);
    clearTimeout(timer);
    if (timedOut) {
      this.killAllNow();
      await Promise.race([all, new Promise((r) => setTimeout(r, 3000))]);
    }
    for (const kept of this.retained.values()) clearTimeout(kept.timer);
    this.retained.clear();
    await Promise.all([this.piscina.destroy(), this.stepPiscina?.destroy()]);
    this.killAllNow();
  }
}

/** What every encode job of this pool gets: `config.encoding` without the capacity, plus paths and the restart backoff. */
function jobOptionsFor(options: EncoderPoolOptions, storageRoot: string): JobOptions {
  const e = options.encoding;
  return {
    storageRoot,
    ffmpegPath: options.ffmpegPath ?? ffmpegPath,
    hlsTimeSeconds: e.hlsTimeSeconds,
    hlsLivePlaylistSize: e.hlsLivePlaylistSize,
    hlsVodMaxSize: e.hlsVodMaxSize,
    h264Preset: e.h264Preset,
    videoCodec: e.videoCodec,
    audioCodec: e.audioCodec,
    pixelFormat: e.pixelFormat,
    originalMode: e.originalMode,
    segmentFormat: e.segmentFormat,
    partSeconds: e.partSeconds,
    stopGraceSeconds: e.stopGraceSeconds,
    stallTimeoutSeconds: e.stallTimeoutSeconds,
    maxRestarts: e.maxRestarts,
    restartBackoffMs: options.restartBackoffMs ?? 1000,
  };
}
