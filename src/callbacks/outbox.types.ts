/**
 * Public types of the durable event outbox (`outbox.ts`): what the rest of castline calls to
 * report stream events, and the records it keeps on disk.
 *
 * Delivery contract (docs/spec/coordinator-api.md "Event callbacks", plus castline's additions):
 * - Every event is persisted before its first attempt, then POSTed to `EVENT_CALLBACK_URL` with an
 *   empty body and the spec's headers, plus `x-event-id` (one per event, the same on every attempt)
 *   and, for `stream-closed`, `x-close-reason`.
 * - Any 2xx answer delivers it. Anything else (other statuses, network errors, the per-attempt
 *   timeout) is retried without limit, with exponential backoff and full jitter
 *   (`EVENT_CALLBACK_RETRY_BASE` doubling up to `EVENT_CALLBACK_RETRY_MAX`).
 * - At-least-once: a crash between the app's answer and the removal from the store repeats an
 *   event (same `x-event-id`), so the app should de-duplicate on it.
 * - Per stream, strictly in enqueue order: the next event of a stream is not sent before the
 *   previous one was delivered. Streams are independent of each other; at most `maxInFlight`
 *   requests run at once across all streams.
 * - A stream marked live (`streamStarted`) and never `streamClosed` before a crash gets exactly one
 *   `stream-closed` with `x-close-reason: server-restart` when the outbox is next opened.
 */
import type { OutputAvailable } from '../domain/outputs';
import type { CloseReason } from '../domain/stream';

export type EventType = 'stream-available' | 'stream-closed';

interface EventBase {
  /** `x-event-id`: random UUID, fixed when the event is enqueued, stable across retries and restarts. */
  id: string;
  channel: string;
  streamId: string;
  /** When it was enqueued (ms since the epoch); for logs and age metrics. */
  createdAt: number;
}

/** One event as it is persisted and sent. */
export type OutboxEvent =
  | (EventBase & { type: 'stream-available'; output: OutputAvailable })
  | (EventBase & { type: 'stream-closed'; reason: CloseReason });

/** A stream that was accepted and has not been closed yet (persisted until `streamClosed`). */
export interface LiveMarker {
  channel: string;
  streamId: string;
  /** When it went live (ms since the epoch). */
  since: number;
}

export interface EventOutbox {
  /**
   * Opens the store under `STATE_PATH` (creating the folder), re-queues every undelivered event in
   * its original order, and enqueues a `server-restart` stream-closed for every stream still marked
   * live. Rejects if the store cannot be opened (main should refuse to start). Calls made before
   * `open()` are kept in memory and written once it has opened. No-op without a URL.
   */
  open(): Promise<void>;
  /** Persists a live marker for an accepted stream (so a crash still produces its stream-closed). */
  streamStarted(channel: string, streamId: string): void;
  /** Enqueues `stream-available`. Ignored (warning) after that stream's `streamClosed`. */
  available(channel: string, streamId: string, output: OutputAvailable): void;
  /**
   * Enqueues `stream-closed` and clears the live marker in the same store transaction. A second
   * `streamClosed` for the same stream is ignored (warning).
   */
  streamClosed(channel: string, streamId: string, reason: CloseReason): void;
  /** Events enqueued and not yet delivered (including those still being persisted). */
  pendingCount(): number;
  /** Resolves once every store write issued so far (events, markers, removals) has committed. */
  persisted(): Promise<void>;
  /** Resolves once nothing is pending, or once the outbox is closed (pending events then stay stored). */
  idle(): Promise<void>;
  /**
   * Stops sending (attempts in flight are abandoned; their events stay stored and are sent again
   * after the next `open`), waits for every store write, closes the store. Idempotent.
   */
  close(): Promise<void>;
}

export interface OutboxOptions {
  /** `false`: an in-memory store (same code path, nothing survives the process). Default true. */
  durable?: boolean;
  /** Most requests in flight at once, across all streams (also the agent's socket limit). Default 32. */
  maxInFlight?: number;
  /** Most stream ids remembered as closed, to drop late events and repeated closes. Default 10,000. */
  closedMemory?: number;
  /** Told of every delivery attempt's outcome (metrics). Must not throw. */
  observer?: DeliveryObserver;
}

/** The outcome of each delivery attempt: `delivered` with the time since the event was enqueued. */
export interface DeliveryObserver {
  delivered(sinceEnqueuedMs: number): void;
  failed(): void;
}

/**
 * Where a persisted event goes on each attempt. Default: POSTed to EVENT_CALLBACK_URL. Cluster
 * mode: appended to the cluster's shared event queue in Redis (one node delivers from there).
 * Resolves null when the event was taken, else why not (the outbox retries with backoff).
 */
export interface EventTransport {
  send(event: OutboxEvent, headers: Readonly<Record<string, string>>, signal: AbortSignal): Promise<string | null>;
}
