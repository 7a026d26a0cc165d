/**
 * Commands API authentication (COMMANDS_API_AUTH Basic / Bearer), compared in constant time.
 * A rejection says only "invalid credentials"; the detail goes to the log.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingAuth } from '../config/config';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

/** Returns null when the request may pass, or the reason it may not (for the log). */
export function checkAuthorization(auth: IncomingAuth, header: string | undefined): string | null {
  if (auth.method === 'none') return null;
  if (header === undefined || header === '') return 'missing Authorization header';
  const space = header.indexOf(' ');
  if (space <= 0) return 'malformed Authorization header';
  const scheme = header.slice(0, space);
  const value = header.slice(space + 1).trim();
  if (scheme.toLowerCase() !== auth.method.toLowerCase()) return `expected ${auth.method} authorization, got ${scheme}`;
  if (auth.method === 'Bearer') return same(value, auth.token) ? null : 'wrong bearer token';
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  return same(decoded, `${auth.user}:${auth.password}`) ? null : 'wrong user or password';
}
