import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares two stream keys in constant time. Both are hashed first, so neither the content nor
 * the length of the expected key leaks through timing.
 */
export function sameKey(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}
