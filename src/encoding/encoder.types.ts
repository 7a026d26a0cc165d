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

/**
 * A workflow media step run as one supervised ffmpeg process (workflows: `ffmpeg_hls`,
 * `ffmpeg_push`, `ffmpeg_transcode`, `rtmp_watch`, `ffmpeg_pull`). Steps copy (or transcode) the
 * stream they pull from `input` and write to their output; they run in the encoder pool and are
 * supervised like encoders.
 */
export interface StepJob {
  /** For logs and process tracking: `{workflow}/{stepId}/{streamId or 'pull'}`. */
  label: string;
  /**
   * What ffmpeg reads: `rtmp://…` (pulled with -rw_timeout), `ws://…/{channel}/{key}` (the worker
   * connects to `{uri}/receive` and pipes binary messages to stdin, answering `h`), or for
   * `ffmpeg_pull` any location ffmpeg can open (file path, http(s)://, rtmp://, …).
   */
  input: string;
  step: MediaStep;
  /** 0 for the first run; n for the n-th restart (the supervisor restarts within the job too). */
  attempt: number;
}

export type MediaStep =
  /**
   * HLS (copy) into `directory` (absolute, confined under the output root by text): `{name}.m3u8` +
   * segments. `root` (the output root): the folder must also lie under it by real path (no symlink out).
   */
  | { type: 'ffmpeg_hls'; directory: string; name: string; durationSeconds: number; count: number; root?: string }
  /** Restream (copy, FLV) to an RTMP URL. */
  | { type: 'ffmpeg_push'; target: string }
  /** Transcode and publish the result (FLV) to `output` (an internal RTMP URL of castline's own server). */
  | {
      type: 'ffmpeg_transcode';
      vcodec: 'copy' | 'h264';
      acodec: 'copy' | 'aac';
      preset: string;
      size: { width: number; height: number } | null;
      kbps: number | null;
      output: string;
    }
  /** Copy the stream to `output` (an internal RTMP URL) so RTMP players can watch it there. */
  | { type: 'rtmp_watch'; output: string }
  /** Pull `input` (a file or URL, in real time) and publish it (copy, FLV) to `output` (an internal RTMP URL). */
  | { type: 'ffmpeg_pull'; output: string };

/** What a step job reports, in order; `exited` is always last. */
export type StepReport =
  /** ffmpeg is running and producing output. */
  | { type: 'active' }
  | { type: 'exited'; clean: boolean; error?: { code: string; message: string } };

export interface StepRunner {
  /** Starts a step job; never throws (failures arrive as `exited`). */
  startStep(job: StepJob, report: (r: StepReport) => void): EncodeHandle;
}
