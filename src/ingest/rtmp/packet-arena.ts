/**
 * Owned copies of packet bodies without one allocation per packet. node-media-server parses every
 * RTMP message into a buffer it reuses for the next one, so whatever keeps a packet (the GOP cache,
 * the packager until its part is cut) needs a copy. The arena copies bodies one after the other
 * into a large slab and hands out views; a slab is freed by the garbage collector once no view of
 * it is left (a slab lives about as long as the oldest packet anyone still holds: a GOP).
 * One fresh ArrayBuffer per slab instead of per packet: fewer external allocations, less GC work.
 */
export class PacketArena {
  private slab: Buffer;
  private used = 0;

  /** @param slabBytes bytes per slab; a body larger than a slab gets a buffer of its own. */
  constructor(private readonly slabBytes: number) {
    this.slab = Buffer.allocUnsafeSlow(slabBytes);
  }

  /** A copy of `source` that nothing else writes to (a view into the current slab). */
  copy(source: Uint8Array): Buffer {
    const n = source.length;
    if (n > this.slabBytes) {
      const own = Buffer.allocUnsafeSlow(n);
      own.set(source);
      return own;
    }
    if (this.used + n > this.slabBytes) {
      this.slab = Buffer.allocUnsafeSlow(this.slabBytes);
      this.used = 0;
    }
    const at = this.used;
    this.slab.set(source, at);
    this.used = at + n;
    return this.slab.subarray(at, at + n);
  }
}
