/**
 * The contract between a stream actor and an encoder (the local piscina pool, or later a remote
 * encoder joined over the control protocol). Mirrors the cluster's ENCODE-START / STREAM-AVAILABLE
 * / STREAM-CLOSED messages.
 */
import type { MediaSource, OutputAvailable, StreamSettings } from '../coordinator/coordinator.types';

export interface EncodeJob {
  channel: string;
  streamId: string;
  source: MediaSource;
  settings: StreamSettings;
  /** 0 for the first run; n for the n-th restart after a crash (continue numbering, add a discontinuity). */
  attempt: number;
}

/** What an encoder reports about one job, in order. `exited` is always the last report. */
export type EncoderReport =
  | { type: 'available'; output: OutputAvailable }
  | {
      type: 'exited';
      /** True when ffmpeg finished normally (input ended or stop requested) and flushed. */
      clean: boolean;
      /** Set when not clean: a stable code (`ENCODER_CRASHED`, `INPUT_STALLED`, `INVALID_MEDIA`, `WORKER_DIED`, `START_FAILED`) and a message. */
      error?: { code: string; message: string };
    };

export interface EncodeHandle {
  /** Ask for a graceful end: flush within the grace period, then kill. Idempotent. */
  stop(): void;
}

export interface Encoder {
  /** Numeric id as shown in the report's `encoders`. */
  readonly id: number;
  /** Parallel streams it accepts; -1 = unlimited. */
  readonly capacity: number;
  /** Starts a job; every report goes to `report`. Never throws: failures arrive as an `exited` report. */
  start(job: EncodeJob, report: (r: EncoderReport) => void): EncodeHandle;
}
