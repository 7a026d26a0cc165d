/**
 * The typed events, input and context of one publish session's actor (stream.machine.ts).
 */
import type { RefusalCode } from '../src/domain/errors';
import type { JobError, StepJob } from '../src/domain/jobs';
import type { OutputAvailable } from '../src/domain/outputs';
import type { SessionPlan, StepState } from '../src/domain/plan';
import type { StreamSettings } from '../src/domain/settings';
import type { CloseReason, MediaSource, PublishRequest } from '../src/domain/stream';

/**
 * What a stream actor is created with (by the coordinator, on a publish request). The publisher's
 * `disconnect` callback is not part of it: the coordinator keeps it and supplies the
 * `disconnectPublisher` action.
 */
export interface StreamInput extends Omit<PublishRequest, 'workflow' | 'disconnect'> {
  streamId: string;
  /** Supervision policy; one shared object for every stream. */
  policy: StreamPolicy;
  /** What this session runs, from its workflow (updated live with WORKFLOW_UPDATED). */
  plan: SessionPlan;
}

export interface StreamPolicy {
  /** Encoder restarts allowed while the publisher is connected. */
  maxRestarts: number;
  /** First pause before a restart, in ms; doubles per attempt (capped at 30 s). */
  restartBaseMs: number;
  /** How long an ending stream waits for its encoder's last report before closing anyway, in ms. */
  stopTimeoutMs: number;
}

export interface StreamContext extends StreamInput {
  settings: StreamSettings | null;
  /** Encoder running this stream; null until accepted. */
  encoderId: number | null;
  /** Encoder run number: 0 first, +1 per restart after a crash. */
  attempt: number;
  /** Set once the session is refused. */
  refusal: { code: RefusalCode; message: string } | null;
  /** Set once the session is ending; sent as x-close-reason. */
  closeReason: CloseReason | null;
  closeMessage: string | null;
  /** Outputs reported so far (stream-available events emitted). */
  outputs: number;
  /** Publisher still connected (false once PUBLISHER_GONE arrived). */
  publisherConnected: boolean;
  /** An encoder job is running (spawned and not yet exited). */
  encoderRunning: boolean;
  /** Media steps of this session by step id; a step is running until it reports `exited`. */
  steps: Record<string, { state: StepState; running: boolean }>;
}

export type StreamEvent =
  /** The ingest saw the publisher's socket close. */
  | { type: 'PUBLISHER_GONE' }
  /** POST /commands/close, or a workflow removal. */
  | { type: 'CLOSE_REQUESTED'; reason: CloseReason }
  /** Graceful process shutdown. */
  | { type: 'SHUTDOWN' }
  /** From the encoder actor: an output became available. */
  | { type: 'ENCODER_OUTPUT'; attempt: number; output: OutputAvailable }
  /** From the encoder actor: the encode job ended (always its last report). */
  | { type: 'ENCODER_EXITED'; attempt: number; clean: boolean; error?: JobError }
  /** From a step actor: ffmpeg is producing output. */
  | { type: 'STEP_ACTIVE'; stepId: string }
  /** From a step actor: the step ended (always its last report). */
  | { type: 'STEP_EXITED'; stepId: string; clean: boolean; error?: JobError }
  /** The session's workflow changed: start new steps, then stop removed ones. */
  | { type: 'WORKFLOW_UPDATED'; plan: SessionPlan }
  /** To the encoder and step actors: finish gracefully. */
  | { type: 'STOP' }
  /** Internal (raised): start the steps the plan has and stop the ones it no longer has. */
  | { type: 'RECONCILE' }
  /** Internal (raised): start an encode job for the current attempt. */
  | { type: 'START_ENCODER' };

/** Input of a media step actor. */
export interface StepActorInput {
  stepId: string;
  job: Omit<StepJob, 'attempt'>;
}

/** Input of the encoder actor the stream machine spawns. */
export interface EncoderActorInput {
  encoderId: number;
  attempt: number;
  channel: string;
  streamId: string;
  source: MediaSource;
  settings: StreamSettings;
}
