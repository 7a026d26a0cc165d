/**
 * Reads the publisher → server half of an RTMP connection (as the latency proxy relays it) far
 * enough to timestamp when each H.264 keyframe has been fully received. The second keyframe is
 * the one that closes the first HLS segment (GOP = segment length), so its arrival is the floor
 * no server can beat: it is reported as "floor" next to each server's figure.
 *
 * Handled: the handshake (C0+C1+C2 = 3073 bytes skipped), chunk basic headers of 1–3 bytes,
 * message headers of types 0–3, extended timestamps, the client's Set Chunk Size. Nothing else of
 * RTMP is needed to find video messages (type 9) and their frame type.
 */
const HANDSHAKE_BYTES = 1 + 1536 + 1536;

interface ChunkStream {
  timestamp: number;
  delta: number;
  length: number;
  type: number;
  extended: boolean;
  /** Payload bytes of the current message received so far. */
  received: number;
  /** First bytes of the current message (enough for the FLV video tag header and its composition time). */
  head: number[];
}

export interface KeyframeArrival {
  /** RTMP timestamp (ms, the FLV DTS). */
  timestamp: number;
  /** Date.now() when the last byte of the message arrived. */
  at: number;
}

export interface FrameArrival extends KeyframeArrival {
  /** Presentation time (ms): the RTMP timestamp plus the AVC composition time offset. */
  pts: number;
}

export class RtmpTap {
  readonly keyframes: KeyframeArrival[] = [];
  /** Every H.264 frame (AVC NAL-unit message) with its arrival time; filled only when `recordFrames`. */
  readonly frames: FrameArrival[] = [];
  recordFrames = false;
  private buffer: Buffer = Buffer.alloc(0);
  private skip = HANDSHAKE_BYTES;
  private chunkSize = 128;
  private readonly streams = new Map<number, ChunkStream>();
  private broken = false;

  push(data: Buffer): void {
    if (this.broken) return;
    const now = Date.now();
    if (this.skip > 0) {
      const n = Math.min(this.skip, data.length);
      this.skip -= n;
      data = data.subarray(n);
    }
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
    try {
      while (this.parseChunk(now));
    } catch {
      this.broken = true; // not RTMP as expected: report nothing rather than nonsense
    }
  }

  /** Parses one whole chunk from the buffer; false when more bytes are needed. */
  private parseChunk(now: number): boolean {
    const b = this.buffer;
    if (b.length < 1) return false;
    const fmt = b[0]! >> 6;
    let csid = b[0]! & 0x3f;
    let pos = 1;
    if (csid === 0) {
      if (b.length < 2) return false;
      csid = 64 + b[1]!;
      pos = 2;
    } else if (csid === 1) {
      if (b.length < 3) return false;
      csid = 64 + b[1]! + b[2]! * 256;
      pos = 3;
    }
    const headerLength = [11, 7, 3, 0][fmt]!;
    if (b.length < pos + headerLength) return false;
    const prev = this.streams.get(csid);
    const cs: ChunkStream = prev ?? { timestamp: 0, delta: 0, length: 0, type: 0, extended: false, received: 0, head: [] };
    const newMessage = cs.received === 0;
    let tsField = 0;
    if (fmt <= 2) tsField = b.readUIntBE(pos, 3);
    if (fmt <= 1) {
      cs.length = b.readUIntBE(pos + 3, 3);
      cs.type = b[pos + 6]!;
    }
    pos += headerLength;
    const extended = fmt <= 2 ? tsField === 0xffffff : cs.extended;
    if (extended) {
      if (b.length < pos + 4) return false;
      tsField = fmt <= 2 ? b.readUInt32BE(pos) : tsField;
      pos += 4;
    }
    const payload = Math.min(this.chunkSize, cs.length - cs.received);
    if (b.length < pos + payload) return false;
    // The whole chunk is here: commit the header state.
    cs.extended = extended;
    if (newMessage) {
      if (fmt === 0) {
        cs.timestamp = tsField;
        cs.delta = tsField; // a type-3 message after a type-0 one repeats its timestamp as the delta
      } else if (fmt === 1 || fmt === 2) {
        cs.delta = tsField;
        cs.timestamp += tsField;
      } else {
        cs.timestamp += cs.delta;
      }
      cs.head = [];
    }
    for (let i = 0; i < payload && cs.head.length < 5; i++) cs.head.push(b[pos + i]!);
    cs.received += payload;
    this.streams.set(csid, cs);
    this.buffer = b.subarray(pos + payload);
    if (cs.received >= cs.length) {
      this.onMessage(cs, now);
      cs.received = 0;
    }
    return true;
  }

  private onMessage(cs: ChunkStream, now: number): void {
    if (cs.type === 1 && cs.head.length === 4) {
      this.chunkSize = ((cs.head[0]! << 24) | (cs.head[1]! << 16) | (cs.head[2]! << 8) | cs.head[3]!) & 0x7fffffff;
    } else if (cs.type === 9 && cs.head.length >= 2) {
      // FLV video tag: frame type 1 = keyframe, codec 7 = AVC; AVC packet type 1 = NAL units.
      const keyframe = cs.head[0]! >> 4 === 1;
      const nalus = (cs.head[0]! & 0x0f) !== 7 || cs.head[1] === 1;
      if (keyframe && nalus) this.keyframes.push({ timestamp: cs.timestamp, at: now });
      if (this.recordFrames && (cs.head[0]! & 0x0f) === 7 && cs.head[1] === 1 && cs.head.length === 5) {
        const cts = ((cs.head[2]! << 16) | (cs.head[3]! << 8) | cs.head[4]!) << 8 >> 8; // SI24
        this.frames.push({ timestamp: cs.timestamp, pts: cs.timestamp + cts, at: now });
      }
    }
  }
}
