/**
 * The one fake `PublishSink` of the ingest tests (RTMP and WS): real ingest, fake authority. It
 * records every call, decides publishes with `decide` (a test replaces it), and keeps the channel's
 * live publisher registered from acceptance until `publisherGone`, as the real coordinator does.
 * The default decision acts like the coordinator's bookkeeping: accept any key, one live publisher
 * per channel (CHANNEL_BUSY otherwise). `accept` / `refuse` below decide without that check.
 */
import { EventEmitter, once } from 'node:events';
import { newStreamId } from '../../src/coordinator/stream-id';
import type { RefusalCode } from '../../src/domain/errors';
import type { StreamSettings } from '../../src/domain/settings';
import type { PublishDecision, PublishRequest } from '../../src/domain/stream';
import type { PublishSink } from '../../src/ingest/ingest.types';

export const DEFAULT_SETTINGS: StreamSettings = { resolutions: { original: true, rungs: [] }, record: false, previews: null };

export type Decider = (request: PublishRequest) => PublishDecision | Promise<PublishDecision>;

/** Accepts whatever is live already. */
export const accept = (_request?: PublishRequest): PublishDecision => ({ accepted: true, streamId: newStreamId(), settings: DEFAULT_SETTINGS });
export const refuse = (_request?: PublishRequest): PublishDecision => ({ accepted: false, code: 'KEY_REFUSED', message: 'test refuses this key' });

export interface Decided {
  request: PublishRequest;
  decision: PublishDecision;
  askedAt: number;
  decidedAt: number;
}

export interface LiveEntry {
  streamId: string;
  key: string;
  request: PublishRequest;
}

export class FakePublishSink implements PublishSink {
  readonly requests: PublishRequest[] = [];
  readonly decided: Decided[] = [];
  readonly gone: Array<{ streamId: string; at: number }> = [];
  readonly live = new Map<string, LiveEntry>();
  readonly events = new EventEmitter();
  decide: Decider;

  constructor(decide?: Decider) {
    this.decide = decide ?? ((request) => this.accept(request));
  }

  async publish(request: PublishRequest): Promise<PublishDecision> {
    const askedAt = Date.now();
    this.requests.push(request);
    this.events.emit('publish', request);
    const decision = await this.decide(request);
    if (decision.accepted) this.live.set(request.channel, { streamId: decision.streamId, key: request.key, request });
    const entry = { request, decision, askedAt, decidedAt: Date.now() };
    this.decided.push(entry);
    this.events.emit('decided', entry);
    return decision;
  }

  publisherGone(streamId: string): void {
    this.gone.push({ streamId, at: Date.now() });
    for (const [channel, entry] of this.live) if (entry.streamId === streamId) this.live.delete(channel);
    this.events.emit('gone', streamId);
  }

  livePublisher(channel: string): { streamId: string; key: string } | null {
    const entry = this.live.get(channel);
    return entry === undefined ? null : { streamId: entry.streamId, key: entry.key };
  }

  /** Accepts (registering the channel as live at once) unless the channel is already live. */
  accept(request: PublishRequest, settings: StreamSettings = DEFAULT_SETTINGS): PublishDecision {
    if (this.live.has(request.channel)) return this.refuse('CHANNEL_BUSY', 'Channel already live');
    const streamId = newStreamId();
    this.live.set(request.channel, { streamId, key: request.key, request });
    return { accepted: true, streamId, settings };
  }

  refuse(code: RefusalCode, message: string = code): PublishDecision {
    return { accepted: false, code, message };
  }

  /** Stream ids `publisherGone` was called with, in order. */
  goneIds(): string[] {
    return this.gone.map((g) => g.streamId);
  }

  /** Resolves with the n-th (1-based) decision, now or when it comes. */
  async decision(n: number): Promise<Decided> {
    while (this.decided.length < n) await once(this.events, 'decided');
    return this.decided[n - 1]!;
  }

  /** Resolves when `publisherGone(streamId)` was called (at once if it already was). */
  async goneOf(streamId: string): Promise<{ streamId: string; at: number }> {
    for (;;) {
      const hit = this.gone.find((g) => g.streamId === streamId);
      if (hit) return hit;
      await once(this.events, 'gone');
    }
  }
}

/** A decider whose answers the test releases by hand. */
export function deferredDecider(): { decide: Decider; release(decision: PublishDecision): void; pending(): number } {
  const waiting: Array<(d: PublishDecision) => void> = [];
  return {
    decide: () => new Promise<PublishDecision>((resolve) => waiting.push(resolve)),
    release(decision) {
      const next = waiting.shift();
      if (!next) throw new Error('no publish is waiting for a decision');
      next(decision);
    },
    pending: () => waiting.length,
  };
}
