/**
 * The main thread's side of one kind of job run on a piscina pool (encode jobs, step jobs): one
 * lifecycle for both. A job starts on its pool with a MessagePort; the supervisor tracks the
 * ffmpeg/ffprobe PIDs the job reports (so a dead worker's processes are still killed), forwards
 * its reports, stops it on request (the job gets `{type:'stop'}`; its processes are SIGKILLed if it
 * has not ended `stopGraceSeconds + 10` s later), and ends it exactly once: on its final `exited`
 * report, when its task settles, or when its worker thread died (then the kind cleans up what the
 * job left behind and the job ends `WORKER_DIED`). What differs per kind is a `JobKind`.
 */
import type { MessagePort } from 'node:worker_threads';
import { MessageChannel } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import type { Logger } from '../logging/logger';
import type { JobErrorCode, JobExited, JobHandle } from '../domain/jobs';
import { signalAll } from './child-processes';


/** The messages every job's worker sends on its port (a kind may send more). */
type ChildMessage = { type: 'child'; pid: number; alive: boolean };
type ReportMessage<R> = { type: 'report'; report: R | JobExited };

/** One job as the main thread tracks it. */
export interface SupervisedJob<J, S> {
  readonly job: J;
  /** What the main thread keeps of this kind of job (an encode job's outputs mirror). */
  state: S;
  /** ffmpeg/ffprobe PIDs the job runs now. */
  readonly pids: Set<number>;
  /** Ended (its final report delivered). */
  exited: boolean;
}

interface Tracked<J, R, S> extends SupervisedJob<J, S> {
  readonly key: string;
  readonly port: MessagePort;
  readonly report: (r: R | JobExited) => void;
  readonly done: Promise<void>;
  readonly resolveDone: () => void;
  killTimer: NodeJS.Timeout | null;
}

/**
 * What differs between kinds of job. `J`: the job; `R`: the reports it sends before its final
 * `exited`; `S`: its main-thread state; `M`: every message its worker posts on the port.
 */
export interface JobKind<J, R extends { type: string }, S, M extends { type: string }> {
  /** 'encoder', 'step': in logs and in the WORKER_DIED message. */
  readonly label: string;
  /** The worker export that runs the job (the piscina task name). */
  readonly taskName: string;
  /** The pool the jobs run on (may be created on first use). */
  pool(): Piscina;
  /** Log fields that name a job. */
  describe(job: J): Record<string, unknown>;
  /** Port messages other than `child` and `report`. */
  onMessage?(job: SupervisedJob<J, S>, message: M): void;
  /** A report before the final `exited`, just before it is passed on. */
  onProgress?(job: SupervisedJob<J, S>, report: R): void;
  /** The worker thread died under the job: kill and finalise what it left (its PIDs are cleared after). */
  cleanUpAfterWorkerDied(job: SupervisedJob<J, S>): Promise<void> | void;
  /** The job ended (before its final report is delivered). */
  onEnded?(job: SupervisedJob<J, S>, exited: JobExited): void;
}

export class JobSupervisor<J, R extends { type: string }, S, M extends { type: string }> {
  private readonly running = new Map<string, Tracked<J, R, S>>();

  constructor(
    private readonly kind: JobKind<J, R, S, M>,
    private readonly options: { logger: Logger; stopGraceSeconds: number },
  ) {}

  /** Jobs running now. */
  get size(): number {
    return this.running.size;
  }

  has(key: string): boolean {
    return this.running.has(key);
  }

  /** PIDs of every process the jobs run now. */
  get childPids(): number[] {
    return [...this.running.values()].flatMap((j) => [...j.pids]);
  }

  /**
   * Starts a job under `key` (unique among the running ones). `task` builds the worker task
   * around the job's end of the MessagePort.
   */
  start<T>(key: string, job: J, state: S, task: (port: MessagePort) => T, report: (r: R | JobExited) => void): JobHandle {
    const { port1, port2 } = new MessageChannel();
    let resolveDone!: () => void;
    const tracked: Tracked<J, R, S> = {
      key, job, state, port: port1, pids: new Set(), exited: false, report,
      done: new Promise<void>((r) => { resolveDone = r; }), resolveDone: () => resolveDone(), killTimer: null,
    };
    this.running.set(key, tracked);
    port1.on('message', (message: M) => this.onMessage(tracked, message));
    this.kind.pool().run(task(port2), { name: this.kind.taskName, transferList: [port2] }).then(
      (exited: JobExited) => {
        // The port's last message is the same report; give it a moment to arrive first.
        if (!tracked.exited) setTimeout(() => this.finish(tracked, exited), 100);
      },
      (err: unknown) => void this.onWorkerDied(tracked, err),
    );
    return { stop: () => this.stop(tracked) };
  }

  /** A job refused before it started: its `exited` report arrives asynchronously, like any other. */
  refuse(report: (r: JobExited) => void, code: JobErrorCode, message: string): JobHandle {
    setImmediate(() => safeReport(report, { type: 'exited', clean: false, error: { code, message } }, this.options.logger));
    return { stop: () => undefined };
  }

  /** Stops every job; resolves once all of them ended. */
  stopAll(): Promise<void> {
    const jobs = [...this.running.values()];
    for (const tracked of jobs) this.stop(tracked);
    return Promise.all(jobs.map((j) => j.done)).then(() => undefined);
  }

  /** SIGKILLs every process of every job, synchronously (shutdown fallback, process exit). */
  killAllNow(): void {
    for (const tracked of this.running.values()) signalAll(tracked.pids, 'SIGKILL');
  }

  private onMessage(tracked: Tracked<J, R, S>, message: M): void {
    if (isChildMessage(message)) {
      if (message.alive) tracked.pids.add(message.pid);
      else tracked.pids.delete(message.pid);
    } else if (isReportMessage<R>(message)) {
      if (isExited(message.report)) this.finish(tracked, message.report);
      else if (!tracked.exited) {
        this.kind.onProgress?.(tracked, message.report);
        safeReport(tracked.report, message.report, this.options.logger);
      }
    } else {
      this.kind.onMessage?.(tracked, message);
    }
  }

  private stop(tracked: Tracked<J, R, S>): void {
    if (tracked.exited || tracked.killTimer) return;
    tracked.port.postMessage({ type: 'stop' });
    // Safety net if the job itself does not end: kill its processes (the job then finishes).
    tracked.killTimer = setTimeout(() => signalAll(tracked.pids, 'SIGKILL'), (this.options.stopGraceSeconds + 10) * 1000);
    tracked.killTimer.unref();
  }

  private async onWorkerDied(tracked: Tracked<J, R, S>, err: unknown): Promise<void> {
    if (tracked.exited) return;
    await this.kind.cleanUpAfterWorkerDied(tracked);
    tracked.pids.clear();
    const message = err instanceof Error ? err.message : String(err);
    const { label } = this.kind;
    this.options.logger.error({ ...this.kind.describe(tracked.job), message }, `${label} worker died`);
    this.finish(tracked, { type: 'exited', clean: false, error: { code: 'WORKER_DIED', message: `${label} worker thread died: ${message}` } });
  }

  private finish(tracked: Tracked<J, R, S>, exited: JobExited): void {
    if (tracked.exited) return;
    tracked.exited = true;
    if (tracked.killTimer) clearTimeout(tracked.killTimer);
    this.running.delete(tracked.key);
    tracked.port.close();
    this.kind.onEnded?.(tracked, exited);
    tracked.resolveDone();
    safeReport(tracked.report, exited, this.options.logger);
  }
}

function isChildMessage(message: { type: string }): message is ChildMessage {
  return message.type === 'child';
}

function isReportMessage<R>(message: { type: string }): message is ReportMessage<R> {
  return message.type === 'report';
}

/** `R` holds the reports before the last one, so only the last one has type 'exited'. */
function isExited<R extends { type: string }>(report: R | JobExited): report is JobExited {
  return report.type === 'exited';
}

function safeReport<T>(report: (r: T) => void, r: T, logger: Logger): void {
  try {
    report(r);
  } catch (err) {
    logger.error({ err }, 'encoder report handler threw');
  }
}
