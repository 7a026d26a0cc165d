/**
 * The RTMP ingest's listeners besides node-media-server's own: one per `port=` / `rtmps` that a
 * workflow step names (mmids starts them on demand and stops them when no step uses them). Every
 * connection is handed to the one embedded node-media-server, tagged with its listener's key
 * (`rtmp:{port}` / `rtmps:{port}`) so routing can match the steps of that listener. RTMPS is TLS
 * with castline's certificate in front of the same RTMP sessions.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Logger } from '../../logging/logger';

export interface RtmpListenersOptions {
  bind: string;
  /** TLS options of the `rtmps:` listeners; null = no certificate (an `rtmps:` key is then refused). */
  tls: tls.SecureContextOptions | null;
  logger: Logger;
  /** Serves one accepted connection. */
  attach(socket: net.Socket, listener: string): void;
}

interface Listening {
  server: net.Server;
  port: number;
  sockets: Set<net.Socket>;
}

export class RtmpListeners {
  readonly #open = new Map<string, Listening>();
  #queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: RtmpListenersOptions) {}

  /** The port each listener actually listens on, by key (`rtmps:0` picks a free port). */
  ports(): Record<string, number> {
    return Object.fromEntries([...this.#open].map(([key, l]) => [key, l.port]));
  }

  /** Starts the listeners of `keys` not yet open and stops the open ones not in `keys`. Serialised; never rejects. */
  set(keys: Iterable<string>): Promise<void> {
    const wanted = new Set(keys);
    this.#queue = this.#queue.then(() => this.#apply(wanted));
    return this.#queue;
  }

  close(): Promise<void> {
    return this.set([]);
  }

  async #apply(wanted: Set<string>): Promise<void> {
    for (const [key, listening] of [...this.#open]) {
      if (wanted.has(key)) continue;
      this.#open.delete(key);
      await this.#stop(listening);
      this.options.logger.info({ listener: key }, 'RTMP listener stopped: no workflow step uses it');
    }
    for (const key of wanted) {
      if (this.#open.has(key)) continue;
      try {
        this.#open.set(key, await this.#start(key));
      } catch (err) {
        this.options.logger.error({ listener: key, err: (err as Error).message }, 'RTMP listener cannot start: its steps receive nothing');
      }
    }
  }

  async #start(key: string): Promise<Listening> {
    const [scheme, portText] = key.split(':');
    const secure = scheme === 'rtmps';
    if (secure && this.options.tls === null) throw new Error('rtmps needs a certificate (TLS_CERT_PATH or TLS_CERT_FILE + TLS_KEY_FILE)');
    const sockets = new Set<net.Socket>();
    const accept = (socket: net.Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => undefined); // NMS logs its own; a reset must not be an uncaught error
      this.options.attach(socket, key);
    };
    const server = secure ? tls.createServer({ ...this.options.tls! }, accept) : net.createServer(accept);
    // A failed TLS handshake (wrong protocol, bad client) closes only that connection.
    server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
      this.options.logger.debug({ listener: key, err: err.message }, 'RTMPS handshake failed');
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(Number(portText), this.options.bind === '' ? undefined : this.options.bind, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.options.logger.error({ listener: key, err: err.message }, 'RTMP listener error'));
    const port = (server.address() as net.AddressInfo).port;
    this.options.logger.info({ listener: key, port, bind: this.options.bind }, `${secure ? 'RTMPS' : 'RTMP'} listener started for workflow steps`);
    return { server, port, sockets };
  }

  async #stop(listening: Listening): Promise<void> {
    const closed = new Promise<void>((resolve) => listening.server.close(() => resolve()));
    for (const socket of listening.sockets) socket.destroy();
    await closed;
  }
}
