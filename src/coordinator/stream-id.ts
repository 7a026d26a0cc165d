import { randomBytes } from 'node:crypto';

let counter = 0;

/**
 * A stream id as in docs/spec/cluster-protocols.md §3: 32 lower-case hex characters — 8 bytes of Unix time
 * in milliseconds (big-endian), 4 bytes of a per-process counter, 4 random bytes. Sorts by creation.
 */
export function newStreamId(now: number = Date.now()): string {
  const buf = Buffer.alloc(16);
  buf.writeBigUInt64BE(BigInt(now), 0);
  counter = (counter + 1) >>> 0;
  buf.writeUInt32BE(counter, 8);
  randomBytes(4).copy(buf, 12);
  return buf.toString('hex');
}
