/**
 * The thin uWebSockets.js adapter for the route table. Each route is registered natively with uWS
 * (its router matches `:param` and `*`); a last `any('/*')` answers 404 / 405 with the JS matcher.
 * A request is read synchronously (uWS forbids touching `req` after the handler returns); auth and
 * the body limit are enforced here; a synchronous handler is answered at once, an asynchronous one
 * after `onAborted` is attached, and only if the client is still there.
 *
 * WebSocket upgrades (registered with `app.ws`) are matched by uWS before these routes.
 */
import { STATUS_CODES } from 'node:http';
import type { IncomingAuth } from '../config/config';
import type { Logger } from '../logging/logger';
import type { uWS } from '../net/uws';
import type { ApiRequest, ApiResponse, Route } from './api.types';
import { authorizationCheck, type AuthCheck } from './auth';
import { errorResponse, fromError } from './json';
import { matchRoute } from './router';

export interface HttpOptions {
  auth: IncomingAuth;
  /** Largest request body accepted, in bytes; larger → 413. */
  maxBodyBytes: number;
  logger: Logger;
  /** True while shutting down: responses close their connection so keep-alive cannot hold the process. */
  closing: () => boolean;
}

type HttpResponse = uWS.HttpResponse;
type HttpRequest = uWS.HttpRequest;
interface Pending {
  done: boolean;
}

const BODY_HEADERS = ['content-length', 'transfer-encoding'] as const;
const STATUS_LINE = new Map(Object.entries(STATUS_CODES).map(([code, text]) => [Number(code), `${code} ${text}`]));

export function mountRoutes(app: uWS.TemplatedApp, routes: readonly Route[], options: HttpOptions): void {
  const auth = authorizationCheck(options.auth);
  for (const route of routes) {
    const handler = (res: HttpResponse, req: HttpRequest) => handle(route, route.method, res, req, auth, options);
    const pattern = route.pattern;
    switch (route.method) {
      case 'GET':
        app.get(pattern, handler);
        app.head(pattern, (res, req) => handle(route, 'HEAD', res, req, auth, options));
        break;
      case 'POST': app.post(pattern, handler); break;
      case 'PUT': app.put(pattern, handler); break;
      case 'DELETE': app.del(pattern, handler); break;
    }
  }
  app.any('/*', (res, req) => {
    const method = req.getMethod().toUpperCase();
    const path = req.getUrl();
    const match = matchRoute(routes, method, path);
    const pending = { done: false };
    if (match.kind === 'method-not-allowed') {
      const allow = match.allow.join(', ');
      send(res, pending, method, errorResponse('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; allowed: ${allow}`, { Allow: allow }), options);
    } else {
      send(res, pending, method, errorResponse('NOT_FOUND', `no route for ${path}`), options);
    }
  });
}

/** Methods whose request body is read (others ignore any body). */
const WITH_BODY = new Set(['POST', 'PUT']);

function handle(route: Route, method: string, res: HttpResponse, req: HttpRequest, auth: AuthCheck, options: HttpOptions): void {
  const pending: Pending = { done: false };
  try {
    const path = req.getUrl();
    const withBody = WITH_BODY.has(method);
    const headers: Record<string, string> = {};
    if (route.headers === undefined) {
      req.forEach((name, value) => {
        headers[name] = value;
      });
    } else {
      if (route.auth) headers['authorization'] = req.getHeader('authorization');
      if (withBody) {
        for (const name of BODY_HEADERS) {
          const value = req.getHeader(name);
          if (value !== '') headers[name] = value;
        }
      }
      for (const name of route.headers) headers[name] = req.getHeader(name);
    }
    const params = hasParams(route) ? routeParams(route.pattern, req, path) : NO_PARAMS;
    const request = new Request(method, path, headers, params, res, route.query === true ? req.getQuery() ?? '' : '');

    if (route.auth) {
      const why = auth(headers['authorization']);
      if (why !== null) {
        options.logger.warn({ path, ip: request.ip, why }, 'unauthorized API request');
        const challenge = options.auth.method === 'Basic' ? 'Basic realm="castline"' : 'Bearer';
        return send(res, pending, method, errorResponse('UNAUTHORIZED', 'invalid credentials', { 'WWW-Authenticate': challenge }), options);
      }
    }
    if (!withBody) return run(route, request, res, pending, options, true);
    const lengthHeader = headers['content-length'];
    const declared = lengthHeader === undefined ? 0 : Number(lengthHeader);
    if (!Number.isInteger(declared) || declared < 0) return send(res, pending, method, errorResponse('BAD_REQUEST', 'invalid Content-Length'), options, true);
    if (declared > options.maxBodyBytes) {
      return send(res, pending, method, errorResponse('PAYLOAD_TOO_LARGE', `body larger than ${options.maxBodyBytes} bytes`), options, true);
    }
    if (declared === 0 && headers['transfer-encoding'] === undefined) return run(route, request, res, pending, options, true);
    res.onAborted(() => {
      pending.done = true;
    });
    readBody(res, options.maxBodyBytes, (body) => {
      if (body === null) return send(res, pending, method, errorResponse('PAYLOAD_TOO_LARGE', `body larger than ${options.maxBodyBytes} bytes`), options, true);
      request.body = body;
      run(route, request, res, pending, options, false);
    });
  } catch (err) {
    options.logger.error({ err }, 'HTTP request failed');
    send(res, pending, method, fromError(err), options);
  }
}

const EMPTY = Buffer.alloc(0);

class Request implements ApiRequest {
  body: Buffer = EMPTY;
  #ip: string | undefined;
  #abortListeners: Array<() => void> | null = null;
  constructor(
    readonly method: string,
    readonly path: string,
    readonly headers: Record<string, string>,
    readonly params: Record<string, string>,
    readonly res: HttpResponse,
    readonly query: string,
  ) {}
  get ip(): string {
    return (this.#ip ??= Buffer.from(this.res.getRemoteAddressAsText()).toString());
  }
  onAbort(listener: () => void): void {
    (this.#abortListeners ??= []).push(listener);
  }
  /** The client went away: tell whoever holds the request. */
  aborted(): void {
    for (const listener of this.#abortListeners?.splice(0) ?? []) listener();
  }
}

/**
 * Runs the handler: a plain result is answered at once; a promise after `onAborted` is attached.
 * `inRequestCallback`: still inside uWS's request callback (the socket is corked already).
 */
function run(route: Route, request: Request, res: HttpResponse, pending: Pending, options: HttpOptions, inRequestCallback: boolean): void {
  let result: ApiResponse | Promise<ApiResponse>;
  try {
    result = route.handler(request);
  } catch (err) {
    options.logger.error({ err, path: request.path }, 'API handler failed');
    return send(res, pending, request.method, fromError(err), options);
  }
  if (!(result instanceof Promise)) return send(res, pending, request.method, result, options, false, !inRequestCallback);
  res.onAborted(() => {
    pending.done = true;
    request.aborted();
  });
  result.then(
    (response) => send(res, pending, request.method, response, options),
    (err: unknown) => {
      options.logger.error({ err, path: request.path }, 'API handler failed');
      send(res, pending, request.method, fromError(err), options);
    },
  );
}

const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;
const PARAMETRIC = new WeakMap<Route, boolean>();

function hasParams(route: Route): boolean {
  let known = PARAMETRIC.get(route);
  if (known === undefined) PARAMETRIC.set(route, (known = route.pattern.includes(':') || route.pattern.endsWith('*')));
  return known;
}

/** `:name` parameters by position, and the rest of the path for a trailing `*`. */
function routeParams(pattern: string, req: HttpRequest, path: string): Record<string, string> {
  const params: Record<string, string> = {};
  let index = 0;
  for (const part of pattern.split('/')) {
    if (part.startsWith(':')) params[part.slice(1)] = req.getParameter(index++) ?? '';
  }
  if (pattern.endsWith('/*')) params['*'] = path.slice(pattern.length - 1);
  return params;
}

/** Collects the body (copying uWS's reused buffers); `null` when it exceeds `max`. */
function readBody(res: HttpResponse, max: number, done: (body: Buffer | null) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  res.onData((chunk, isLast) => {
    if (over) return;
    size += chunk.byteLength;
    if (size > max) {
      over = true;
      done(null);
      return;
    }
    chunks.push(Buffer.from(new Uint8Array(chunk)));
    if (isLast) done(Buffer.concat(chunks, size));
  });
}

/**
 * Writes the response once. `cork` is needed when answering outside uWS's request callback (after
 * an await); inside it uWS has already corked the socket.
 */
function send(res: HttpResponse, pending: Pending, method: string, response: ApiResponse, options: HttpOptions, close = false, cork = true): void {
  if (pending.done) return;
  pending.done = true; // one response per request
  let body: string | Buffer = '';
  let type: string | undefined;
  if (response.body instanceof Buffer || typeof response.body === 'string') {
    body = response.body;
  } else if (response.body !== undefined) {
    body = JSON.stringify(response.body);
    type = 'application/json';
  }
  const headers = response.headers;
  const write = () => {
    res.writeStatus(STATUS_LINE.get(response.status) ?? String(response.status));
    if (headers !== undefined) for (const name in headers) res.writeHeader(name, headers[name]);
    if (type !== undefined && headers?.['Content-Type'] === undefined) res.writeHeader('Content-Type', type);
    const closeConnection = close || options.closing();
    // HEAD: this uWS build aborts the process when endWithoutBody gets any argument, so the length
    // is written as a header (a HEAD answer cannot also close its connection here).
    if (method === 'HEAD') res.writeHeader('Content-Length', String(Buffer.byteLength(body))).endWithoutBody();
    else res.end(body, closeConnection);
  };
  if (cork) res.cork(write);
  else write();
}
