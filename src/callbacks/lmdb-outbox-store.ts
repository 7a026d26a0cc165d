/**
 * The durable outbox store: one LMDB environment at `{STATE_PATH}/outbox.mdb` with two named
 * databases —
 *   `events`: key = seq (uint32, enqueue order), value = OutboxEvent (msgpack);
 *   `live`:   key = [channel, streamId], value = LiveMarker.
 * Writes are batched by lmdb-js per event turn into one transaction on its writer thread;
 * `overlappingSync` is off, so a write's promise resolves only once its transaction is synced to
 * disk (durable across a power loss, not only a process crash). A closing event and the removal of
 * the live marker share one explicit transaction.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { OutboxStore, OutboxStoreContents, StoredEvent } from './outbox-store';
import { isLiveMarker, isOutboxEvent } from './outbox-event-guard';
import type { LiveMarker, OutboxEvent } from './outbox.types';

type LiveKey = [string, string];

export class LmdbOutboxStore implements OutboxStore {
  private root: RootDatabase | null = null;
  private events: Database<OutboxEvent, number> | null = null;
  private live: Database<LiveMarker, LiveKey> | null = null;

  /** `folder`: STATE_PATH. */
  constructor(private readonly folder: string) {}

  async open(): Promise<OutboxStoreContents> {
    await fs.promises.mkdir(this.folder, { recursive: true });
    const root = open({ path: path.join(this.folder, 'outbox.mdb'), overlappingSync: false, maxDbs: 4 });
    this.root = root;
    this.events = root.openDB<OutboxEvent, number>({ name: 'events', keyEncoding: 'uint32' });
    this.live = root.openDB<LiveMarker, LiveKey>({ name: 'live' });

    const contents: OutboxStoreContents = { events: [], live: [], discarded: 0 };
    const removals: Promise<unknown>[] = [];
    for (const { key, value } of this.events.getRange()) {
      if (isOutboxEvent(value)) contents.events.push({ seq: key, event: value });
      else {
        contents.discarded++;
        removals.push(this.events.remove(key));
      }
    }
    for (const { key, value } of this.live.getRange()) {
      if (isLiveMarker(value)) contents.live.push(value);
      else {
        contents.discarded++;
        removals.push(this.live.remove(key));
      }
    }
    await Promise.all(removals);
    return contents;
  }

  async addEvent(stored: StoredEvent): Promise<void> {
    await this.db('events').put(stored.seq, stored.event);
  }

  async addClosingEvent(stored: StoredEvent): Promise<void> {
    const events = this.db('events');
    const live = this.db('live');
    await this.db('root').transaction(() => {
      void events.put(stored.seq, stored.event);
      void live.remove([stored.event.channel, stored.event.streamId]);
    });
  }

  async removeEvent(seq: number): Promise<void> {
    await this.db('events').remove(seq);
  }

  async markLive(marker: LiveMarker): Promise<void> {
    await this.db('live').put([marker.channel, marker.streamId], marker);
  }

  async close(): Promise<void> {
    const root = this.root;
    if (root === null) return;
    this.root = this.events = this.live = null;
    await root.flushed;
    await root.close();
  }

  private db(name: 'root'): RootDatabase;
  private db(name: 'events'): Database<OutboxEvent, number>;
  private db(name: 'live'): Database<LiveMarker, LiveKey>;
  private db(name: 'root' | 'events' | 'live'): RootDatabase | Database<OutboxEvent, number> | Database<LiveMarker, LiveKey> {
    const db = name === 'root' ? this.root : name === 'events' ? this.events : this.live;
    if (db === null) throw new Error('outbox store is not open');
    return db;
  }
}
