/**
 * A node's place in the cluster (only built with REDIS_URL): its id and cluster-wide number, the
 * Redis connections, membership with heartbeat, cluster-wide channel claims, the commands answered
 * across nodes and close commands received from other nodes.
 */
import type Redis from 'ioredis';
import { version } from '../../package.json';
import type { ClusterConfig } from '../config/config';
import type { Capacity, Report, StreamEventSink } from '../coordinator/coordinator.types';
import type { EncodeJob } from '../domain/jobs';
import type { OutputsState } from '../encoding/outputs';
import type { CloseReason } from '../domain/stream';
import type { Logger } from '../logging/logger';
import type { OutboxDependencies } from '../callbacks/outbox';
import type { EventTransport } from '../callbacks/outbox.types';
import { RedisChannelClaims } from './channel-claims';
import { ClusterCommands, isCloseMessage } from './cluster-commands';
import { clusterIds, type NodeRecord } from './cluster.types';
import { KEYS } from './keys';
import { Mailbox, type MailMessage } from './mailbox';
import { NodeJanitor } from './node-janitor';
import { OutputsMirror } from './outputs-mirror';
import { WorkflowSync, type SharedWorkflows } from './workflow-sync';
import { Membership } from './membership';
import { nodeIdentity } from './node-identity';
import { ClusterEncoder } from './cluster-encoder';
import { LiveHlsLocator } from './live-hls-locator';
import { EncoderService, type EncoderPoolPort } from './encoder-service';
import { EventDelivery } from './event-delivery';
import { RedisEventTransport } from './event-queue';
import { connectRedis, redisClient } from './redis-connection';
import { defineScripts, type ClusterScripts } from './scripts';

/** How long start-up waits for Redis before giving up. */
const START_TIMEOUT_MS = 30_000;

/** How long a node's view of which node holds which LL-HLS stream is reused (a read of the node records). */
const LIVE_HLS_LOOKUP_CACHE_MS = 1000;

/** The streams whose Low-Latency HLS this node holds in memory (`packaging/live-hls.ts`). */
export interface HeldLiveHls {
  /** `{channel}/{streamId}` of each. */
  keys(): string[];
}

/** The node's own coordinator as the cluster reads and commands it. */
export interface LocalNode {
  capacity(): Capacity;
  report(): Report;
  close(channel: string, streamId: string, reason: CloseReason): void;
}

/** What the node listens on, known once its listeners are up. */
export interface NodeListeners {
  httpPort: number;
  rtmpPort: number;
  tls: boolean;
}

/** This node's encoder pool (encoder role), as the cluster needs it. */
export type LocalPool = EncoderPoolPort;

export class Cluster {
  readonly ids: ReturnType<typeof clusterIds>;
  readonly claims: RedisChannelClaims;
  readonly commands: ClusterCommands;
  /** Where this node's outbox sends its events: the shared queue in Redis. */
  readonly eventTransport: EventTransport;
  readonly #scripts: ClusterScripts;
  readonly #mailbox: Mailbox;
  #membership: Membership | null = null;
  #delivery: EventDelivery | null = null;
  #encoder: ClusterEncoder | null = null;
  #pool: LocalPool | null = null;
  #service: EncoderService | null = null;
  #draining = false;
  readonly #mirror: OutputsMirror;
  readonly #janitor: NodeJanitor;
  /** Workflow changes made on this node go here (the registry's `shared` sink). */
  readonly workflows: WorkflowSync;
  /**
   * The node's sessions as the cluster tracks them (fed by the coordinator's events): each
   * accepted session is listed under `castline:node-streams:{nodeId}` until it closes, so a
   * survivor can close it if this node dies; every change is written to the node's record soon.
   */
  readonly sessionSink: StreamEventSink;
  #subscriber: Redis | null = null;
  #liveHls: HeldLiveHls | null = null;
  readonly #startedAt = Date.now();

  private constructor(
    readonly config: Readonly<ClusterConfig>,
    readonly nodeId: string,
    readonly index: number,
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {
    this.ids = clusterIds(index);
    this.#scripts = defineScripts(redis);
    this.claims = new RedisChannelClaims(redis, this.#scripts, nodeId, config.nodeTtlMs, log);
    this.eventTransport = new RedisEventTransport(this.#scripts);
    this.commands = new ClusterCommands(() => this.#requireMembership().liveNodes(), redis, log);
    this.#mailbox = new Mailbox(redis, nodeId, log);
    this.#mirror = new OutputsMirror(redis);
    this.workflows = new WorkflowSync(redis, nodeId, log);
    this.#janitor = new NodeJanitor(redis, this.#scripts, this.#mailbox, config.nodeTtlMs / 3, log);
    const track = (what: string, write: () => Promise<unknown>) =>
      write().catch((err: Error) => log.warn({ err: { message: err.message } }, `cannot record ${what} in Redis now`));
    this.sessionSink = {
      streamStarted: (channel, streamId) => {
        void track('a live session', () => redis.multi().hset(KEYS.nodeStreams(nodeId), streamId, channel).sadd(KEYS.streamNodes, nodeId).exec());
        this.touch();
      },
      available: () => this.touch(),
      streamClosed: (_channel, streamId) => {
        void track('a closed session', () => redis.hdel(KEYS.nodeStreams(nodeId), streamId));
        this.touch();
      },
    };
  }

  /** An encode job's outputs state changed (the pool's `onOutputsState`): kept for a failover. */
  outputsState(job: EncodeJob, state: OutputsState): void {
    this.#mirror.save(job.streamId, state);
  }

  /**
   * The encoder this node's coordinator uses: placement across the cluster's encoder nodes
   * (`pool`: this node's own, with the encoder role; it also takes jobs from other nodes).
   */
  encoder(pool: LocalPool | null): ClusterEncoder {
    this.#pool = this.config.roles.includes('encoder') ? pool : null;
    const service = this.#pool === null ? null : new EncoderService(this.#pool, this.#mirror, this.#mailbox, this.log);
    this.#service = service;
    this.#encoder = new ClusterEncoder({
      id: this.ids.encoder,
      nodeId: this.nodeId,
      scripts: this.#scripts,
      mailbox: this.#mailbox,
      local: service === null ? null : { start: (job, report) => service.run(job, report) },
      nodes: () => this.#requireMembership().liveNodes(),
      loads: () => this.redis.hgetall(KEYS.encoderLoad),
      graceMs: this.config.nodeTtlMs / 3,
      logger: this.log,
    });
    return this.#encoder;
  }

  /**
   * The node's record lists the streams `held` (call `touch()` when they change); the answer tells
   * which other node holds a stream this one does not (its HLS requests are redirected there).
   */
  liveHls(held: HeldLiveHls): LiveHlsLocator {
    this.#liveHls = held;
    return new LiveHlsLocator({ nodeId: this.nodeId, nodes: () => this.#requireMembership().liveNodes(), cacheMs: LIVE_HLS_LOOKUP_CACHE_MS });
  }

  /** Connects to Redis (waiting up to 30 s) and learns this node's id and number. */
  static async connect(config: Readonly<ClusterConfig>, statePath: string, logger: Logger): Promise<Cluster> {
    const nodeId = nodeIdentity(config.nodeId, statePath);
    const log = logger.child({ component: 'cluster', node: nodeId });
    const redis = redisClient(config.redisUrl, log, `castline-${nodeId}`);
    try {
      await connectRedis(redis, START_TIMEOUT_MS);
      const index = await defineScripts(redis).nodeIndex(KEYS.nodeIndex, KEYS.nodeSeq, nodeId);
      // Sessions listed from an earlier run are this node's own outbox's to close (server-restart).
      await redis.del(KEYS.nodeStreams(nodeId));
      log.info({ index, roles: config.roles, address: config.address }, 'joined the cluster');
      return new Cluster(config, nodeId, index, redis, log);
    } catch (err) {
      redis.disconnect();
      throw err;
    }
  }

  /**
   * Registers the node and starts its heartbeat; close commands from any node reach `local`; the
   * node competes for delivering the cluster's events (with `events`: the EVENT_CALLBACK_* settings).
   */
  async start(local: LocalNode, listeners: NodeListeners, events: Pick<OutboxDependencies, 'config' | 'options'>, workflows: SharedWorkflows): Promise<void> {
    this.#membership = new Membership({
      redis: this.redis,
      nodeId: this.nodeId,
      ttlMs: this.config.nodeTtlMs,
      record: () => this.#record(local, listeners),
      onBeat: () => this.#onBeat(local),
      logger: this.log,
    });
    await this.#membership.start();
    await this.#subscribe(workflows);
    const service = this.#service;
    await this.#mailbox.listen((message) => {
      if (message.type === 'close') return this.#onClose(local, message);
      if (message.type === 'encode-report') this.#encoder?.onMessage(message);
      else service?.onMessage(message);
    });
    if (events.config.eventCallback.url !== '') {
      this.#delivery = new EventDelivery({ redis: this.redis, scripts: this.#scripts, nodeId: this.nodeId, ttlMs: this.config.nodeTtlMs, outbox: events, logger: this.log });
      this.#delivery.start();
    }
  }

  /** With each heartbeat: claims refreshed (lost ones closed), placements checked against the live encoder nodes. */
  async #onBeat(local: LocalNode): Promise<void> {
    for (const lost of await this.claims.refresh()) {
      this.log.error({ ch: lost.channel, streamId: lost.streamId }, 'channel taken by another node while this one was cut off from the cluster: closing the stream');
      local.close(lost.channel, lost.streamId, 'node-lost');
    }
    const janitor = this.#delivery?.delivering() === true;
    if ((this.#encoder === null && !janitor) || this.#membership === null) return;
    const [nodes, loads] = await Promise.all([this.#membership.liveNodes(), this.redis.hgetall(KEYS.encoderLoad)]);
    this.#encoder?.observe(nodes, loads);
    if (janitor) await this.#janitor.sweep(new Set(nodes.map((n) => n.id)));
  }

  /**
   * Graceful shutdown, before the encoder pool stops: the node offers no capacity any more (its
   * record says 0 at once) and the streams it encodes for other nodes are handed over — reported
   * lost, so their ingest nodes place them elsewhere and they continue their playlists.
   */
  async drain(): Promise<void> {
    this.#draining = true;
    this.#service?.drain();
    await this.#membership?.beat();
  }

  /** Something the record shows changed (a session started, ended, got an output). */
  touch(): void {
    this.#membership?.touch();
  }

  /** Why the node is not fully part of the cluster now (readiness, `GET /`), or null. */
  problem(): string | null {
    if (this.redis.status !== 'ready') return `Redis unavailable (${this.redis.status})`;
    if (this.#membership !== null && !this.#membership.registered()) return 'registration not refreshed';
    return null;
  }

  async close(): Promise<void> {
    this.#mailbox.close();
    await this.#delivery?.close();
    await this.#membership?.close();
    this.#subscriber?.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  #requireMembership(): Membership {
    if (this.#membership === null) throw new Error('the node has not joined the cluster yet');
    return this.#membership;
  }

  #onClose(local: LocalNode, message: MailMessage): void {
    if (!isCloseMessage(message)) return this.log.warn({ message: JSON.stringify(message).slice(0, 200) }, 'ignored a malformed close command');
    local.close(message.channel, message.streamId, message.reason);
  }

  /** Workflow announcements from other nodes (the whole workflow store again after a reconnection). */
  async #subscribe(workflows: SharedWorkflows): Promise<void> {
    const subscriber = this.redis.duplicate({ lazyConnect: false, enableOfflineQueue: true });
    this.#subscriber = subscriber;
    subscriber.on('error', () => undefined); // the command connection logs Redis outages
    subscriber.on('message', (channel: string, text: string) => {
      if (channel === KEYS.workflowChanges) void this.workflows.onAnnouncement(text, workflows).catch(() => undefined);
    });
    let connections = 0;
    subscriber.on('ready', () => {
      if (connections++ > 0) void this.workflows.loadInto(workflows).catch(() => undefined);
    });
    await subscriber.subscribe(KEYS.workflowChanges);
  }

  #record(local: LocalNode, listeners: NodeListeners): NodeRecord {
    const report = local.report();
    const capacity = local.capacity();
    const pool = this.#pool;
    const placements = this.#encoder?.placements() ?? new Map<string, string>();
    return {
      id: this.nodeId,
      index: this.index,
      roles: [...this.config.roles],
      address: this.config.address,
      ...listeners,
      version,
      startedAt: this.#startedAt,
      encoder: pool === null ? null : { id: this.ids.encoder, capacity: this.#draining ? 0 : pool.capacity, load: pool.active },
      load: capacity.load,
      ingestServers: report.streamingServers.map((s) => ({ ...s, ip: this.config.address })),
      activeStreams: report.activeStreams,
      placements: Object.fromEntries(placements),
      liveHls: this.#liveHls?.keys() ?? [],
    };
  }
}
