/**
 * How one encode run (one ffmpeg, spawn to exit) ended, read from its exit status, stderr and what
 * it produced; and the `exited` report the job ends with. Pure.
 */
import type { EncoderReport, JobErrorCode } from '../domain/jobs';
import type { StorageFault } from '../storage/storage-errors';
import { stderrSummary } from './ffmpeg-console';
import type { FfmpegExit } from './ffmpeg-run';

export type EncodeRunOutcome =
  | { kind: 'ended' }
  /** The output storage failed (full, not writable): not worth a restart. */
  | { kind: 'storage'; fault: StorageFault }
  | { kind: 'stalled' }
  | { kind: 'invalid'; message: string }
  | { kind: 'crashed'; message: string };

export type EncodeExited = Extract<EncoderReport, { type: 'exited' }>;

/** ffmpeg's words for a source it cannot decode (as opposed to a crash worth a restart). */
const INVALID_MEDIA_PATTERN = /Invalid data found|Could not find codec parameters|does not contain any stream|Stream map .* matches no streams|Error while decoding|moov atom not found|EBML header parsing failed/i;

export interface EncodeRunFacts {
  /** The stall watchdog killed ffmpeg. */
  stalled: boolean;
  /** ffmpeg ended on the job's stop request. */
  stoppedByUs: boolean;
  /** Segments published by the run. */
  produced: number;
  /** The WS input had ended (the publisher left) by the time ffmpeg exited; false for RTMP. */
  inputEnded: boolean;
  /** … and it ended without an error. */
  inputEndedCleanly: boolean;
}

export function classifyEncodeExit(exit: FfmpegExit, run: EncodeRunFacts): EncodeRunOutcome {
  if (run.stalled) return { kind: 'stalled' };
  if (run.stoppedByUs || exit.code === 0) return { kind: 'ended' };
  const why = stderrSummary(exit.stderrTail, 1) || (exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`);
  if (run.inputEnded && run.produced > 0) return { kind: 'ended' }; // truncated input at the publisher's end
  if (run.produced === 0 && INVALID_MEDIA_PATTERN.test(exit.stderrTail)) return { kind: 'invalid', message: `undecodable source: ${why}` };
  if (run.inputEndedCleanly && run.produced === 0) return { kind: 'invalid', message: `undecodable source: ${why}` };
  return { kind: 'crashed', message: `ffmpeg ${exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`}: ${why}` };
}

/** The job's final report for the last run's outcome. */
export function encodeExitReport(outcome: EncodeRunOutcome, restarts: number, stallTimeoutSeconds: number): EncodeExited {
  switch (outcome.kind) {
    case 'ended': return { type: 'exited', clean: true };
    case 'storage': return encodeFailed(outcome.fault.code, outcome.fault.message);
    case 'stalled': return encodeFailed('INPUT_STALLED', `no input for ${stallTimeoutSeconds} s`);
    case 'invalid': return encodeFailed('INVALID_MEDIA', outcome.message);
    case 'crashed': return encodeFailed('ENCODER_CRASHED', `${outcome.message} (after ${restarts} restart(s))`);
  }
}

export function encodeFailed(code: JobErrorCode, message: string): EncodeExited {
  return { type: 'exited', clean: false, error: { code, message } };
}
