/**
 * What a WS stream holds for late receivers: the first chunk of the publish (the container
 * header: WebM EBML+Tracks, FLV header + sequence headers…), never evicted, plus a FIFO of the
 * latest chunks bounded by `limitBytes` (header included in the budget). Once the encoder's
 * `receive-clear-cache` consumer has taken the replay, `clear()` drops the held chunks and stops
 * holding new ones for the rest of this publish; the header stays. Pure bookkeeping.
 */
export class ChunkCache {
  private header: Uint8Array | null = null;
  private chunks: Uint8Array[] = [];
  private start = 0;
  private chunkBytes = 0;
  private holding = true;

  constructor(private readonly limitBytes: number) {}

  /** True if the next chunk would be kept (so the caller knows whether to copy it). */
  get wantsNext(): boolean {
    return this.header === null || this.holding;
  }

  get hasHeader(): boolean {
    return this.header !== null;
  }

  /** Bytes held, header included. */
  get heldBytes(): number {
    return (this.header?.byteLength ?? 0) + this.chunkBytes;
  }

  get heldChunks(): number {
    return (this.header === null ? 0 : 1) + this.chunks.length - this.start;
  }

  /** Keeps a chunk the caller will not modify (copy uWS buffers first). */
  append(chunk: Uint8Array): void {
    if (this.header === null) {
      this.header = chunk;
      return;
    }
    if (!this.holding) return;
    const budget = Math.max(0, this.limitBytes - this.header.byteLength);
    if (chunk.byteLength > budget) {
      this.dropChunks();
      return;
    }
    this.chunks.push(chunk);
    this.chunkBytes += chunk.byteLength;
    while (this.chunkBytes > budget) {
      const oldest = this.chunks[this.start]!;
      this.chunks[this.start++] = EMPTY;
      this.chunkBytes -= oldest.byteLength;
    }
    if (this.start > 64 && this.start * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.start);
      this.start = 0;
    }
  }

  /** The header (if any) then the held chunks, oldest first. */
  replay(): Uint8Array[] {
    const out = this.header === null ? [] : [this.header];
    for (let i = this.start; i < this.chunks.length; i++) out.push(this.chunks[i]!);
    return out;
  }

  /** The header only (what a probe gets). */
  first(): Uint8Array | null {
    return this.header;
  }

  /** Drops the held chunks (not the header) and stops holding new ones for this publish. */
  clear(): void {
    this.dropChunks();
    this.holding = false;
  }

  private dropChunks(): void {
    this.chunks = [];
    this.start = 0;
    this.chunkBytes = 0;
  }
}

const EMPTY = new Uint8Array(0);
