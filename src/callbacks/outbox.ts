/**
 * The durable event outbox: persists every stream event, then delivers it to EVENT_CALLBACK_URL
 * until the application answers 2xx. The contract is documented on `EventOutbox` in
 * `outbox.types.ts`; this file is the delivery engine.
 *
 * Shape: one FIFO queue per stream (key channel + stream id). A queue is "ready" when its head
 * event is persisted, no attempt of it is in flight and no retry timer is pending. Ready queues
 * wait in an insertion-ordered set (round-robin between streams); at most `maxInFlight` requests
 * run at once. A failed attempt parks only its own stream behind a backoff timer.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Config } from '../config/config';
import { backoffMs, withFullJitter } from '../domain/backoff';
import type { OutputAvailable } from '../domain/outputs';
import type { CloseReason } from '../domain/stream';
import type { Logger } from '../logging/logger';
import { CallbackAgents, postEmpty } from './callback-request';
import { eventHeaders, headerProblem } from './event-headers';
import { authorizationHeader } from './http-auth';
import { LmdbOutboxStore } from './lmdb-outbox-store';
import { MemoryOutboxStore } from './memory-outbox-store';
import type { OutboxStore, StoredEvent } from './outbox-store';
import type { EventOutbox, EventTransport, OutboxEvent, OutboxOptions } from './outbox.types';

export type { EventOutbox, OutboxEvent, OutboxOptions } from './outbox.types';

export interface OutboxDependencies {
  config: Pick<Config, 'eventCallback' | 'statePath'>;
  logger: Logger;
  options?: OutboxOptions;
  /** Replaces the store chosen by `options.durable` (tests; the cluster's shared queue). */
  store?: OutboxStore;
  /** Replaces the HTTP POST to EVENT_CALLBACK_URL (cluster mode: the shared queue in Redis). */
  transport?: EventTransport;
  /**
   * Called on `open()` for every stream that was live when the process died, before its
   * `server-restart` stream-closed is enqueued (main ends its playlists). A failure is logged; the
   * event is sent anyway.
   */
  beforeRestartClose?: (channel: string, streamId: string) => Promise<void>;
}

interface Entry {
  event: OutboxEvent;
  headers: Record<string, string>;
  /** Store key, assigned when the write is issued. */
  seq: number;
  persisted: boolean;
  failures: number;
}

interface StreamQueue {
  key: string;
  entries: Entry[];
  sending: boolean;
  retryTimer: NodeJS.Timeout | null;
}

type State = 'new' | 'opening' | 'open' | 'closed';

export class Outbox implements EventOutbox {
  private readonly url: URL | null;
  private readonly authorization: string | null;
  private readonly store: OutboxStore;
  private readonly agents: CallbackAgents;
  private readonly logger: Logger;
  private readonly maxInFlight: number;
  private readonly closedMemory: number;

  private state: State = 'new';
  private closing: Promise<void> | null = null;
  private readonly stop = new AbortController();
  private nextSeq = 1;
  /** Store writes asked for before `open()` finished; issued in order once it has. */
  private deferredWrites: Array<() => void> = [];
  private readonly writes = new Set<Promise<void>>();

  private readonly queues = new Map<string, StreamQueue>();
  private readonly ready = new Set<StreamQueue>();
  private inFlight = 0;
  private pending = 0;
  private idleWaiters: Array<() => void> = [];
  /** Streams already closed (insertion-ordered, bounded): late events and repeated closes are dropped. */
  private readonly closedStreams = new Set<string>();
  /** The last store write's failure, until a write succeeds again (readiness). */
  private storeFailure: string | null = null;

  constructor(private readonly deps: OutboxDependencies) {
    const { eventCallback, statePath } = deps.config;
    this.url = eventCallback.url === '' ? null : new URL(eventCallback.url);
    this.authorization = authorizationHeader(eventCallback.auth);
    this.maxInFlight = Math.max(1, deps.options?.maxInFlight ?? 32);
    this.closedMemory = Math.max(1, deps.options?.closedMemory ?? 10_000);
    this.agents = new CallbackAgents(this.maxInFlight);
    setMaxListeners(this.maxInFlight + 8, this.stop.signal); // one abort listener per attempt in flight
    this.store = deps.store ?? (deps.options?.durable === false ? new MemoryOutboxStore() : new LmdbOutboxStore(statePath));
    this.logger = deps.logger.child({ component: 'event-outbox' });
  }

  async open(): Promise<void> {
    if (this.state !== 'new') throw new Error(`outbox already ${this.state}`);
    if (this.url === null) {
      this.logger.warn('no EVENT_CALLBACK_URL: stream events are not sent (nor stored)');
      this.state = 'open';
      return;
    }
    this.state = 'opening';
    const contents = await this.store.open();
    if (this.state !== 'opening') return; // closed while opening
    this.state = 'open';
    for (const { seq, event } of contents.events) {
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
      if (event.type === 'stream-closed') this.rememberClosed(streamKey(event.channel, event.streamId));
      this.push({ event, headers: eventHeaders(event, this.authorization), seq, persisted: true, failures: 0 });
    }
    for (const marker of contents.live) {
      this.logger.info({ ch: marker.channel, streamId: marker.streamId }, 'stream was live when castline stopped: sending stream-closed (server-restart)');
      await this.deps.beforeRestartClose?.(marker.channel, marker.streamId).catch((err: unknown) =>
        this.logger.error({ ch: marker.channel, streamId: marker.streamId, err }, 'could not end the playlists of a stream that was live'));
      this.streamClosed(marker.channel, marker.streamId, 'server-restart');
    }
    if (contents.discarded > 0) this.logger.error({ discarded: contents.discarded }, 'unreadable outbox records removed');
    if (contents.events.length > 0) this.logger.info({ events: contents.events.length }, 'undelivered events re-queued');
    const deferred = this.deferredWrites;
    this.deferredWrites = [];
    for (const write of deferred) write();
    this.pump();
  }

  streamStarted(channel: string, streamId: string): void {
    if (!this.accepting('streamStarted', channel, streamId)) return;
    this.write(() => this.store.markLive({ channel, streamId, since: Date.now() }), { ch: channel, streamId }, 'live marker');
  }

  available(channel: string, streamId: string, output: OutputAvailable): void {
    if (!this.accepting('stream-available', channel, streamId)) return;
    if (this.closedStreams.has(streamKey(channel, streamId))) {
      this.logger.warn({ ch: channel, streamId, output }, 'stream-available after stream-closed: dropped');
      return;
    }
    this.enqueue({ id: randomUUID(), channel, streamId, createdAt: Date.now(), type: 'stream-available', output: { ...output } });
  }

  streamClosed(channel: string, streamId: string, reason: CloseReason): void {
    if (!this.accepting('stream-closed', channel, streamId)) return;
    const key = streamKey(channel, streamId);
    if (this.closedStreams.has(key)) {
      this.logger.warn({ ch: channel, streamId, reason }, 'stream already closed: repeated stream-closed dropped');
      return;
    }
    this.rememberClosed(key);
    this.enqueue({ id: randomUUID(), channel, streamId, createdAt: Date.now(), type: 'stream-closed', reason });
  }

  pendingCount(): number {
    return this.pending;
  }

  /** Why the event store cannot be relied on now (not open, or its last write failed); null when it can (or no URL: none is used). */
  storeProblem(): string | null {
    if (this.url === null) return null;
    if (this.state !== 'open') return `event store ${this.state === 'closed' ? 'closed' : 'not open yet'}`;
    return this.storeFailure;
  }

  async persisted(): Promise<void> {
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
  }

  idle(): Promise<void> {
    if (this.pending === 0 || this.state === 'closed') return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const wasOpen = this.state === 'open' || this.state === 'opening';
    this.state = 'closed';
    this.stop.abort(new Error('outbox closed'));
    for (const queue of this.queues.values()) if (queue.retryTimer !== null) clearTimeout(queue.retryTimer);
    this.ready.clear();
    this.wakeIdle();
    if (this.deferredWrites.length > 0) this.logger.warn({ writes: this.deferredWrites.length }, 'outbox closed before it opened: unwritten events lost');
    this.deferredWrites = [];
    await Promise.allSettled([...this.writes]);
    if (this.pending > 0) this.logger.info({ pending: this.pending }, 'outbox closed with undelivered events; they are sent after the next start');
    try {
      if (wasOpen) await this.store.close();
    } finally {
      this.agents.destroy();
    }
  }

  /** False (with a log line) when events cannot be taken: closed, or no URL. */
  private accepting(what: string, channel: string, streamId: string): boolean {
    if (this.state === 'closed') {
      this.logger.error({ ch: channel, streamId, what }, 'outbox is closed: event dropped');
      return false;
    }
    if (this.url === null) {
      this.logger.debug({ ch: channel, streamId, what }, 'no EVENT_CALLBACK_URL: event dropped');
      return false;
    }
    return true;
  }

  private enqueue(event: OutboxEvent): void {
    const headers = eventHeaders(event, this.authorization);
    const problem = headerProblem(headers);
    if (problem !== null) {
      this.logger.error({ ch: event.channel, streamId: event.streamId, eventType: event.type, problem }, 'event has a header that cannot be sent: dropped');
      return;
    }
    const entry: Entry = { event, headers, seq: 0, persisted: false, failures: 0 };
    this.push(entry);
    const closing = event.type === 'stream-closed';
    this.write(
      () => {
        entry.seq = this.nextSeq++;
        const stored = { seq: entry.seq, event };
        return closing ? this.store.addClosingEvent(stored) : this.store.addEvent(stored);
      },
      { ch: event.channel, streamId: event.streamId, eventId: event.id },
      'event',
      () => {
        entry.persisted = true;
        this.schedule(this.queues.get(streamKey(event.channel, event.streamId)));
      },
    );
  }

  /**
   * Issues a store write now (open) or once open. A failed write is logged; an event whose write
   * failed is still delivered (at-most-once for that event rather than never).
   */
  private write(run: () => Promise<void>, context: object, what: string, after?: () => void): void {
    const issue = () => {
      let promise: Promise<void>;
      try {
        promise = run();
      } catch (err) {
        promise = Promise.reject(err);
      }
      const tracked = promise.then(
        () => void (this.storeFailure = null),
        (err: unknown) => {
          this.storeFailure = `could not persist ${what}: ${err instanceof Error ? err.message : String(err)}`;
          this.logger.error({ ...context, err }, `could not persist ${what}`);
        },
      ).finally(() => {
        this.writes.delete(tracked);
        if (this.state === 'open') after?.();
      });
      this.writes.add(tracked);
    };
    if (this.state === 'open') issue();
    else this.deferredWrites.push(issue);
  }

  private push(entry: Entry): void {
    const key = streamKey(entry.event.channel, entry.event.streamId);
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = { key, entries: [], sending: false, retryTimer: null };
      this.queues.set(key, queue);
    }
    queue.entries.push(entry);
    this.pending++;
    this.schedule(queue);
  }

  private schedule(queue: StreamQueue | undefined): void {
    if (queue === undefined || this.state !== 'open' || queue.sending || queue.retryTimer !== null) return;
    const head = queue.entries[0];
    if (head === undefined || !head.persisted) return;
    this.ready.add(queue);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.ready.size > 0 && this.state === 'open') {
      const queue = this.ready.values().next().value as StreamQueue;
      this.ready.delete(queue);
      void this.send(queue);
    }
  }

  /**
   * An event another writer persisted in this outbox's (shared) store: queued for delivery behind
   * that stream's earlier events. Ignored unless open.
   */
  requeue(stored: StoredEvent): void {
    if (this.state !== 'open' || this.url === null) return;
    const { seq, event } = stored;
    this.nextSeq = Math.max(this.nextSeq, seq + 1);
    if (event.type === 'stream-closed') this.rememberClosed(streamKey(event.channel, event.streamId));
    this.push({ event, headers: eventHeaders(event, this.authorization), seq, persisted: true, failures: 0 });
  }

  /** One attempt: null when taken, else why not. */
  private async attempt(entry: Entry, url: URL): Promise<string | null> {
    try {
      if (this.deps.transport !== undefined) return await this.deps.transport.send(entry.event, entry.headers, this.stop.signal);
      const res = await postEmpty({ url, headers: entry.headers, timeoutMs: this.deps.config.eventCallback.timeoutMs, agents: this.agents, signal: this.stop.signal });
      return res.status >= 200 && res.status < 300 ? null : `status ${res.status}`;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  private async send(queue: StreamQueue): Promise<void> {
    const entry = queue.entries[0];
    if (entry === undefined || this.url === null) return;
    queue.sending = true;
    this.inFlight++;
    const failure = await this.attempt(entry, this.url);
    this.inFlight--;
    queue.sending = false;
    if (this.state !== 'open') return;
    const { event } = entry;
    if (failure === null) {
      this.deps.options?.observer?.delivered(Date.now() - event.createdAt);
      queue.entries.shift();
      this.write(() => this.store.removeEvent(entry.seq), { ch: event.channel, streamId: event.streamId, eventId: event.id }, 'delivery');
      if (entry.failures > 0) this.logger.info({ ch: event.channel, streamId: event.streamId, eventId: event.id, attempts: entry.failures + 1 }, 'event delivered after retries');
      if (queue.entries.length === 0) this.queues.delete(queue.key);
      this.pending--;
      if (this.pending === 0) this.wakeIdle();
      this.schedule(queue);
    } else {
      this.deps.options?.observer?.failed();
      entry.failures++;
      const { retryBaseMs, retryMaxMs } = this.deps.config.eventCallback;
      const delayMs = withFullJitter(backoffMs(entry.failures, retryBaseMs, retryMaxMs));
      const fields = { ch: event.channel, streamId: event.streamId, eventId: event.id, eventType: event.type, failures: entry.failures, delayMs, failure };
      // Warn on the 1st, 2nd, 4th, 8th… failure of an event; the rest at debug (an app outage must not flood the log).
      if ((entry.failures & (entry.failures - 1)) === 0) this.logger.warn(fields, 'event delivery failed; retrying');
      else this.logger.debug(fields, 'event delivery failed; retrying');
      queue.retryTimer = setTimeout(() => {
        queue.retryTimer = null;
        this.schedule(queue);
      }, delayMs);
    }
    this.pump();
  }

  private rememberClosed(key: string): void {
    this.closedStreams.add(key);
    if (this.closedStreams.size > this.closedMemory) {
      const oldest = this.closedStreams.values().next().value as string;
      this.closedStreams.delete(oldest);
    }
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

const streamKey = (channel: string, streamId: string) => `${channel}\u0000${streamId}`;
