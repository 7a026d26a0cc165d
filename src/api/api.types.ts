/**
 * Route logic is written as functions from a plain request to a plain response, so it runs and is
 * tested without a socket; `http.ts` is the thin uWebSockets.js adapter.
 */
export interface ApiRequest {
  /** Upper-case method. */
  method: string;
  /** URL path without the query string. */
  path: string;
  /** The query string without `?`, for routes that declare `query: true` (else empty). */
  query?: string;
  /** Lower-case header names. */
  headers: Readonly<Record<string, string>>;
  body: Buffer;
  /** Client address (text form); read on first use. */
  readonly ip: string;
  /** Path parameters from the route pattern (`:name` and `*`). */
  params: Readonly<Record<string, string>>;
  /** Calls `listener` if the client goes away before an asynchronous answer (a held request). */
  onAbort?(listener: () => void): void;
}

export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON. */
  body?: string | Buffer | object;
}

export type Handler = (req: ApiRequest) => ApiResponse | Promise<ApiResponse>;

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface Route {
  method: Method;
  /** `/commands/capacity`, `/workflows/:name`, `/hls/*` (the rest of the path as `params['*']`). */
  pattern: string;
  /** Requires the commands API credentials. */
  auth: boolean;
  /**
   * The request headers the handler reads (lower-case). When given, only these are read from the
   * socket (a hot-path saving); when absent, every header is.
   */
  headers?: readonly string[];
  /** The handler reads the query string (`req.query`). */
  query?: boolean;
  handler: Handler;
}
