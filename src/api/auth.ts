/**
 * Commands API authentication (COMMANDS_API_AUTH Basic / Bearer), compared in constant time.
 * A rejection says only "invalid credentials"; the detail goes to the log.
 */
import type { IncomingAuth } from '../config/config';
import { secretMatcher } from '../net/secret-compare';

/** Checks one Authorization header value: null when it may pass, else the reason (for the log). */
export type AuthCheck = (header: string | undefined) => string | null;

/** Builds the check once per configuration, so a request costs one string comparison. */
export function authorizationCheck(auth: IncomingAuth): AuthCheck {
  if (auth.method === 'none') return () => null;
  const scheme = auth.method.toLowerCase();
  // Basic: the canonical base64 of user:password; a client's other spelling of the same bytes
  // (missing padding, say) is decoded and compared as bytes.
  const isSecret = secretMatcher(auth.method === 'Bearer' ? auth.token : Buffer.from(`${auth.user}:${auth.password}`, 'utf8').toString('base64'));
  const isPlain = secretMatcher(auth.method === 'Basic' ? `${auth.user}:${auth.password}` : '');
  return (header) => {
    if (header === undefined || header === '') return 'missing Authorization header';
    const space = header.indexOf(' ');
    if (space <= 0) return 'malformed Authorization header';
    if (header.slice(0, space).toLowerCase() !== scheme) return `expected ${auth.method} authorization, got ${header.slice(0, space)}`;
    const value = header.slice(space + 1).trim();
    if (isSecret(value)) return null;
    if (auth.method === 'Basic' && isPlain(Buffer.from(value, 'base64').toString('utf8'))) return null;
    return auth.method === 'Bearer' ? 'wrong bearer token' : 'wrong user or password';
  };
}
