/**
 * RTMP ingest: `rtmp://{host}:{port}/{channel}/{key}` (app = channel, stream name = key) on an
 * embedded node-media-server. Publishers are verified through the coordinator; players (the
 * encoder pulling the stream) are admitted only for the channel's live, accepted publisher.
 *
 * Publish flow (node-media-server cannot hold a publish: it answers `Publish.Start` before its
 * `prePublish` event, and its events are synchronous):
 * 1. `prePublish`: pause the publisher's socket (backpressure: the peer stops sending), route its
 *    parsed packets through a `PacketGate` (holds what was already read), register it for its
 *    channel, and ask `coordinator.publish()`.
 * 2. Accepted: re-check held players, open the gate, resume the socket. Refused: drop the held
 *    packets, destroy the socket and the held players, undo NMS's publisher assignment. Nothing of
 *    a refused publisher ever reaches NMS's fan-out, so no player and no encoder sees it.
 * 3. The publisher's socket `close` (not NMS's `donePublish`, which comes 30 s late) ends the
 *    stream: `coordinator.publisherGone(streamId)`, and its players are ended (`socket.end()`) so
 *    an ffmpeg pulling the stream reads EOF and finalises its output.
 *
 * Sessions are identified by NMS session id + our stream id: `disconnect()` and `publisherGone`
 * always name one session, so a quick reconnect on the same channel is never touched by the
 * previous session's calls.
 *
 * One RtmpIngest per process (node-media-server's state is a process-wide singleton).
 */
import * as path from 'node:path';
import type { Socket } from 'node:net';
import type { RefusalCode } from '../../domain/errors';
import type { CloseReason, PublishDecision, PublishRequest } from '../../domain/stream';
import type { Logger } from '../../logging/logger';
import { localHostFor, isWildcardAddress } from '../../net/listen-address';
import { PULL_TOKEN_PARAM, withPullToken } from '../../net/pull-token';
import { secretsEqual } from '../../net/secret-compare';
import type { IngestServerInfo } from '../ingest.types';
import { RtmpConnectionLimit } from './connection-limit';
import { startEmbeddedNms, type EmbeddedNms, type NmsPacket, type NmsSession } from './embedded-nms';
import { LazyFanOut } from './lazy-fan-out';
import { MediaTap, type MediaTapListener } from './media-tap';
import { PacketGate } from './packet-gate';
import { RtmpListeners } from './rtmp-listeners';
import { decidePlayer, type PublisherView } from './player-policy';
import type { RtmpIngestOptions, RtmpPublisherInfo, RtmpPublisherState } from './rtmp-ingest.types';
import { parseStreamPath } from './stream-path';

/** Packets held per publisher during verification. With the socket paused only the tail of one socket read is held. */
const MAX_HELD_PACKETS = 2048;
/** A player ended with `socket.end()` that has not closed its side after this long is destroyed. */
const PLAYER_END_GRACE_MS = 5000;

interface Publisher {
  session: NmsSession;
  socket: Socket;
  channel: string;
  key: string;
  userIp: string;
  state: RtmpPublisherState;
  streamId: string | null;
  socketClosed: boolean;
  gate: PacketGate<NmsPacket>;
  /** The accepted media for castline's packager (null when the tap is off). */
  tap: MediaTap | null;
  /** node-media-server's fan-out to players, started by the first player (null when the tap is off: it always runs). */
  fanOut: LazyFanOut | null;
  /** Players that arrived during verification with the pending publisher's key. */
  held: Set<NmsSession>;
  since: number;
  log: Logger;
}

export class RtmpIngest {
  private readonly log: Logger;
  private nms: EmbeddedNms | null = null;
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  /** By NMS session id: every publisher not yet closed. */
  private readonly publishers = new Map<string, Publisher>();
  /** The one verifying or live publisher of each channel. */
  private readonly byChannel = new Map<string, Publisher>();
  /** Sessions refused in `prePublish` (a repeated `publish` command on one connection is ignored). */
  private readonly refused = new Set<string>();
  /** castline's own step publishes, by `app/name` path. */
  private readonly internal = new Map<string, NmsSession>();
  /** Socket bytes read from publishers that have closed. */
  private closedBytes = 0;
  /** The `port=` / `rtmps` listeners of workflow steps (null before `start()`). */
  private listeners: RtmpListeners | null = null;
  /** Connections of those listeners, with the listener's key. */
  private readonly listenerOf = new WeakMap<Socket, string>();

  constructor(private readonly options: RtmpIngestOptions) {
    this.log = options.logger.child({ component: 'ingest-rtmp' });
  }

  private connectionLimit(): RtmpConnectionLimit | undefined {
    if (this.options.limits === undefined) return undefined;
    const limit = new RtmpConnectionLimit(this.options.limits);
    if (limit.invalidWhitelistEntries.length > 0) this.log.warn({ entries: limit.invalidWhitelistEntries }, 'CONCURRENT_LIMIT_WHITELIST entries ignored (not an IP or CIDR)');
    return limit;
  }

  /** The port listened on (0 before `start()`). */
  get port(): number {
    return this.nms?.port ?? 0;
  }

  serverInfo(): IngestServerInfo {
    return { id: this.options.serverId, ip: this.advertisedIp(), port: this.port, ssl: false, serverType: 'RTMP' };
  }

  /** Publisher connections not yet closed. */
  publisherList(): RtmpPublisherInfo[] {
    return [...this.publishers.values()].map((p) => ({
      sessionId: p.session.id,
      channel: p.channel,
      streamId: p.streamId,
      state: p.state,
      userIp: p.userIp,
      since: p.since,
      players: this.nms?.broadcast(p.session.streamPath)?.subscribers.size ?? 0,
    }));
  }

  /** Socket bytes received from publishers since start (read from the sockets: nothing is counted per packet). */
  receivedBytes(): number {
    let bytes = this.closedBytes;
    for (const p of this.publishers.values()) bytes += p.socket.bytesRead;
    return bytes;
  }

  /** Listens. Rejects (never exits the process) when the port is taken; `rtmpPort: 0` picks a free one. */
  start(): Promise<void> {
    if (this.closing !== null) return Promise.reject(new Error('RTMP ingest is closed'));
    this.starting ??= (async () => {
      const { config } = this.options;
      const nms = await startEmbeddedNms({
        bind: config.bindAddress,
        port: config.rtmpPort,
        storeDir: path.join(config.statePath, 'nms'),
        logger: this.log.child({ component: 'node-media-server' }),
        commandTimeoutMs: this.options.commandTimeoutMs ?? 10_000,
        limit: this.connectionLimit(),
      });
      nms.on('prePublish', (session) => this.onPrePublish(session));
      nms.on('prePlay', (session) => this.onPrePlay(session));
      this.nms = nms;
      this.listeners = new RtmpListeners({
        bind: config.bindAddress, tls: this.options.tls ?? null, logger: this.log,
        attach: (socket, key) => {
          this.listenerOf.set(socket, key);
          nms.attach(socket);
        },
      });
      this.log.info({ port: nms.port, bind: config.bindAddress }, 'RTMP ingest listening');
    })();
    return this.starting;
  }

  /** The key of the default listener (RTMP_PORT): its publishes carry no listener. */
  get mainListener(): string {
    return `rtmp:${this.options.config.rtmpPort}`;
  }

  /**
   * Runs exactly these listeners besides the default one (keys `rtmp:{port}` / `rtmps:{port}`, from
   * the workflows' steps): new ones start, unused ones stop (their connections are closed).
   */
  setListeners(keys: Iterable<string>): Promise<void> {
    const extra = [...keys].filter((k) => k !== this.mainListener);
    return this.listeners?.set(extra) ?? Promise.resolve();
  }

  /** The ports listened on by key: the default listener and every step listener. */
  listenerPorts(): Record<string, number> {
    return { [this.mainListener]: this.port, ...(this.listeners?.ports() ?? {}) };
  }

  /**
   * Stops listening and destroys every RTMP connection; live publishers are reported gone
   * (`publisherGone`) before this resolves. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.starting?.catch(() => undefined);
      const nms = this.nms;
      if (nms === null) return;
      await this.listeners?.close();
      const closes = [...this.publishers.values()]
        .filter((p) => !p.socketClosed)
        .map((p) => new Promise<void>((resolve) => p.socket.once('close', () => resolve())));
      await nms.stop();
      await Promise.all(closes);
      this.log.info('RTMP ingest closed');
    })();
    return this.closing;
  }

  // ---- publishers ---------------------------------------------------------------------------

  private onPrePublish(session: NmsSession): void {
    const { socket, rtmp } = session;
    if (socket === undefined || rtmp === undefined) {
      session.close(); // not an RTMP session (NMS's HTTP-FLV publishing is off anyway)
      return;
    }
    if (this.publishers.has(session.id) || this.refused.has(session.id)) return; // repeated `publish` command
    if (this.hasToken(session)) return this.acceptInternal(session, socket);
    socket.pause();
    const userIp = normaliseIp(socket.remoteAddress);
    const parsed = parseStreamPath(session.streamApp, session.streamName, this.options.config.idMaxLength);
    if (this.closing !== null) return this.refuseAtOnce(session, socket, 'SHUTTING_DOWN', 'server is shutting down', userIp);
    if (!parsed.ok) return this.refuseAtOnce(session, socket, 'INVALID_ID', parsed.reason, userIp);
    const { channel, key } = parsed;
    if (this.byChannel.has(channel)) return this.refuseAtOnce(session, socket, 'CHANNEL_BUSY', 'channel already has a publisher', userIp, channel);
    const watched = this.options.paths?.watched(channel, key) === true && this.options.internal !== undefined;
    if (!watched && this.internalUnder(channel)) return this.refuseAtOnce(session, socket, 'CHANNEL_BUSY', 'a workflow publishes on this channel', userIp, channel);

    const tapBytes = this.options.mediaTapBytes ?? 0;
    const tap = tapBytes > 0 ? new MediaTap(tapBytes) : null;
    const nmsDeliver = rtmp.onPacketCallback;
    // With the tap, node-media-server's fan-out runs only while a player is attached (lazy-fan-out.ts).
    const fanOut = tap === null ? null : new LazyFanOut(session, tap, nmsDeliver);
    const deliver = tap === null || fanOut === null ? nmsDeliver : (packet: NmsPacket) => {
      fanOut.push(packet);
      tap.push(packet);
    };
    const gate = new PacketGate<NmsPacket>(deliver, MAX_HELD_PACKETS);
    const publisher: Publisher = {
      session, socket, channel, key, userIp,
      state: 'verifying', streamId: null, socketClosed: false, gate, tap, fanOut, held: new Set(), since: Date.now(),
      log: this.log.child({ ch: channel, sessionId: session.id }),
    };
    rtmp.onPacketCallback = (packet) => {
      // NMS reuses its parse buffer for the next packet: a held packet needs its own copy.
      if (gate.push(gate.state === 'holding' ? copyPacket(packet) : packet) === 'overflow') {
        publisher.log.warn({ held: MAX_HELD_PACKETS }, 'publisher sent too much media before its key was accepted: disconnected');
        socket.destroy();
      }
    };
    // NMS would otherwise keep a closed publish "resumable" for 30 s and report donePublish that late.
    if (session.broadcast !== undefined) session.broadcast.publishGraceMs = 0;
    this.publishers.set(session.id, publisher);
    this.byChannel.set(channel, publisher);
    socket.once('close', () => this.onPublisherClosed(publisher));
    publisher.log.debug({ userIp }, 'publish requested: verifying key');

    const listener = this.listenerOf.get(socket);
    const request: PublishRequest = {
      channel, key, userIp,
      ingest: 'RTMP',
      serverId: this.options.serverId,
      source: { type: 'RTMP', uri: this.sourceUri(session, channel, key) },
      disconnect: (reason) => this.disconnect(publisher, reason),
      ...(listener === undefined ? {} : { listener }),
    };
    let decision: Promise<PublishDecision>;
    try {
      decision = this.options.sink.publish(request);
    } catch (err) {
      decision = Promise.reject(err);
    }
    decision.then(
      (d) => this.onDecision(publisher, d),
      (err: unknown) => {
        publisher.log.error({ err }, 'coordinator.publish failed (it must never reject): publish refused');
        this.onDecision(publisher, { accepted: false, code: 'KEY_REFUSED', message: 'coordinator error' });
      },
    );
  }

  /**
   * Subscribes to the media of the channel's publisher of stream `streamId` (FLV tags, from its
   * codec headers and last keyframe on). The stream's job may start before the ingest has heard
   * of the acceptance: a publisher still being verified is subscribed too (media flows once its
   * gate opens; a refusal ends the subscription). null when the tap is off or no such publisher.
   */
  subscribeMedia(channel: string, streamId: string, listener: MediaTapListener): (() => void) | null {
    const p = this.byChannel.get(channel);
    if (p === undefined || p.tap === null) return null;
    const ours = p.state === 'verifying' || (p.state === 'live' && p.streamId === streamId);
    return ours ? p.tap.subscribe(listener) : null;
  }

  /**
   * Where encoders pull the publisher: its own path, or — when an rtmp_watch step publishes on that
   * very path (mmids' `rtmp_receive app=x` … `rtmp_watch app=x`) — a hidden internal path, so the
   * path's players see what reaches the watch step (after a transcode), not the raw source.
   */
  /**
   * How an encoder reaches this publish: its own path (in cluster mode at the advertised address,
   * with the pull token), or — when an rtmp_watch step publishes on that path — a hidden internal
   * path the publisher is moved to (media follows the step order).
   */
  private sourceUri(session: NmsSession, channel: string, key: string): string {
    const pullToken = this.options.pullToken;
    const host = pullToken === undefined ? this.localHost() : this.advertisedIp();
    const internal = this.options.internal;
    if (internal !== undefined && this.options.paths?.watched(channel, key) === true) {
      const hidden = `source-${session.id}`;
      this.nms!.movePublisher(session, `/${internal.internalApp}/${hidden}`);
      return `rtmp://${host}:${this.port}/${internal.internalApp}/${hidden}?castline_token=${internal.token}`;
    }
    const uri = `rtmp://${host}:${this.port}/${channel}/${key}`;
    return pullToken === undefined ? uri : withPullToken(uri, pullToken(channel, key));
  }

  private hasToken(session: NmsSession): boolean {
    const internal = this.options.internal;
    const given = session.streamQuery?.castline_token;
    return internal !== undefined && typeof given === 'string' && secretsEqual(given, internal.token);
  }

  private internalUnder(app: string): boolean {
    for (const streamPath of this.internal.keys()) if (streamPath.startsWith(`${app}/`)) return true;
    return false;
  }

  /** A publish by one of castline's own step processes: no session, no verification. */
  private acceptInternal(session: NmsSession, socket: Socket): void {
    const streamPath = `${session.streamApp}/${session.streamName}`;
    const owner = this.byChannel.get(session.streamApp);
    const ownerBlocks = owner !== undefined && !this.movedFrom(owner, streamPath) && session.streamApp !== this.options.internal?.internalApp;
    if (this.internal.has(streamPath) || ownerBlocks) {
      this.log.warn({ path: streamPath }, 'internal publish refused: path already published');
      return this.refuseAtOnce(session, socket, 'CHANNEL_BUSY', 'path already published', normaliseIp(socket.remoteAddress));
    }
    if (session.broadcast !== undefined) session.broadcast.publishGraceMs = 0;
    this.internal.set(streamPath, session);
    this.log.debug({ path: streamPath }, 'internal publish');
    socket.once('close', () => {
      if (this.internal.get(streamPath) === session) this.internal.delete(streamPath);
      this.endPlayersOf(session.streamPath);
    });
  }

  /** The publisher was moved off `streamPath` (an rtmp_watch step publishes there). */
  private movedFrom(publisher: Publisher, streamPath: string): boolean {
    return publisher.session.streamPath !== `/${streamPath}` && `${publisher.channel}/${publisher.key}` === streamPath;
  }

  private onDecision(publisher: Publisher, decision: PublishDecision): void {
    if (publisher.state !== 'verifying') return;
    const verifyMs = Date.now() - publisher.since;
    if (!decision.accepted) {
      publisher.log.info({ code: decision.code, reason: decision.message, verifyMs }, 'publish refused');
      this.refuse(publisher);
      return;
    }
    publisher.streamId = decision.streamId;
    publisher.log = publisher.log.child({ streamId: decision.streamId });
    if (publisher.socketClosed) {
      publisher.log.info({ verifyMs }, 'publish accepted after the publisher had left');
      publisher.state = 'ended';
      this.options.sink.publisherGone(decision.streamId);
      return;
    }
    publisher.state = 'live';
    const live = this.options.sink.livePublisher(publisher.channel);
    for (const player of publisher.held) {
      const verdict = decidePlayer({ playerKey: player.streamName, publisher: this.view(publisher), coordinatorLive: live });
      if (verdict.action !== 'allow') {
        publisher.log.info({ playerSessionId: player.id, reason: verdict.action === 'refuse' ? verdict.reason : 'still pending' }, 'held player refused');
        player.socket?.destroy();
      }
    }
    publisher.held.clear();
    const flushed = publisher.gate.open();
    publisher.socket.resume();
    publisher.log.info({ verifyMs, heldPackets: flushed }, 'publish accepted: live');
  }

  /** Key refused (or the coordinator failed): nothing of this publisher reached anyone; make sure nothing will. */
  private refuse(publisher: Publisher): void {
    publisher.state = 'refused';
    publisher.gate.shut();
    publisher.tap?.end();
    for (const player of publisher.held) player.socket?.destroy();
    publisher.held.clear();
    publisher.socket.destroy();
    this.nms?.releasePublisher(publisher.session);
    this.releaseChannel(publisher);
  }

  private refuseAtOnce(session: NmsSession, socket: Socket, code: RefusalCode, reason: string, userIp: string, channel?: string): void {
    this.log.info({ sessionId: session.id, ch: channel, userIp, code, reason }, 'publish refused');
    this.options.onRefused?.(code);
    this.refused.add(session.id);
    socket.once('close', () => this.refused.delete(session.id));
    // The rest of the current socket read is still parsed after this handler: drop its packets
    // (for CHANNEL_BUSY the session shares the live publisher's fan-out).
    if (session.rtmp !== undefined) session.rtmp.onPacketCallback = () => undefined;
    socket.destroy();
    // NMS makes the session the path's publisher right after this event returns: undo it then.
    queueMicrotask(() => this.nms?.releasePublisher(session));
  }

  private onPublisherClosed(publisher: Publisher): void {
    publisher.socketClosed = true;
    this.publishers.delete(publisher.session.id);
    this.closedBytes += publisher.socket.bytesRead;
    this.releaseChannel(publisher);
    publisher.gate.shut();
    publisher.tap?.end();
    switch (publisher.state) {
      case 'verifying':
        // The decision is still due; onDecision reports publisherGone if it is an acceptance.
        for (const player of publisher.held) player.socket?.destroy();
        publisher.held.clear();
        publisher.log.info('publisher left during key verification');
        break;
      case 'live':
        publisher.state = 'ended';
        this.endPlayers(publisher);
        publisher.log.info({ durationMs: Date.now() - publisher.since }, 'publisher gone');
        if (publisher.streamId !== null) this.options.sink.publisherGone(publisher.streamId);
        break;
      case 'refused':
      case 'ended':
        break;
    }
  }

  /** Ends every player of the publisher's stream so a pulling ffmpeg reads EOF and finalises. */
  private endPlayers(publisher: Publisher): void {
    this.endPlayersOf(publisher.session.streamPath);
  }

  private endPlayersOf(streamPath: string): void {
    const broadcast = this.nms?.broadcast(streamPath);
    if (broadcast === undefined) return;
    for (const player of broadcast.subscribers.values()) {
      const socket = player.socket;
      if (socket === undefined) {
        player.close();
        continue;
      }
      socket.end();
      const timer = setTimeout(() => socket.destroy(), PLAYER_END_GRACE_MS);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    }
  }

  private disconnect(publisher: Publisher, reason: CloseReason): void {
    if (publisher.socketClosed || publisher.socket.destroyed) return;
    publisher.log.info({ reason }, 'disconnecting publisher');
    publisher.socket.destroy();
  }

  private releaseChannel(publisher: Publisher): void {
    if (this.byChannel.get(publisher.channel) === publisher) this.byChannel.delete(publisher.channel);
  }

  // ---- players ------------------------------------------------------------------------------

  private onPrePlay(session: NmsSession): void {
    // node-media-server sends a new player its caches right after this event: build them now.
    const publisherId = session.broadcast?.publisher?.id;
    if (publisherId !== undefined) this.publishers.get(publisherId)?.fanOut?.start();
    const socket = session.socket;
    if (socket === undefined) {
      session.close();
      return;
    }
    const refuse = (reason: string, channel?: string) => {
      this.log.info({ playerSessionId: session.id, ch: channel, ip: normaliseIp(socket.remoteAddress), reason }, 'player refused');
      socket.destroy();
    };
    if (this.closing !== null) return refuse('server is shutting down');
    // castline's own step streams: anyone may watch an rtmp_watch copy (its key is the access
    // control). The internal app needs the token; castline's own players there may arrive before
    // the step that publishes (they wait, node-media-server attaches them when it comes).
    if (session.streamApp === this.options.internal?.internalApp) {
      if (!this.hasToken(session)) return refuse('internal stream');
      return;
    }
    const admission = this.options.paths?.admitPlayer(session.streamApp, session.streamName, normaliseIp(socket.remoteAddress)) ?? null;
    if (admission instanceof Promise) {
      // A reactor decides: the player waits (attached, receiving nothing until a step publishes here).
      admission.then((a) => {
        if (!a.ok) return refuse(a.reason, session.streamApp);
        if (a.release === undefined) return;
        if (socket.destroyed) a.release();
        else socket.once('close', a.release);
      }, (err: unknown) => refuse(`watch admission failed: ${(err as Error).message}`));
      return;
    }
    if (admission !== null && !admission.ok) return refuse(admission.reason, session.streamApp);
    if (this.internal.has(`${session.streamApp}/${session.streamName}`)) return;
    const parsed = parseStreamPath(session.streamApp, session.streamName, this.options.config.idMaxLength);
    if (!parsed.ok) return refuse(parsed.reason);
    const pullToken = this.options.pullToken;
    const given = session.streamQuery?.[PULL_TOKEN_PARAM];
    if (pullToken !== undefined && !(typeof given === 'string' && secretsEqual(given, pullToken(parsed.channel, parsed.key)))) return refuse('no cluster token', parsed.channel);
    const publisher = this.byChannel.get(parsed.channel);
    const view = publisher === undefined ? null : this.view(publisher);
    const live = view?.state === 'live' ? this.options.sink.livePublisher(parsed.channel) : null;
    const verdict = decidePlayer({ playerKey: parsed.key, publisher: view, coordinatorLive: live });
    switch (verdict.action) {
      case 'refuse':
        return refuse(verdict.reason, parsed.channel);
      case 'hold': {
        const held = publisher!.held;
        held.add(session);
        socket.once('close', () => held.delete(session));
        publisher!.log.debug({ playerSessionId: session.id }, 'player waits for the key verification');
        return;
      }
      case 'allow':
        publisher!.log.debug({ playerSessionId: session.id }, 'player attached');
        return;
    }
  }

  private view(publisher: Publisher): PublisherView {
    if (publisher.state === 'verifying') return { state: 'verifying', key: publisher.key };
    if (publisher.state === 'live' && publisher.streamId !== null) return { state: 'live', streamId: publisher.streamId };
    return { state: 'ended' };
  }

  // ---- addresses ----------------------------------------------------------------------------

  /** Where an encoder pulls a publish from: this node's address (cluster) or the local one, with the cluster token in cluster mode. */
  /** How a local encoder reaches the listener. */
  private localHost(): string {
    return localHostFor(this.options.config.bindAddress);
  }

  private advertisedIp(): string {
    if (this.options.advertisedIp !== undefined) return this.options.advertisedIp;
    const bind = this.options.config.bindAddress;
    return isWildcardAddress(bind) ? '127.0.0.1' : bind;
  }
}

function copyPacket(packet: NmsPacket): NmsPacket {
  return { ...packet, data: Buffer.from(packet.data.subarray(0, packet.size)) };
}

function normaliseIp(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
