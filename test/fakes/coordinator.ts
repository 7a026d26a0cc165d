/**
 * A fake PublishSink for ingest tests (shared by RTMP and WS ingest). Behaviour is a set of
 * function fields a test replaces; the defaults act like the real coordinator's bookkeeping:
 * accept any key, one live publisher per channel (CHANNEL_BUSY otherwise), forget a stream on
 * `publisherGone`. Every call is recorded.
 */
import { newStreamId } from '../../src/coordinator/stream-id';
import type { RefusalCode } from '../../src/domain/errors';
import type { StreamSettings } from '../../src/domain/settings';
import type { PublishDecision, PublishRequest } from '../../src/domain/stream';
import type { PublishSink } from '../../src/ingest/ingest.types';

export const DEFAULT_SETTINGS: StreamSettings = { resolutions: { original: true, rungs: [] }, record: false, previews: null };

interface LiveEntry {
  streamId: string;
  key: string;
  request: PublishRequest;
}

export class FakeCoordinator implements PublishSink {
  readonly requests: PublishRequest[] = [];
  readonly gone: string[] = [];
  readonly live = new Map<string, LiveEntry>();
  private readonly goneWaiters: Array<{ streamId: string; resolve: () => void }> = [];

  /** Decides a publish. Default: `this.accept(request)`. */
  onPublish: (request: PublishRequest) => PublishDecision | Promise<PublishDecision> = (request) => this.accept(request);

  async publish(request: PublishRequest): Promise<PublishDecision> {
    this.requests.push(request);
    return this.onPublish(request);
  }

  publisherGone(streamId: string): void {
    this.gone.push(streamId);
    for (const [channel, entry] of this.live) if (entry.streamId === streamId) this.live.delete(channel);
    for (const waiter of this.goneWaiters.filter((w) => w.streamId === streamId)) waiter.resolve();
  }

  livePublisher(channel: string): { streamId: string; key: string } | null {
    const entry = this.live.get(channel);
    return entry === undefined ? null : { streamId: entry.streamId, key: entry.key };
  }

  /** Accepts (registering the channel as live) unless the channel is already live. */
  accept(request: PublishRequest, settings: StreamSettings = DEFAULT_SETTINGS): PublishDecision {
    if (this.live.has(request.channel)) return this.refuse('CHANNEL_BUSY', 'Channel already live');
    const streamId = newStreamId();
    this.live.set(request.channel, { streamId, key: request.key, request });
    return { accepted: true, streamId, settings };
  }

  refuse(code: RefusalCode, message: string = code): PublishDecision {
    return { accepted: false, code, message };
  }

  /** Resolves when `publisherGone(streamId)` has been called (at once if it already was). */
  waitGone(streamId: string): Promise<void> {
    if (this.gone.includes(streamId)) return Promise.resolve();
    return new Promise((resolve) => this.goneWaiters.push({ streamId, resolve }));
  }
}
