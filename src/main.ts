/**
 * Composition root: read config, build the pieces, wire them, start, stop. Only this file touches
 * signals, the environment and process.exit.
 */
import * as fs from 'node:fs';
import { commandRoutes } from './api/commands';
import { fileRoutes } from './api/files';
import { healthRoutes } from './api/health';
import { workflowRoutes } from './api/workflows';
import { mountRoutes } from './api/http';
import { uWS, uwsBuild, uwsIsNative } from './api/uws';
import { ensureBinaries } from './binaries';
import { KeyVerifier } from './callbacks/key-verification';
import { Outbox } from './callbacks/outbox';
import { parseStreamSettings, validateSettingsDefaults } from './callbacks/stream-settings';
import { ConfigError, loadConfig, type Config } from './config/config';
import { Coordinator } from './coordinator/coordinator';
import { withEncodingLimits } from './coordinator/limited-verifier';
import { endCrashedStream } from './encoding/crashed-outputs';
import { EncoderPool } from './encoding/pool';
import { RtmpIngest } from './ingest/rtmp/rtmp-ingest';
import { registerWsIngest } from './ingest/ws/ws-ingest';
import { createLogger, type Logger } from './logger';
import { FileStorage } from './storage/filesystem';
import { storageAdmission } from './storage/storage-errors';
import { INTERNAL_APP, InternalRtmp } from './workflows/internal-rtmp';
import { defineWorkflow } from './workflows/definition';
import { PullSources } from './workflows/pull-sources';
import { WorkflowRegistry } from './workflows/registry';
import { WorkflowError } from './workflows/steps';
import type { WorkflowDefinition } from './workflows/workflow.types';
import { WorkflowStore } from './workflows/store';

/** Ids of the local servers as listed in `GET /commands/report`. */
export const LOCAL_IDS = { wsServer: 1, rtmpServer: 2, encoder: 1 } as const;

export interface Castline {
  readonly config: Readonly<Config>;
  readonly coordinator: Coordinator;
  /** The HTTP/WS port actually listened on (HTTP_PORT=0 picks one). */
  readonly httpPort: number;
  /** The RTMP port actually listened on; 0 when RTMP is disabled. */
  readonly rtmpPort: number;
  /** Graceful stop: listeners closed, streams closed with their events queued, encoders stopped. Idempotent. */
  close(): Promise<void>;
}

/** Builds and starts every piece. Rejects (after undoing what started) if something cannot come up. */
export async function startCastline(config: Readonly<Config>, logger: Logger): Promise<Castline> {
  const problems = validateSettingsDefaults(config.defaults);
  if (problems.length > 0) throw new ConfigError(problems);
  ensureBinaries();
  if (!uwsIsNative) throw new Error(`uWebSockets.js: ${uwsBuild}; castline needs the native build (Node 20 on linux-x64)`);
  fs.mkdirSync(config.hlsFilesystemPath, { recursive: true });
  fs.mkdirSync(config.statePath, { recursive: true });

  const cleanups: Array<() => Promise<void> | void> = [];
  const undo = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  let closing = false;
  try {
    const storage = new FileStorage(config.hlsFilesystemPath);
    const outbox = new Outbox({ config, logger, beforeRestartClose: endCrashedStreamHook(storage, logger) });
    await outbox.open();
    cleanups.push(async () => {
      // Give the application a moment to take the last stream-closed events; whatever is still
      // pending stays stored and is delivered after the next start.
      await Promise.race([outbox.idle(), new Promise((r) => setTimeout(r, 3000).unref())]);
      await outbox.close();
    });
    const verifier = new KeyVerifier({ config, logger, maxAnswerBytes: config.limits.keyVerificationAnswerBytes });
    cleanups.push(() => verifier.close());
    const log = logger.child({ component: 'coordinator' });
    // Encoders stop after the coordinator (pushed first, so closed last): every job is stopped and
    // awaited, with a SIGKILL fallback, before the thread pool is destroyed.
    const pool = new EncoderPool({ id: LOCAL_IDS.encoder, storageRoot: config.hlsFilesystemPath, encoding: config.encoding, logger: logger.child({ component: 'encoder' }) });
    cleanups.push(() => pool.close());

    const workflows = new WorkflowRegistry({ store: new WorkflowStore(config.statePath), logger: logger.child({ component: 'workflows' }), rtmp: config.rtmpEnabled });
    workflows.load(configuredWorkflows(config));
    let rtmpPort = 0;
    const internal = config.rtmpEnabled ? new InternalRtmp('127.0.0.1', () => rtmpPort) : null;

    const coordinator = new Coordinator({
      workflows,
      steps: pool,
      planContext: { hlsRoot: config.hlsFilesystemPath, internal },
      verifier: withEncodingLimits({
        verify: async (request, plan, signal) => {
          const defaults = {
            resolutions: plan.ladder?.resolutions ?? config.defaults.resolutions,
            record: plan.ladder?.record ?? config.defaults.record,
            previews: plan.ladder?.previews ?? config.defaults.previews,
          };
          if (plan.verify === null) return { accepted: true, ...parseStreamSettings({}, defaults) };
          const result = await verifier.verifyKey(request, signal, { url: plan.verify.url, timeoutMs: plan.verify.timeoutMs, defaults });
          if (result.accepted && result.warnings.length > 0) log.warn({ ch: request.channel, warnings: result.warnings }, 'key verification headers partly ignored');
          if (!result.accepted) log.info({ ch: request.channel, reason: result.reason }, 'key refused');
          return result;
        },
      }, config.limits.encoding, log),
      events: outbox,
      storageAdmission: () => storageAdmission(config.hlsFilesystemPath, config.limits.storageMinFreeBytes),
      policy: {
        maxRestarts: config.encoding.maxRestarts,
        restartBaseMs: 1000,
        stopTimeoutMs: Math.round(config.encoding.stopGraceSeconds * 1000) + 5000,
      },
      idMaxLength: config.idMaxLength,
      logger: log,
    });
    coordinator.addEncoder(pool);
    cleanups.push(() => coordinator.shutdown(Math.round(config.encoding.stopGraceSeconds * 1000) + 6000));

    // HTTP + WS front end: WS ingest (upgrade requests) and the route table on one port.
    const app = uWS.App();
    let httpPort = 0;
    const advertisedHost = isWildcard(config.bindAddress) ? '127.0.0.1' : config.bindAddress;
    const ws = registerWsIngest(app, {
      coordinator,
      config,
      logger,
      serverId: LOCAL_IDS.wsServer,
      advertised: () => ({ host: advertisedHost, port: httpPort, ssl: false }),
    });
    coordinator.addIngestServer(LOCAL_IDS.wsServer, () => ws.info());
    mountRoutes(
      app,
      [
        ...healthRoutes({ status: () => (closing ? 'shutting-down' : 'ok'), streams: () => coordinator.sessionCount() }, uwsBuild),
        ...commandRoutes(coordinator),
        ...workflowRoutes(workflows, coordinator),
        ...fileRoutes(config.hlsFilesystemPath),
      ],
      { auth: config.commandsAuth, maxBodyBytes: 1024 * 1024, logger: logger.child({ component: 'api' }), closing: () => closing },
    );
    const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
      app.listen(config.bindAddress, config.httpPort, (socket) =>
        socket ? resolve(socket) : reject(new Error(`cannot listen on ${config.bindAddress}:${config.httpPort} (HTTP_PORT): address in use or not available`)),
      );
    });
    httpPort = uWS.us_socket_local_port(listenSocket);
    cleanups.push(() => uWS.us_listen_socket_close(listenSocket));
    cleanups.push(() => ws.close()); // closed before the listen socket: open sockets would keep the process alive

    // RTMP ingest.
    if (config.rtmpEnabled) {
      const limits = { maxPerIp: config.ingest.maxIpConcurrentConnections, whitelist: config.ingest.concurrentLimitWhitelist, maxPending: config.limits.rtmpPendingHandshakes };
      const rtmp = new RtmpIngest({ coordinator, config, logger, serverId: LOCAL_IDS.rtmpServer, internal: { token: internal!.token, internalApp: INTERNAL_APP }, limits });
      await rtmp.start();
      cleanups.push(() => rtmp.close());
      rtmpPort = rtmp.port;
      coordinator.addIngestServer(LOCAL_IDS.rtmpServer, () => rtmp.serverInfo());
      const pulls = new PullSources({ registry: workflows, coordinator, steps: pool, internal: internal!, serverId: LOCAL_IDS.rtmpServer, logger: logger.child({ component: 'workflows' }) });
      pulls.start();
      cleanups.push(() => pulls.close());
    }

    const shown = advertisedHost;
    logger.info({ url: `http://${shown}:${httpPort}`, bind: config.bindAddress, uws: uwsBuild }, 'HTTP listening (commands API, WS ingest, HLS files)');
    if (rtmpPort > 0) logger.info({ url: `rtmp://${shown}:${rtmpPort}/{channel}/{key}`, bind: config.bindAddress }, 'RTMP listening');
    if (config.commandsAuth.method === 'none' && !isLoopback(config.bindAddress)) {
      logger.warn({ bind: config.bindAddress }, 'COMMANDS_API_AUTH is not set and the HTTP port is not bound to loopback: anyone who can reach it can close streams');
    }
    if (config.keyVerification.url === '') logger.warn('KEY_VERIFICATION_URL is not set: every stream key is accepted');

    let closed: Promise<void> | null = null;
    return {
      config,
      coordinator,
      httpPort,
      rtmpPort,
      close: () =>
        (closed ??= (async () => {
          closing = true;
          await undo();
        })()),
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

/** Ends the playlists of a stream that was live when the process died (before its server-restart close is sent). */
function endCrashedStreamHook(storage: FileStorage, logger: Logger): (channel: string, streamId: string) => Promise<void> {
  return async (channel, streamId) => {
    const rewritten = await endCrashedStream(storage, { channel, streamId });
    if (rewritten.length > 0) logger.info({ ch: channel, streamId, playlists: rewritten }, 'playlists of a stream cut by a crash ended');
  };
}

/** The config file's workflows, validated; a bad one stops start-up naming the file, line and column. */
function configuredWorkflows(config: Readonly<Config>): WorkflowDefinition[] {
  const file = config.configFile;
  if (file === null) return [];
  const out: WorkflowDefinition[] = [];
  const problems: string[] = [];
  for (const node of file.workflows) {
    try {
      out.push(defineWorkflow(node));
    } catch (err) {
      if (!(err instanceof WorkflowError)) throw err;
      problems.push(`${file.path}: ${err.message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || address.startsWith('127.');
}

/** `node dist/main.js`: start with the environment's config; stop gracefully on SIGINT/SIGTERM. */
export async function main(): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`castline: invalid configuration:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  // Signals are handled from the first moment: one that arrives during start-up stops castline as
  // soon as it is up (undoing what started), never with the default abrupt exit.
  let castline: Castline | null = null;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    if (castline === null) return; // start-up finishes first, then stops (below)
    castline.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  try {
    castline = await startCastline(config, logger);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`castline: invalid configuration:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
      process.exit(2);
    }
    logger.fatal({ err: { message: (err as Error).message } }, 'castline could not start');
    process.stderr.write(`castline: could not start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (stopping) {
    stopping = false;
    stop('signal during start-up');
  }
}

if (require.main === module) void main();
