/**
 * A scripted Encoder for coordinator tests: records each job and lets the test report outputs
 * and exits. The real encoder pool has its own end-to-end tests with ffmpeg.
 */
import type { JobHandle, EncodeJob, Encoder, EncoderReport } from '../../src/domain/jobs';

export interface FakeJob {
  job: EncodeJob;
  report: (r: EncoderReport) => void;
  stops: number;
}

export class FakeEncoder implements Encoder {
  readonly jobs: FakeJob[] = [];
  /** Called on every stop(); by default the job exits cleanly at once, like ffmpeg flushing. */
  onStop: (job: FakeJob) => void = (job) => job.report({ type: 'exited', clean: true });

  constructor(readonly id: number, readonly capacity: number) {}

  start(job: EncodeJob, report: (r: EncoderReport) => void): JobHandle {
    const rec: FakeJob = { job, report, stops: 0 };
    this.jobs.push(rec);
    return {
      stop: () => {
        rec.stops++;
        if (rec.stops === 1) this.onStop(rec);
      },
    };
  }

  jobsOf(streamId: string): FakeJob[] {
    return this.jobs.filter((j) => j.job.streamId === streamId);
  }
}
