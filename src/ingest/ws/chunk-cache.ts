/**
 * What a WS stream holds for late receivers: the first chunk of the publish (the container
 * header: WebM EBML+Tracks, FLV header + sequence headers…), never evicted, plus a FIFO of the
 * latest chunks bounded by `limitBytes` (header included in the budget; a header larger than the
 * budget is still kept, alone). Once the encoder's `receive-clear-cache` consumer has taken the
 * replay, `clear()` drops the held chunks and stops holding new ones for the rest of this
 * publish; the header stays, so later receivers get header + live chunks.
 *
 * Memory: chunks are copied into slabs (≤ 1 MiB) that are recycled once every chunk in them has
 * been evicted, so a busy stream allocates nothing in steady state (per-chunk ArrayBuffers made
 * V8 run full GCs at ~1 Gbit/s of cached media). Overhead beyond `limitBytes`: the unused tail
 * of each slab (small while chunks are much smaller than a slab — 1 MiB slabs for the 16 MiB
 * default, 30–90 kB browser chunks — at worst half of it) plus about two slabs.
 * Views returned by `replay()` / `first()` are only valid until the next `append` — send them
 * at once (uWS copies on send). Pure bookkeeping.
 */
interface Slab {
  buf: Uint8Array;
  used: number;
  /** Chunks in this slab not yet evicted. */
  live: number;
}

interface Held {
  slab: Slab;
  view: Uint8Array;
}

export class ChunkCache {
  private header: Uint8Array | null = null;
  private chunks: Held[] = [];
  private start = 0;
  private chunkBytes = 0;
  private holding = true;
  private slabs: Slab[] = [];
  private readonly spares: Uint8Array[] = [];
  private readonly slabBytes: number;

  constructor(private readonly limitBytes: number) {
    this.slabBytes = Math.min(1024 * 1024, Math.max(16 * 1024, Math.floor(limitBytes / 16)));
  }

  /** True if the next chunk would be kept. */
  get wantsNext(): boolean {
    return this.header === null || this.holding;
  }

  get hasHeader(): boolean {
    return this.header !== null;
  }

  /** Media bytes held, header included. */
  get heldBytes(): number {
    return (this.header?.byteLength ?? 0) + this.chunkBytes;
  }

  get heldChunks(): number {
    return (this.header === null ? 0 : 1) + this.chunks.length - this.start;
  }

  /** Copies a chunk in (the caller's buffer may be reused or detached afterwards). */
  append(chunk: Uint8Array): void {
    if (this.header === null) {
      this.header = chunk.slice();
      return;
    }
    if (!this.holding) return;
    const len = chunk.byteLength;
    const budget = Math.max(0, this.limitBytes - this.header.byteLength);
    if (len > budget) return this.dropChunks();
    while (this.chunkBytes + len > budget) this.evictOldest();
    const slab = this.slabFor(len);
    const view = slab.buf.subarray(slab.used, slab.used + len);
    view.set(chunk);
    slab.used += len;
    slab.live++;
    this.chunks.push({ slab, view });
    this.chunkBytes += len;
    if (this.start > 64 && this.start * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.start);
      this.start = 0;
    }
  }

  /** The header (if any) then the held chunks, oldest first. */
  replay(): Uint8Array[] {
    const out = this.header === null ? [] : [this.header];
    for (let i = this.start; i < this.chunks.length; i++) out.push(this.chunks[i]!.view);
    return out;
  }

  /** The header only (what a probe gets). */
  first(): Uint8Array | null {
    return this.header;
  }

  /** Drops the held chunks (not the header) and stops holding new ones for this publish. */
  clear(): void {
    this.dropChunks();
    this.spares.length = 0;
    this.holding = false;
  }

  private slabFor(len: number): Slab {
    const current = this.slabs[this.slabs.length - 1];
    if (current !== undefined && current.buf.byteLength - current.used >= len) return current;
    if (current !== undefined && current.live === 0) {
      this.slabs.pop();
      this.recycle(current);
    }
    let buf: Uint8Array;
    // allocUnsafeSlow: no zero-fill (every byte handed out is written first), not from Node's pool
    if (len > this.slabBytes) buf = Buffer.allocUnsafeSlow(len);
    else buf = this.spares.pop() ?? Buffer.allocUnsafeSlow(this.slabBytes);
    const slab: Slab = { buf, used: 0, live: 0 };
    this.slabs.push(slab);
    return slab;
  }

  private evictOldest(): void {
    const held = this.chunks[this.start]!;
    this.chunks[this.start++] = EMPTY;
    this.chunkBytes -= held.view.byteLength;
    held.slab.live--;
    // slabs empty out in order; one is released once empty and no longer the one written to
    while (this.slabs.length > 1 && this.slabs[0]!.live === 0) this.recycle(this.slabs.shift()!);
  }

  private recycle(slab: Slab): void {
    if (slab.buf.byteLength === this.slabBytes && this.spares.length < MAX_SPARES) this.spares.push(slab.buf);
  }

  /** Slabs currently allocated (for tests and stats). */
  get slabCount(): number {
    return this.slabs.length + this.spares.length;
  }

  private dropChunks(): void {
    this.chunks = [];
    this.start = 0;
    this.chunkBytes = 0;
    this.slabs = [];
  }
}

const MAX_SPARES = 4;
const EMPTY: Held = { slab: { buf: new Uint8Array(0), used: 0, live: 0 }, view: new Uint8Array(0) };
