/**
 * node-media-server 4.4.3 embedded in a host process, with every process-wide side effect it has
 * neutralised (each trap in docs/node-media-server.md):
 *
 * - its module-singleton console logger (forced to "debug" by the constructor, banner included) is
 *   routed into our pino logger, at debug level (its "error"/"warn" lines at warn);
 * - its JSON store (`./data` relative to the cwd by default) lives in `storeDir`, and the store's
 *   SIGINT/SIGTERM handlers (which flush and re-raise the signal) and pid lock are switched off;
 * - its listen-error handler, which calls `process.exit(1)` on EADDRINUSE, is replaced: `start`
 *   rejects instead;
 * - `rtmp.port: 0` (which NMS reads as "no RTMP server") is made to mean "any free port";
 * - the HTTP-FLV/WS-FLV server, webadmin, recording, relay and notify webhook stay off (no
 *   `http`, `record`, `notify` or `auth` config);
 * - a malformed RTMP command that makes NMS's parser throw (e.g. `connect` without a valid tcUrl:
 *   `new URL()` throws inside a socket `data` handler, an uncaught exception) closes only that
 *   connection;
 * - a connection that has not asked to publish or play within `commandTimeoutMs` (garbage, a
 *   half-finished handshake, an idle port scan: NMS would wait forever) is closed;
 * - our event listeners are removed from NMS's process-wide `Context.eventEmitter` on stop.
 *
 * NMS keeps its state (config, sessions, broadcasts, events) in a module singleton (`Context`), so
 * there can be ONE embedded NMS per process; a second `startEmbeddedNms` while one runs throws.
 */
import { once, type EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import NodeMediaServer from 'node-media-server';
import Context from 'node-media-server/src/core/context.js';
import nmsLogger from 'node-media-server/src/core/logger.js';
import type { Logger } from '../../logging/logger';
import type { RtmpConnectionLimit } from './connection-limit';

export type NmsSession = NodeMediaServer.Session;
export type NmsPacket = NodeMediaServer.Packet;
export type NmsBroadcast = NodeMediaServer.Broadcast;
export type NmsEventName = NodeMediaServer.EventName;

export interface EmbeddedNmsOptions {
  /** Listen address; empty = all interfaces. */
  bind: string;
  /** 0 = any free port. */
  port: number;
  /** Folder for NMS's JSON store (stream history); created if missing. */
  storeDir: string;
  logger: Logger;
  /** A connection must send `publish` or `play` within this many ms, or it is closed. */
  commandTimeoutMs: number;
  /** Per-address and pending-handshake limits (connection-limit.ts); none = unlimited. */
  limit?: RtmpConnectionLimit;
}

export interface EmbeddedNms {
  /** The port actually listened on. */
  readonly port: number;
  /** Registers a listener on NMS's process-wide event emitter; removed by `stop()`. */
  on(event: NmsEventName, listener: (session: NmsSession) => void): void;
  /** The NMS broadcast (fan-out) of `/{app}/{name}`, if it exists. */
  broadcast(streamPath: string): NmsBroadcast | undefined;
  /**
   * Undoes NMS's "this session is the path's publisher" if it is. NMS assigns a publisher right
   * after its `postPublish` event even for one refused in `prePublish`; left in place, it makes a
   * later publish from the same IP a "resume" of the refused one and fires a stray `donePublish`.
   */
  releasePublisher(session: NmsSession): void;
  /** Stops listening, destroys every RTMP connection, removes our listeners. Idempotent. */
  stop(): Promise<void>;
}

let running = false;
let logSink: Logger | null = null;
let loggerRouted = false;

function routeNmsLogger(): void {
  if (loggerRouted) return;
  loggerRouted = true;
  // An own property shadows Logger.prototype.log, so the level the constructor forces is moot.
  nmsLogger.log = (message: string, level = 'info') => {
    if (logSink === null) return;
    if (level === 'error' || level === 'warn') logSink.warn({ nmsLevel: level }, message);
    else logSink.debug({ nmsLevel: level }, message);
  };
}

export async function startEmbeddedNms(options: EmbeddedNmsOptions): Promise<EmbeddedNms> {
  if (running) throw new Error('node-media-server is already running in this process (its state is process-wide: one RTMP ingest per process)');
  running = true;
  try {
    return await start(options);
  } catch (err) {
    running = false;
    throw err;
  }
}

/** A NodeMediaServer with its RTMP listener; `rtmp.port: 0` means any free port, no process.exit on listen errors. */
function createNms(options: EmbeddedNmsOptions): { nms: NodeMediaServer; server: NonNullable<NodeMediaServer['rtmpServer']['tcpServer']> } {
  const log = options.logger;
  fs.mkdirSync(options.storeDir, { recursive: true });
  // rtmp.port must be truthy for NMS to create its TCP server at all; 0 is restored below.
  const nmsConfig: NodeMediaServer.Config = {
    bind: options.bind === '' ? undefined : options.bind,
    rtmp: { port: options.port === 0 ? 1935 : options.port },
    store: { path: options.storeDir },
    webadmin: { enable: false },
  };
  const nms = new NodeMediaServer(nmsConfig);
  if (nmsConfig.rtmp) nmsConfig.rtmp.port = options.port; // Context.config is this very object
  nms.store.options.signals = false;
  nms.store.options.lock = false;
  const server = nms.rtmpServer.tcpServer;
  if (server === undefined) throw new Error('node-media-server created no RTMP listener');
  // Replaces the handler that calls process.exit(1); listen errors reject in start(), later ones are logged.
  nms.rtmpServer.handleListenError = () => (err: Error) => {
    if (server.listening) log.error({ err }, 'RTMP listener error');
  };
  return { nms, server };
}

/** Settles to the listen error (or null); never an unhandled rejection while NMS awaits its store. */
function listenOutcome(server: EventEmitter): Promise<Error | null> {
  return new Promise<Error | null>((resolve) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      resolve(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(null);
    };
    server.once('error', onError);
    server.once('listening', onListening);
  });
}

async function start(options: EmbeddedNmsOptions): Promise<EmbeddedNms> {
  const log = options.logger;
  routeNmsLogger();
  logSink = log;
  const { nms, server } = createNms(options);
  const pending = new Map<string, NodeJS.Timeout>();
  server.on('connection', (socket: Socket) => {
    if (admitted(options.limit, socket, log)) watchConnection(socket, log, options.commandTimeoutMs, pending);
  });
  const started = (session: NmsSession) => {
    clearTimeout(pending.get(session.id));
    pending.delete(session.id);
    options.limit?.started(session.socket);
  };
  const listenError = listenOutcome(server);
  const listeners: Array<[NmsEventName, (session: NmsSession) => void]> = [['prePublish', started], ['prePlay', started]];
  for (const [event, listener] of listeners) Context.eventEmitter.on(event, listener);
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const closed = server.listening ? once(server, 'close') : Promise.resolve();
      await nms.stop();
      await closed;
      for (const [event, listener] of listeners) Context.eventEmitter.off(event, listener);
      listeners.length = 0;
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
      // Sockets destroyed by stop() emit `close` on the next tick: let NMS log it, then detach.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (logSink === log) logSink = null;
      running = false;
    })();
    return stopping;
  };
  try {
    await nms.run();
    const err = await listenError;
    if (err !== null) throw err;
  } catch (err) {
    await stop();
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(`RTMP ingest cannot listen on ${options.bind || '*'}:${options.port}: ${code} (${(err as Error).message})`, { cause: err });
  }
  return handle((server.address() as AddressInfo).port, listeners, stop);
}

/** What the RTMP ingest holds: the port, NMS's events and broadcasts, and stop. */
function handle(port: number, listeners: Array<[NmsEventName, (session: NmsSession) => void]>, stop: () => Promise<void>): EmbeddedNms {
  return {
    port,
    on(event, listener) {
      listeners.push([event, listener]);
      Context.eventEmitter.on(event, listener);
    },
    broadcast(streamPath) {
      return Context.broadcasts.get(streamPath);
    },
    releasePublisher(session) {
      const broadcast = Context.broadcasts.get(session.streamPath);
      if (broadcast === undefined || broadcast.publisher !== session) return;
      broadcast.publisher = null;
      if (broadcast.subscribers.size === 0) Context.broadcasts.delete(session.streamPath);
    },
    stop,
  };
}

/** Applies the connection limit (if any) to a new connection; a refused one is destroyed at once. */
function admitted(limit: RtmpConnectionLimit | undefined, socket: Socket, log: Logger): boolean {
  const admission = limit?.admit(socket) ?? { admitted: true };
  if (admission.admitted) return true;
  log.debug({ ip: socket.remoteAddress, why: admission.why }, 'RTMP connection refused: limit reached');
  socket.destroy();
  return false;
}

/**
 * NMS parses socket data inside its `data` listener; a throw there is an uncaught exception that
 * would take the host down. Wrap the parser of the connection's session so a throw closes only it.
 * And close the connection if it never gets to `publish`/`play`.
 */
function watchConnection(socket: Socket, log: Logger, commandTimeoutMs: number, pending: Map<string, NodeJS.Timeout>): void {
  let session: NmsSession | undefined;
  for (const candidate of Context.sessions.values()) {
    if (candidate.socket === socket) session = candidate;
  }
  const rtmp = session?.rtmp;
  if (session === undefined || rtmp === undefined) return;
  const parse = rtmp.parserData.bind(rtmp);
  const id = session.id;
  const timer = setTimeout(() => {
    pending.delete(id);
    log.info({ sessionId: id, ip: socket.remoteAddress }, 'no publish or play command in time: connection closed');
    socket.destroy();
  }, commandTimeoutMs);
  timer.unref();
  pending.set(id, timer);
  socket.once('close', () => {
    clearTimeout(timer);
    pending.delete(id);
  });
  rtmp.parserData = (buffer: Buffer) => {
    try {
      return parse(buffer);
    } catch (err) {
      log.warn({ sessionId: id, ip: socket.remoteAddress, err: (err as Error).message }, 'malformed RTMP data: connection closed');
      socket.destroy();
      return null;
    }
  };
}
