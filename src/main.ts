/**
 * Composition root: read config, build the pieces, wire them, start, stop. Only this file touches
 * signals, the environment and process.exit.
 */
import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import * as v8 from 'node:v8';
import { teeEvents } from './api/activity';
import { commandRoutes } from './api/commands';
import { fileRoutes } from './api/files';
import type { Route } from './api/api.types';
import { healthRoutes } from './api/health';
import { llHlsRoutes } from './api/ll-hls';
import type { LiveHlsElsewhere } from './api/ll-hls.types';
import { mountRoutes } from './api/http';
import { observeHlsServed } from './api/served';
import { workflowRoutes } from './api/workflows';
import { KeyVerificationClient } from './callbacks/key-verification';
import { Outbox } from './callbacks/outbox';
import type { DeliveryObserver } from './callbacks/outbox.types';
import { sessionVerifier } from './callbacks/session-verifier';
import { Cluster } from './cluster/cluster';
import { ConfigError, loadConfig, type Config, type NodeRole } from './config/config';
import { Coordinator } from './coordinator/coordinator';
import { withEncodingLimits } from './coordinator/limited-verifier';
import { ensureBinaries, ffmpegPath } from './encoding/binaries';
import { PackagingEncoder } from './encoding/packaging-encoder';
import type { FlvMediaSource } from './encoding/passthrough.types';
import { endCrashedStream } from './encoding/crashed-outputs';
import { EncoderPool } from './encoding/pool';
import { WsFlvSource } from './encoding/ws-flv-source';
import type { PublishSink } from './ingest/ingest.types';
import { observePublishes } from './ingest/publish-observer';
import { RtmpIngest } from './ingest/rtmp/rtmp-ingest';
import { registerWsIngest } from './ingest/ws/ws-ingest';
import { createProcessLogger, type Logger } from './logging/logger';
import type { CastlineMetrics } from './metrics/registry';
import { isLoopbackAddress, isWildcardAddress } from './net/listen-address';
import { LiveHlsRegistry } from './packaging/live-hls';
import { pullTokenFor, type PullToken } from './net/pull-token';
import { uWS, uwsBuild, uwsIsNative } from './net/uws';
import { createOps, operationsRoutes, type Ops } from './operations';
import { FileStorage } from './storage/filesystem';
import { storageAdmission } from './storage/storage-errors';
import { defineConfiguredWorkflows } from './workflows/definition';
import { INTERNAL_APP, InternalRtmp } from './workflows/internal-rtmp';
import { PullSources } from './workflows/pull-sources';
import { ReactorClient } from './workflows/reactor-client';
import { WorkflowWatchPaths } from './workflows/watch-paths';
import { loadTlsMaterial, type TlsMaterial } from './net/tls-certificate';
import { WorkflowRegistry } from './workflows/registry';
import { SessionRouter } from './workflows/session-router';
import { WorkflowStore } from './workflows/store';

/** Ids of the local servers as listed in `GET /commands/report` (a cluster node's come from its number). */
export const LOCAL_IDS = { wsServer: 1, rtmpServer: 2, encoder: 1 } as const;
/** An ended stream's LL-HLS stays in memory this long (players fetch the ENDLIST playlist), then disk serves it. */
const LIVE_HLS_LINGER_MS = 30_000;
/** LL-HLS playlists list at least this many segments (delta updates need more than 6 target durations). */
const MIN_LL_SEGMENTS = 8;
type ServerIds = { wsServer: number; rtmpServer: number; encoder: number };

export interface Castline {
  readonly config: Readonly<Config>;
  readonly coordinator: Coordinator;
  /** This instance's Prometheus registry (`GET /metrics`). */
  readonly metrics: CastlineMetrics;
  /** The HTTP/WS port actually listened on (HTTP_PORT=0 picks one). */
  readonly httpPort: number;
  /** The RTMP port actually listened on; 0 when RTMP is disabled. */
  readonly rtmpPort: number;
  /** The RTMP listeners' ports by key (`rtmp:{configured port}`, `rtmps:{port}` of `rtmps` steps, …). */
  rtmpListeners(): Record<string, number>;
  /** True when HTTP is HTTPS/WSS and `rtmps` steps can listen (a certificate is configured). */
  readonly tls: boolean;
  /** Graceful stop: listeners closed, streams closed with their events queued, encoders stopped. Idempotent. */
  close(): Promise<void>;
}

/** What start-up has brought up, undone in reverse order on stop (or when a later step fails). */
class Cleanups {
  readonly #steps: Array<() => Promise<void> | void> = [];
  push(step: () => Promise<void> | void): void {
    this.#steps.push(step);
  }
  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) await step();
  }
}

/** The session core: event outbox, key verification, encoder pool, workflows and the coordinator. */
interface Core {
  outbox: Outbox;
  pool: EncoderPool;
  workflows: WorkflowRegistry;
  router: SessionRouter;
  coordinator: Coordinator;
  internal: InternalRtmp | null;
  /** The certificate of RTMPS and HTTPS/WSS; null = no TLS. */
  tls: TlsMaterial | null;
  /** The RTMP port, once listening (castline's internal RTMP addresses read it). */
  rtmpPort: { value: number };
  /** What the ingests publish into: the coordinator, with every decision counted. */
  sink: PublishSink;
  /** Streams castline packages itself (LL-HLS served from memory). */
  liveHls: LiveHlsRegistry;
  /** Cluster mode: the other node holding a stream's LL-HLS (its requests are redirected there). */
  liveHlsElsewhere: LiveHlsElsewhere | null;
  /** The RTMP ingest's media tap for passthrough packaging, once RTMP listens. */
  mediaSource: { current: FlvMediaSource | null };
  /** The WS ingest's publishes read as FLV for passthrough packaging, once the WS ingest runs. */
  wsMediaSource: { current: FlvMediaSource | null };
  /** Ports of the RTMP listeners by key (`rtmp:1935`, `rtmps:443`, …), once RTMP runs. */
  rtmpListeners: () => Record<string, number>;
  /** Report ids of this node's servers. */
  ids: ServerIds;
  /** Cluster mode only. */
  cluster: Cluster | null;
  /** Event deliveries to the application, counted in the metrics. */
  eventObserver: DeliveryObserver;
}

/** Cluster mode: pulls between nodes show a token made with CLUSTER_SECRET. */
function pullTokenOf(config: Readonly<Config>): PullToken | undefined {
  return config.cluster === null ? undefined : pullTokenFor(config.cluster.secret);
}

/** Whether this node has a role: every role without a cluster. */
function hasRole(config: Readonly<Config>, role: NodeRole): boolean {
  return config.cluster === null || config.cluster.roles.includes(role);
}

async function startCore(config: Readonly<Config>, logger: Logger, cleanups: Cleanups, ops: Ops, cluster: Cluster | null): Promise<Core> {
  const { metrics, activity } = ops;
  const ids = cluster?.ids ?? LOCAL_IDS;
  const eventObserver: DeliveryObserver = { delivered: (ms) => metrics.eventDelivered(ms / 1000), failed: () => metrics.eventDeliveryFailed() };
  // Cluster mode: this node's outbox hands its events to the cluster's queue in Redis (kept here
  // while Redis is away); the node delivering that queue reports deliveries to the metrics.
  const beforeRestartClose = endCrashedStreamHook(new FileStorage(config.hlsFilesystemPath), logger);
  const outbox = cluster === null
    ? new Outbox({ config, logger, beforeRestartClose, options: { observer: eventObserver } })
    : new Outbox({ config: toClusterQueue(config), logger, beforeRestartClose, transport: cluster.eventTransport });
  await outbox.open();
  cleanups.push(async () => {
    // Give the application a moment to take the last stream-closed events; whatever is still
    // pending stays stored and is delivered after the next start.
    await Promise.race([outbox.idle(), sleep(3000, undefined, { ref: false })]);
    await outbox.close();
  });
  const client = new KeyVerificationClient({ config, logger, maxAnswerBytes: config.limits.keyVerificationAnswerBytes });
  cleanups.push(() => client.close());
  const log = logger.child({ component: 'coordinator' });
  // Cluster mode: the node's record lists the streams held here; other nodes redirect to them.
  const liveHls = new LiveHlsRegistry(LIVE_HLS_LINGER_MS, cluster === null ? undefined : () => cluster.touch());
  const memorySegments = Math.max(config.encoding.hlsLivePlaylistSize, MIN_LL_SEGMENTS);
  // Encoders stop after the coordinator (pushed first, so closed last): every job is stopped and
  // awaited, with a SIGKILL fallback, before the thread pool is destroyed.
  const pool = new EncoderPool({
    id: ids.encoder, ...(config.ffmpegPath === null ? {} : { ffmpegPath: config.ffmpegPath }), storageRoot: config.hlsFilesystemPath, encoding: config.encoding, logger: logger.child({ component: 'encoder' }),
    onRestart: (reason) => metrics.ffmpegRestart(reason),
    onOutputsState: cluster === null ? undefined : (job, state) => cluster.outputsState(job, state),
    liveHls: { registry: liveHls, windowSegments: memorySegments },
  });
  const killEncodersOnExit = () => pool.killAllNow(); // no ffmpeg outlives the process
  process.on('exit', killEncodersOnExit);
  cleanups.push(() => pool.close().finally(() => process.off('exit', killEncodersOnExit)));

  // Cluster mode: workflow changes live in Redis (every node applies them), not in STATE_PATH.
  const workflowLog = logger.child({ component: 'workflows' });
  const workflows = new WorkflowRegistry({
    store: cluster === null ? new WorkflowStore(config.statePath) : null, logger: workflowLog, rtmp: config.rtmpEnabled, tls: config.tls !== null,
    listeners: { rtmpPort: config.rtmpPort, rtmpsPort: config.rtmpsPort }, shared: cluster?.workflows,
  });
  const configured = defineConfiguredWorkflows(config.configFile);
  for (const w of configured.workflows) for (const warning of w.warnings) workflowLog.warn({ workflow: w.name, file: config.configFile?.path }, warning);
  workflows.load(configured.workflows, configured.reactors);
  if (cluster !== null) await cluster.workflows.loadInto(workflows);
  const reactorClient = new ReactorClient({ ...config.reactors, logger: workflowLog });
  const rtmpPort = { value: 0 };
  const internal = config.rtmpEnabled ? new InternalRtmp('127.0.0.1', () => rtmpPort.value) : null;
  const graceMs = Math.round(config.encoding.stopGraceSeconds * 1000);
  const router = new SessionRouter(workflows, { hlsRoot: config.hlsFilesystemPath, internal, reactors: { client: reactorClient, logger: workflowLog } });
  const coordinator = new Coordinator({
    workflows: router,
    steps: pool,
    verifier: withEncodingLimits(sessionVerifier(client, config.defaults, log, (seconds, accepted) => metrics.keyVerified(seconds, accepted)), config.limits.encoding, log),
    storageAdmission: () => storageAdmission(config.hlsFilesystemPath, config.limits.storageMinFreeBytes),
    events: teeEvents(outbox, ...(activity === null ? [] : [activity]), ...(cluster === null ? [] : [cluster.sessionSink])),
    claims: cluster?.claims,
    policy: { maxRestarts: config.encoding.maxRestarts, restartBaseMs: 1000, stopTimeoutMs: graceMs + 5000 },
    idMaxLength: config.idMaxLength,
    logger: log,
  });
  const liveHlsElsewhere = cluster === null ? null : cluster.liveHls(liveHls);
  const mediaSource: Core['mediaSource'] = { current: null };
  const wsMediaSource: Core['wsMediaSource'] = { current: null };
  const local = packagingEncoder(config, logger, pool, liveHls, { rtmp: mediaSource, ws: wsMediaSource }, ops, cleanups);
  // Cluster mode: every encoding is placed on the cluster's encoder nodes (this one included when it has the role).
  coordinator.addEncoder(cluster === null ? local : cluster.encoder(local));
  cleanups.push(() => coordinator.shutdown(graceMs + 6000));
  if (cluster !== null) cleanups.push(() => cluster.drain()); // first: other nodes' streams move before the pool stops
  Object.assign(ops.parts, { coordinator, outbox });
  // The ingests publish through this: every decision is counted.
  const sink = observePublishes(coordinator, (ingest, d) => metrics.publish(ingest === 'WS' ? 'ws' : 'rtmp', d.accepted ? 'accepted' : d.code));
  const tls = config.tls === null ? null : loadTlsMaterial(config.tls, config.statePath);
  return { outbox, pool, workflows, router, coordinator, internal, tls, rtmpPort, sink, rtmpListeners: () => ({}), ids, cluster, eventObserver, liveHls, liveHlsElsewhere, mediaSource, wsMediaSource };
}

/** Streams this node can package itself (RTMP / WS FLV passthrough, no ffmpeg but for previews) are; every other goes to the pool. */
function packagingEncoder(
  config: Readonly<Config>, logger: Logger, pool: EncoderPool, liveHls: LiveHlsRegistry,
  sources: { rtmp: Core['mediaSource']; ws: Core['wsMediaSource'] }, ops: Ops, cleanups: Cleanups,
): PackagingEncoder {
  const local = new PackagingEncoder({
    pool, encoding: config.encoding, storageRoot: config.hlsFilesystemPath, registry: liveHls, source: () => sources.rtmp.current, wsSource: () => sources.ws.current,
    ffmpegPath: config.ffmpegPath ?? ffmpegPath, onRestart: (reason) => ops.metrics.ffmpegRestart(reason),
    memorySegments: Math.max(config.encoding.hlsLivePlaylistSize, MIN_LL_SEGMENTS), logger: logger.child({ component: 'encoder' }),
  });
  const killPreviewsOnExit = () => local.killAllNow(); // no preview ffmpeg outlives the process
  process.on('exit', killPreviewsOnExit);
  cleanups.push(() => {
    local.killAllNow(); // streams are over by now: a preview ffmpeg still here is a leftover
    process.off('exit', killPreviewsOnExit);
  });
  return local;
}

/** A cluster node's outbox retries Redis, not the application: at most every 2 s, so events move on soon after Redis is back. */
function toClusterQueue(config: Readonly<Config>): Pick<Config, 'eventCallback' | 'statePath'> {
  return { statePath: config.statePath, eventCallback: { ...config.eventCallback, retryMaxMs: Math.min(config.eventCallback.retryMaxMs, 2000) } };
}

/** The HTTP + WS front end on one port: WS ingest (upgrade requests) and the route table. */
async function startHttp(config: Readonly<Config>, logger: Logger, core: Core, cleanups: Cleanups, closing: () => boolean, ops: Ops): Promise<number> {
  const { coordinator, workflows, cluster } = core;
  const app = core.tls === null ? uWS.App() : uWS.SSLApp({ cert_file_name: core.tls.pem.certFile, key_file_name: core.tls.pem.keyFile });
  let httpPort = 0;
  let closeWs = (): void => {};
  if (hasRole(config, 'ingest')) {
    const advertisedHost = config.cluster?.address ?? (isWildcardAddress(config.bindAddress) ? '127.0.0.1' : config.bindAddress);
    const ws = registerWsIngest(app, {
      sink: core.sink,
      onRefused: (code) => ops.metrics.publish('ws', code),
      config,
      logger,
      serverId: core.ids.wsServer,
      advertised: () => ({ host: advertisedHost, port: httpPort, ssl: core.tls !== null }),
      pullToken: pullTokenOf(config),
    });
    coordinator.addIngestServer(core.ids.wsServer, () => ws.info());
    core.wsMediaSource.current = new WsFlvSource(ws);
    ops.parts.ws = ws;
    closeWs = () => ws.close();
  }
  const status = () => (closing() ? 'shutting-down' : cluster?.problem() != null ? 'degraded' : 'ok');
  const routes = [
    ...healthRoutes({ status, streams: () => coordinator.sessionCount() }, uwsBuild),
    ...(hasRole(config, 'api') ? [...commandRoutes(cluster?.commands ?? coordinator), ...workflowRoutes(workflows, coordinator)] : []),
    ...observeHlsServed(hlsRoutes(config, core), { served: (bytes, client) => ops.metrics.hlsServed(bytes, client) }),
    ...operationsRoutes(config, logger, ops, core),
  ];
  mountRoutes(app, routes, { auth: config.commandsAuth, maxBodyBytes: 1024 * 1024, logger: logger.child({ component: 'api' }), closing });
  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen(config.bindAddress, config.httpPort, (socket) =>
      socket ? resolve(socket) : reject(new Error(`cannot listen on ${config.bindAddress}:${config.httpPort} (HTTP_PORT): address in use or not available`)),
    );
  });
  httpPort = uWS.us_socket_local_port(listenSocket);
  cleanups.push(() => uWS.us_listen_socket_close(listenSocket));
  cleanups.push(closeWs); // closed before the listen socket: open sockets would keep the process alive
  return httpPort;
}

/** HLS and previews from disk; streams castline packages itself as LL-HLS from memory first. */
function hlsRoutes(config: Readonly<Config>, core: Core): Route[] {
  const files = fileRoutes(config.hlsFilesystemPath);
  return [...llHlsRoutes(core.liveHls, files.find((r) => r.pattern === '/hls/*')!, core.liveHlsElsewhere), ...files];
}

/** RTMP ingest and the workflows' pulled sources (which publish into it). Returns the port. */
async function startRtmp(config: Readonly<Config>, logger: Logger, core: Core, cleanups: Cleanups, ops: Ops): Promise<number> {
  const { coordinator, internal } = core;
  const rtmp = new RtmpIngest({
    sink: core.sink, config, logger, serverId: core.ids.rtmpServer, advertisedIp: config.cluster?.address, pullToken: pullTokenOf(config), internal: { token: internal!.token, internalApp: INTERNAL_APP },
    onRefused: (code) => ops.metrics.publish('rtmp', code),
    mediaTapBytes: config.encoding.segmentFormat === 'fmp4' ? config.ingest.gopCacheBytes : 0,
    tls: core.tls?.context ?? null,
    paths: new WorkflowWatchPaths(core.workflows, core.router),
    limits: { maxPerIp: config.ingest.maxIpConcurrentConnections, whitelist: config.ingest.concurrentLimitWhitelist, maxPending: config.limits.rtmpPendingHandshakes },
  });
  ops.parts.rtmp = rtmp;
  core.mediaSource.current = rtmp;
  await rtmp.start();
  cleanups.push(() => rtmp.close());
  // The workflows' `port=` / `rtmps` listeners: started now, then as steps come and go.
  await rtmp.setListeners(core.workflows.rtmpListeners());
  core.workflows.on('changed', () => void rtmp.setListeners(core.workflows.rtmpListeners()));
  core.rtmpListeners = () => rtmp.listenerPorts();
  core.rtmpPort.value = rtmp.port;
  coordinator.addIngestServer(core.ids.rtmpServer, () => rtmp.serverInfo());
  const pulls = new PullSources({ registry: core.workflows, sink: coordinator, steps: core.pool, internal: internal!, serverId: core.ids.rtmpServer, logger: logger.child({ component: 'workflows' }) });
  pulls.start();
  cleanups.push(() => pulls.close());
  return rtmp.port;
}

/** Ends the playlists of a stream that was live when the process died (before its server-restart close is sent). */
function endCrashedStreamHook(storage: FileStorage, logger: Logger): (channel: string, streamId: string) => Promise<void> {
  return async (channel, streamId) => {
    const rewritten = await endCrashedStream(storage, { channel, streamId });
    if (rewritten.length > 0) logger.info({ ch: channel, streamId, playlists: rewritten }, 'playlists of a stream cut by a crash ended');
  };
}

/** One line per listener, and the warnings an operator should see at start-up. */
function announce(config: Readonly<Config>, logger: Logger, httpPort: number, rtmpPort: number, tls: boolean): void {
  const shown = isWildcardAddress(config.bindAddress) ? '127.0.0.1' : config.bindAddress;
  logger.info({ url: `${tls ? 'https' : 'http'}://${shown}:${httpPort}`, ws: `${tls ? 'wss' : 'ws'}://${shown}:${httpPort}`, ssl: tls, bind: config.bindAddress, uws: uwsBuild }, `${tls ? 'HTTPS' : 'HTTP'} listening (commands API, WS${tls ? 'S' : ''} ingest, HLS files)`);
  if (rtmpPort > 0) logger.info({ url: `rtmp://${shown}:${rtmpPort}/{channel}/{key}`, bind: config.bindAddress }, 'RTMP listening');
  if (config.commandsAuth.method === 'none' && !isLoopbackAddress(config.bindAddress)) {
    logger.warn({ bind: config.bindAddress }, 'COMMANDS_API_AUTH is not set and the HTTP port is not bound to loopback: anyone who can reach it can close streams');
  }
  if (config.keyVerification.url === '') logger.warn('KEY_VERIFICATION_URL is not set: every stream key is accepted');
}

/** Builds and starts every piece. Rejects (after undoing what started) if something cannot come up. */
export async function startCastline(config: Readonly<Config>, logger: Logger): Promise<Castline> {
  ensureBinaries();
  if (!uwsIsNative) throw new Error(`uWebSockets.js: ${uwsBuild}; castline needs the native build (Node 20 on linux-x64)`);
  fs.mkdirSync(config.hlsFilesystemPath, { recursive: true });
  fs.mkdirSync(config.statePath, { recursive: true });
  const cleanups = new Cleanups();
  let closing = false;
  let started = false;
  const ops = createOps(config, () => (closing ? 'shutting down' : started ? null : 'starting'));
  try {
    const cluster = config.cluster === null ? null : await Cluster.connect(config.cluster, config.statePath, logger);
    if (cluster !== null) {
      cleanups.push(() => cluster.close()); // closed last: sessions free their channels first
      ops.parts.cluster = cluster;
    }
    const core = await startCore(config, logger, cleanups, ops, cluster);
    const httpPort = await startHttp(config, logger, core, cleanups, () => closing, ops);
    const rtmpPort = config.rtmpEnabled && hasRole(config, 'ingest') ? await startRtmp(config, logger, core, cleanups, ops) : 0;
    if (cluster !== null) await cluster.start(core.coordinator, { httpPort, rtmpPort, tls: core.tls !== null }, { config, options: { observer: core.eventObserver } }, core.workflows);
    announce(config, logger, httpPort, rtmpPort, core.tls !== null);
    started = true;
    let closed: Promise<void> | null = null;
    const close = () =>
      (closed ??= (async () => {
        closing = true;
        await cleanups.run();
      })());
    return { config, coordinator: core.coordinator, metrics: ops.metrics, httpPort, rtmpPort, rtmpListeners: () => core.rtmpListeners(), tls: core.tls !== null, close };
  } catch (err) {
    await cleanups.run();
    throw err;
  }
}

function exitOnConfigError(err: unknown): void {
  if (!(err instanceof ConfigError)) return;
  process.stderr.write(`castline: invalid configuration:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
  process.exit(2);
}

/**
 * V8's old generation may grow to 4 × what survived the last full GC before the next one
 * (`--heap-growing-percent=300`; V8 picks between 1.1 × and 4 × by its own measure). castline's
 * heap stays small (~20 MB with 20 passthrough streams) while media flows through it fast: V8 then
 * kept the limit ~1.5 × above it and ran ~3 full mark-compacts a second, about 40 % of castline's
 * CPU (bench/RESULTS.md, "Passthrough CPU"). Set at start, not on the command line, so
 * `node dist/main.js` runs as measured; a value given on the command line is left alone.
 */
export function spaceOutFullGcs(): void {
  if (process.execArgv.some((a) => /^--heap[-_]growing[-_]percent/.test(a))) return;
  v8.setFlagsFromString('--heap-growing-percent=300');
}

/** `node dist/main.js`: start with the environment's config; stop gracefully on SIGINT/SIGTERM. */
export async function main(): Promise<void> {
  spaceOutFullGcs();
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (err) {
    exitOnConfigError(err);
    throw err;
  }
  const logs = createProcessLogger(config.logLevel, config.logPath);
  const logger = logs.logger;
  const exit = (code: number): never => {
    logs.flush();
    return process.exit(code);
  };
  process.on('SIGHUP', () => logs.reopen()); // logrotate moved LOG_PATH/castline.log
  // Signals are handled from the first moment: one that arrives during start-up stops castline as
  // soon as it is up (undoing what started), never with the default abrupt exit.
  let castline: Castline | null = null;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    if (castline === null) return; // start-up finishes first, then stops (below)
    castline.close().then(
      () => {
        logger.info('stopped');
        exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  try {
    castline = await startCastline(config, logger);
  } catch (err) {
    exitOnConfigError(err);
    logger.fatal({ err: { message: (err as Error).message } }, 'castline could not start');
    process.stderr.write(`castline: could not start: ${(err as Error).message}\n`);
    exit(1);
  }
  if (stopping) {
    stopping = false;
    stop('signal during start-up');
  }
}

if (require.main === module) void main();
