/**
 * A fake PublishSink for the RTMP ingest tests: records every call, decides publishes with a
 * test-supplied function (accept by default), and keeps the channel's live publisher registered
 * from acceptance until `publisherGone`, as the real coordinator does. Real ingest, fake authority.
 */
import { EventEmitter, once } from 'node:events';
import { newStreamId } from '../../src/coordinator/stream-id';
import type { StreamSettings } from '../../src/domain/settings';
import type { PublishDecision, PublishRequest } from '../../src/domain/stream';
import type { PublishSink } from '../../src/ingest/ingest.types';

export const DEFAULT_SETTINGS: StreamSettings = { resolutions: { original: true, rungs: [] }, record: false, previews: null };

export type Decider = (request: PublishRequest) => PublishDecision | Promise<PublishDecision>;

export const accept = (_request?: PublishRequest): PublishDecision => ({ accepted: true, streamId: newStreamId(), settings: DEFAULT_SETTINGS });
export const refuse = (_request?: PublishRequest): PublishDecision => ({ accepted: false, code: 'KEY_REFUSED', message: 'test refuses this key' });

export interface Decided {
  request: PublishRequest;
  decision: PublishDecision;
  askedAt: number;
  decidedAt: number;
}

export class FakeRtmpCoordinator implements PublishSink {
  readonly requests: PublishRequest[] = [];
  readonly decided: Decided[] = [];
  readonly gone: Array<{ streamId: string; at: number }> = [];
  readonly events = new EventEmitter();
  private readonly live = new Map<string, { streamId: string; key: string }>();

  constructor(public decide: Decider = accept) {}

  async publish(request: PublishRequest): Promise<PublishDecision> {
    const askedAt = Date.now();
    this.requests.push(request);
    this.events.emit('publish', request);
    const decision = await this.decide(request);
    if (decision.accepted) this.live.set(request.channel, { streamId: decision.streamId, key: request.key });
    const entry = { request, decision, askedAt, decidedAt: Date.now() };
    this.decided.push(entry);
    this.events.emit('decided', entry);
    return decision;
  }

  publisherGone(streamId: string): void {
    this.gone.push({ streamId, at: Date.now() });
    for (const [channel, live] of this.live) if (live.streamId === streamId) this.live.delete(channel);
    this.events.emit('gone', streamId);
  }

  livePublisher(channel: string): { streamId: string; key: string } | null {
    return this.live.get(channel) ?? null;
  }

  /** Resolves with the n-th (1-based) decision, now or when it comes. */
  async decision(n: number): Promise<Decided> {
    while (this.decided.length < n) await once(this.events, 'decided');
    return this.decided[n - 1];
  }

  /** Resolves when `publisherGone(streamId)` was called. */
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
