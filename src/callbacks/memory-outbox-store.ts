/**
 * The non-durable outbox store: the same contract as the LMDB store, kept in process memory.
 * The benchmark's baseline; nothing survives the process.
 */
import type { OutboxStore, OutboxStoreContents, StoredEvent } from './outbox-store';
import type { LiveMarker } from './outbox.types';

export class MemoryOutboxStore implements OutboxStore {
  private readonly events = new Map<number, StoredEvent>();
  private readonly live = new Map<string, LiveMarker>();

  async open(): Promise<OutboxStoreContents> {
    return { events: [...this.events.values()].sort((a, b) => a.seq - b.seq), live: [...this.live.values()], discarded: 0 };
  }
  async addEvent(stored: StoredEvent): Promise<void> {
    this.events.set(stored.seq, stored);
  }
  async addClosingEvent(stored: StoredEvent): Promise<void> {
    this.events.set(stored.seq, stored);
    this.live.delete(liveKey(stored.event.channel, stored.event.streamId));
  }
  async removeEvent(seq: number): Promise<void> {
    this.events.delete(seq);
  }
  async markLive(marker: LiveMarker): Promise<void> {
    this.live.set(liveKey(marker.channel, marker.streamId), marker);
  }
  async close(): Promise<void> {}
}

const liveKey = (channel: string, streamId: string) => `${channel}\u0000${streamId}`;
