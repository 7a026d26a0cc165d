/** Constant-time stream key comparison (the time does not depend on where the keys differ, nor on their lengths). */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

export function keysEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}
