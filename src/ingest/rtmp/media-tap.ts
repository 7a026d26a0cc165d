/**
 * The media of one live RTMP publisher, kept once and shared: castline's own packager
 * (passthrough without ffmpeg) subscribes to it, and node-media-server's fan-out to RTMP players
 * is built from it only when a player comes (`lazy-fan-out.ts`).
 *
 * Every audio/video FLV tag node-media-server parsed, after the key was accepted, is copied once
 * (node-media-server reuses its parse buffer; the copies go into a `PacketArena` slab) and handed
 * to the subscribers synchronously; the copy is theirs to keep (`owned`). The tap always holds the
 * last metadata, the codec sequence headers and the packets since the last video keyframe
 * (references to those copies, bounded in bytes): a late subscriber — the packager starting when
 * the stream actor places the job, or the RTMP fan-out starting for a first player — gets them
 * first, so it starts on a keyframe without waiting for the next one.
 */
import type { NmsPacket } from './embedded-nms';
import { PacketArena } from './packet-arena';

/** One FLV tag: type 8 audio / 9 video / 18 script data, timestamp in ms, the tag body. */
export interface TapPacket {
  type: number;
  timestamp: number;
  body: Buffer;
  /** The body is this packet's own copy: nothing reuses it, a subscriber may keep it. */
  owned: true;
}

export interface MediaTapListener {
  /** Audio and video tags (not script data). */
  packet(packet: TapPacket): void;
  /** The publisher is gone; nothing follows. */
  end(): void;
}

const AUDIO = 8;
const VIDEO = 9;
const SCRIPT = 18;
/** node-media-server's packet flags (`AVPacket.flags`, set by `Flv.parserTag`). */
const AUDIO_HEADER = 0;
const FRAME = 1;
const VIDEO_HEADER = 2;
const KEYFRAME = 3;
const INTER_FRAME = 4;
/** Bytes per arena slab: a few seconds of a 720p stream; one slab per publisher is always held. */
const SLAB_BYTES = 256 * 1024;

export class MediaTap {
  private metadata: TapPacket | null = null;
  private videoHeader: TapPacket | null = null;
  private audioHeader: TapPacket | null = null;
  private gop: TapPacket[] = [];
  private gopBytes = 0;
  private readonly listeners = new Set<MediaTapListener>();
  private readonly arena = new PacketArena(SLAB_BYTES);
  private ended = false;

  /** @param maxCacheBytes packets since the last keyframe kept for a late subscriber; beyond, the cache is dropped until the next keyframe. */
  constructor(private readonly maxCacheBytes: number) {}

  get subscribers(): number {
    return this.listeners.size;
  }

  push(packet: NmsPacket): void {
    const type = packet.codec_type;
    if (this.ended || (type !== AUDIO && type !== VIDEO && type !== SCRIPT)) return;
    const data = packet.data.subarray(0, packet.size);
    // Metadata and codec headers are kept for the whole publish: their own small copies, so they never
    // pin an arena slab (a view would keep a whole slab alive per header, more for each re-sent one).
    const lasting = type === SCRIPT || packet.flags === AUDIO_HEADER || packet.flags === VIDEO_HEADER;
    const tag: TapPacket = { type, timestamp: packet.dts, body: lasting ? Buffer.from(data) : this.arena.copy(data), owned: true };
    if (type === SCRIPT) {
      this.metadata = tag;
      return;
    }
    this.remember(tag, packet.flags);
    for (const l of this.listeners) l.packet(tag);
  }

  /** What a new RTMP player is sent first, in node-media-server's order: metadata, audio and video headers, the GOP. */
  cached(): TapPacket[] {
    const headers = [this.metadata, this.audioHeader, this.videoHeader].filter((p): p is TapPacket => p !== null);
    return [...headers, ...this.gop];
  }

  /** Replays the headers and the current GOP to `listener`, then delivers live. Returns the unsubscribe. */
  subscribe(listener: MediaTapListener): () => void {
    if (this.ended) {
      listener.end();
      return () => undefined;
    }
    for (const header of [this.videoHeader, this.audioHeader]) if (header !== null) listener.packet(header);
    for (const tag of this.gop) listener.packet(tag);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.gop = [];
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const l of listeners) l.end();
  }

  /** Caches what node-media-server's own fan-out caches, by its packet flags (src/protocol/flv.js `parserTag`). */
  private remember(tag: TapPacket, flags: number): void {
    switch (flags) {
      case AUDIO_HEADER:
        this.audioHeader = tag;
        return;
      case VIDEO_HEADER:
        this.videoHeader = tag;
        return;
      case KEYFRAME:
        this.gop = [tag];
        this.gopBytes = tag.body.length;
        return;
      case FRAME:
      case INTER_FRAME:
        if (this.gop.length === 0) return; // no keyframe cached: nothing a new subscriber could start from
        if (this.gopBytes + tag.body.length > this.maxCacheBytes) {
          this.gop = [];
          this.gopBytes = 0;
          return;
        }
        this.gop.push(tag);
        this.gopBytes += tag.body.length;
    }
  }
}
