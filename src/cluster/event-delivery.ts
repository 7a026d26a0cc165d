/**
 * Delivery of the cluster's event queue to EVENT_CALLBACK_URL by exactly one node at a time: the
 * node holding the lease `castline:events:lease` (SET NX with an expiry of
 * CLUSTER_NODE_TTL_SECONDS, refreshed every third of it). Every node competes for it; when the
 * holder dies its lease expires and another node takes over within the TTL, reading the queue from
 * its first undelivered entry. The holder delivers with the ordinary outbox engine (per-stream
 * order, retries with backoff, the same `x-event-id` on every attempt) over a `RedisEventStore`,
 * and stops delivering before its lease could have expired when it cannot refresh it.
 */
import type Redis from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { Outbox, type OutboxDependencies } from '../callbacks/outbox';
import type { Logger } from '../logging/logger';
import { RedisEventStore } from './event-queue';
import { KEYS } from './keys';
import type { ClusterScripts } from './scripts';

export interface EventDeliveryOptions {
  redis: Redis;
  scripts: ClusterScripts;
  nodeId: string;
  ttlMs: number;
  /** The outbox's configuration and observer (the node's EVENT_CALLBACK_* settings). */
  outbox: Pick<OutboxDependencies, 'config' | 'options'>;
  logger: Logger;
}

/** While this node holds the lease: its outbox over the queue, and the connection reading new entries. */
interface Holding {
  outbox: Outbox;
  store: RedisEventStore;
  reader: Redis;
  renewedAt: number;
}

/** How long one blocking read of new queue entries waits. */
const READ_BLOCK_MS = 1000;

export class EventDelivery {
  #timer: NodeJS.Timeout | null = null;
  #holding: Holding | null = null;
  #ticking: Promise<void> | null = null;
  #closed = false;
  readonly #log: Logger;

  constructor(private readonly options: EventDeliveryOptions) {
    this.#log = options.logger.child({ component: 'event-delivery' });
  }

  start(): void {
    this.#timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.options.ttlMs / 3)));
    this.#timer.unref();
    void this.tick();
  }

  /** This node delivers the queue now. */
  delivering(): boolean {
    return this.#holding !== null;
  }

  /** Takes or refreshes the lease; stops delivering when it is lost or may have expired. */
  tick(): Promise<void> {
    this.#ticking ??= this.#tickOnce().finally(() => (this.#ticking = null));
    return this.#ticking;
  }

  async #tickOnce(): Promise<void> {
    if (this.#closed) return;
    const { redis, scripts, nodeId, ttlMs } = this.options;
    const holding = this.#holding;
    try {
      if (holding !== null) {
        const lost = await scripts.refreshChannels(1, KEYS.eventsLease, ttlMs, nodeId);
        if (lost.length === 0) holding.renewedAt = Date.now();
        else await this.#stop('lease taken by another node');
      } else if ((await redis.set(KEYS.eventsLease, nodeId, 'PX', ttlMs, 'NX')) === 'OK') {
        await this.#begin();
      }
    } catch (err) {
      // Redis away: keep delivering only while the lease surely has not expired.
      if (holding !== null && Date.now() - holding.renewedAt > ttlMs * 0.8) await this.#stop(`lease not refreshed: ${(err as Error).message}`);
    }
  }

  async #begin(): Promise<void> {
    const { redis, scripts, outbox: deps } = this.options;
    const store = new RedisEventStore(redis, scripts);
    const outbox = new Outbox({ ...deps, logger: this.#log, store });
    const reader = redis.duplicate({ lazyConnect: false, enableOfflineQueue: true });
    reader.on('error', () => undefined); // the command connection logs Redis outages
    this.#holding = { outbox, store, reader, renewedAt: Date.now() };
    await outbox.open();
    this.#log.info({ pending: outbox.pendingCount() }, 'delivering the cluster\'s events (lease taken)');
    void this.#read(this.#holding);
  }

  /** Queues new entries as they are appended, until the lease is given up. */
  async #read(holding: Holding): Promise<void> {
    while (this.#holding === holding) {
      try {
        const found = await holding.reader.xread('BLOCK', READ_BLOCK_MS, 'STREAMS', KEYS.events, holding.store.lastId);
        if (this.#holding !== holding) return;
        for (const [, entries] of found ?? []) for (const stored of holding.store.adopt(entries).events) holding.outbox.requeue(stored);
      } catch {
        await sleep(200);
      }
    }
  }

  async #stop(why: string): Promise<void> {
    const holding = this.#holding;
    if (holding === null) return;
    this.#holding = null;
    this.#log.warn({ why }, 'stopped delivering the cluster\'s events');
    holding.reader.disconnect();
    await holding.outbox.close();
  }

  /** Stops delivering and frees the lease for another node at once. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.#ticking;
    const held = this.#holding !== null;
    const holding = this.#holding;
    this.#holding = null;
    if (holding !== null) {
      holding.reader.disconnect();
      await Promise.race([holding.outbox.idle(), sleep(2000, undefined, { ref: false })]);
      await holding.outbox.close();
    }
    if (held) await this.options.scripts.releaseChannel(KEYS.eventsLease, this.options.nodeId).catch(() => undefined);
  }
}
