/**
 * The error catalogue: every error a user can cause has a stable code, mapped to an HTTP status
 * here and to an `ERROR:` message by the WebSocket ingest. Codes marked `refusal` are the reasons a
 * publish can be refused (`RefusalCode`, derived from this table — not a second list).
 */
export const ERROR_CATALOGUE = {
  BAD_REQUEST: { status: 400 },
  UNAUTHORIZED: { status: 401 },
  NOT_FOUND: { status: 404 },
  METHOD_NOT_ALLOWED: { status: 405 },
  PAYLOAD_TOO_LARGE: { status: 413 },
  INVALID_ID: { status: 404, refusal: true },
  KEY_REFUSED: { status: 403, refusal: true },
  CHANNEL_BUSY: { status: 403, refusal: true },
  CAPACITY_FULL: { status: 403, refusal: true },
  NO_WORKFLOW: { status: 404, refusal: true },
  IP_DENIED: { status: 403, refusal: true },
  SHUTTING_DOWN: { status: 503, refusal: true },
  /** Cluster mode: Redis cannot be reached, so the channel cannot be taken cluster-wide. */
  CLUSTER_UNAVAILABLE: { status: 503, refusal: true },
  TOO_MANY_CONNECTIONS: { status: 429 },
  MESSAGE_TOO_LARGE: { status: 400 },
  INVALID_MEDIA: { status: 400 },
  /** A held LL-HLS request whose part did not arrive within 3 × the target duration. */
  PART_TIMEOUT: { status: 503 },
  /** The output storage is full (a publish is refused until there is room). */
  STORAGE_FULL: { status: 507, refusal: true },
  /** The output storage cannot be written. */
  STORAGE_ERROR: { status: 503, refusal: true },
  INTERNAL: { status: 500 },
} as const satisfies Record<string, { status: number; refusal?: true }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Why a publish was refused. Ingest maps these to HTTP statuses (WS) or a socket destroy (RTMP). */
export type RefusalCode = {
  [K in ErrorCode]: (typeof ERROR_CATALOGUE)[K] extends { refusal: true } ? K : never;
}[ErrorCode];

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CATALOGUE[code].status;
}

export class CastlineError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CastlineError';
  }
}
