/**
 * node-media-server's fan-out of one castline publisher, run only while someone plays it.
 *
 * node-media-server turns every packet into an FLV tag and an RTMP chunk stream (two full copies)
 * and keeps both in its GOP cache, even when nobody plays the stream — with castline packaging
 * HLS itself (passthrough) that is most streams. The publisher's `MediaTap` already holds the
 * metadata, the sequence headers and the packets since the last keyframe (one copy, shared with
 * the packager), so the fan-out waits for a player: `start()` (called when a player asks to play,
 * before node-media-server sends it its caches) replays the tap's cache through node-media-server's
 * own `broadcastMessage`, which builds its caches exactly as if it had run all along; from then on
 * every packet goes through it. When the last player leaves, the fan-out stops again and
 * node-media-server's GOP caches are dropped (the tap's stays).
 */
import Flv from 'node-media-server/src/protocol/flv.js';
import type { NmsPacket, NmsSession } from './embedded-nms';
import type { MediaTap } from './media-tap';

export class LazyFanOut {
  private running = false;

  /**
   * @param session the publisher (its `broadcast` is read at each packet: castline may move it)
   * @param deliver node-media-server's own packet handler (`session.onPacket` → `broadcastMessage`)
   */
  constructor(private readonly session: NmsSession, private readonly tap: MediaTap, private readonly deliver: (packet: NmsPacket) => void) {}

  /** True while node-media-server's fan-out runs (some player is attached). */
  get active(): boolean {
    return this.running;
  }

  /** A packet of the publisher, before the tap has it. */
  push(packet: NmsPacket): void {
    const broadcast = this.session.broadcast;
    if (broadcast === undefined) return;
    if (broadcast.subscribers.size === 0) {
      if (this.running) this.stop(broadcast);
      return;
    }
    this.start(); // players attached before any packet (held during the key check, waiting for a step)
    this.deliver(packet);
  }

  /** A player is about to join: node-media-server's caches are built from the tap's, then it runs. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const tag of this.tap.cached()) this.deliver(Flv.parserTag(tag.type, tag.timestamp, tag.body.length, tag.body));
  }

  private stop(broadcast: NonNullable<NmsSession['broadcast']>): void {
    this.running = false;
    broadcast.flvGopCache = null;
    broadcast.rtmpGopCache = null;
  }
}
