/**
 * One stream's question to one reactor, for as long as the stream lives: the reactor is asked
 * about the stream name; a valid answer puts its workflows in place (held by this lease), and the
 * ones marked `routed_by_reactor` are where a `forward_to_workflow reactor=` step sends the media.
 * With `update_interval > 0` the reactor is asked again every interval: changed workflows are
 * updated, ones no longer in the answer released, a "not valid" answer reported (`revoked`).
 * Releasing the lease (the stream ended) releases its workflows: a reactor workflow no stream
 * holds any more is stopped.
 */
import type { Logger } from '../logging/logger';
import type { ReactorAnswer, ReactorClient } from './reactor-client';
import type { WorkflowRegistry } from './registry';
import type { ReactorDefinition } from './workflow.types';

export interface LeaseEvents {
  /** A re-ask answered "not valid" (404, or failures past the retries). */
  revoked(why: string): void;
  /** A re-ask changed the routed workflows. */
  rerouted(): void;
}

export class ReactorLease {
  /** The `routed_by_reactor` workflows of the last valid answer. */
  routed: string[] = [];
  #held = new Set<string>();
  #released = false;
  #timer: NodeJS.Timeout | null = null;
  readonly #abort = new AbortController();

  constructor(
    readonly id: string,
    readonly reactor: ReactorDefinition,
    readonly streamName: string,
    private readonly deps: { registry: WorkflowRegistry; client: ReactorClient; logger: Logger },
    private readonly events: LeaseEvents,
  ) {}

  /** Asks the first time and applies the answer; the update interval starts after it. */
  async start(): Promise<ReactorAnswer> {
    const answer = await this.deps.client.ask(this.reactor, this.streamName, this.#abort.signal);
    if (this.#released) return { valid: false, why: 'the stream ended before the reactor answered' };
    if (answer.valid) this.#apply(answer.workflows);
    this.#schedule();
    return answer;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#abort.abort();
    if (this.#timer !== null) clearTimeout(this.#timer);
    for (const name of this.#held) this.deps.registry.releaseManaged(name, this.id);
    this.#held.clear();
  }

  #schedule(): void {
    const seconds = this.reactor.updateIntervalSeconds;
    if (seconds <= 0 || this.#released) return;
    this.#timer = setTimeout(() => void this.#reask(), seconds * 1000);
    this.#timer.unref();
  }

  async #reask(): Promise<void> {
    const answer = await this.deps.client.ask(this.reactor, this.streamName, this.#abort.signal);
    if (this.#released) return;
    if (!answer.valid) {
      this.deps.logger.info({ reactor: this.reactor.name, stream: this.streamName, why: answer.why }, 'reactor no longer accepts the stream');
      this.#apply([]);
      this.events.revoked(answer.why);
    } else {
      const before = this.routed.join('\n');
      this.#apply(answer.workflows);
      if (this.routed.join('\n') !== before) this.events.rerouted();
    }
    this.#schedule();
  }

  #apply(workflows: Extract<ReactorAnswer, { valid: true }>['workflows']): void {
    const now = new Set<string>();
    const routed: string[] = [];
    for (const workflow of workflows) {
      if (!this.deps.registry.putManaged(workflow, this.reactor.name, this.id)) continue;
      now.add(workflow.name);
      if (workflow.routedByReactor) routed.push(workflow.name);
    }
    for (const name of this.#held) if (!now.has(name)) this.deps.registry.releaseManaged(name, this.id);
    this.#held = now;
    this.routed = routed;
  }
}
