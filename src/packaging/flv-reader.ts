/**
 * An FLV byte stream (an `.flv` file, ffmpeg's `-f flv pipe:1`, a WS publisher's FLV) cut into
 * tags, incrementally: `push` any chunk, get back every tag it completed. The tag body is a view
 * into the chunk or a copy when it spanned chunks. Throws on a stream that is not FLV.
 */
export interface FlvTag {
  type: number;
  /** ms, with the extended byte. */
  timestamp: number;
  body: Uint8Array;
}

const HEADER_BYTES = 9;
const TAG_HEADER_BYTES = 11;
/** A tag body larger than this is not media a live publisher sends. */
const MAX_TAG_BYTES = 16 * 1024 * 1024;

export class FlvReader {
  private pending: Buffer = Buffer.alloc(0);
  private headerDone = false;

  push(chunk: Uint8Array): FlvTag[] {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([this.pending, chunk]);
    const tags: FlvTag[] = [];
    let at = 0;
    if (!this.headerDone) {
      if (this.pending.length < HEADER_BYTES + 4) return tags;
      if (this.pending.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV stream');
      at = this.pending.readUInt32BE(5) + 4;
      this.headerDone = true;
    }
    while (this.pending.length - at >= TAG_HEADER_BYTES) {
      const size = this.pending.readUIntBE(at + 1, 3);
      if (size > MAX_TAG_BYTES) throw new Error(`FLV tag of ${size} bytes`);
      if (this.pending.length - at < TAG_HEADER_BYTES + size + 4) break;
      const b = this.pending;
      const timestamp = ((b[at + 7]! << 24) | (b[at + 4]! << 16) | (b[at + 5]! << 8) | b[at + 6]!) >>> 0;
      tags.push({ type: b[at]! & 0x1f, timestamp, body: b.subarray(at + TAG_HEADER_BYTES, at + TAG_HEADER_BYTES + size) });
      at += TAG_HEADER_BYTES + size + 4;
    }
    this.pending = at === 0 ? this.pending : Buffer.from(this.pending.subarray(at));
    return tags;
  }
}
