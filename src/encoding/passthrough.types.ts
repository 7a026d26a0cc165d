/** The ports the passthrough packager (`passthrough-job.ts`) needs from the rest of castline. */

/** One FLV tag of a live publisher: type 8 audio / 9 video, timestamp ms, body (may be a reused buffer). */
export interface FlvPacket {
  type: number;
  timestamp: number;
  body: Uint8Array;
  /** The body is the packet's own copy, never reused by the source: it may be kept without copying. */
  owned?: boolean;
}

export interface FlvPacketListener {
  packet(packet: FlvPacket): void;
  /** The publisher is gone (or was refused). */
  end(): void;
}

/** The RTMP ingest's media tap. */
export interface FlvMediaSource {
  /** Starts from the codec headers and the last keyframe; null when the channel has no such publisher. */
  subscribeMedia(channel: string, streamId: string, listener: FlvPacketListener): (() => void) | null;
}
