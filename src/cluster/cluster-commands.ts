/**
 * The commands API across the cluster, answered by any `api` node from the live nodes' records:
 * capacity sums the encoder nodes (-1 if any is unlimited), the report lists every node's sessions,
 * ingest servers and encoders; a close is published to every node, each closing its own sessions.
 */
import type Redis from 'ioredis';
import type { Capacity, Report } from '../coordinator/coordinator.types';
import { CastlineError } from '../domain/errors';
import { CLOSE_REASONS, type CloseReason } from '../domain/stream';
import type { Logger } from '../logging/logger';
import type { NodeRecord } from './cluster.types';
import { KEYS } from './keys';

/** A close command as published on `castline:close`. */
export interface CloseMessage {
  channel: string;
  streamId: string;
  reason: CloseReason;
}

export class ClusterCommands {
  constructor(
    private readonly nodes: () => Promise<NodeRecord[]>,
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {}

  async capacity(): Promise<Capacity> {
    const nodes = await this.#live();
    let capacity = 0;
    let encoderCount = 0;
    for (const node of nodes) {
      if (node.encoder === null) continue;
      encoderCount++;
      if (capacity >= 0) capacity = node.encoder.capacity < 0 ? -1 : capacity + node.encoder.capacity;
    }
    return { load: nodes.reduce((sum, n) => sum + n.load, 0), capacity, encoderCount };
  }

  /**
   * Every node's sessions (each with the report id of the encoder node it was placed on), ingest
   * listeners, and encoder nodes with their load: the streams reserved on them.
   */
  async report(): Promise<Report> {
    const nodes = await this.#live();
    // Loads and placements read live from Redis (reserved together by PLACE), not from the node
    // records, which are refreshed only at each heartbeat: the report never pairs a fresh load with a
    // stale placement.
    const [loads, placements] = await Promise.all([this.#hash(KEYS.encoderLoad), this.#hash(KEYS.placements)]);
    const encoderIds = new Map(nodes.filter((n) => n.encoder !== null).map((n) => [n.id, n.encoder!.id]));
    return {
      activeStreams: nodes.flatMap((n) =>
        n.activeStreams.map((s) => {
          const placed = placements[s.streamId] ?? n.placements[s.streamId];
          return placed === undefined ? s : { ...s, encoder: encoderIds.get(placed) ?? -1 };
        }),
      ),
      streamingServers: nodes.flatMap((n) => n.ingestServers),
      encoders: nodes.flatMap((n) => (n.encoder === null ? [] : [{ ...n.encoder, load: Number(loads[n.id] ?? 0) }])),
    };
  }

  async #hash(key: string): Promise<Record<string, string>> {
    try {
      return await this.redis.hgetall(key);
    } catch (err) {
      throw this.#unavailable(err);
    }
  }

  /** Every node closes its sessions of `channel` (`*`) or the one with `streamId`. */
  async close(channel: string, streamId: string, reason: CloseReason = 'close-command'): Promise<void> {
    const message: CloseMessage = { channel, streamId, reason };
    try {
      await this.redis.publish(KEYS.closeCommands, JSON.stringify(message));
    } catch (err) {
      throw this.#unavailable(err);
    }
  }

  async #live(): Promise<NodeRecord[]> {
    try {
      return await this.nodes();
    } catch (err) {
      throw this.#unavailable(err);
    }
  }

  #unavailable(err: unknown): CastlineError {
    this.log.warn({ err: { message: (err as Error).message } }, 'cluster command failed: Redis unavailable');
    return new CastlineError('CLUSTER_UNAVAILABLE', 'the cluster store (Redis) is unavailable; try again');
  }
}

/** A close message from the channel, or null when it is not one (ignored, logged by the caller). */
export function parseCloseMessage(text: string): CloseMessage | null {
  try {
    const value = JSON.parse(text) as Partial<CloseMessage>;
    if (typeof value.channel === 'string' && typeof value.streamId === 'string' && (CLOSE_REASONS as readonly unknown[]).includes(value.reason)) return value as CloseMessage;
  } catch {
    // not JSON
  }
  return null;
}
