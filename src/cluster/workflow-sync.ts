/**
 * Workflows across the cluster: a change made over any node's API (PUT/DELETE /workflows) is
 * written to Redis — hash `castline:workflows` (name → text) and set `castline:workflows:deleted` —
 * and announced on `castline:workflows:changed`; every other node applies it to its registry at
 * once. A node applies the whole store when it starts and whenever its subscription reconnects
 * (announcements missed while Redis was away). While Redis is away a change is kept here and
 * written (in order) once it is back.
 */
import type Redis from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logging/logger';
import type { WorkflowChangeSink } from '../workflows/registry';
import { KEYS } from './keys';

/** The node's workflow registry, as the sync applies shared changes to it. */
export interface SharedWorkflows {
  applyShared(name: string, text: string | null): void;
}

interface Change {
  name: string;
  text: string | null;
}

export class WorkflowSync implements WorkflowChangeSink {
  readonly #pending: Change[] = [];
  #writing = false;

  constructor(
    private readonly redis: Redis,
    private readonly nodeId: string,
    private readonly log: Logger,
  ) {}

  upserted(name: string, text: string): void {
    this.#queue({ name, text });
  }

  deleted(name: string): void {
    this.#queue({ name, text: null });
  }

  /** Applies every workflow the cluster has (start-up, after a reconnection). */
  async loadInto(registry: SharedWorkflows): Promise<void> {
    const [upserts, deleted] = await Promise.all([this.redis.hgetall(KEYS.workflows), this.redis.smembers(KEYS.workflowsDeleted)]);
    for (const name of deleted) if (upserts[name] === undefined) registry.applyShared(name, null);
    for (const [name, text] of Object.entries(upserts)) registry.applyShared(name, text);
  }

  /** An announcement from `castline:workflows:changed`: applies that workflow's current state. */
  async onAnnouncement(message: string, registry: SharedWorkflows): Promise<void> {
    let announced: { name?: unknown; from?: unknown };
    try {
      announced = JSON.parse(message) as typeof announced;
    } catch {
      return this.log.warn({ message: message.slice(0, 200) }, 'ignored a malformed workflow announcement');
    }
    if (typeof announced.name !== 'string' || announced.from === this.nodeId) return;
    const text = await this.redis.hget(KEYS.workflows, announced.name);
    registry.applyShared(announced.name, text);
  }

  #queue(change: Change): void {
    this.#pending.push(change);
    if (!this.#writing) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    let failures = 0;
    while (this.#pending.length > 0) {
      const { name, text } = this.#pending[0];
      const announcement = JSON.stringify({ name, from: this.nodeId });
      const tx = this.redis.multi();
      if (text === null) tx.hdel(KEYS.workflows, name).sadd(KEYS.workflowsDeleted, name);
      else tx.hset(KEYS.workflows, name, text).srem(KEYS.workflowsDeleted, name);
      try {
        await tx.publish(KEYS.workflowChanges, announcement).exec();
        this.#pending.shift();
        failures = 0;
      } catch (err) {
        if (failures++ === 0) this.log.warn({ workflow: name, err: { message: (err as Error).message } }, 'cannot share the workflow change now (Redis unavailable): retrying');
        await sleep(500);
      }
    }
    this.#writing = false;
  }
}
