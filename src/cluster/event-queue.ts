/**
 * The cluster's shared event queue in Redis (one stream, `castline:events`, persisted by AOF):
 * - `RedisEventTransport`: each node's own outbox (lmdb, under STATE_PATH) sends its events here
 *   instead of to the application. While Redis is away they stay in the node's outbox and are
 *   retried; an append is idempotent (the event id is remembered), so a node that crashed between
 *   the append and its local removal adds nothing twice. Per stream, the outbox appends an event
 *   only after the previous one was taken: the queue keeps each stream's order.
 * - `RedisEventStore`: the store of the delivering node's outbox (see event-delivery.ts): reads the
 *   queue in order and deletes an entry once the application took it.
 */
import type Redis from 'ioredis';
import { isOutboxEvent } from '../callbacks/outbox-event-guard';
import type { OutboxStore, OutboxStoreContents, StoredEvent } from '../callbacks/outbox-store';
import type { EventTransport, OutboxEvent } from '../callbacks/outbox.types';
import { EVENT_SEEN_SECONDS, KEYS } from './keys';
import type { ClusterScripts } from './scripts';

type Entry = [id: string, fields: string[]];

export class RedisEventTransport implements EventTransport {
  constructor(private readonly scripts: ClusterScripts) {}

  async send(event: OutboxEvent): Promise<string | null> {
    await appendEvent(this.scripts, event);
    return null; // appended now, or already appended before: taken either way (a failure throws)
  }
}

export class RedisEventStore implements OutboxStore {
  /** The outbox's sequence numbers → queue entry ids. */
  readonly #entryIds = new Map<number, string>();
  #seq = 0;
  /** The last entry id read (new entries are read after it). */
  lastId = '0-0';

  constructor(
    private readonly redis: Redis,
    private readonly scripts: ClusterScripts,
  ) {}

  async open(): Promise<OutboxStoreContents> {
    const entries = await this.redis.xrange(KEYS.events, '-', '+');
    const { events, discarded } = this.adopt(entries);
    return { events, live: [], discarded };
  }

  /** Entries read from the queue as the outbox's stored events (malformed ones deleted and counted). */
  adopt(entries: Entry[]): { events: StoredEvent[]; discarded: number } {
    const events: StoredEvent[] = [];
    const bad: string[] = [];
    for (const [id, fields] of entries) {
      this.lastId = id;
      const event = parseEntry(fields);
      if (event === null) {
        bad.push(id);
        continue;
      }
      const seq = ++this.#seq;
      this.#entryIds.set(seq, id);
      events.push({ seq, event });
    }
    if (bad.length > 0) this.redis.xdel(KEYS.events, ...bad).catch(() => undefined);
    return { events, discarded: bad.length };
  }

  async addEvent(stored: StoredEvent): Promise<void> {
    await appendEvent(this.scripts, stored.event);
  }

  addClosingEvent(stored: StoredEvent): Promise<void> {
    return this.addEvent(stored);
  }

  async removeEvent(seq: number): Promise<void> {
    const id = this.#entryIds.get(seq);
    if (id === undefined) return;
    await this.redis.xdel(KEYS.events, id);
    this.#entryIds.delete(seq);
  }

  /** Live markers stay with each node's own outbox (a node's restart closes its own streams): the shared queue keeps none. */
  async markLive(): Promise<void> {}

  /** The connection belongs to the cluster: nothing to close. */
  async close(): Promise<void> {}
}

/** Appends an event to the queue unless it was appended before (a stream's `stream-closed`: unless one was). */
export async function appendEvent(scripts: ClusterScripts, event: OutboxEvent): Promise<void> {
  const seen = event.type === 'stream-closed' ? KEYS.streamClosedSeen(event.streamId) : KEYS.eventSeen(event.id);
  await scripts.appendEvent(KEYS.events, seen, JSON.stringify(event), EVENT_SEEN_SECONDS);
}

function parseEntry(fields: string[]): OutboxEvent | null {
  const at = fields.indexOf('event');
  if (at < 0 || at + 1 >= fields.length) return null;
  try {
    const value: unknown = JSON.parse(fields[at + 1]);
    return isOutboxEvent(value) ? value : null;
  } catch {
    return null;
  }
}
