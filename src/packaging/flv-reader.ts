/**
 * An FLV byte stream (an `.flv` file, ffmpeg's `-f flv pipe:1`, a WS publisher's FLV) cut into
 * tags, incrementally: `push` any chunk, get back every tag it completed. The tag body is a view
 * into the chunk or a copy when it spanned chunks. Throws `FlvStreamError` on a stream that is not
 * FLV (`not-flv`: no signature) or whose framing is broken (`broken`: a tag type other than
 * audio/video/script, a tag too large, or a PreviousTagSize that does not match its tag — what
 * bytes that are not FLV, or a corrupted stream, look like once the header was read). A reader
 * that threw stays failed.
 */
export interface FlvTag {
  type: number;
  /** ms, with the extended byte. */
  timestamp: number;
  body: Uint8Array;
}

export class FlvStreamError extends Error {
  constructor(readonly kind: 'not-flv' | 'broken', message: string) {
    super(message);
    this.name = 'FlvStreamError';
  }
}

const HEADER_BYTES = 9;
/** Audio, video, script data. */
const TAG_TYPES = new Set([8, 9, 18]);
const TAG_HEADER_BYTES = 11;
/** A tag body larger than this is not media a live publisher sends. */
const MAX_TAG_BYTES = 16 * 1024 * 1024;

export class FlvReader {
  private pending: Buffer = Buffer.alloc(0);
  private headerDone = false;
  private failure: FlvStreamError | null = null;

  push(chunk: Uint8Array): FlvTag[] {
    if (this.failure !== null) throw this.failure;
    try {
      return this.read(chunk);
    } catch (err) {
      this.failure = err instanceof FlvStreamError ? err : new FlvStreamError('broken', (err as Error).message);
      this.pending = Buffer.alloc(0);
      throw this.failure;
    }
  }

  private read(chunk: Uint8Array): FlvTag[] {
    // A view of the caller's chunk (no copy) when nothing was pending; what is left over is copied.
    const aliased = this.pending.length === 0;
    this.pending = aliased ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([this.pending, chunk]);
    const tags: FlvTag[] = [];
    let at = 0;
    if (!this.headerDone) {
      if (this.pending.length < HEADER_BYTES + 4) return this.keepRest(0, aliased, tags);
      if (this.pending.toString('latin1', 0, 3) !== 'FLV') throw new FlvStreamError('not-flv', 'not an FLV stream');
      at = this.pending.readUInt32BE(5) + 4;
      this.headerDone = true;
    }
    while (this.pending.length - at >= TAG_HEADER_BYTES) {
      const b = this.pending;
      const type = b[at]! & 0x1f;
      if (!TAG_TYPES.has(type)) throw new FlvStreamError('broken', `broken FLV: tag type ${type}`);
      const size = b.readUIntBE(at + 1, 3);
      if (size > MAX_TAG_BYTES) throw new FlvStreamError('broken', `broken FLV: tag of ${size} bytes`);
      if (b.length - at < TAG_HEADER_BYTES + size + 4) break;
      const previous = b.readUInt32BE(at + TAG_HEADER_BYTES + size);
      if (previous !== TAG_HEADER_BYTES + size) throw new FlvStreamError('broken', `broken FLV: PreviousTagSize ${previous} after a tag of ${TAG_HEADER_BYTES + size} bytes`);
      const timestamp = ((b[at + 7]! << 24) | (b[at + 4]! << 16) | (b[at + 5]! << 8) | b[at + 6]!) >>> 0;
      tags.push({ type, timestamp, body: b.subarray(at + TAG_HEADER_BYTES, at + TAG_HEADER_BYTES + size) });
      at += TAG_HEADER_BYTES + size + 4;
    }
    return this.keepRest(at, aliased, tags);
  }

  /** Keeps the bytes from `at` for the next push (copied: the chunk may be reused or detached after the call). */
  private keepRest(at: number, aliased: boolean, tags: FlvTag[]): FlvTag[] {
    if (at > 0 || aliased) this.pending = Buffer.from(this.pending.subarray(at));
    return tags;
  }
}
