/**
 * The restart loop of a supervised job (the HLS encode job and the workflow step job): run ffmpeg;
 * when a run crashed and the job was not stopped, pause with exponential backoff (`backoffMs`) and
 * run again, at most `maxRestarts` times; a stop request during the pause ends the loop at once.
 * What counts as a crash, and what the job reports at the end, belong to each job.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { backoffMs } from '../domain/backoff';

export interface RestartPolicy {
  /** Restarts allowed (0: a crash ends the job). */
  maxRestarts: number;
  /** Pause before the first restart (ms); it doubles per restart … */
  backoffBaseMs: number;
  /** … up to this (ms). */
  backoffMaxMs: number;
}

export interface RestartableRun<O> {
  /** One run, to its end (`runIndex` 0 is the job's first run). */
  run(runIndex: number): Promise<O>;
  /** Whether this outcome is a crash worth a restart; any other outcome ends the loop. */
  crashed(outcome: O): boolean;
  /** A crashed run that stayed up long enough resets the restart count. Default: never. */
  wasStable?(outcome: O): boolean;
  /** Called after the pause, right before the next run. */
  beforeRestart?(): Promise<void>;
}

export type RestartLoopEnd<O> =
  /** The last run's outcome: not a crash; or a crash after the stop request; or no restart left. */
  | { kind: 'ran'; outcome: O; runIndex: number; restarts: number }
  /** The stop request came during the pause before a restart. */
  | { kind: 'stopped-while-waiting'; restarts: number };

export async function runWithRestarts<O>(job: RestartableRun<O>, policy: RestartPolicy, stop: AbortSignal): Promise<RestartLoopEnd<O>> {
  let restarts = 0;
  for (let runIndex = 0; ; runIndex++) {
    const outcome = await job.run(runIndex);
    if (!job.crashed(outcome) || stop.aborted) return { kind: 'ran', outcome, runIndex, restarts };
    if (job.wasStable?.(outcome)) restarts = 0;
    if (restarts >= policy.maxRestarts) return { kind: 'ran', outcome, runIndex, restarts };
    restarts++;
    const waited = await pauseUnlessAborted(backoffMs(restarts, policy.backoffBaseMs, policy.backoffMaxMs), stop);
    if (!waited) return { kind: 'stopped-while-waiting', restarts };
    await job.beforeRestart?.();
  }
}

/** Waits `ms`; false when `stop` aborted before or during the wait. */
export async function pauseUnlessAborted(ms: number, stop: AbortSignal): Promise<boolean> {
  try {
    await delay(ms, undefined, { signal: stop });
  } catch (err) {
    if (err instanceof Error && err.name === 'AbortError') return false;
    throw err;
  }
  return !stop.aborted;
}
