/**
 * Membership: the node's record under `castline:node:{id}` with an expiry of
 * CLUSTER_NODE_TTL_SECONDS, written again by a heartbeat every third of it (and soon after any
 * change of its sessions), so a node that stops heartbeating disappears on its own. Readers list
 * the live nodes from the `castline:nodes` set, pruning ids whose record expired.
 */
import type Redis from 'ioredis';
import type { Logger } from '../logging/logger';
import type { NodeRecord } from './cluster.types';
import { KEYS } from './keys';

export interface MembershipOptions {
  redis: Redis;
  nodeId: string;
  ttlMs: number;
  /** The record as of now (read at each heartbeat). */
  record: () => NodeRecord;
  /** Runs with each heartbeat after the record is written (claims refreshed, …); a throw counts as a failed beat. */
  onBeat: () => Promise<void>;
  logger: Logger;
}

export class Membership {
  #timer: NodeJS.Timeout | null = null;
  #soon: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  /** When the last heartbeat succeeded (ms since the epoch); 0 = never. */
  #lastBeat = 0;
  #closed = false;

  constructor(private readonly options: MembershipOptions) {}

  /** Registers the node (first beat awaited: start-up fails if Redis refuses) and starts heartbeating. */
  async start(): Promise<void> {
    await this.#beatOnce();
    this.#timer = setInterval(() => void this.beat(), Math.max(100, Math.floor(this.options.ttlMs / 3)));
    this.#timer.unref();
  }

  /** The node's registration is current: the last heartbeat succeeded within the TTL. */
  registered(): boolean {
    return Date.now() - this.#lastBeat < this.options.ttlMs;
  }

  /** Something in the record changed: write it soon (changes within 20 ms are written once). */
  touch(): void {
    if (this.#closed || this.#soon !== null) return;
    this.#soon = setTimeout(() => {
      this.#soon = null;
      void this.beat();
    }, 20);
    this.#soon.unref();
  }

  /** One heartbeat; beats never overlap (a beat asked for meanwhile runs right after). */
  async beat(): Promise<void> {
    if (this.#closed) return;
    if (this.#running !== null) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#beatOnce()
      .catch((err: Error) => {
        if (this.registered()) this.options.logger.warn({ err: { message: err.message } }, 'cluster heartbeat failed');
      })
      .finally(() => {
        this.#running = null;
        if (this.#again) {
          this.#again = false;
          void this.beat();
        }
      });
    return this.#running;
  }

  async #beatOnce(): Promise<void> {
    const { redis, nodeId, ttlMs } = this.options;
    await redis.multi().set(KEYS.node(nodeId), JSON.stringify(this.options.record()), 'PX', ttlMs).sadd(KEYS.nodes, nodeId).exec();
    await this.options.onBeat();
    this.#lastBeat = Date.now();
  }

  /** Every node whose registration has not expired. */
  async liveNodes(): Promise<NodeRecord[]> {
    const { redis } = this.options;
    const ids = await redis.smembers(KEYS.nodes);
    if (ids.length === 0) return [];
    const values = await redis.mget(ids.map((id) => KEYS.node(id)));
    const gone = ids.filter((_, i) => values[i] === null);
    // Pruning is a convenience (a gone node re-adds itself when it comes back): not awaited.
    if (gone.length > 0) redis.srem(KEYS.nodes, ...gone).catch(() => undefined);
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as NodeRecord).sort((a, b) => a.index - b.index);
  }

  /** Stops heartbeating and removes the registration (best effort: it expires anyway). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#soon !== null) clearTimeout(this.#soon);
    await this.#running;
    const { redis, nodeId } = this.options;
    await redis.multi().del(KEYS.node(nodeId)).srem(KEYS.nodes, nodeId).exec().catch(() => undefined);
  }
}
