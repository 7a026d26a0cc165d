/** The ports the passthrough packager (`passthrough-job.ts`) needs from the rest of castline. */

/** One FLV tag of a live publisher: type 8 audio / 9 video, timestamp ms, body (may be a reused buffer). */
export interface FlvPacket {
  type: number;
  timestamp: number;
  body: Uint8Array;
  /** The body is the packet's own copy, never reused by the source: it may be kept without copying. */
  owned?: boolean;
}

/** Why a byte-stream source (the WS ingest's FLV) could not be read as FLV tags. */
export interface UnreadableMedia {
  /** `not-flv`: another container (WebM from a browser…): ffmpeg takes the stream. `broken`: corrupt FLV. */
  kind: 'not-flv' | 'broken';
  message: string;
}

export interface FlvPacketListener {
  packet(packet: FlvPacket): void;
  /** The publisher is gone (or was refused). */
  end(): void;
  /** Sources that demux bytes only: nothing readable follows (the subscription stays until unsubscribed). */
  unreadable?(problem: UnreadableMedia): void;
}

/** An ingest's media tap: the RTMP ingest's packets, or the WS ingest's bytes read as FLV. */
export interface FlvMediaSource {
  /** Starts from the codec headers and the last keyframe (RTMP) or the first byte (WS); null when the channel has no such publisher. */
  subscribeMedia(channel: string, streamId: string, listener: FlvPacketListener): (() => void) | null;
  /**
   * The packager took the stream for good (no ffmpeg will need its start): the source may stop
   * holding media for a later reader. Optional: a source that holds nothing has nothing to drop.
   */
  committed?(channel: string, streamId: string): void;
}

/** A publisher's raw bytes as the WS ingest received them (binary messages, in order). */
export interface ByteStreamListener {
  /** Valid only during the call: copy what is kept. */
  chunk(data: Uint8Array): void;
  /** The publisher is gone. */
  end(): void;
}

export interface ByteStreamSubscription {
  unsubscribe(): void;
  /** Stop holding bytes for later readers (as the ffmpeg encoder's `receive-clear-cache` does). */
  releaseHeld(): void;
}

/** The WS ingest's side of a WS passthrough. */
export interface PublishedBytes {
  /** From the first byte of the publish (held bytes replayed), then live; null when `streamId` is not published there. */
  subscribeBytes(channel: string, streamId: string, listener: ByteStreamListener): ByteStreamSubscription | null;
}
