/**
 * The typed events, input and context of one publish session's actor (stream.machine.ts).
 */
import type {
  CloseReason,
  IngestType,
  MediaSource,
  OutputAvailable,
  RefusalCode,
  StreamSettings,
} from '../src/coordinator/coordinator.types';

/** What a stream actor is created with (by the coordinator, on a publish request). */
export interface StreamInput {
  streamId: string;
  channel: string;
  key: string;
  userIp: string;
  ingest: IngestType;
  serverId: number;
  source: MediaSource;
  /** Disconnects the publisher (ingest-supplied; idempotent). */
  disconnect: (reason: CloseReason) => void;
  /** Supervision policy; one shared object for every stream. */
  policy: StreamPolicy;
}

export interface StreamPolicy {
  /** Encoder restarts allowed while the publisher is connected. */
  maxRestarts: number;
  /** First pause before a restart, in ms; doubles per attempt (capped at 30 s). */
  restartBaseMs: number;
  /** How long an ending stream waits for its encoder's last report before closing anyway, in ms. */
  stopTimeoutMs: number;
}

/** Result of the key verification actor. */
export type VerifyResult = { accepted: true; settings: StreamSettings } | { accepted: false; reason: string };

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
  | { type: 'ENCODER_EXITED'; attempt: number; clean: boolean; error?: { code: string; message: string } }
  /** To the encoder actor: finish gracefully. */
  | { type: 'STOP' };

/** Input of the encoder actor the stream machine spawns. */
export interface EncoderActorInput {
  encoderId: number;
  attempt: number;
  channel: string;
  streamId: string;
  source: MediaSource;
  settings: StreamSettings;
}
