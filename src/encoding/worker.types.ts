/**
 * Messages between the pool (main thread) and an encode job (worker thread), over the job's
 * MessagePort. Everything here is structured-clone safe.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Config } from '../config/config';
import type { EncodeJob, EncoderReport, StepJob, StepReport } from '../domain/jobs';
import type { TrackConfig } from '../domain/media';
import type { PackagedPart, PackagedSegmentEnd } from '../packaging/packaging.types';
import type { OutputEvent, OutputsState } from './outputs';

/**
 * The encoding settings a job needs: `config.encoding` (its `maxRestarts` = ffmpeg restarts inside
 * the job while the input is live) without the capacity, plus paths and the restart backoff.
 */
export interface JobOptions extends Omit<Config['encoding'], 'capacity'> {
  storageRoot: string;
  ffmpegPath: string;
  /** First restart delay in ms (doubles per restart, capped at 8 s). */
  restartBackoffMs: number;
}

export interface WorkerTask {
  job: EncodeJob;
  options: JobOptions;
  /** The outputs of an earlier run of the same stream (restart with `attempt > 0`): continue from them. */
  prior: OutputsState | null;
  port: MessagePort;
}

export type WorkerToMain =
  | { type: 'child'; pid: number; alive: boolean }
  | { type: 'plan'; state: OutputsState }
  | { type: 'output'; event: OutputEvent }
  | { type: 'report'; report: EncoderReport }
  | { type: 'live'; rendition: string; event: LivePackagingEvent }
  /** Something the job met that the operator should know (logged by the pool with the stream's ids). */
  | { type: 'warning'; message: string };

/**
 * What a rendition packaged on the worker (`pipe-packaging.ts`) hands to its LL-HLS store on the
 * main thread (`live-renditions.ts`), in order. Byte arrays are transferred, not copied.
 */
export type LivePackagingEvent =
  | { kind: 'init'; data: Uint8Array; config: TrackConfig }
  | { kind: 'part'; part: Omit<PackagedPart, 'data'> & { data: Uint8Array } }
  | { kind: 'segment-end'; segment: PackagedSegmentEnd };

export type MainToWorker = { type: 'stop' };

/** The settings a step job needs (a slice of `config.encoding`). */
export interface StepOptions {
  ffmpegPath: string;
  stopGraceSeconds: number;
  /** No ffmpeg progress for this long ends the job (`INPUT_STALLED`); also the wait for a WS input's first bytes. */
  stallTimeoutSeconds: number;
  /** ffmpeg restarts inside the job (counted since the last run that stayed up `stableRunSeconds`). */
  maxRestarts: number;
  /** First restart delay in ms (doubles per restart, capped at 8 s). */
  restartBackoffMs: number;
  /** A run that was producing output this long resets the restart count. */
  stableRunSeconds: number;
}

export interface StepTask {
  job: StepJob;
  options: StepOptions;
  port: MessagePort;
}

export type StepExited = Extract<StepReport, { type: 'exited' }>;

export type StepWorkerToMain =
  | { type: 'child'; pid: number; alive: boolean }
  | { type: 'report'; report: StepReport };
