/**
 * An encoder node's side of placement: jobs arrive in its mailbox from ingest nodes (or directly
 * from this node's own streams), run in its encoder pool (pulling the media from the ingest node
 * with the cluster token, writing to the shared HLS_FILESYSTEM_PATH), and every report goes back to
 * the ingest node that sent the job. A job with `attempt > 0` continues the outputs state kept in
 * Redis (another encoder node died while encoding it).
 */
import type { EncodeJob, EncoderReport, JobHandle } from '../domain/jobs';
import type { OutputsState } from '../encoding/outputs';
import type { Logger } from '../logging/logger';
import type { Mailbox, MailMessage } from './mailbox';
import type { OutputsMirror } from './outputs-mirror';

/** This node's encoder pool, as the service drives it. */
export interface EncoderPoolPort {
  readonly capacity: number;
  /** Encodes running now. */
  readonly active: number;
  start(job: EncodeJob, report: (r: EncoderReport) => void, prior?: OutputsState | null): JobHandle;
}

export class EncoderService {
  /** Jobs sent by other nodes, running or starting, by `{streamId}/{attempt}`. */
  readonly #jobs = new Map<string, JobHandle>();
  /** The node is shutting down: its jobs end as lost (their streams are placed elsewhere), new ones are turned away. */
  #draining = false;

  constructor(
    private readonly pool: EncoderPoolPort,
    private readonly mirror: OutputsMirror,
    private readonly mailbox: Mailbox,
    private readonly log: Logger,
  ) {}

  /** Runs a job on this node's pool (continuing the kept outputs state of a restart). */
  run(job: EncodeJob, report: (r: EncoderReport) => void): JobHandle {
    let handle: JobHandle | null = null;
    let stopped = false;
    const begin = (prior: OutputsState | null) => {
      if (stopped) return report({ type: 'exited', clean: true });
      handle = this.pool.start(job, (r) => {
        if (r.type === 'exited' && r.clean && !this.#draining) this.mirror.forget(job.streamId);
        report(r);
      }, prior);
    };
    if (job.attempt === 0) begin(null);
    else this.mirror.load(job.streamId).then(begin, () => begin(null));
    return {
      stop: () => {
        stopped = true;
        handle?.stop();
      },
    };
  }

  /**
   * Graceful shutdown: every job of another node that ends from now on is reported as lost
   * (`WORKER_DIED`, so its stream is placed on another encoder node and continues its playlists)
   * rather than as a clean end (which would end the stream); jobs still arriving are turned away.
   */
  drain(): void {
    this.#draining = true;
  }

  onMessage(message: MailMessage): void {
    if (message.type === 'encode-start') {
      const { job, from } = message;
      const key = `${job.streamId}/${job.attempt}`;
      if (this.#draining) {
        const report: EncoderReport = { type: 'exited', clean: false, error: { code: 'WORKER_DIED', message: 'the encoder node is shutting down' } };
        return this.mailbox.send(from, { type: 'encode-report', streamId: job.streamId, attempt: job.attempt, report });
      }
      this.log.info({ ch: job.channel, streamId: job.streamId, attempt: job.attempt, ingestNode: from }, 'encoding a stream of another node');
      let exited = false;
      const handle = this.run(job, (given) => {
        let report = given;
        if (report.type === 'exited') {
          exited = true;
          this.#jobs.delete(key);
          if (this.#draining) report = { type: 'exited', clean: false, error: { code: 'WORKER_DIED', message: 'the encoder node shut down' } };
        }
        this.mailbox.send(from, { type: 'encode-report', streamId: job.streamId, attempt: job.attempt, report });
      });
      // A job refused at once (full, shutting down) has reported `exited` already.
      if (!exited) this.#jobs.set(key, handle);
    } else if (message.type === 'encode-stop') {
      for (const [key, handle] of this.#jobs) {
        if (key === `${message.streamId}/${message.attempt}` || (message.attempt < 0 && key.startsWith(`${message.streamId}/`))) handle.stop();
      }
    }
  }
}
