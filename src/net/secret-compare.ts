/**
 * The one constant-time comparison of secrets (API credentials, stream keys). Both sides are
 * hashed (SHA-256) and the digests compared with `timingSafeEqual`, so the time depends neither on
 * where the values differ nor on their lengths.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

export function secretsEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** For a fixed secret (hashed once): a check that costs one hash per call. */
export function secretMatcher(secret: string): (given: string) => boolean {
  const expected = digest(secret);
  return (given) => timingSafeEqual(digest(given), expected);
}
