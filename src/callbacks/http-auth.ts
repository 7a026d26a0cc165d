/**
 * The `Authorization` header castline sends to the application (key verification, event
 * callbacks), built as the reference streaming cluster builds it, so applications written for it
 * accept castline unchanged: `Basic base64(user:password)`, `Bearer {token}`, or the raw Custom value.
 */
import type { OutgoingAuth } from '../config/config';

/** `Basic base64(user:password)`, `Bearer token`, the raw Custom value, or null (no header). */
export function authorizationHeader(auth: OutgoingAuth): string | null {
  switch (auth.method) {
    case 'Basic':
      return `Basic ${Buffer.from(`${auth.user}:${auth.password}`, 'utf8').toString('base64')}`;
    case 'Bearer':
      return `Bearer ${auth.token}`;
    case 'Custom':
      return auth.value;
    case 'none':
      return null;
  }
}
