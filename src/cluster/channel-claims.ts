/**
 * One publisher per channel, cluster-wide: a session takes its channel in Redis atomically (a Lua
 * script: SET NX with an expiry, plus its stream id reserved so ids are unique across nodes), the
 * node refreshes its claims with every heartbeat, and frees them when the session ends. A node that
 * dies stops refreshing: its channels free themselves after CLUSTER_NODE_TTL_SECONDS.
 */
import type Redis from 'ioredis';
import type { ChannelClaims } from '../coordinator/coordinator.types';
import type { Logger } from '../logging/logger';
import { KEYS, STREAM_ID_RESERVATION_SECONDS } from './keys';
import type { ClusterScripts } from './scripts';

export class RedisChannelClaims implements ChannelClaims {
  /** channel → the claim's value (`{nodeId} {streamId}`). */
  readonly #held = new Map<string, string>();

  constructor(
    private readonly redis: Redis,
    private readonly scripts: ClusterScripts,
    private readonly nodeId: string,
    private readonly ttlMs: number,
    private readonly log: Logger,
  ) {}

  async take(channel: string, streamId: string): Promise<'taken' | 'busy' | 'id-taken' | 'unavailable'> {
    const value = `${this.nodeId} ${streamId}`;
    try {
      const outcome = await this.scripts.takeChannel(KEYS.channel(channel), KEYS.streamId(streamId), value, this.ttlMs, STREAM_ID_RESERVATION_SECONDS);
      if (outcome === 'taken') this.#held.set(channel, value);
      return outcome;
    } catch (err) {
      this.log.warn({ ch: channel, err: { message: (err as Error).message } }, 'cannot take the channel: Redis unavailable');
      return 'unavailable';
    }
  }

  release(channel: string, streamId: string): void {
    const value = `${this.nodeId} ${streamId}`;
    if (this.#held.get(channel) !== value) return;
    this.#held.delete(channel);
    // Not awaited: when Redis is away the claim expires on its own (no refresh any more).
    this.scripts.releaseChannel(KEYS.channel(channel), value).catch((err: Error) => this.log.warn({ ch: channel, err: { message: err.message } }, 'cannot free the channel now; it expires on its own'));
  }

  /** Extends every claim held; returns the channels another node's session holds now (lost while this node was cut off). */
  async refresh(): Promise<Array<{ channel: string; streamId: string }>> {
    const held = [...this.#held];
    if (held.length === 0) return [];
    const lost = await this.scripts.refreshChannels(held.length, ...held.map(([c]) => KEYS.channel(c)), this.ttlMs, ...held.map(([, v]) => v));
    return lost.map((i) => {
      const [channel, value] = held[i - 1];
      this.#held.delete(channel);
      return { channel, streamId: value.split(' ')[1] };
    });
  }

  /** The session holding a channel anywhere in the cluster, or null. */
  async holder(channel: string): Promise<{ nodeId: string; streamId: string } | null> {
    const value = await this.redis.get(KEYS.channel(channel));
    if (value === null) return null;
    const [nodeId, streamId] = value.split(' ');
    return { nodeId, streamId };
  }
}
