/**
 * The contract between a stream actor and whatever runs its ffmpeg jobs: the local piscina pool
 * today, a remote encoder node later. Mirrors the cluster's ENCODE-START / STREAM-AVAILABLE /
 * STREAM-CLOSED messages (docs/spec/cluster-protocols.md §2).
 */
import type { OutputAvailable } from './outputs';
import type { StreamSettings } from './settings';
import type { MediaSource } from './stream';

/** Why a job ended badly. A stable code; the message is for people. */
export const JOB_ERROR_CODES = [
  /** ffmpeg kept crashing and the job's own restarts are used up. */
  'ENCODER_CRASHED',
  /** No input progress for the stall timeout. */
  'INPUT_STALLED',
  /** The input cannot be decoded, or has no video. */
  'INVALID_MEDIA',
  /** The worker thread running the job died. */
  'WORKER_DIED',
  /** The job could not start (bad arguments, missing encoder, ...). */
  'START_FAILED',
  /** The encoder refused the job: it is full. */
  'CAPACITY_FULL',
  /** The encoder refused the job: it is shutting down. */
  'SHUTTING_DOWN',
  /** A media step failed after its own restarts. */
  'STEP_FAILED',
  /** The output storage is full: not restarted. */
  'STORAGE_FULL',
  /** The output storage cannot be written: not restarted. */
  'STORAGE_ERROR',
] as const;
export type JobErrorCode = (typeof JOB_ERROR_CODES)[number];

export interface JobError {
  code: JobErrorCode;
  message: string;
}

/** The last report of every job. */
export interface JobExited {
  type: 'exited';
  /** True when ffmpeg finished normally (input ended or stop requested) and flushed. */
  clean: boolean;
  /** Set when not clean. */
  error?: JobError;
}

export interface EncodeJob {
  channel: string;
  streamId: string;
  source: MediaSource;
  settings: StreamSettings;
  /** 0 for the first run; n for the n-th restart after a crash (continue numbering, add a discontinuity). */
  attempt: number;
}

/** What an encoder reports about one job, in order. `exited` is always the last report. */
export type EncoderReport = { type: 'available'; output: OutputAvailable } | JobExited;

export interface JobHandle {
  /** Ask for a graceful end: flush within the grace period, then kill. Idempotent. */
  stop(): void;
}

export interface Encoder {
  /** Numeric id as shown in the report's `encoders`. */
  readonly id: number;
  /** Parallel streams it accepts; -1 = unlimited. */
  readonly capacity: number;
  /**
   * Whether it can take another stream now, when it knows better than `capacity` and the
   * sessions assigned to it (a cluster's encoders: the free capacity across encoder nodes).
   */
  hasRoom?(): boolean;
  /** Brings what `hasRoom` knows up to date; called before a publish is decided (cluster mode). Never rejects. */
  refresh?(): Promise<void>;
  /** Starts a job; every report goes to `report`. Never throws: failures arrive as an `exited` report. */
  start(job: EncodeJob, report: (r: EncoderReport) => void): JobHandle;
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
      /** Output frame rate (mmids' basic_transcode `video_fps`); null = as the input. */
      fps?: number | null;
      /** AAC bitrate in kbit/s (mmids' `audio_bitrate`, given in bit/s); null = the encoder's default. */
      audioKbps?: number | null;
      output: string;
    }
  /** Copy the stream to `output` (an internal RTMP URL) so RTMP players can watch it there. */
  | { type: 'rtmp_watch'; output: string }
  /** Pull `input` (a file or URL, in real time) and publish it (copy, FLV) to `output` (an internal RTMP URL). */
  | { type: 'ffmpeg_pull'; output: string };

/** What a step job reports, in order; `exited` is always last. */
export type StepReport =
  /** ffmpeg is running and producing output. */
  { type: 'active' } | JobExited;

export interface StepRunner {
  /** Starts a step job; never throws (failures arrive as `exited`). */
  startStep(job: StepJob, report: (r: StepReport) => void): JobHandle;
}
