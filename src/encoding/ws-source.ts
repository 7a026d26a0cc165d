/**
 * Pulls a WS-published stream like a remote encoder would (docs/spec/cluster-protocols.md §1): a WebSocket
 * client on `{uri}/receive-clear-cache` (the HLS ladder encoder) or `{uri}/receive` (workflow
 * steps, which must not clear the ingest's cache), `h` heartbeats, every binary message is the
 * next chunk of the byte stream; the socket closing is the end of the input.
 */
import WebSocket from 'ws';

/** The receive endpoint: the ladder encoder clears the ingest's chunk cache, other receivers don't. */
export type WsReceiveEndpoint = 'receive-clear-cache' | 'receive';

export interface WsSourceEvents {
  chunk(data: Buffer): void;
  /** The input ended: `error` set when it ended badly (`ERROR:` message, connect failure). */
  end(error: string | null): void;
}

export class WsSource {
  private ws: WebSocket | null;
  private heartbeat: NodeJS.Timeout | null = null;
  private ended = false;

  constructor(uri: string, private readonly events: WsSourceEvents, heartbeatSeconds = 20, endpoint: WsReceiveEndpoint = 'receive-clear-cache') {
    // `ws://host:port/{channel}/{key}[?query]` (a cluster pull carries its token as the query).
    const [base, query] = uri.split('?', 2);
    const url = `${base.replace(/\/+$/, '')}/${endpoint}${query === undefined ? '' : `?${query}`}`;
    // castline's own WSS port on loopback (TLS on, maybe a self-signed certificate): this process's
    // own listener, so its certificate is not checked there; anywhere else it is.
    const host = new URL(url).hostname;
    const loopback = host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1';
    const ws = new WebSocket(url, { perMessageDeflate: false, rejectUnauthorized: !loopback });
    this.ws = ws;
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      ws.send('h');
      this.heartbeat = setInterval(() => { if (ws.readyState === WebSocket.OPEN) ws.send('h'); }, heartbeatSeconds * 1000);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (this.ended) return;
      if (isBinary) this.events.chunk(data);
      else if (data.toString('utf8').startsWith('ERROR:')) this.finish(data.toString('utf8'));
    });
    ws.on('unexpected-response', (_req, res) => this.finish(`source refused the receiver: HTTP ${res.statusCode}`));
    ws.on('error', (err) => this.finish(`source connection failed: ${err.message}`));
    ws.on('close', () => this.finish(null));
  }

  /** Closes the connection; `end` fires once (with no error). */
  close(): void {
    this.finish(null);
  }

  private finish(error: string | null): void {
    if (this.ended) return;
    this.ended = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.removeAllListeners('message');
      ws.on('error', () => undefined);
      if (ws.readyState === WebSocket.OPEN) ws.close();
      else ws.terminate();
    }
    this.events.end(error);
  }
}
