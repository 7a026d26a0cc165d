/**
 * Messages between nodes: each node reads its own mailbox, a Redis stream
 * (`castline:mailbox:{nodeId}`, trimmed to the last ~10,000 entries), with a blocking read on a
 * connection of its own. Sends to one node keep their order: one append in flight per receiver;
 * while Redis is away, sends wait here and are retried every 500 ms.
 */
import type { ChainableCommander } from 'ioredis';
import type Redis from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EncodeJob, EncoderReport } from '../domain/jobs';
import type { CloseReason } from '../domain/stream';
import type { Logger } from '../logging/logger';
import { KEYS } from './keys';

export type MailMessage =
  /** To an encoder node: encode this job (from the ingest node `from`, which gets the reports). */
  | { type: 'encode-start'; from: string; job: EncodeJob }
  /** `attempt` -1: whatever attempt runs (the stream's ingest node is gone). */
  | { type: 'encode-stop'; streamId: string; attempt: number }
  /** To an ingest node: what the encoder node reports about a job. */
  | { type: 'encode-report'; streamId: string; attempt: number; report: EncoderReport }
  /**
   * To every node: close your sessions of `channel` (`*`: any) with `streamId` (a commands API
   * close). In the mailbox rather than on pub/sub, so a node that lost Redis for a moment reads it
   * when its connection comes back.
   */
  | { type: 'close'; channel: string; streamId: string; reason: CloseReason };

const READ_BLOCK_MS = 1000;
const RETRY_MS = 500;
const MAX_ENTRIES = 10_000;

/** Appends `message` to the mailbox of node `to`: on the connection, or queued in a pipeline (sends to many nodes at once). */
export function appendMail<T extends Pick<Redis, 'xadd'> | ChainableCommander>(redis: T, to: string, message: MailMessage): ReturnType<T['xadd']> {
  return redis.xadd(KEYS.mailbox(to), 'MAXLEN', '~', MAX_ENTRIES, '*', 'm', JSON.stringify(message)) as ReturnType<T['xadd']>;
}

/** Runs a pipeline; rejects with the first command's error (ioredis resolves `exec()` with per-command errors). */
export async function execAll(pipeline: ChainableCommander): Promise<void> {
  for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
}

export class Mailbox {
  readonly #outgoing = new Map<string, MailMessage[]>();
  #reader: Redis | null = null;
  #closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly nodeId: string,
    private readonly log: Logger,
  ) {}

  send(to: string, message: MailMessage): void {
    if (this.#closed) return;
    const queue = this.#outgoing.get(to);
    if (queue !== undefined) {
      queue.push(message);
      return;
    }
    this.#outgoing.set(to, [message]);
    void this.#drain(to);
  }

  async #drain(to: string): Promise<void> {
    const queue = this.#outgoing.get(to)!;
    let failures = 0;
    while (queue.length > 0 && !this.#closed) {
      try {
        await appendMail(this.redis, to, queue[0]!);
        queue.shift();
        failures = 0;
      } catch (err) {
        if (failures++ === 0) this.log.warn({ to, err: { message: (err as Error).message } }, 'cannot reach another node now (Redis unavailable): retrying');
        await sleep(RETRY_MS);
      }
    }
    this.#outgoing.delete(to);
  }

  /** Reads this node's mailbox from now on; `handle` gets each message in order. */
  async listen(handle: (message: MailMessage) => void): Promise<void> {
    const reader = this.redis.duplicate({ lazyConnect: false, enableOfflineQueue: true });
    reader.on('error', () => undefined); // the command connection logs Redis outages
    this.#reader = reader;
    const key = KEYS.mailbox(this.nodeId);
    const last = await this.redis.xrevrange(key, '+', '-', 'COUNT', 1);
    let lastId = last[0]?.[0] ?? '0-0';
    void (async () => {
      while (!this.#closed) {
        try {
          const found = await reader.xread('BLOCK', READ_BLOCK_MS, 'STREAMS', key, lastId);
          for (const [, entries] of found ?? []) {
            for (const [id, fields] of entries) {
              lastId = id;
              this.#deliver(fields, handle);
            }
          }
        } catch {
          if (!this.#closed) await sleep(RETRY_MS);
        }
      }
    })();
  }

  #deliver(fields: string[], handle: (message: MailMessage) => void): void {
    try {
      handle(JSON.parse(fields[1]) as MailMessage);
    } catch (err) {
      this.log.error({ err }, 'a message from another node could not be handled');
    }
  }

  close(): void {
    this.#closed = true;
    this.#reader?.disconnect();
  }
}
