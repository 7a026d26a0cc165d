/**
 * An encoder node's side of placement: jobs arrive in its mailbox from ingest nodes, run in its own
 * encoder pool (pulling the media from the ingest node with the cluster token, writing to the
 * shared HLS_FILESYSTEM_PATH), and every report goes back to the ingest node that sent the job.
 */
import type { Encoder, JobHandle } from '../domain/jobs';
import type { Logger } from '../logging/logger';
import type { Mailbox, MailMessage } from './mailbox';

export class EncoderService {
  /** Running jobs by `{streamId}/{attempt}`. */
  readonly #jobs = new Map<string, JobHandle>();

  constructor(
    private readonly pool: Encoder,
    private readonly mailbox: Mailbox,
    private readonly log: Logger,
  ) {}

  onMessage(message: MailMessage): void {
    if (message.type === 'encode-start') {
      const { job, from } = message;
      const key = `${job.streamId}/${job.attempt}`;
      this.log.info({ ch: job.channel, streamId: job.streamId, attempt: job.attempt, ingestNode: from }, 'encoding a stream of another node');
      let exited = false;
      const handle = this.pool.start(job, (report) => {
        if (report.type === 'exited') {
          exited = true;
          this.#jobs.delete(key);
        }
        this.mailbox.send(from, { type: 'encode-report', streamId: job.streamId, attempt: job.attempt, report });
      });
      // A job refused at once (full, shutting down) has reported `exited` already.
      if (!exited) this.#jobs.set(key, handle);
    } else if (message.type === 'encode-stop') {
      this.#jobs.get(`${message.streamId}/${message.attempt}`)?.stop();
    }
  }

  /** Jobs running here now. */
  get running(): number {
    return this.#jobs.size;
  }
}
