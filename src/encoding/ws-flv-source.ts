/**
 * The WS ingest's publishes as a passthrough media source: the publisher's bytes, from its first
 * one, cut into FLV tags (`FlvReader`). Bytes that are not FLV (a browser's WebM) or FLV whose
 * framing breaks are reported once through `unreadable`, and nothing more is read from them.
 */
import { FlvReader, FlvStreamError } from '../packaging/flv-reader';
import { FLV_AUDIO, FLV_VIDEO } from '../packaging/flv-tag';
import type { ByteStreamSubscription, FlvMediaSource, FlvPacketListener, PublishedBytes } from './passthrough.types';

export class WsFlvSource implements FlvMediaSource {
  /** Open subscriptions by stream id (for `committed`). */
  private readonly subscriptions = new Map<string, ByteStreamSubscription>();

  constructor(private readonly bytes: PublishedBytes) {}

  subscribeMedia(channel: string, streamId: string, listener: FlvPacketListener): (() => void) | null {
    const reader = new FlvReader();
    let failed = false;
    const subscription = this.bytes.subscribeBytes(channel, streamId, {
      chunk: (data) => {
        if (failed) return;
        let tags;
        try {
          tags = reader.push(data);
        } catch (err) {
          failed = true;
          const kind = err instanceof FlvStreamError ? err.kind : 'broken';
          return listener.unreadable?.({ kind, message: (err as Error).message });
        }
        for (const tag of tags) if (tag.type === FLV_AUDIO || tag.type === FLV_VIDEO) listener.packet(tag);
      },
      end: () => listener.end(),
    });
    if (subscription === null) return null;
    this.subscriptions.set(streamId, subscription);
    return () => {
      if (this.subscriptions.get(streamId) === subscription) this.subscriptions.delete(streamId);
      subscription.unsubscribe();
    };
  }

  committed(_channel: string, streamId: string): void {
    this.subscriptions.get(streamId)?.releaseHeld();
  }
}
