/**
 * Commands API authentication (COMMANDS_API_AUTH Basic / Bearer), compared in constant time.
 * A rejection says only "invalid credentials"; the detail goes to the log.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingAuth } from '../config/config';

/** Checks one Authorization header value: null when it may pass, else the reason (for the log). */
export type AuthCheck = (header: string | undefined) => string | null;

/**
 * Builds the check once per configuration, so a request costs one small allocation and one
 * constant-time comparison. Only the length of the secret can leak through timing.
 */
export function authorizationCheck(auth: IncomingAuth): AuthCheck {
  if (auth.method === 'none') return () => null;
  const scheme = auth.method.toLowerCase();
  const secret = Buffer.from(auth.method === 'Bearer' ? auth.token : `${auth.user}:${auth.password}`, 'utf8');
  const matches = (given: Buffer) => given.length === secret.length && timingSafeEqual(given, secret);
  return (header) => {
    if (header === undefined || header === '') return 'missing Authorization header';
    const space = header.indexOf(' ');
    if (space <= 0) return 'malformed Authorization header';
    if (header.slice(0, space).toLowerCase() !== scheme) return `expected ${auth.method} authorization, got ${header.slice(0, space)}`;
    const value = header.slice(space + 1).trim();
    if (auth.method === 'Bearer') return matches(Buffer.from(value, 'utf8')) ? null : 'wrong bearer token';
    return matches(Buffer.from(value, 'base64')) ? null : 'wrong user or password';
  };
}
