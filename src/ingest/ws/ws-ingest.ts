/**
 * WebSocket ingest (docs/spec/cluster-protocols.md §1) mounted on the shared uWS app:
 * `ws(s)://host/{CHANNEL}/{KEY}/{publish|receive|receive-clear-cache|probe}`.
 *
 * Registered as `app.ws('/*')`: uWS gives it only upgrade requests (plain HTTP requests yield to
 * the app's other routes), and more specific `app.ws` patterns (e.g. `/ws/control/rtmp`) win
 * over it whatever the registration order. Every rejection happens before the upgrade as plain
 * HTTP with a JSON `{ "error", "code" }` body: bad path 404, refused 403 (the error catalogue status of the
 * RefusalCode), per-IP limit 429, shutting down 503, coordinator failure 500.
 *
 * Behaviour where the spec is silent (decided here):
 * - The query string is ignored. A path that is not exactly three segments is a 404.
 * - publish: one publisher per channel on this server is checked before asking the coordinator
 *   (403 `Already publishing`); the coordinator's decision is awaited with `onAborted` attached;
 *   a client gone meanwhile, a shutdown or a `disconnect()` that came first turn an acceptance
 *   into `publisherGone(streamId)`, never a leaked session.
 * - Receivers: the key must equal the live publisher's (this server's, else the coordinator's
 *   `livePublisher`) — 403 before the upgrade; with no publisher they wait, and are started (or
 *   get `ERROR: Invalid streaming key`) when one arrives. A receiver's publisher leaving closes
 *   it with 1000.
 * - `receive-clear-cache` (the encoder): replay, then the held chunks are dropped and no more are
 *   held for this publish; the header is kept, so later receivers get header + live chunks.
 * - Activity = any received data message (binary or text); pongs do not count and no pings are
 *   sent. The server sends `h` every WS_HEARTBEAT_SECONDS to every peer and closes a peer silent
 *   for WS_IDLE_TIMEOUT_SECONDS with `ERROR: Idle timeout` (1008). Receivers (encoders) must send
 *   `h` too.
 * - Messages above WS_MAX_MESSAGE_SIZE_MB get `ERROR: Message too large…` and close 1009 — up to
 *   twice the limit; beyond that uWS drops the TCP connection at once (1006, no ERROR).
 * - A receiver buffering more than GOP cache + 2 × max message is dropped with
 *   `ERROR: Receiver too slow`; the publisher is never slowed down.
 * - Binary from a receiver: `ERROR: Receivers may not send media`, close 1008.
 * - `disconnect(reason)` from the coordinator: `ERROR: Stream closed (<reason>)`, close 1000
 *   (1001 for shutdown), then `publisherGone` as for any close.
 * - In-process readers (`subscribeBytes`, castline's own packager) are receivers like the others
 *   (`receive`: the cache is kept until they call `releaseHeld`), never slowed down or dropped
 *   (they consume synchronously), and counted in `stats().receivers`.
 */
import { STATUS_CODES } from 'node:http';
import { httpStatusOf, type ErrorCode } from '../../domain/errors';
import type { CloseReason, PublishDecision, PublishRequest } from '../../domain/stream';
import type { Logger } from '../../logging/logger';
import { PULL_TOKEN_PARAM, withPullToken } from '../../net/pull-token';
import { secretsEqual } from '../../net/secret-compare';
import { uWS } from '../../net/uws';
import type { IngestServerInfo } from '../ingest.types';
import { IpConnectionLimit, type IpSlot } from '../ip-connection-limit';
import { parseIngestPath, type IngestKind } from './ingest-path';
import {
  CLOSE_GOING_AWAY,
  CLOSE_NORMAL,
  CLOSE_POLICY,
  CLOSE_TOO_BIG,
  StreamRelay,
  type RelayPeer,
  type RelayReceiver,
  type ReceiverKind,
} from './stream-relay';
import type { WsAdvertisedAddress, WsBytesListener, WsBytesSubscription, WsIngest, WsIngestDeps, WsIngestStats } from './ws-ingest.types';

/**
 * uWS user data. uWS copies the object given to `upgrade` (getUserData() returns a copy), so the
 * connection state lives behind this one reference.
 */
interface UserData {
  conn: Connection;
}

/** One WebSocket, from the upgrade request to its close. */
interface Connection {
  readonly id: number;
  readonly kind: IngestKind;
  readonly channel: string;
  readonly key: string;
  readonly slot: IpSlot;
  ws: uWS.WebSocket<UserData> | null;
  closed: boolean;
  lastActivity: number;
  /** Publisher: the coordinator's stream id. */
  streamId: string | null;
  /** Publisher: `disconnect()` was called before the socket opened. */
  disconnectedEarly: CloseReason | null;
  peer: RelayPeer;
  receiver: RelayReceiver | null;
}

interface PendingPublish {
  res: uWS.HttpResponse;
  answered: boolean;
}

/** An in-process reader waiting for its publish's socket to open. */
interface LocalWaiter {
  channel: string;
  streamId: string;
  receiver: RelayReceiver;
}

interface UpgradeHeaders {
  secKey: string;
  protocol: string;
  extensions: string;
  context: uWS.us_socket_context_t;
}

const H = 0x68; // 'h'

export function registerWsIngest(app: uWS.TemplatedApp, deps: WsIngestDeps): WsIngest {
  const ingest = new WsIngestServer(deps);
  app.ws<UserData>('/*', ingest.behavior());
  return ingest;
}

class WsIngestServer implements WsIngest {
  private readonly log: Logger;
  private readonly limit: IpConnectionLimit;
  private readonly relays = new Map<string, StreamRelay>();
  private readonly connections = new Set<Connection>();
  private readonly pending = new Set<PendingPublish>();
  /** Publishes from the upgrade request until their socket opens (or they are refused). */
  private readonly opening = new Set<Connection>();
  /** In-process readers of publishes in `opening`. */
  private readonly localWaiters = new Set<LocalWaiter>();
  private readonly maxMessageBytes: number;
  private readonly maxReceiverBufferedBytes: number;
  private readonly idleMs: number;
  private readonly timers: NodeJS.Timeout[] = [];
  private nextId = 1;
  private closing = false;
  /** Media bytes received from publishers since start. */
  private receivedBytes = 0;

  constructor(private readonly deps: WsIngestDeps) {
    const ingest = deps.config.ingest;
    this.log = deps.logger.child({ component: 'ingest-ws', serverId: deps.serverId });
    this.limit = new IpConnectionLimit({
      max: ingest.maxIpConcurrentConnections,
      whitelist: ingest.concurrentLimitWhitelist,
      exemptLoopback: deps.exemptLoopbackFromIpLimit ?? true,
    });
    if (this.limit.invalidEntries.length > 0) {
      this.log.warn({ entries: this.limit.invalidEntries }, 'CONCURRENT_LIMIT_WHITELIST entries ignored (not an IP or CIDR)');
    }
    this.maxMessageBytes = ingest.wsMaxMessageBytes;
    // A receiver may lag by the replayed cache plus a couple of messages before it is dropped.
    this.maxReceiverBufferedBytes = ingest.gopCacheBytes + 2 * ingest.wsMaxMessageBytes;
    this.idleMs = ingest.wsIdleTimeoutSeconds * 1000;
    const heartbeat = setInterval(() => this.heartbeat(), ingest.wsHeartbeatSeconds * 1000);
    const sweep = setInterval(() => this.closeIdle(), Math.max(100, Math.min(this.idleMs / 4, 5000)));
    heartbeat.unref();
    sweep.unref();
    this.timers.push(heartbeat, sweep);
  }

  behavior(): uWS.WebSocketBehavior<UserData> {
    return {
      // Messages up to twice the limit are received and answered with `ERROR:`; larger ones make
      // uWS drop the TCP connection at once (close 1006, nothing sent), bounding memory.
      maxPayloadLength: Math.min(2 * this.maxMessageBytes, 0x7fff_ffff),
      // Our own idle sweep (uWS' idleTimeout has a 4 s granularity and a lower bound of 8 s).
      idleTimeout: 0,
      // 0 = uWS never drops a send; slow receivers are bounded by maxReceiverBufferedBytes instead.
      maxBackpressure: 0,
      sendPingsAutomatically: false,
      compression: uWS.DISABLED,
      upgrade: (res, req, context) => this.upgrade(res, req, context),
      open: (ws) => this.guard('open', () => this.open(ws)),
      message: (ws, message, isBinary) => this.guard('message', () => this.message(ws, message, isBinary)),
      close: (ws, code) => this.guard('close', () => this.closed(ws, code)),
    };
  }

  info(): IngestServerInfo {
    const address = this.deps.advertised();
    return { id: this.deps.serverId, ip: address.host, port: address.port, ssl: address.ssl, serverType: 'WS' };
  }

  stats(): WsIngestStats {
    let publishers = 0;
    let receivers = 0;
    let waitingReceivers = 0;
    let heldBytes = 0;
    for (const relay of this.relays.values()) {
      if (relay.publisher !== null) publishers++;
      receivers += relay.receiverCount;
      waitingReceivers += relay.waitingCount;
      heldBytes += relay.heldBytes;
    }
    return { connections: this.connections.size, publishers, receivers, waitingReceivers, pendingPublishes: this.pending.size, heldBytes, receivedBytes: this.receivedBytes };
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const timer of this.timers) clearInterval(timer);
    for (const pending of [...this.pending]) {
      pending.answered = true;
      reject(pending.res, 'SHUTTING_DOWN', 'Server shutting down');
    }
    this.pending.clear();
    // Receivers first, so they see 1001 rather than the 1000 "stream ended" of their publisher.
    const all = [...this.connections];
    for (const conn of all) if (conn.kind !== 'publish') conn.peer.end(CLOSE_GOING_AWAY, null);
    for (const conn of all) conn.peer.end(CLOSE_GOING_AWAY, null);
    this.log.info('ws ingest closed');
  }

  subscribeBytes(channel: string, streamId: string, listener: WsBytesListener): WsBytesSubscription | null {
    const receiver: RelayReceiver = { kind: 'receive', key: '', peer: this.localPeer(channel, listener) };
    const relay = this.relays.get(channel);
    let waiter: LocalWaiter | null = null;
    if (relay?.publisher?.streamId === streamId) {
      receiver.key = relay.publisher.key;
      relay.addReceiver(receiver);
    } else if ([...this.opening].some((c) => c.channel === channel && (c.streamId === null || c.streamId === streamId))) {
      waiter = { channel, streamId, receiver };
      this.localWaiters.add(waiter);
    } else {
      return null;
    }
    return {
      unsubscribe: () => {
        if (waiter !== null) this.localWaiters.delete(waiter);
        this.relays.get(channel)?.removeReceiver(receiver);
      },
      releaseHeld: () => {
        const live = this.relays.get(channel);
        if (live?.publisher?.streamId === streamId) live.clearHeld();
      },
    };
  }

  /** The socket side of an in-process reader: binary messages to `chunk`, the close to `end`. */
  private localPeer(channel: string, listener: WsBytesListener): RelayPeer {
    let ended = false;
    return {
      send: (data, binary) => {
        if (ended || !binary || typeof data === 'string') return;
        try {
          listener.chunk(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
        } catch (err) {
          this.log.error({ err, ch: channel }, 'in-process reader failed on a chunk');
        }
      },
      bufferedAmount: () => 0,
      end: () => {
        if (ended) return;
        ended = true;
        listener.end();
      },
    };
  }

  /** A publish opened (`relay` set) or was refused (null): its waiting in-process readers start or end. */
  private settleWaiters(channel: string, streamId: string | null, relay: StreamRelay | null): void {
    for (const waiter of [...this.localWaiters]) {
      if (waiter.channel !== channel || (relay === null && waiter.streamId !== streamId)) continue;
      this.localWaiters.delete(waiter);
      if (relay !== null && relay.publisher !== null && waiter.streamId === streamId) {
        waiter.receiver.key = relay.publisher.key;
        relay.addReceiver(waiter.receiver);
      } else {
        waiter.receiver.peer.end(CLOSE_NORMAL, null);
      }
    }
  }

  // ---- upgrade: every check before the switch to WebSocket ----------------------------------

  private upgrade(res: uWS.HttpResponse, req: uWS.HttpRequest, context: uWS.us_socket_context_t): void {
    // Everything from req is read now: it is invalid after this call returns.
    const url = req.getUrl();
    const headers: UpgradeHeaders = {
      secKey: req.getHeader('sec-websocket-key'),
      protocol: req.getHeader('sec-websocket-protocol'),
      extensions: req.getHeader('sec-websocket-extensions'),
      context,
    };
    const ip = Buffer.from(res.getRemoteAddressAsText()).toString();
    try {
      const parsed = parseIngestPath(url, this.deps.config.idMaxLength);
      if (!parsed.ok) return reject(res, 'NOT_FOUND', parsed.reason);
      if (this.closing) return reject(res, 'SHUTTING_DOWN', 'Server shutting down');
      const { channel, key, kind } = parsed.path;
      const relay = this.relays.get(channel);

      if (kind === 'publish') {
        if (relay?.publisher != null) {
          this.deps.onRefused?.('CHANNEL_BUSY');
          return reject(res, 'CHANNEL_BUSY', 'Already publishing');
        }
      } else {
        const liveKey = relay?.publisher?.key ?? this.deps.sink.livePublisher(channel)?.key ?? null;
        if (liveKey !== null && !secretsEqual(key, liveKey)) return reject(res, 'KEY_REFUSED', 'Invalid streaming key');
        const pullToken = this.deps.pullToken;
        if (pullToken !== undefined && !secretsEqual(req.getQuery(PULL_TOKEN_PARAM) ?? '', pullToken(channel, key))) return reject(res, 'KEY_REFUSED', 'Receiving needs the cluster token');
      }

      const slot = this.limit.acquire(ip);
      if (slot === null) {
        this.log.debug({ ip, ch: channel, kind }, 'per-IP connection limit reached');
        if (kind === 'publish') this.deps.onRefused?.('TOO_MANY_CONNECTIONS');
        return reject(res, 'TOO_MANY_CONNECTIONS', 'Too many connections from this IP');
      }
      const conn = this.newConnection(kind, channel, key, slot);
      if (kind === 'publish') {
        void this.verifyThenUpgrade(res, headers, conn);
      } else {
        res.upgrade<UserData>({ conn }, headers.secKey, headers.protocol, headers.extensions, headers.context);
      }
    } catch (err) {
      this.log.error({ err, url }, 'ws upgrade failed');
      reject(res, 'INTERNAL', 'Internal error');
    }
  }

  /** Where an encoder pulls this publish from (with the cluster token in cluster mode). */
  private sourceUri(channel: string, key: string): string {
    const uri = sourceUri(this.deps.advertised(), channel, key);
    return this.deps.pullToken === undefined ? uri : withPullToken(uri, this.deps.pullToken(channel, key));
  }

  private async verifyThenUpgrade(res: uWS.HttpResponse, headers: UpgradeHeaders, conn: Connection): Promise<void> {
    const pending: PendingPublish = { res, answered: false };
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    this.pending.add(pending);
    this.opening.add(conn);
    const request: PublishRequest = {
      channel: conn.channel,
      key: conn.key,
      userIp: conn.slot.ip,
      ingest: 'WS',
      serverId: this.deps.serverId,
      source: { type: 'WS', uri: this.sourceUri(conn.channel, conn.key) },
      disconnect: (reason) => this.disconnect(conn, reason),
    };
    let decision: PublishDecision | null = null;
    try {
      decision = await this.deps.sink.publish(request);
    } catch (err) {
      this.log.error({ err, ch: conn.channel }, 'coordinator.publish threw');
    }
    this.pending.delete(pending);
    const log = this.log.child({ ch: conn.channel, ip: conn.slot.ip });

    const refuse = (code: ErrorCode, message: string): void => {
      conn.slot.release();
      this.opening.delete(conn);
      if (decision?.accepted) this.settleWaiters(conn.channel, decision.streamId, null);
      if (decision?.accepted) this.deps.sink.publisherGone(decision.streamId);
      if (!aborted && !pending.answered) reject(res, code, message);
      log.info({ code, message, streamId: decision?.accepted ? decision.streamId : undefined }, 'publish refused');
    };

    if (aborted) return refuse('BAD_REQUEST', 'Client went away during key verification');
    if (pending.answered || this.closing) return refuse('SHUTTING_DOWN', 'Server shutting down');
    if (decision === null) return refuse('INTERNAL', 'Key verification failed');
    if (!decision.accepted) return refuse(decision.code, decision.message);
    if (conn.disconnectedEarly !== null) return refuse('KEY_REFUSED', `Stream closed (${conn.disconnectedEarly})`);
    if (this.relays.get(conn.channel)?.publisher != null) return refuse('CHANNEL_BUSY', 'Already publishing');

    conn.streamId = decision.streamId;
    res.cork(() => res.upgrade<UserData>({ conn }, headers.secKey, headers.protocol, headers.extensions, headers.context));
  }

  private newConnection(kind: IngestKind, channel: string, key: string, slot: IpSlot): Connection {
    const conn: Connection = {
      id: this.nextId++,
      kind,
      channel,
      key,
      slot,
      ws: null,
      closed: false,
      lastActivity: Date.now(),
      streamId: null,
      disconnectedEarly: null,
      receiver: null,
      peer: {
        send: (data, binary) => {
          const ws = conn.ws;
          if (!conn.closed && ws !== null) ws.cork(() => ws.send(data, binary));
        },
        bufferedAmount: () => (conn.closed || conn.ws === null ? 0 : conn.ws.getBufferedAmount()),
        end: (code, errorReason) => {
          if (conn.closed || conn.ws === null) return;
          const ws = conn.ws;
          if (errorReason !== null) ws.send(`ERROR: ${errorReason}`, false);
          ws.end(code);
        },
      },
    };
    if (kind !== 'publish') conn.receiver = { kind: kind as ReceiverKind, key, peer: conn.peer };
    return conn;
  }

  // ---- socket life -----------------------------------------------------------------------------

  private relayFor(channel: string): StreamRelay {
    let relay = this.relays.get(channel);
    if (relay === undefined) {
      relay = new StreamRelay(channel, {
        cacheBytes: this.deps.config.ingest.gopCacheBytes,
        maxReceiverBufferedBytes: this.maxReceiverBufferedBytes,
        logger: this.log,
      });
      this.relays.set(channel, relay);
    }
    return relay;
  }

  private open(ws: uWS.WebSocket<UserData>): void {
    const conn = ws.getUserData().conn;
    conn.ws = ws;
    conn.lastActivity = Date.now();
    this.connections.add(conn);
    if (conn.kind === 'publish') this.opening.delete(conn);
    if (this.closing) {
      if (conn.kind === 'publish') this.settleWaiters(conn.channel, conn.streamId, null);
      return conn.peer.end(CLOSE_GOING_AWAY, null);
    }
    if (conn.kind === 'publish') {
      const relay = this.relayFor(conn.channel);
      relay.attachPublisher({ streamId: conn.streamId!, key: conn.key, peer: conn.peer });
      this.settleWaiters(conn.channel, conn.streamId, relay);
      this.log.info({ ch: conn.channel, streamId: conn.streamId, ip: conn.slot.ip }, 'publisher connected');
    } else {
      this.log.debug({ ch: conn.channel, kind: conn.kind, ip: conn.slot.ip }, 'receiver connected');
      this.relayFor(conn.channel).addReceiver(conn.receiver!);
    }
  }

  private message(ws: uWS.WebSocket<UserData>, message: ArrayBuffer, isBinary: boolean): void {
    const conn = ws.getUserData().conn;
    conn.lastActivity = Date.now();
    if (message.byteLength > this.maxMessageBytes) {
      this.log.warn({ ch: conn.channel, kind: conn.kind, bytes: message.byteLength }, 'oversized message');
      return conn.peer.end(CLOSE_TOO_BIG, `Message too large (${message.byteLength} bytes, limit ${this.maxMessageBytes})`);
    }
    if (!isBinary) return; // `h` heartbeat or other control text: activity only
    if (conn.kind !== 'publish') return conn.peer.end(CLOSE_POLICY, 'Receivers may not send media');
    this.receivedBytes += message.byteLength;
    this.relays.get(conn.channel)?.relay(message);
  }

  private closed(ws: uWS.WebSocket<UserData>, code: number): void {
    const conn = ws.getUserData().conn;
    conn.closed = true;
    this.connections.delete(conn);
    conn.slot.release();
    const relay = this.relays.get(conn.channel);
    if (conn.kind === 'publish') {
      relay?.detachPublisher(conn.streamId!);
      this.log.info({ ch: conn.channel, streamId: conn.streamId, code }, 'publisher disconnected');
      this.deps.sink.publisherGone(conn.streamId!);
    } else {
      relay?.removeReceiver(conn.receiver!);
      this.log.debug({ ch: conn.channel, kind: conn.kind, code }, 'receiver disconnected');
    }
    if (relay?.isEmpty) this.relays.delete(conn.channel);
  }

  private disconnect(conn: Connection, reason: CloseReason): void {
    if (conn.ws === null) {
      conn.disconnectedEarly ??= reason;
      return;
    }
    conn.peer.end(reason === 'shutdown' ? CLOSE_GOING_AWAY : CLOSE_NORMAL, `Stream closed (${reason})`);
  }

  // ---- timers ----------------------------------------------------------------------------------

  private heartbeat(): void {
    for (const conn of this.connections) conn.peer.send('h', false);
  }

  private closeIdle(): void {
    const cutoff = Date.now() - this.idleMs;
    for (const conn of [...this.connections]) {
      if (conn.lastActivity < cutoff) {
        this.log.debug({ ch: conn.channel, kind: conn.kind }, 'idle peer closed');
        conn.peer.end(CLOSE_POLICY, 'Idle timeout');
      }
    }
  }

  /** A throw inside a uWS callback must not take the process down. */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err, in: what }, 'ws ingest handler failed');
    }
  }
}

function reject(res: uWS.HttpResponse, code: ErrorCode, message: string): void {
  const status = httpStatusOf(code);
  res.cork(() => {
    res
      .writeStatus(`${status} ${STATUS_CODES[status] ?? ''}`)
      .writeHeader('Content-Type', 'application/json')
      .end(JSON.stringify({ error: message, code }), true);
  });
}

/** `ws://host:port/{channel}/{key}` (the encoder appends `/receive-clear-cache` or `/probe`). */
export function sourceUri(address: WsAdvertisedAddress, channel: string, key: string): string {
  const host = address.host.includes(':') && !address.host.startsWith('[') ? `[${address.host}]` : address.host;
  return `${address.ssl ? 'wss' : 'ws'}://${host}:${address.port}/${channel}/${key}`;
}
