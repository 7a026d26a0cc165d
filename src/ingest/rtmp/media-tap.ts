/**
 * The media of one live RTMP publisher for castline's own packager (passthrough without ffmpeg):
 * every audio/video FLV tag node-media-server parsed, after the key was accepted, handed to the
 * subscribers synchronously. A subscriber that comes after the first packets (the packager starts
 * when the stream actor places the job) first gets the codec sequence headers and the packets
 * since the last video keyframe, so it starts on a keyframe without waiting for the next one.
 * The cache holds copies (node-media-server reuses its parse buffer), is bounded in bytes, and is
 * kept only while nobody subscribes (a stream has one packager; no copy per packet after that).
 */
import type { NmsPacket } from './embedded-nms';

/** One FLV tag: type 8 audio / 9 video, timestamp in ms, the tag body. */
export interface TapPacket {
  type: number;
  timestamp: number;
  body: Buffer;
}

export interface MediaTapListener {
  /** The body may be a view into a reused buffer: copy what is kept. */
  packet(packet: TapPacket): void;
  /** The publisher is gone; nothing follows. */
  end(): void;
}

const AUDIO = 8;
const VIDEO = 9;

export class MediaTap {
  private videoHeader: TapPacket | null = null;
  private audioHeader: TapPacket | null = null;
  private gop: TapPacket[] = [];
  private gopBytes = 0;
  private readonly listeners = new Set<MediaTapListener>();
  private ended = false;

  /** @param maxCacheBytes packets since the last keyframe kept for a late subscriber; beyond, the cache is dropped until the next keyframe. */
  constructor(private readonly maxCacheBytes: number) {}

  get subscribers(): number {
    return this.listeners.size;
  }

  push(packet: NmsPacket): void {
    if (this.ended || (packet.codec_type !== AUDIO && packet.codec_type !== VIDEO)) return;
    const body = packet.data.subarray(0, packet.size);
    const tag: TapPacket = { type: packet.codec_type, timestamp: packet.dts, body };
    this.remember(tag);
    for (const l of this.listeners) l.packet(tag);
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

  private remember(tag: TapPacket): void {
    const b = tag.body;
    // With a subscriber (the stream's one packager) the GOP is not copied: a later subscriber starts
    // at the next keyframe. The headers are always kept.
    const caching = this.listeners.size === 0;
    const sequenceHeader = b.length >= 2 && b[1] === 0 && ((tag.type === VIDEO && (b[0]! & 0x0f) === 7) || (tag.type === AUDIO && b[0]! >> 4 === 10));
    if (sequenceHeader) {
      const copy = { ...tag, body: Buffer.from(b) };
      if (tag.type === VIDEO) this.videoHeader = copy;
      else this.audioHeader = copy;
      return;
    }
    if (!caching) {
      if (this.gop.length > 0) {
        this.gop = [];
        this.gopBytes = 0;
      }
      return;
    }
    const keyframe = tag.type === VIDEO && b.length >= 2 && b[0]! >> 4 === 1 && b[1] === 1;
    if (keyframe) {
      this.gop = [];
      this.gopBytes = 0;
    } else if (this.gop.length === 0 || this.gopBytes + b.length > this.maxCacheBytes) {
      if (this.gop.length > 0) {
        this.gop = [];
        this.gopBytes = 0;
      }
      return; // no keyframe cached: nothing a new subscriber could start from
    }
    this.gop.push({ ...tag, body: Buffer.from(b) });
    this.gopBytes += b.length;
  }
}
