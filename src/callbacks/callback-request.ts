/**
 * One `POST` with an empty body to an application URL (key verification, event callbacks), over
 * node:http(s) with a caller-owned keep-alive agent. Used instead of the global fetch because
 * undici holds idle sockets ~4 s and keeps the process alive; node's agents unref idle sockets.
 *
 * Guarantees: resolves with the status and headers as soon as they arrive, rejects on a network
 * error, an invalid header value, the deadline (`timeoutMs`, covering the whole exchange) or the
 * abort signal. The response body is always read to the end and discarded (bounded by the same
 * deadline), so the socket returns to the agent. Never throws synchronously.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

export interface CallbackResponse {
  status: number;
  headers: IncomingHttpHeaders;
}

export interface CallbackRequestOptions {
  url: URL;
  headers: OutgoingHttpHeaders;
  /** Deadline for the whole exchange, in ms. */
  timeoutMs: number;
  agents: CallbackAgents;
  signal?: AbortSignal;
  /**
   * Largest answer accepted, in bytes: the header block (Node's `maxHeaderSize`: larger is a parse
   * error, rejected) plus the body (larger: the connection is destroyed, the status already
   * resolved stands). Default: Node's header limit, body unbounded within the deadline.
   */
  maxAnswerBytes?: number;
}

export class CallbackTimeoutError extends Error {
  constructor(ms: number) {
    super(`no complete answer within ${ms} ms`);
    this.name = 'CallbackTimeoutError';
  }
}

/** One keep-alive agent per protocol; `destroy()` closes every socket (call on shutdown). */
export class CallbackAgents {
  readonly http: http.Agent;
  readonly https: https.Agent;
  constructor(maxSockets = Infinity) {
    this.http = new http.Agent({ keepAlive: true, maxSockets, scheduling: 'lifo' });
    this.https = new https.Agent({ keepAlive: true, maxSockets, scheduling: 'lifo' });
  }
  destroy(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

/** POSTs an empty body; see the file comment for the guarantees. */
export function postEmpty(options: CallbackRequestOptions): Promise<CallbackResponse> {
  return new Promise<CallbackResponse>((resolve, reject) => {
    const { url, signal, timeoutMs } = options;
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    let req: http.ClientRequest;
    let settled = false;
    const fail = (err: Error) => {
      if (!settled) {
        settled = true;
        reject(err);
      }
    };
    const timer = setTimeout(() => {
      const err = new CallbackTimeoutError(timeoutMs);
      fail(err);
      req?.destroy(err);
    }, timeoutMs);
    const onAbort = () => {
      const err = abortReason(signal);
      fail(err);
      req?.destroy(err);
    };
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const secure = url.protocol === 'https:';
      const request = secure ? https.request : http.request;
      req = request(url, {
        method: 'POST',
        agent: secure ? options.agents.https : options.agents.http,
        headers: { ...options.headers, 'content-length': '0' },
        ...(options.maxAnswerBytes !== undefined ? { maxHeaderSize: options.maxAnswerBytes } : {}),
      });
    } catch (err) {
      done();
      fail(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    req.on('error', (err) => {
      done();
      fail(err);
    });
    req.on('response', (res) => {
      res.on('error', () => undefined); // a reset while draining: the status is already known
      res.on('close', done);
      if (options.maxAnswerBytes !== undefined) boundBody(res, options.maxAnswerBytes);
      res.resume();
      if (!settled) {
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
      }
    });
    req.end();
  });
}

/** Destroys the answer once its body passes `max` bytes (the status was already read). */
function boundBody(res: http.IncomingMessage, max: number): void {
  let size = 0;
  res.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > max) res.destroy(new Error(`answer body larger than ${max} bytes`));
  });
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error(`aborted${reason === undefined ? '' : `: ${String(reason)}`}`);
}
