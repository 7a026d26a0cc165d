/** Test harness for the WS ingest: a real uWS app on 127.0.0.1:0 plus `ws` clients. */
import WebSocket from 'ws';
import type { Config } from '../../../src/config/config';
import { registerWsIngest } from '../../../src/ingest/ws/ws-ingest';
import type { WsIngest } from '../../../src/ingest/ws/ws-ingest.types';
import { silentLogger } from '../../../src/logging/logger';
import { uWS } from '../../../src/net/uws';
import { FakePublishSink } from '../../fakes/publish-sink';

export type IngestConfig = Pick<Config, 'idMaxLength' | 'ingest'>;

export function testConfig(ingest: Partial<Config['ingest']> = {}, idMaxLength = 128): IngestConfig {
  return {
    idMaxLength,
    ingest: {
      maxIpConcurrentConnections: 4,
      concurrentLimitWhitelist: '',
      gopCacheBytes: 16 * 1024 * 1024,
      wsMaxMessageBytes: 1024 * 1024,
      wsHeartbeatSeconds: 20,
      wsIdleTimeoutSeconds: 60,
      ...ingest,
    },
  };
}

export interface TestServer {
  port: number;
  ingest: WsIngest;
  coordinator: FakePublishSink;
  url(path: string): string;
  close(): Promise<void>;
}

export function startServer(config: IngestConfig = testConfig(), options: { exemptLoopback?: boolean } = {}): Promise<TestServer> {
  const app = uWS.App();
  const coordinator = new FakePublishSink();
  let port = 0;
  // Routes the lead's API would own, registered around the ingest to show they coexist.
  app.get('/', (res) => {
    res.end('castline');
  });
  const ingest = registerWsIngest(app, {
    sink: coordinator,
    config,
    logger: silentLogger,
    serverId: 7,
    advertised: () => ({ host: '127.0.0.1', port, ssl: false }),
    exemptLoopbackFromIpLimit: options.exemptLoopback,
  });
  app.any('/*', (res) => {
    res.writeStatus('404 Not Found').end('api fallback');
  });
  return new Promise((resolve, rejectStart) => {
    app.listen('127.0.0.1', 0, (ls) => {
      if (ls === false) return rejectStart(new Error('listen failed'));
      port = uWS.us_socket_local_port(ls);
      resolve({
        port,
        ingest,
        coordinator,
        url: (path) => `ws://127.0.0.1:${port}${path}`,
        close: async () => {
          await ingest.close();
          uWS.us_listen_socket_close(ls);
        },
      });
    });
  });
}

/** A `ws` client that records everything it gets. */
export class Client {
  readonly ws: WebSocket;
  readonly binary: Buffer[] = [];
  readonly texts: string[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Set when the server refused the upgrade. */
  rejected: Promise<{ status: number; body: string }>;
  isClosed = false;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    let resolveRejected: (r: { status: number; body: string }) => void = () => undefined;
    this.rejected = new Promise((r) => (resolveRejected = r));
    this.ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolveRejected({ status: res.statusCode ?? 0, body }));
    });
    this.ws.on('error', () => undefined);
    this.opened = new Promise((resolve, rejectOpen) => {
      this.ws.once('open', () => resolve());
      this.ws.once('close', () => rejectOpen(new Error('closed before open')));
    });
    this.opened.catch(() => undefined);
    this.ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) this.binary.push(data);
      else this.texts.push(data.toString());
    });
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code, reason) => {
        this.isClosed = true;
        resolve({ code, reason: reason.toString() });
      }),
    );
  }

  get bytes(): Buffer {
    return Buffer.concat(this.binary);
  }

  send(data: Buffer | string): void {
    this.ws.send(data);
  }

  /** Resolves once the send buffer is flushed to the socket. */
  async flush(): Promise<void> {
    while (this.ws.bufferedAmount > 0) await sleep(5);
  }
}

import { sleep } from '../../helpers/wait';
export { sleep };

export async function until(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Connects and expects a pre-upgrade HTTP rejection. */
export async function expectRejected(url: string): Promise<{ status: number; json: { error: string; code: string } }> {
  const client = new Client(url);
  const result = await Promise.race([
    client.rejected,
    client.opened.then(() => {
      client.ws.terminate();
      throw new Error(`${url} was upgraded, expected a rejection`);
    }),
  ]);
  return { status: result.status, json: JSON.parse(result.body) as { error: string; code: string } };
}

/** A message whose first 4 bytes are its sequence number (order checks), `size` bytes in all. */
export function msg(seq: number, size = 1000): Buffer {
  const b = Buffer.alloc(size, seq % 256);
  b.writeUInt32BE(seq, 0);
  return b;
}

/**
 * The protocol suites' set-up: a fresh server per test (`suite.srv`), and `suite.client(path)`
 * opening a WS client that is terminated after the test.
 */
export function serverPerTest(config: IngestConfig): { readonly srv: TestServer; client(path: string, options?: WebSocket.ClientOptions): Client } {
  let current: TestServer | null = null;
  const open: Client[] = [];
  beforeEach(async () => {
    current = await startServer(config);
  });
  afterEach(async () => {
    for (const c of open.splice(0)) c.ws.terminate();
    await current?.close();
    current = null;
  });
  return {
    get srv(): TestServer {
      if (current === null) throw new Error('the server exists only during a test');
      return current;
    },
    client(path, options = {}) {
      const c = new Client(this.srv.url(path), options);
      open.push(c);
      return c;
    },
  };
}
