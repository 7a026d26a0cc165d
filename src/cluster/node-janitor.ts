/**
 * What a survivor does for a node that died: every session it held (accepted and not closed) gets
 * its `stream-closed` with `x-close-reason: node-lost` in the cluster's event queue (once: a
 * stream's close is appended at most once, whoever appends it), its encoding is stopped on the
 * encoder node and the reservation freed. Its channels free themselves (their claims expire). Run
 * by the node delivering the events (one node at a time), with each heartbeat.
 */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { OutboxEvent } from '../callbacks/outbox.types';
import type { Logger } from '../logging/logger';
import { appendEvent } from './event-queue';
import { KEYS } from './keys';
import type { Mailbox } from './mailbox';
import type { ClusterScripts } from './scripts';

export class NodeJanitor {
  /** Nodes with sessions seen missing, since when (ms): brief absences (Redis back) are no death. */
  readonly #missingSince = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly scripts: ClusterScripts,
    private readonly mailbox: Mailbox,
    private readonly graceMs: number,
    private readonly log: Logger,
  ) {}

  /** Closes the sessions of nodes not in `live` (missing for longer than the grace). */
  async sweep(live: ReadonlySet<string>): Promise<void> {
    const now = Date.now();
    for (const nodeId of await this.redis.smembers(KEYS.streamNodes)) {
      if (live.has(nodeId)) {
        this.#missingSince.delete(nodeId);
        continue;
      }
      const since = this.#missingSince.get(nodeId) ?? now;
      this.#missingSince.set(nodeId, since);
      if (now - since >= this.graceMs) await this.#closeSessionsOf(nodeId);
    }
  }

  async #closeSessionsOf(nodeId: string): Promise<void> {
    const sessions = await this.redis.hgetall(KEYS.nodeStreams(nodeId));
    for (const [streamId, channel] of Object.entries(sessions)) {
      const event: OutboxEvent = { id: randomUUID(), channel, streamId, createdAt: Date.now(), type: 'stream-closed', reason: 'node-lost' };
      await appendEvent(this.scripts, event);
      const encoderNode = await this.redis.hget(KEYS.placements, streamId);
      if (encoderNode !== null) {
        this.mailbox.send(encoderNode, { type: 'encode-stop', streamId, attempt: -1 });
        await this.scripts.unplace(KEYS.encoderLoad, KEYS.placements, streamId, encoderNode);
      }
      await this.redis.hdel(KEYS.nodeStreams(nodeId), streamId);
      this.log.warn({ ch: channel, streamId, lostNode: nodeId, encoderNode }, 'stream of a lost node closed (node-lost)');
    }
    // Removed only if still empty: the node may have come back and taken a session meanwhile.
    if ((await this.redis.hlen(KEYS.nodeStreams(nodeId))) === 0) await this.redis.srem(KEYS.streamNodes, nodeId);
    this.#missingSince.delete(nodeId);
  }
}
