/**
 * The commands API across the cluster, answered by any `api` node from the live nodes' records:
 * capacity sums the encoder nodes (-1 if any is unlimited), the report lists every node's sessions,
 * ingest servers and encoders; a close goes to every live node's mailbox, each closing its own sessions.
 */
import type Redis from 'ioredis';
import type { Capacity, Report } from '../coordinator/coordinator.types';
import { CastlineError } from '../domain/errors';
import { CLOSE_REASONS, type CloseReason } from '../domain/stream';
import type { Logger } from '../logging/logger';
import type { NodeRecord } from './cluster.types';
import { KEYS } from './keys';
import { appendMail, execAll, type MailMessage } from './mailbox';

/** A close command, as it travels in the nodes' mailboxes. */
export type CloseMessage = Extract<MailMessage, { type: 'close' }>;

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

  /**
   * Every live node closes its sessions of `channel` (`*`) or the one with `streamId`: the command
   * is appended to each node's mailbox in one pipeline (a node briefly cut off from Redis reads
   * it when it reconnects; a node whose record expired has had its sessions closed as `node-lost`).
   */
  async close(channel: string, streamId: string, reason: CloseReason = 'close-command'): Promise<void> {
    const message: CloseMessage = { type: 'close', channel, streamId, reason };
    const nodes = await this.#live();
    try {
      const pipeline = this.redis.pipeline();
      for (const node of nodes) appendMail(pipeline, node.id, message);
      await execAll(pipeline);
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

/** Whether a mailbox message is a well-formed close command (another one is ignored, logged by the caller). */
export function isCloseMessage(message: MailMessage): message is CloseMessage {
  const value = message as Partial<CloseMessage>;
  return value.type === 'close' && typeof value.channel === 'string' && typeof value.streamId === 'string' && (CLOSE_REASONS as readonly unknown[]).includes(value.reason);
}
