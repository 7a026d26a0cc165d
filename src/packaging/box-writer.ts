/**
 * Writes ISO-BMFF boxes into one growing buffer: `open(type)` reserves the size field, `close()`
 * fills it in when the box's content is known. Big-endian integers; no allocation per field.
 */
/**
 * The one rule for a finished buffer: it is handed out as a view (no copy) while its unused tail
 * is at most `max(SLACK_FLOOR_BYTES, written / 2)`, so what a kept result holds is at most 1.5 ×
 * its bytes (+ 4 KiB for small ones); a buffer that grew past, or was sized for, far more is
 * copied to its exact size.
 */
const SLACK_FLOOR_BYTES = 4096;

export class BoxWriter {
  private buf: Buffer;
  private length = 0;
  private readonly openBoxes: number[] = [];

  constructor(initialBytes = 4096) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get position(): number {
    return this.length;
  }

  /** Starts a box; every `open` needs its `close`. */
  open(type: string): this {
    this.openBoxes.push(this.length);
    this.u32(0);
    return this.fourcc(type);
  }

  /** Starts a full box (version + 24-bit flags). */
  openFull(type: string, version: number, flags: number): this {
    this.open(type);
    this.u8(version);
    return this.u24(flags);
  }

  close(): this {
    const start = this.openBoxes.pop();
    if (start === undefined) throw new Error('BoxWriter.close without open');
    this.buf.writeUInt32BE(this.length - start, start);
    return this;
  }

  /** A box whose whole content is `payload`. */
  box(type: string, payload: Uint8Array): this {
    return this.open(type).bytes(payload).close();
  }

  u8(v: number): this {
    this.reserve(1);
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.reserve(2);
    this.buf.writeUInt16BE(v & 0xffff, this.length);
    this.length += 2;
    return this;
  }

  u24(v: number): this {
    this.reserve(3);
    this.buf.writeUIntBE(v & 0xffffff, this.length, 3);
    this.length += 3;
    return this;
  }

  u32(v: number): this {
    this.reserve(4);
    this.buf.writeUInt32BE(v >>> 0, this.length);
    this.length += 4;
    return this;
  }

  i32(v: number): this {
    this.reserve(4);
    this.buf.writeInt32BE(v | 0, this.length);
    this.length += 4;
    return this;
  }

  u64(v: number): this {
    this.reserve(8);
    this.buf.writeBigUInt64BE(BigInt(Math.max(0, Math.round(v))), this.length);
    this.length += 8;
    return this;
  }

  zeros(n: number): this {
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
    return this;
  }

  fourcc(type: string): this {
    if (type.length !== 4) throw new Error(`box type must be 4 characters: ${type}`);
    this.reserve(4);
    this.buf.write(type, this.length, 'latin1');
    this.length += 4;
    return this;
  }

  bytes(data: Uint8Array): this {
    this.reserve(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
    return this;
  }

  /**
   * The bytes written from `from` on, as a view (no copy). Writing on may move to a bigger buffer:
   * views taken before keep the old one, with the same bytes.
   */
  view(from = 0): Buffer {
    return this.buf.subarray(from, this.length);
  }

  /** Overwrites a 32-bit field written earlier (a data offset known only later). */
  patchU32(at: number, v: number): void {
    this.buf.writeUInt32BE(v >>> 0, at);
  }

  /**
   * The bytes written, every box closed: a view of the buffer when its unused tail is within the
   * slack rule (`SLACK_FLOOR_BYTES` above), else a copy of their own. Views taken earlier
   * (`view()`) stay valid either way.
   */
  finish(): Buffer {
    if (this.openBoxes.length > 0) throw new Error(`BoxWriter.finish with ${this.openBoxes.length} box(es) open`);
    const view = this.buf.subarray(0, this.length);
    const unused = this.buf.length - this.length;
    return unused <= Math.max(SLACK_FLOOR_BYTES, this.length / 2) ? view : Buffer.from(view);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
}
