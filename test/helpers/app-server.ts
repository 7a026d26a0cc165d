/**
 * A real local HTTP application, as castline's users write them: `POST /verify` answers key
 * verification (200 with settings headers for keys starting with `good`, 403 otherwise) and
 * `POST /events` records every event callback. Both can be told to fail.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number;
  at: number;
}

export interface AppServerOptions {
  /** Headers sent with an accepted key. */
  settings?: Record<string, string>;
  port?: number;
}

export class AppServer {
  readonly verifications: RecordedRequest[] = [];
  /** Every attempt, whatever the answer. */
  readonly eventAttempts: RecordedRequest[] = [];
  /** Status for the next event attempts; 200 once exhausted. */
  eventFailures: number[] = [];
  /** Status every event attempt gets while set (overrides eventFailures). */
  eventStatus: number | null = null;
  settings: Record<string, string>;
  /** Settings headers per verification request (overrides `settings`). */
  settingsFor: ((headers: http.IncomingHttpHeaders) => Record<string, string>) | null = null;
  /** Called with each event attempt's headers as it arrives, before it is answered. */
  onEvent: ((headers: http.IncomingHttpHeaders) => void) | null = null;
  #server: http.Server;
  port = 0;

  constructor(options: AppServerOptions = {}) {
    this.settings = options.settings ?? {};
    this.#server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const at = Date.now();
        if (req.url === '/verify') {
          const ok = String(req.headers['x-streaming-key'] ?? '').startsWith('good');
          this.verifications.push({ headers: req.headers, body, status: ok ? 200 : 403, at });
          res.writeHead(ok ? 200 : 403, ok ? this.settingsFor?.(req.headers) ?? this.settings : { 'content-type': 'application/json' });
          res.end(ok ? 'OK' : '{"code":"INVALID_KEY"}');
        } else if (req.url === '/events') {
          this.onEvent?.(req.headers);
          const status = this.eventStatus ?? this.eventFailures.shift() ?? 200;
          this.eventAttempts.push({ headers: req.headers, body, status, at });
          res.writeHead(status);
          res.end();
        } else {
          res.writeHead(404);
          res.end();
        }
      });
    });
  }

  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(port, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Events the app accepted (answered 200), in arrival order, as header maps. */
  delivered(): http.IncomingHttpHeaders[] {
    return this.eventAttempts.filter((e) => e.status === 200).map((e) => e.headers);
  }

  deliveredFor(streamId: string): http.IncomingHttpHeaders[] {
    return this.delivered().filter((h) => h['x-streaming-id'] === streamId);
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
