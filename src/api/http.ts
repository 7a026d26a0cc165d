/**
 * The thin uWebSockets.js adapter for the route table: reads the request synchronously (uWS
 * forbids touching `req` after the handler returns), enforces auth and the body limit, runs the
 * route's handler and writes its response — corked, and only if the client is still there.
 *
 * Mounted with `app.any('/*')`: WebSocket upgrades (registered with `app.ws`) are matched first.
 */
import { STATUS_CODES } from 'node:http';
import type { IncomingAuth } from '../config/config';
import type { Logger } from '../logger';
import type { ApiRequest, ApiResponse, Route } from './api.types';
import { checkAuthorization } from './auth';
import { errorResponse, fromError } from './json';
import { matchRoute } from './router';
import type { uWS } from './uws';

export interface HttpOptions {
  auth: IncomingAuth;
  /** Largest request body accepted, in bytes; larger → 413. */
  maxBodyBytes: number;
  logger: Logger;
  /** True while shutting down: responses close their connection so keep-alive cannot hold the process. */
  closing: () => boolean;
}

type HttpResponse = uWS.HttpResponse;

export function mountRoutes(app: uWS.TemplatedApp, routes: readonly Route[], options: HttpOptions): void {
  const log = options.logger;
  app.any('/*', (res, req) => {
    const state = { aborted: false };
    res.onAborted(() => {
      state.aborted = true;
    });
    try {
      const method = req.getMethod().toUpperCase();
      const path = req.getUrl();
      const query = req.getQuery() ?? '';
      const headers: Record<string, string> = {};
      req.forEach((name, value) => {
        headers[name] = value;
      });
      const ip = Buffer.from(res.getRemoteAddressAsText()).toString();

      const match = matchRoute(routes, method, path);
      if (match.kind === 'not-found') return send(res, state, method, errorResponse('NOT_FOUND', `no route for ${path}`), options);
      if (match.kind === 'method-not-allowed') {
        const allow = match.allow.join(', ');
        return send(res, state, method, errorResponse('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; allowed: ${allow}`, { Allow: allow }), options);
      }
      const { route, params } = match;
      if (route.auth) {
        const why = checkAuthorization(options.auth, headers['authorization']);
        if (why !== null) {
          log.warn({ path, ip, why }, 'unauthorized API request');
          const challenge = options.auth.method === 'Basic' ? 'Basic realm="castline"' : 'Bearer';
          return send(res, state, method, errorResponse('UNAUTHORIZED', 'invalid credentials', { 'WWW-Authenticate': challenge }), options);
        }
      }
      const declared = headers['content-length'] === undefined ? 0 : Number(headers['content-length']);
      if (!Number.isFinite(declared) || declared < 0) {
        return send(res, state, method, errorResponse('BAD_REQUEST', 'invalid Content-Length'), options);
      }
      if (declared > options.maxBodyBytes) {
        return send(res, state, method, errorResponse('PAYLOAD_TOO_LARGE', `body larger than ${options.maxBodyBytes} bytes`), options, true);
      }
      const run = (body: Buffer) => {
        const request: ApiRequest = { method, path, query, headers, body, ip, params };
        Promise.resolve()
          .then(() => route.handler(request))
          .then(
            (response) => send(res, state, method, response, options),
            (err: unknown) => {
              log.error({ err, path }, 'API handler failed');
              send(res, state, method, fromError(err), options);
            },
          );
      };
      if (declared === 0 && headers['transfer-encoding'] === undefined) return run(Buffer.alloc(0));
      readBody(res, options.maxBodyBytes, (body) => {
        if (body === null) send(res, state, method, errorResponse('PAYLOAD_TOO_LARGE', `body larger than ${options.maxBodyBytes} bytes`), options, true);
        else run(body);
      });
    } catch (err) {
      log.error({ err }, 'HTTP request failed');
      send(res, state, 'GET', fromError(err), options);
    }
  });
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

function send(res: HttpResponse, state: { aborted: boolean }, method: string, response: ApiResponse, options: HttpOptions, close = false): void {
  if (state.aborted) return;
  state.aborted = true; // one response per request
  const headers = { ...response.headers };
  let body: string | Buffer = '';
  if (response.body instanceof Buffer || typeof response.body === 'string') {
    body = response.body;
  } else if (response.body !== undefined) {
    body = JSON.stringify(response.body);
    headers['Content-Type'] ??= 'application/json';
  }
  res.cork(() => {
    res.writeStatus(`${response.status} ${STATUS_CODES[response.status] ?? ''}`.trimEnd());
    for (const [name, value] of Object.entries(headers)) res.writeHeader(name, value);
    const closeConnection = close || options.closing();
    if (method === 'HEAD') res.endWithoutBody(Buffer.byteLength(body), closeConnection);
    else res.end(body, closeConnection);
  });
}
