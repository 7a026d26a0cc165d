/**
 * One channel's relay: its publisher (at most one), the receivers playing it and the receivers
 * waiting for a publisher. Chunks are fanned out in order; a receiver whose socket buffers more
 * than `maxReceiverBufferedBytes` is dropped with `ERROR:` instead of stalling the publisher or
 * growing memory. Written against the small `RelayPeer` interface so the policy is independent of
 * the socket library.
 */
import type { Logger } from '../../logging/logger';
import { secretsEqual } from '../../net/secret-compare';
import { ChunkCache } from './chunk-cache';
import type { IngestKind } from './ingest-path';

/** The socket operations the relay needs. `end` may call back into the relay synchronously. */
export interface RelayPeer {
  send(data: ArrayBuffer | Uint8Array | string, binary: boolean): void;
  bufferedAmount(): number;
  /** Sends `ERROR: <reason>` (unless reason is null), then closes with `code`. Idempotent. */
  end(code: number, errorReason: string | null): void;
}

export type ReceiverKind = Exclude<IngestKind, 'publish'>;

export interface RelayReceiver {
  kind: ReceiverKind;
  key: string;
  peer: RelayPeer;
}

export interface RelayPublisher {
  streamId: string;
  key: string;
  peer: RelayPeer;
}

export interface StreamRelayOptions {
  cacheBytes: number;
  maxReceiverBufferedBytes: number;
  logger: Logger;
}

export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_POLICY = 1008;
export const CLOSE_TOO_BIG = 1009;

interface Live {
  publisher: RelayPublisher;
  cache: ChunkCache;
  receivers: Set<RelayReceiver>;
}

export class StreamRelay {
  private live: Live | null = null;
  private readonly waiting = new Set<RelayReceiver>();

  constructor(readonly channel: string, private readonly options: StreamRelayOptions) {}

  get publisher(): RelayPublisher | null {
    return this.live?.publisher ?? null;
  }

  get isEmpty(): boolean {
    return this.live === null && this.waiting.size === 0;
  }

  get receiverCount(): number {
    return this.live?.receivers.size ?? 0;
  }

  get waitingCount(): number {
    return this.waiting.size;
  }

  get heldBytes(): number {
    return this.live?.cache.heldBytes ?? 0;
  }

  /** Makes `publisher` the channel's publisher and starts the waiting receivers whose key matches. */
  attachPublisher(publisher: RelayPublisher): void {
    if (this.live !== null) throw new Error(`channel ${this.channel} already has a publisher`);
    this.live = { publisher, cache: new ChunkCache(this.options.cacheBytes), receivers: new Set() };
    for (const receiver of [...this.waiting]) {
      this.waiting.delete(receiver);
      if (secretsEqual(receiver.key, publisher.key)) this.start(receiver);
      else receiver.peer.end(CLOSE_POLICY, 'Invalid streaming key');
    }
  }

  /** The publisher left: its receivers are closed (an ffmpeg reading them gets EOF). */
  detachPublisher(streamId: string): boolean {
    const live = this.live;
    if (live === null || live.publisher.streamId !== streamId) return false;
    this.live = null;
    for (const receiver of [...live.receivers]) receiver.peer.end(CLOSE_NORMAL, null);
    live.receivers.clear();
    return true;
  }

  /** A receiver whose key was checked before the upgrade. Waits when nobody publishes. */
  addReceiver(receiver: RelayReceiver): void {
    if (this.live === null) {
      this.waiting.add(receiver);
      return;
    }
    if (!secretsEqual(receiver.key, this.live.publisher.key)) {
      receiver.peer.end(CLOSE_POLICY, 'Invalid streaming key');
      return;
    }
    this.start(receiver);
  }

  /** Drops the held chunks and holds no more for this publish (what `receive-clear-cache` does after its replay). */
  clearHeld(): void {
    this.live?.cache.clear();
  }

  removeReceiver(receiver: RelayReceiver): void {
    this.waiting.delete(receiver);
    this.live?.receivers.delete(receiver);
  }

  /** The next chunk of the publisher's byte stream; `chunk` is only valid during this call. */
  relay(chunk: ArrayBuffer): void {
    const live = this.live;
    if (live === null) return;
    for (const receiver of live.receivers) {
      this.deliver(receiver, chunk);
      if (receiver.kind === 'probe') receiver.peer.end(CLOSE_NORMAL, null);
    }
    // after the fan-out: copying into the cache (page faults while it grows) adds no latency
    if (live.cache.wantsNext) live.cache.append(new Uint8Array(chunk));
  }

  private start(receiver: RelayReceiver): void {
    const live = this.live!;
    if (receiver.kind === 'probe') {
      const header = live.cache.first();
      if (header !== null) {
        receiver.peer.send(header, true);
        receiver.peer.end(CLOSE_NORMAL, null);
        return;
      }
      live.receivers.add(receiver);
      return;
    }
    live.receivers.add(receiver);
    for (const chunk of live.cache.replay()) receiver.peer.send(chunk, true);
    if (receiver.kind === 'receive-clear-cache') live.cache.clear();
    this.options.logger.debug({ ch: this.channel, kind: receiver.kind, replayed: live.cache.heldBytes }, 'receiver started');
  }

  private deliver(receiver: RelayReceiver, chunk: ArrayBuffer): void {
    const buffered = receiver.peer.bufferedAmount();
    if (buffered > this.options.maxReceiverBufferedBytes) {
      this.options.logger.warn({ ch: this.channel, buffered }, 'slow receiver dropped');
      this.live?.receivers.delete(receiver);
      receiver.peer.end(CLOSE_POLICY, 'Receiver too slow');
      return;
    }
    receiver.peer.send(chunk, true);
  }
}
