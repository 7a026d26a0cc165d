/**
 * Test support: a real local `node:http` server playing the application. Records every request
 * (method, headers, body) and answers with whatever `respond` decides (status + headers), or
 * holds the request open (`'hang'`). `close()` ends every connection so mocha exits by itself.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
  /** The client's port: equal ports = the same (kept-alive) connection. */
  clientPort: number;
  /** What the receiver answered (status; 0 = held open). */
  status: number;
}

export type Answer = number | { status: number; headers?: Record<string, string> } | 'hang';
export type Responder = (req: ReceivedRequest, index: number) => Answer;

export class AppReceiver {
  readonly requests: ReceivedRequest[] = [];
  respond: Responder;
  private server: http.Server | null = null;
  private port = 0;
  private readonly hanging = new Set<http.ServerResponse>();

  constructor(respond: Responder = () => 200) {
    this.respond = respond;
  }

  /** Listens on `port` (0 = any free port) and returns the URL. */
  async start(port = 0): Promise<string> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rec: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString(), at: Date.now(), clientPort: req.socket.remotePort ?? 0, status: 0 };
        const index = this.requests.push(rec) - 1;
        const answer = this.respond(rec, index);
        if (answer === 'hang') {
          this.hanging.add(res);
          return;
        }
        const { status, headers } = typeof answer === 'number' ? { status: answer, headers: {} } : answer;
        rec.status = status;
        res.writeHead(status, headers ?? {});
        res.end('ok');
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/callback`;
  }

  get listeningPort(): number {
    return this.port;
  }

  /** Stops listening and drops every connection (requests in flight see a reset). */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A TCP port that was free a moment ago (listened on, then closed): connections are refused. */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `predicate` every 10 ms until true or `ms` elapsed (then throws with `what`). */
export async function waitFor(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
