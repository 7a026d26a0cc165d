/**
 * Where the outbox keeps its events and live markers. Two implementations: `LmdbOutboxStore`
 * (durable, under STATE_PATH) and `MemoryOutboxStore` (baseline for the benchmark, tests).
 * Writes are issued in call order; each promise resolves once that write is committed.
 */
import type { LiveMarker, OutboxEvent } from './outbox.types';

/** An event and its position in the store (global enqueue order). */
export interface StoredEvent {
  seq: number;
  event: OutboxEvent;
}

export interface OutboxStoreContents {
  /** Undelivered events, in `seq` order. Records that are not valid events are dropped by the store. */
  events: StoredEvent[];
  live: LiveMarker[];
  /** Records found unreadable and removed (for a log line). */
  discarded: number;
}

export interface OutboxStore {
  /** Opens (creating if needed) and returns what was left from earlier runs. */
  open(): Promise<OutboxStoreContents>;
  addEvent(stored: StoredEvent): Promise<void>;
  /** Adds a stream-closed event and removes that stream's live marker, atomically. */
  addClosingEvent(stored: StoredEvent): Promise<void>;
  removeEvent(seq: number): Promise<void>;
  markLive(marker: LiveMarker): Promise<void>;
  /** Waits for every write issued so far, then closes. */
  close(): Promise<void>;
}
