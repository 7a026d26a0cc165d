/**
 * The error catalogue: every error a user can cause has a stable code, mapped to an HTTP status in
 * one place (api/) and to an `ERROR:` message in another (ingest/ws).
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'INVALID_ID'
  | 'KEY_REFUSED'
  | 'CHANNEL_BUSY'
  | 'CAPACITY_FULL'
  | 'NO_WORKFLOW'
  | 'IP_DENIED'
  | 'SHUTTING_DOWN'
  | 'TOO_MANY_CONNECTIONS'
  | 'MESSAGE_TOO_LARGE'
  | 'INVALID_MEDIA'
  | 'STORAGE_FULL'
  | 'STORAGE_ERROR'
  | 'INTERNAL';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  INVALID_ID: 404,
  KEY_REFUSED: 403,
  CHANNEL_BUSY: 403,
  CAPACITY_FULL: 403,
  NO_WORKFLOW: 404,
  IP_DENIED: 403,
  SHUTTING_DOWN: 503,
  TOO_MANY_CONNECTIONS: 429,
  MESSAGE_TOO_LARGE: 400,
  INVALID_MEDIA: 400,
  STORAGE_FULL: 507,
  STORAGE_ERROR: 503,
  INTERNAL: 500,
};

export class CastlineError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.name = 'CastlineError';
  }
}
