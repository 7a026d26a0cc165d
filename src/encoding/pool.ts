/**
 * The local encoder: a piscina worker-thread pool running one long-lived encode job per stream
 * (`concurrentTasksPerWorker` sized so no stream waits in the queue). Implements `Encoder`, and
 * `StepRunner` for workflow step jobs (one supervised ffmpeg each, see `step-job.ts`): those run
 * in a second piscina of the same worker file, created on the first step, so they never take a
 * stream's slot and do not count toward `capacity`; they are tracked, stopped on `close()` and
 * orphan-killed exactly like encode jobs.
 *
 * The main thread keeps, per job: the ffmpeg/ffprobe PIDs (so a dead worker's ffmpeg is still
 * killed), and a mirror of the outputs state (so a restart with `attempt > 0` continues the
 * numbering with a discontinuity, and a dead worker's playlists still get ENDLIST).
 * `close()` stops every job, awaits them (SIGKILL fallback), then destroys the pool.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { ffmpegPath } from '../binaries';
import type { Config } from '../config/config';
import { silentLogger, type Logger } from '../logger';
import { FileStorage } from '../storage/filesystem';
import type { EncodeHandle, EncodeJob, Encoder, EncoderReport, StepJob, StepReport, StepRunner } from './encoder.types';
import { applyOutputEvent, finalizeSync, type OutputsState } from './outputs';
import { hlsPlaylistPath } from './step-args';
import { endHlsPlaylistSync, readWholePlaylist } from './step-playlist';
import type { JobOptions, StepExited, StepOptions, StepTask, StepWorkerToMain, WorkerTask, WorkerToMain } from './worker.types';

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
}

type ExitedReport = Extract<EncoderReport, { type: 'exited' }>;

/** What the main thread tracks of any job running in a worker (encode or step). */
interface TrackedJob {
  port: MessagePort;
  /** ffmpeg/ffprobe PIDs the job runs now (killed from here if its worker dies). */
  pids: Set<number>;
  exited: boolean;
  done: Promise<void>;
  resolveDone: () => void;
  killTimer: NodeJS.Timeout | null;
}

interface ActiveJob extends TrackedJob {
  key: string;
  job: EncodeJob;
  mirror: OutputsState | null;
  report: (r: EncoderReport) => void;
}

interface ActiveStep extends TrackedJob {
  id: number;
  job: StepJob;
  report: (r: StepReport) => void;
}

/** Step jobs per step thread: they are I/O-bound (ffmpeg does the work). */
const STEPS_PER_THREAD = 64;

export class EncoderPool implements Encoder, StepRunner {
  readonly id: number;
  readonly capacity: number;
  private readonly piscina: Piscina;
  private readonly jobs = new Map<string, ActiveJob>();
  private readonly steps = new Map<number, ActiveStep>();
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
  private readonly onProcessExit = () => this.killAllNow();

  constructor(private readonly options: EncoderPoolOptions) {
    this.id = options.id ?? 0;
    this.capacity = options.encoding.capacity;
    this.logger = (options.logger ?? silentLogger).child({ component: 'encoder-pool', encoder: this.id });
    this.storage = new FileStorage(options.storageRoot);
    this.retainMs = options.retainMs ?? 10 * 60_000;
    const e = options.encoding;
    this.jobOptions = {
      storageRoot: this.storage.root,
      ffmpegPath: options.ffmpegPath ?? ffmpegPath,
      hlsTimeSeconds: e.hlsTimeSeconds,
      hlsLivePlaylistSize: e.hlsLivePlaylistSize,
      hlsVodMaxSize: e.hlsVodMaxSize,
      h264Preset: e.h264Preset,
      videoCodec: e.videoCodec,
      audioCodec: e.audioCodec,
      pixelFormat: e.pixelFormat,
      originalMode: e.originalMode,
      stopGraceSeconds: e.stopGraceSeconds,
      stallTimeoutSeconds: e.stallTimeoutSeconds,
      maxRestarts: e.maxRestarts,
      restartBackoffMs: options.restartBackoffMs ?? 1000,
    };
    this.stepOptions = {
      ffmpegPath: this.jobOptions.ffmpegPath,
      stopGraceSeconds: e.stopGraceSeconds,
      stallTimeoutSeconds: e.stallTimeoutSeconds,
      maxRestarts: e.maxRestarts,
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
    });
    process.on('exit', this.onProcessExit);
  }

  /** Streams being encoded now. */
  get active(): number {
    return this.jobs.size;
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
    return this.tracked().flatMap((j) => [...j.pids]);
  }

  private tracked(): TrackedJob[] {
    return [...this.jobs.values(), ...this.steps.values()];
  }

  start(job: EncodeJob, report: (r: EncoderReport) => void): EncodeHandle {
    const key = `${job.channel}/${job.streamId}`;
    const refuse = (code: string, message: string): EncodeHandle => {
      setImmediate(() => safeReport(report, { type: 'exited', clean: false, error: { code, message } }, this.logger));
      return { stop: () => undefined };
    };
    if (this.closing) return refuse('SHUTTING_DOWN', 'the encoder is shutting down');
    if (this.capacity >= 0 && this.jobs.size >= this.capacity) return refuse('CAPACITY_FULL', `encoder ${this.id} is at capacity (${this.capacity})`);
    if (this.jobs.has(key)) return refuse('START_FAILED', `stream ${key} is already being encoded`);

    let prior: OutputsState | null = null;
    if (job.attempt > 0) {
      const kept = this.retained.get(key);
      if (kept) {
        clearTimeout(kept.timer);
        this.retained.delete(key);
        prior = kept.state;
      } else {
        this.logger.warn({ ch: job.channel, streamId: job.streamId, attempt: job.attempt }, 'restart without retained outputs state: starting over');
      }
    }

    const { port1, port2 } = new MessageChannel();
    let resolveDone!: () => void;
    const active: ActiveJob = {
      key, job, port: port1, pids: new Set(), mirror: prior, exited: false, report,
      done: new Promise<void>((r) => { resolveDone = r; }), resolveDone: () => resolveDone(), killTimer: null,
    };
    this.jobs.set(key, active);
    port1.on('message', (message: WorkerToMain) => this.onMessage(active, message));

    const task: WorkerTask = { job, options: this.jobOptions, prior, port: port2 as unknown as WorkerTask['port'] };
    this.piscina.run(task, { name: 'encode', transferList: [port2 as unknown as MessagePort] }).then(
      (exited: ExitedReport) => {
        // The port's last message is the same report; give it a moment to arrive first.
        if (!active.exited) setTimeout(() => this.finish(active, exited), 100);
      },
      (err: unknown) => this.onWorkerDied(active, err),
    );
    return {
      stop: () => this.stopJob(active),
    };
  }

  startStep(job: StepJob, report: (r: StepReport) => void): EncodeHandle {
    if (this.closing) {
      setImmediate(() => safeReport(report, { type: 'exited', clean: false, error: { code: 'SHUTTING_DOWN', message: 'the encoder is shutting down' } }, this.logger));
      return { stop: () => undefined };
    }
    const { port1, port2 } = new MessageChannel();
    let resolveDone!: () => void;
    const active: ActiveStep = {
      id: this.nextStepId++, job, port: port1, pids: new Set(), exited: false, report,
      done: new Promise<void>((r) => { resolveDone = r; }), resolveDone: () => resolveDone(), killTimer: null,
    };
    this.steps.set(active.id, active);
    port1.on('message', (message: StepWorkerToMain) => this.onStepMessage(active, message));
    const task: StepTask = { job, options: this.stepOptions, port: port2 as unknown as StepTask['port'] };
    this.stepPool().run(task, { name: 'step', transferList: [port2 as unknown as MessagePort] }).then(
      (exited: StepExited) => {
        if (!active.exited) setTimeout(() => this.finishStep(active, exited), 100);
      },
      (err: unknown) => void this.onStepWorkerDied(active, err),
    );
    return { stop: () => this.stopJob(active) };
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
    });
    return this.stepPiscina;
  }

  private onStepMessage(active: ActiveStep, message: StepWorkerToMain): void {
    switch (message.type) {
      case 'child':
        if (message.alive) active.pids.add(message.pid);
        else active.pids.delete(message.pid);
        break;
      case 'report':
        if (message.report.type === 'exited') this.finishStep(active, message.report);
        else if (!active.exited) safeReport(active.report, message.report, this.logger);
        break;
    }
  }

  /**
   * A step's worker thread died. Its ffmpeg outlives it (it ignores SIGPIPE; a WS input just got
   * EOF) and is likely finishing its output right now: SIGINT, let it end within the grace
   * period, then SIGKILL. An HLS playlist cut by the kill is restored from a snapshot and ended.
   */
  private async onStepWorkerDied(active: ActiveStep, err: unknown): Promise<void> {
    if (active.exited) return;
    const step = active.job.step;
    const playlist = step.type === 'ffmpeg_hls' ? hlsPlaylistPath(step) : null;
    const snapshot = playlist ? readWholePlaylist(playlist) : null;
    const pids = [...active.pids];
    signalAll(pids, 'SIGINT');
    await waitGone(pids, this.stepOptions.stopGraceSeconds * 1000);
    this.killPids(active);
    await waitGone(pids, 2000);
    active.pids.clear();
    if (playlist) {
      try {
        endHlsPlaylistSync(playlist, snapshot);
      } catch (e) {
        this.logger.error({ err: e, step: active.job.label }, 'could not finalize the playlist of a dead step worker');
      }
    }
    const message = err instanceof Error ? err.message : String(err);
    this.logger.error({ step: active.job.label, message }, 'step worker died');
    this.finishStep(active, { type: 'exited', clean: false, error: { code: 'WORKER_DIED', message: `step worker thread died: ${message}` } });
  }

  private finishStep(active: ActiveStep, exited: StepExited): void {
    if (active.exited) return;
    active.exited = true;
    if (active.killTimer) clearTimeout(active.killTimer);
    this.steps.delete(active.id);
    active.port.close();
    active.resolveDone();
    safeReport(active.report, exited, this.logger);
  }

  private onMessage(active: ActiveJob, message: WorkerToMain): void {
    switch (message.type) {
      case 'child':
        if (message.alive) active.pids.add(message.pid);
        else active.pids.delete(message.pid);
        break;
      case 'plan':
        active.mirror = message.state;
        break;
      case 'output':
        if (active.mirror) applyOutputEvent(active.mirror, message.event);
        break;
      case 'report':
        if (message.report.type === 'exited') this.finish(active, message.report);
        else if (!active.exited) safeReport(active.report, message.report, this.logger);
        break;
    }
  }

  private stopJob(active: TrackedJob): void {
    if (active.exited || active.killTimer) return;
    active.port.postMessage({ type: 'stop' });
    // Safety net if the job itself does not end: kill its processes (the job then finishes).
    active.killTimer = setTimeout(() => this.killPids(active), (this.jobOptions.stopGraceSeconds + 10) * 1000);
    active.killTimer.unref();
  }

  private killPids(active: TrackedJob): void {
    for (const pid of active.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  private onWorkerDied(active: ActiveJob, err: unknown): void {
    if (active.exited) return;
    this.killPids(active);
    active.pids.clear();
    if (active.mirror) {
      try {
        finalizeSync(active.mirror, this.storage);
      } catch (e) {
        this.logger.error({ err: e, ch: active.job.channel, streamId: active.job.streamId }, 'could not finalize playlists of a dead worker');
      }
    }
    const message = err instanceof Error ? err.message : String(err);
    this.logger.error({ ch: active.job.channel, streamId: active.job.streamId, message }, 'encoder worker died');
    this.finish(active, { type: 'exited', clean: false, error: { code: 'WORKER_DIED', message: `encoder worker thread died: ${message}` } });
  }

  private finish(active: ActiveJob, exited: ExitedReport): void {
    if (active.exited) return;
    active.exited = true;
    if (exited.error?.code === 'STORAGE_FULL' || exited.error?.code === 'STORAGE_ERROR') {
      this.logger.error({ ch: active.job.channel, streamId: active.job.streamId, code: exited.error.code, detail: exited.error.message }, 'output storage failed: stream closed, no restart');
    }
    if (active.killTimer) clearTimeout(active.killTimer);
    this.jobs.delete(active.key);
    active.port.close();
    if (!exited.clean && active.mirror && !this.closing) {
      const timer = setTimeout(() => this.retained.delete(active.key), this.retainMs);
      timer.unref();
      this.retained.set(active.key, { state: active.mirror, timer });
    }
    active.resolveDone();
    safeReport(active.report, exited, this.logger);
  }

  private killAllNow(): void {
    for (const active of this.tracked()) this.killPids(active);
  }

  /** Stops every job, waits for them (SIGKILL after the grace period), then destroys the pool. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const jobs = this.tracked();
    for (const active of jobs) this.stopJob(active);
    const all = Promise.all(jobs.map((j) => j.done));
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
    process.off('exit', this.onProcessExit);
  }
}

/**
 * Resolves once none of `pids` runs any more (gone, or a zombie: a dead worker's children are
 * never reaped by its event loop), or after `timeoutMs`.
 */
async function waitGone(pids: number[], timeoutMs: number): Promise<void> {
  const running = (pid: number) => {
    try {
      return !/^State:\s+[ZX]/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return false;
    }
  };
  const deadline = Date.now() + timeoutMs;
  while (pids.some(running) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

function safeReport<R>(report: (r: R) => void, r: R, logger: Logger): void {
  try {
    report(r);
  } catch (err) {
    logger.error({ err }, 'encoder report handler threw');
  }
}
