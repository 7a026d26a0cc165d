/**
 * The one typed, validated, frozen Config, built from defaults, then a `.env` file (if present),
 * then the process environment (which wins). Variable names are the spec's, exactly.
 *
 * Called by main.ts once at start-up; everything else receives the Config (or a slice of it).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { parse as parseDotenv } from 'dotenv';
import { SEGMENT_FORMATS, type SegmentFormat } from '../domain/media';
import type { EncodingLimits } from '../domain/settings';
import { LOG_FILE_NAME, LOG_LEVELS, type LogLevel } from '../logging/logger';
import { ConfigSyntaxError, parseConfigText, type ReactorNode, type WorkflowNode } from './config-format';
import { validateSettingsDefaults } from './stream-settings';
import { boolean, ConfigValueError, decimal, httpUrl, integer, oneOf, port, text, type Parser } from './variables';

/** How castline authenticates itself to the application (key verification, event callbacks). */
export type OutgoingAuth =
  | { method: 'none' }
  | { method: 'Basic'; user: string; password: string }
  | { method: 'Bearer'; token: string }
  | { method: 'Custom'; value: string };

/** How the commands API authenticates its callers. */
export type IncomingAuth =
  | { method: 'none' }
  | { method: 'Basic'; user: string; password: string }
  | { method: 'Bearer'; token: string };

export interface Config {
  /** The config file read (CASTLINE_CONFIG, or ./castline.config when it exists), its workflows and reactors; null = none. */
  configFile: { path: string; workflows: WorkflowNode[]; reactors: ReactorNode[] } | null;
  /** The ffmpeg castline runs (FFMPEG_PATH / mmids' `ffmpeg_path`); null = the bundled one. */
  ffmpegPath: string | null;
  /**
   * The certificate of RTMPS and HTTPS/WSS: a PKCS#12 file with its password (mmids'
   * `tls_cert_path` + `tls_cert_password`) or PEM certificate + key files; null = no TLS.
   */
  tls: TlsFiles | null;
  /** Port of an `rtmps` step without `port=` (mmids: 443). 0 = any free port. */
  rtmpsPort: number;
  reactors: {
    /** Milliseconds one reactor request may take. Default 10 s. */
    timeoutMs: number;
    /** Pause between two attempts of a failed reactor request (3 attempts in all). Default 5 s. */
    retryDelayMs: number;
  };
  /** HTTP + WebSocket port (API, WS ingest, files). 0 = any free port. Default 8080. */
  httpPort: number;
  /** Address every listener binds to. Default 0.0.0.0. */
  bindAddress: string;
  /** RTMP ingest port. 0 = any free port. Default 1935. */
  rtmpPort: number;
  /** Serve RTMP ingest at all. Default true. */
  rtmpEnabled: boolean;
  /** Root folder of the HLS / preview output (absolute). Default ./data. */
  hlsFilesystemPath: string;
  /** Folder of castline's own durable state: event outbox, workflows (absolute). Default ./state. */
  statePath: string;
  /** Longest channel or key accepted, in characters. Default 128. */
  idMaxLength: number;
  logLevel: LogLevel;
  /** LOG_PATH (mmids' `log_path`): a folder where castline also appends its log lines to `castline.log`; null = stdout only. */
  logPath: string | null;

  keyVerification: {
    /** Empty string: every key is accepted with the defaults below. */
    url: string;
    auth: OutgoingAuth;
    /** Milliseconds before an unanswered verification refuses the key. Default 10 s. */
    timeoutMs: number;
  };
  /** Raw header values used when no KEY_VERIFICATION_URL is set (or the app sends none). */
  defaults: { resolutions: string; record: boolean; previews: string };

  eventCallback: {
    /** Empty string: no events are sent. */
    url: string;
    auth: OutgoingAuth;
    /** Per-attempt timeout in ms. Default 10 s. */
    timeoutMs: number;
    /** Longest pause between two attempts of one event, in ms. Default 60 s. */
    retryMaxMs: number;
    /** First pause after a failed attempt, in ms (doubles each time, with jitter). Default 500 ms. */
    retryBaseMs: number;
  };

  commandsAuth: IncomingAuth;

  ops: {
    /** Bearer token required on GET /metrics; empty: the commands API credentials apply. */
    metricsAuthToken: string;
    /** Serve the /studio/ page and its API. Default true. */
    studioEnabled: boolean;
  };

  ingest: {
    /** Publish + receive + probe connections allowed from one IP at once (loopback is exempt). */
    maxIpConcurrentConnections: number;
    /** Raw list of IPs and CIDRs exempt from the per-IP limit (`*` = everyone). */
    concurrentLimitWhitelist: string;
    /** Bytes of media held per WS stream for late receivers (the header is never evicted). */
    gopCacheBytes: number;
    /** Largest WS message accepted, in bytes. */
    wsMaxMessageBytes: number;
    /** Seconds between `h` heartbeats sent to WS peers. Default 20. */
    wsHeartbeatSeconds: number;
    /** Seconds of silence after which a WS peer is closed. Default 60. */
    wsIdleTimeoutSeconds: number;
  };

  /** Cluster mode (REDIS_URL set); null = one node running everything, no Redis. */
  cluster: ClusterConfig | null;

  encoding: {
    /** Streams this node encodes at once; -1 = unlimited. */
    capacity: number;
    hlsTimeSeconds: number;
    hlsLivePlaylistSize: number;
    hlsVodMaxSize: number;
    h264Preset: string;
    videoCodec: string;
    audioCodec: string;
    pixelFormat: string;
    /** ORIGINAL rendition: copy H.264/AAC through, or always re-encode. */
    originalMode: 'copy' | 'encode';
    /** `fmp4`: CMAF segments packaged by castline, Low-Latency HLS from memory; `mpegts`: classic `.ts` from ffmpeg. */
    segmentFormat: SegmentFormat;
    /** LL-HLS part duration, seconds (fmp4). */
    partSeconds: number;
    /** Seconds ffmpeg gets to flush after the publisher ended or a close command. */
    stopGraceSeconds: number;
    /** Seconds without input after which a stream is ended. */
    stallTimeoutSeconds: number;
    /** ffmpeg restarts allowed per stream while the publisher is live. */
    maxRestarts: number;
  };

  /** Bounds against hostile or mistaken input (issue 13); each is a documented variable. */
  limits: {
    /** Ladder and previews: MAX_RENDITIONS, RENDITION_MIN/MAX_DIMENSION, RENDITION_MIN/MAX_FPS, PREVIEW_MIN_INTERVAL_SECONDS. */
    encoding: EncodingLimits;
    /** Largest key-verification answer (headers + body) accepted, in bytes; larger refuses the key. */
    keyVerificationAnswerBytes: number;
    /** RTMP connections that have not yet asked to publish or play, across all addresses. */
    rtmpPendingHandshakes: number;
    /** Free space the output root needs for a new publish to be accepted, in bytes. */
    storageMinFreeBytes: number;
  };
}

export type TlsFiles = { kind: 'pfx'; path: string; password: string } | { kind: 'pem'; certPath: string; keyPath: string };

export const NODE_ROLES = ['ingest', 'encoder', 'api'] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

/** How this node takes part in a cluster (src/cluster/). */
export interface ClusterConfig {
  /** `redis://[user:password@]host:port/db` (or `rediss://`). */
  redisUrl: string;
  /** What this node does: `ingest` (RTMP + WS publish), `encoder` (encodes streams), `api` (commands, workflows). */
  roles: readonly NodeRole[];
  /** NODE_ID; empty = generated once and kept in STATE_PATH/node-id. */
  nodeId: string;
  /** The host other nodes and the report use to reach this node. */
  address: string;
  /** Milliseconds a node's registration (and its channel claims) live without a heartbeat. */
  nodeTtlMs: number;
  /** CLUSTER_SECRET: what nodes show to pull streams from each other (an HMAC key; at least 16 characters). */
  secret: string;
}

interface Variable {
  name: string;
  default: string;
  doc: string;
  parse: Parser<unknown>;
}

const v = (name: string, def: string, parse: Parser<unknown>, doc: string): Variable => ({ name, default: def, parse, doc });
const authMethod = oneOf('Basic', 'Bearer', 'Custom');
const defaultCapacity = String(Math.max(2, os.cpus().length * 2));

/** Every variable castline reads, with its default and meaning. The README table is this list. */
export const VARIABLES: readonly Variable[] = [
  v('HTTP_PORT', '8080', port, 'HTTP port: commands API, WS ingest, workflows API, HLS files. 0 = any free port.'),
  v('BIND_ADDRESS', '0.0.0.0', text, 'Address the HTTP and RTMP listeners bind to.'),
  v('RTMP_PORT', '1935', port, 'RTMP ingest port. 0 = any free port.'),
  v('RTMP_ENABLED', 'true', boolean, 'Serve RTMP ingest.'),
  v('HLS_FILESYSTEM_PATH', './data', text, 'Root folder of the HLS and preview output.'),
  v('STATE_PATH', './state', text, 'Folder of castline\'s durable state (event outbox, workflows).'),
  v('ID_MAX_LENGTH', '128', integer(1, 1024), 'Longest channel or stream key, in characters.'),
  v('LOG_LEVEL', 'info', oneOf(...LOG_LEVELS), 'Structured JSON log level.'),
  v('LOG_PATH', '', text, 'Folder where castline also appends its log lines to `castline.log` (mmids: `log_path`; created if missing; SIGHUP reopens the file after rotation). Empty: stdout only.'),
  v('KEY_VERIFICATION_URL', '', httpOrEmpty, 'Application URL that approves stream keys. Empty: every key is accepted.'),
  v('KEY_VERIFICATION_AUTH', '', authOrEmpty, 'Basic, Bearer or Custom: the Authorization header sent with key verification.'),
  v('KEY_VERIFICATION_AUTH_USER', '', text, 'User for Basic key-verification auth.'),
  v('KEY_VERIFICATION_PASSWORD', '', text, 'Password for Basic key-verification auth.'),
  v('KEY_VERIFICATION_AUTH_TOKEN', '', text, 'Token for Bearer key-verification auth.'),
  v('KEY_VERIFICATION_AUTH_CUSTOM', '', text, 'Whole Authorization header value for Custom key-verification auth.'),
  v('KEY_VERIFICATION_TIMEOUT', '10', decimal(0.1, 300), 'Seconds to wait for the key verification answer; no answer refuses the key.'),
  v('DEFAULT_RESOLUTIONS', 'ORIGINAL', text, 'x-resolutions used when the application sends none (or no URL is set).'),
  v('DEFAULT_RECORD', 'false', boolean, 'x-record used when the application sends none.'),
  v('DEFAULT_PREVIEWS', 'False', text, 'x-previews used when the application sends none (`WxH, SECONDS` or False).'),
  v('EVENT_CALLBACK_URL', '', httpOrEmpty, 'Application URL that receives stream-available / stream-closed events. Empty: no events.'),
  v('EVENT_CALLBACK_AUTH', '', authOrEmpty, 'Basic, Bearer or Custom: the Authorization header sent with events.'),
  v('EVENT_CALLBACK_AUTH_USER', '', text, 'User for Basic event auth.'),
  v('EVENT_CALLBACK_PASSWORD', '', text, 'Password for Basic event auth.'),
  v('EVENT_CALLBACK_AUTH_TOKEN', '', text, 'Token for Bearer event auth.'),
  v('EVENT_CALLBACK_AUTH_CUSTOM', '', text, 'Whole Authorization header value for Custom event auth.'),
  v('EVENT_CALLBACK_TIMEOUT', '10', decimal(0.1, 300), 'Seconds one event delivery attempt may take.'),
  v('EVENT_CALLBACK_RETRY_MAX', '60', decimal(0.1, 3600), 'Longest pause between two delivery attempts of one event, in seconds.'),
  v('EVENT_CALLBACK_RETRY_BASE', '0.5', decimal(0.01, 60), 'First pause after a failed delivery, in seconds; doubles per attempt, with jitter.'),
  v('COMMANDS_API_AUTH', '', incomingAuthOrEmpty, 'Basic or Bearer: required on /commands/* and workflow changes. Empty: no auth.'),
  v('COMMANDS_API_AUTH_USER', '', text, 'User for Basic commands auth.'),
  v('COMMANDS_API_AUTH_PASSWORD', '', text, 'Password for Basic commands auth.'),
  v('COMMANDS_API_AUTH_TOKEN', '', text, 'Token for Bearer commands auth.'),
  v('METRICS_AUTH_TOKEN', '', text, 'Bearer token required on GET /metrics. Empty: /metrics takes the commands API credentials (open without COMMANDS_API_AUTH).'),
  v('STUDIO_ENABLED', 'true', boolean, 'Serve the /studio/ page (publish, watch, streams, events) and its API.'),
  v('MAX_IP_CONCURRENT_CONNECTIONS', '4', integer(1, 1_000_000), 'WS connections (publish + receive + probe) allowed from one IP at once, and RTMP connections (counted separately). Loopback is exempt.'),
  v('CONCURRENT_LIMIT_WHITELIST', '', text, 'Comma-separated IPs and CIDRs exempt from the per-IP limit; `*` exempts everyone.'),
  v('GOP_CACHE_SIZE_MB', '16', decimal(0.1, 4096), 'Media held per WS stream for late receivers, in MiB (the container header is always kept).'),
  v('WS_MAX_MESSAGE_SIZE_MB', '8', decimal(0.01, 1024), 'Largest WS message accepted, in MiB; a larger one closes the connection with ERROR:.'),
  v('WS_HEARTBEAT_SECONDS', '20', decimal(0.1, 3600), 'Seconds between `h` heartbeats sent to WS peers.'),
  v('WS_IDLE_TIMEOUT_SECONDS', '60', decimal(0.5, 3600), 'Seconds of silence after which a WS peer is closed.'),
  v('ENCODER_CAPACITY', defaultCapacity, integer(-1, 1_000_000), 'Streams this node encodes at once; -1 = unlimited. Default: 2 per CPU core.'),
  v('HLS_TIME_SECONDS', '2', integer(1, 60), 'Target HLS segment length in seconds.'),
  v('HLS_LIVE_PLAYLIST_SIZE', '6', integer(1, 1000), 'Segments listed in live.m3u8.'),
  v('HLS_VOD_MAX_SIZE', '86400', integer(1, 10_000_000), 'Segments per recording playlist part (vod-K.m3u8).'),
  v('HLS_H264_PRESET', 'veryfast', text, 'x264 preset.'),
  v('HLS_VIDEO_CODEC', 'libx264', text, 'ffmpeg video encoder.'),
  v('HLS_AUDIO_CODEC', 'aac', text, 'ffmpeg audio encoder.'),
  v('HLS_PIXEL_FORMAT', 'yuv420p', text, 'Output pixel format.'),
  v('HLS_ORIGINAL_MODE', 'copy', oneOf('copy', 'encode'), 'ORIGINAL rendition: copy H.264/AAC through untouched, or always re-encode.'),
  v('HLS_SEGMENT_FORMAT', 'fmp4', oneOf(...SEGMENT_FORMATS), '`fmp4`: CMAF segments (`init.mp4` + `{n}.m4s`) packaged by castline and served as Low-Latency HLS from memory (passthrough streams without ffmpeg: RTMP or WS FLV, ORIGINAL only; encoded rungs from the FLV pipes of ffmpeg); `mpegts`: classic `{n}.ts` from ffmpeg for every stream.'),
  v('HLS_PART_SECONDS', '0.333', decimal(0.1, 10), 'Low-Latency HLS part duration in seconds (fmp4): one CMAF fragment per part.'),
  v('ENCODE_STOP_GRACE_SECONDS', '10', decimal(0, 600), 'Seconds ffmpeg gets to flush its last segment after the stream ends.'),
  v('ENCODER_STALL_TIMEOUT_SECONDS', '30', decimal(1, 3600), 'Seconds without input after which a stream is ended.'),
  v('ENCODER_MAX_RESTARTS', '3', integer(0, 100), 'ffmpeg restarts allowed per stream while its publisher is live.'),
  v('MAX_RENDITIONS', '8', integer(1, 64), 'Renditions per stream (ORIGINAL counts as one); extra rungs are dropped with a warning naming them.'),
  v('RENDITION_MIN_DIMENSION', '16', integer(2, 16384), 'Smallest width or height of a rung or preview, in pixels; smaller rungs are dropped, smaller previews disabled.'),
  v('RENDITION_MAX_DIMENSION', '4096', integer(2, 16384), 'Largest width or height of a rung or preview, in pixels; larger rungs are dropped, larger previews disabled.'),
  v('RENDITION_MIN_FPS', '1', integer(1, 1000), 'Lowest frame rate a rung may ask for; lower is raised to it.'),
  v('RENDITION_MAX_FPS', '60', integer(1, 1000), 'Highest frame rate a rung may ask for; higher is lowered to it.'),
  v('PREVIEW_MIN_INTERVAL_SECONDS', '1', decimal(0.5, 86400), 'Shortest preview interval in seconds (at least 0.5); shorter disables the previews with a warning.'),
  v('KEY_VERIFICATION_MAX_ANSWER_BYTES', '8192', integer(1024, 1048576), 'Largest key-verification answer (headers + body) in bytes; a larger one refuses the key.'),
  v('RTMP_MAX_PENDING_HANDSHAKES', '64', integer(1, 1_000_000), 'RTMP connections (all addresses) that have not yet asked to publish or play; more are closed at once.'),
  v('STORAGE_MIN_FREE_MB', '64', decimal(0, 16_777_216), 'Free space HLS_FILESYSTEM_PATH needs, in MiB, for a new publish to be accepted (refused with STORAGE_FULL below it).'),
  v('FFMPEG_PATH', '', text, 'ffmpeg binary castline runs (mmids: `ffmpeg_path`); checked at start-up. Empty: the bundled ffmpeg 4.1.'),
  v('TLS_CERT_PATH', '', text, 'PKCS#12 (.pfx/.p12) certificate for RTMPS and HTTPS/WSS (mmids: `tls_cert_path`). Relative paths in the config file are relative to it.'),
  v('TLS_CERT_PASSWORD', '', text, 'Password of TLS_CERT_PATH (mmids: `tls_cert_password`).'),
  v('TLS_CERT_FILE', '', text, 'PEM certificate (chain) for RTMPS and HTTPS/WSS, with TLS_KEY_FILE; an alternative to TLS_CERT_PATH.'),
  v('TLS_KEY_FILE', '', text, 'PEM private key of TLS_CERT_FILE.'),
  v('RTMPS_PORT', '443', port, 'Port of an `rtmps` workflow step without `port=` (mmids: 443). 0 = any free port.'),
  v('REACTOR_TIMEOUT_SECONDS', '10', decimal(0.1, 300), 'Seconds one reactor request may take before it counts as failed.'),
  v('REACTOR_RETRY_DELAY_SECONDS', '5', decimal(0, 300), 'Seconds between the 3 attempts of a failed reactor request (mmids: 5).'),
  v('REDIS_URL', '', redisUrlOrEmpty, 'Cluster mode: the Redis every node shares (`redis://host:6379/0`). Empty: one node, no Redis.'),
  v('NODE_ROLES', 'ingest,encoder,api', nodeRoles, 'Cluster mode: this node\'s roles, a comma list of ingest (RTMP + WS publish), encoder, api (commands, workflows).'),
  v('NODE_ID', '', nodeId, 'Cluster mode: this node\'s id. Empty: generated once and kept in STATE_PATH/node-id.'),
  v('NODE_ADDRESS', '', text, 'Cluster mode: the host other nodes and the report use to reach this node. Empty: the first non-loopback IPv4 address, else 127.0.0.1.'),
  v('CLUSTER_SECRET', '', text, 'Cluster mode (required there, 16+ characters, the same on every node): the secret encoder nodes show to pull streams from ingest nodes; outsiders cannot pull.'),
  v('CLUSTER_NODE_TTL_SECONDS', '5', decimal(1, 300), 'Cluster mode: seconds a node stays registered (and keeps its channels) without a heartbeat; it heartbeats every third of that.'),
  v('CASTLINE_CONFIG', '', text, 'Config file with `settings { … }` (these names in lower case; the environment wins) and `workflow` nodes. Default: ./castline.config when it exists.'),
];

function httpOrEmpty(raw: string): string {
  return raw.trim() === '' ? '' : httpUrl(raw);
}
function redisUrlOrEmpty(raw: string): string {
  const s = raw.trim();
  if (s === '') return '';
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new ConfigValueError('must be a redis:// or rediss:// URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new ConfigValueError('must be a redis:// or rediss:// URL');
  return s;
}
function nodeRoles(raw: string): NodeRole[] {
  const roles = raw.split(',').map((r) => r.trim().toLowerCase()).filter((r) => r !== '');
  const unknown = roles.filter((r) => !(NODE_ROLES as readonly string[]).includes(r));
  if (roles.length === 0 || unknown.length > 0) throw new ConfigValueError(`must be a comma list of ${NODE_ROLES.join(', ')}`);
  return [...new Set(roles)] as NodeRole[];
}
function nodeId(raw: string): string {
  const s = raw.trim();
  if (s !== '' && !/^[A-Za-z0-9_.-]{1,64}$/.test(s)) throw new ConfigValueError('must be 1 to 64 letters, digits, _ . or -');
  return s;
}
function authOrEmpty(raw: string): string {
  return raw.trim() === '' ? '' : authMethod(raw);
}
function incomingAuthOrEmpty(raw: string): string {
  return raw.trim() === '' ? '' : oneOf('Basic', 'Bearer')(raw);
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  /** Defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** A .env file to read first (environment wins). Defaults to ./.env when it exists; null = none. */
  dotenvPath?: string | null;
  /** Base folder for relative paths. Defaults to process.cwd(). */
  cwd?: string;
}

/**
 * Builds the Config, or throws a ConfigError listing every invalid variable. Layers, later wins:
 * defaults, the config file's `settings` (same names, lower-case), `.env`, the environment.
 */
export function loadConfig(options: LoadOptions = {}): Readonly<Config> {
  const cwd = options.cwd ?? process.cwd();
  const outer = { ...readDotenv(options.dotenvPath === undefined ? path.join(cwd, '.env') : options.dotenvPath), ...(options.env ?? process.env) };
  const file = readConfigFile(outer.CASTLINE_CONFIG, cwd);
  const problems: string[] = [...file.problems];
  const values = parseVariables({ ...file.settings, ...outer }, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const config = buildConfig((name) => values.get(name), file, cwd, problems);
  problems.push(...validateSettingsDefaults(config.defaults));
  const { partSeconds, hlsTimeSeconds } = config.encoding;
  if (partSeconds >= hlsTimeSeconds) problems.push(`HLS_PART_SECONDS=${partSeconds} must be shorter than HLS_TIME_SECONDS=${hlsTimeSeconds}`);
  const baseOf = (name: string) => (outer[name] !== undefined && outer[name] !== '' ? cwd : file.dir);
  config.ffmpegPath = checkFfmpegPath(values.get('FFMPEG_PATH') as string, baseOf('FFMPEG_PATH'), problems);
  config.tls = checkTls((name) => values.get(name) as string, baseOf, problems);
  config.logPath = checkLogPath(values.get('LOG_PATH') as string, baseOf('LOG_PATH'), problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

/** Every variable parsed from its layer (or its default); a problem per invalid one. */
function parseVariables(env: Record<string, string | undefined>, problems: string[]): Map<string, unknown> {
  const values = new Map<string, unknown>();
  for (const variable of VARIABLES) {
    const raw = env[variable.name];
    const given = raw !== undefined && raw !== '';
    try {
      values.set(variable.name, variable.parse(given ? raw : variable.default));
    } catch (err) {
      const why = err instanceof ConfigValueError ? err.message : String(err);
      problems.push(`${variable.name}=${JSON.stringify(raw)} ${why}`);
    }
  }
  return values;
}

type Lookup = (name: string) => unknown;

/** `{PREFIX}_AUTH` and its companions: how castline authenticates to the application. */
function outgoingAuth(get: Lookup, prefix: 'KEY_VERIFICATION' | 'EVENT_CALLBACK', problems: string[]): OutgoingAuth {
  const method = get(`${prefix}_AUTH`) as string;
  const need = (name: string) => {
    if (get(name) === '') problems.push(`${name} must be set when ${prefix}_AUTH=${method}`);
    return get(name) as string;
  };
  switch (method) {
    case 'Basic': return { method, user: need(`${prefix}_AUTH_USER`), password: get(`${prefix}_PASSWORD`) as string };
    case 'Bearer': return { method, token: need(`${prefix}_AUTH_TOKEN`) };
    case 'Custom': return { method, value: need(`${prefix}_AUTH_CUSTOM`) };
    default: return { method: 'none' };
  }
}

/** `COMMANDS_API_AUTH` and its companions: how the commands API authenticates its callers. */
function incomingAuth(get: Lookup, problems: string[]): IncomingAuth {
  const method = get('COMMANDS_API_AUTH') as string;
  const need = (name: string) => {
    if (get(name) === '') problems.push(`${name} must be set when COMMANDS_API_AUTH=${method}`);
    return get(name) as string;
  };
  switch (method) {
    case 'Basic': return { method, user: need('COMMANDS_API_AUTH_USER'), password: need('COMMANDS_API_AUTH_PASSWORD') };
    case 'Bearer': return { method, token: need('COMMANDS_API_AUTH_TOKEN') };
    default: return { method: 'none' };
  }
}

/** The typed Config from the parsed variables. */
function buildConfig(lookup: Lookup, file: ConfigFileContents, cwd: string, problems: string[]): Config {
  const get = <T>(name: string): T => lookup(name) as T;
  const seconds = (name: string) => Math.round(get<number>(name) * 1000);
  const mib = (name: string) => Math.round(get<number>(name) * 1024 * 1024);
  const outgoing = (prefix: 'KEY_VERIFICATION' | 'EVENT_CALLBACK') => outgoingAuth(lookup, prefix, problems);
  const incoming = () => incomingAuth(lookup, problems);
  return {
    configFile: file.path === null ? null : { path: file.path, workflows: file.workflows, reactors: file.reactors },
    ffmpegPath: null,
    tls: null,
    rtmpsPort: get('RTMPS_PORT'),
    reactors: { timeoutMs: seconds('REACTOR_TIMEOUT_SECONDS'), retryDelayMs: seconds('REACTOR_RETRY_DELAY_SECONDS') },
    httpPort: get('HTTP_PORT'),
    bindAddress: get<string>('BIND_ADDRESS').trim(),
    rtmpPort: get('RTMP_PORT'),
    rtmpEnabled: get('RTMP_ENABLED'),
    hlsFilesystemPath: path.resolve(cwd, get<string>('HLS_FILESYSTEM_PATH')),
    statePath: path.resolve(cwd, get<string>('STATE_PATH')),
    idMaxLength: get('ID_MAX_LENGTH'),
    logLevel: get('LOG_LEVEL'),
    logPath: null,
    keyVerification: {
      url: get('KEY_VERIFICATION_URL'),
      auth: outgoing('KEY_VERIFICATION'),
      timeoutMs: seconds('KEY_VERIFICATION_TIMEOUT'),
    },
    defaults: {
      resolutions: get('DEFAULT_RESOLUTIONS'),
      record: get('DEFAULT_RECORD'),
      previews: get('DEFAULT_PREVIEWS'),
    },
    eventCallback: {
      url: get('EVENT_CALLBACK_URL'),
      auth: outgoing('EVENT_CALLBACK'),
      timeoutMs: seconds('EVENT_CALLBACK_TIMEOUT'),
      retryMaxMs: seconds('EVENT_CALLBACK_RETRY_MAX'),
      retryBaseMs: seconds('EVENT_CALLBACK_RETRY_BASE'),
    },
    commandsAuth: incoming(),
    ops: { metricsAuthToken: get<string>('METRICS_AUTH_TOKEN').trim(), studioEnabled: get('STUDIO_ENABLED') },
    ingest: {
      maxIpConcurrentConnections: get('MAX_IP_CONCURRENT_CONNECTIONS'),
      concurrentLimitWhitelist: get('CONCURRENT_LIMIT_WHITELIST'),
      gopCacheBytes: mib('GOP_CACHE_SIZE_MB'),
      wsMaxMessageBytes: mib('WS_MAX_MESSAGE_SIZE_MB'),
      wsHeartbeatSeconds: get('WS_HEARTBEAT_SECONDS'),
      wsIdleTimeoutSeconds: get('WS_IDLE_TIMEOUT_SECONDS'),
    },
    cluster: clusterConfig(get, problems),
    encoding: {
      capacity: get('ENCODER_CAPACITY'),
      hlsTimeSeconds: get('HLS_TIME_SECONDS'),
      hlsLivePlaylistSize: get('HLS_LIVE_PLAYLIST_SIZE'),
      hlsVodMaxSize: get('HLS_VOD_MAX_SIZE'),
      h264Preset: get('HLS_H264_PRESET'),
      videoCodec: get('HLS_VIDEO_CODEC'),
      audioCodec: get('HLS_AUDIO_CODEC'),
      pixelFormat: get('HLS_PIXEL_FORMAT'),
      originalMode: get('HLS_ORIGINAL_MODE'),
      segmentFormat: get('HLS_SEGMENT_FORMAT'),
      partSeconds: get('HLS_PART_SECONDS'),
      stopGraceSeconds: get('ENCODE_STOP_GRACE_SECONDS'),
      stallTimeoutSeconds: get('ENCODER_STALL_TIMEOUT_SECONDS'),
      maxRestarts: get('ENCODER_MAX_RESTARTS'),
    },
    limits: limitsConfig(get, problems),
  };
}

/** The `limits` section (issue 13); contradictory bounds are added to `problems`. */
function limitsConfig(get: <T>(name: string) => T, problems: string[]): Config['limits'] {
  const encoding: EncodingLimits = {
    maxRenditions: get('MAX_RENDITIONS'),
    minDimension: get('RENDITION_MIN_DIMENSION'),
    maxDimension: get('RENDITION_MAX_DIMENSION'),
    minFps: get('RENDITION_MIN_FPS'),
    maxFps: get('RENDITION_MAX_FPS'),
    previewMinIntervalSeconds: get('PREVIEW_MIN_INTERVAL_SECONDS'),
  };
  if (encoding.minDimension > encoding.maxDimension) problems.push(`RENDITION_MIN_DIMENSION (${encoding.minDimension}) must not exceed RENDITION_MAX_DIMENSION (${encoding.maxDimension})`);
  if (encoding.minFps > encoding.maxFps) problems.push(`RENDITION_MIN_FPS (${encoding.minFps}) must not exceed RENDITION_MAX_FPS (${encoding.maxFps})`);
  return {
    encoding,
    keyVerificationAnswerBytes: get('KEY_VERIFICATION_MAX_ANSWER_BYTES'),
    rtmpPendingHandshakes: get('RTMP_MAX_PENDING_HANDSHAKES'),
    storageMinFreeBytes: Math.round(get<number>('STORAGE_MIN_FREE_MB') * 1024 * 1024),
  };
}

function clusterConfig(get: <T>(name: string) => T, problems: string[]): ClusterConfig | null {
  const redisUrl = get<string>('REDIS_URL');
  if (redisUrl === '') return null;
  const address = get<string>('NODE_ADDRESS').trim();
  const secret = get<string>('CLUSTER_SECRET');
  if (secret.length < 16) problems.push('CLUSTER_SECRET must be set (at least 16 characters, the same on every node) when REDIS_URL is set');
  return {
    redisUrl,
    roles: get<NodeRole[]>('NODE_ROLES'),
    nodeId: get<string>('NODE_ID'),
    address: address === '' ? firstExternalAddress() : address,
    nodeTtlMs: Math.round(get<number>('CLUSTER_NODE_TTL_SECONDS') * 1000),
    secret,
  };
}

/** The first non-loopback IPv4 address of this machine, else 127.0.0.1. */
function firstExternalAddress(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** The config file's settings (as environment names) and workflow nodes; problems name file, line and column. */
interface ConfigFileContents {
  path: string | null;
  /** The file's folder (its relative file settings are relative to it); cwd without a file. */
  dir: string;
  settings: Record<string, string>;
  workflows: WorkflowNode[];
  reactors: ReactorNode[];
  problems: string[];
}

/** mmids' setting names that are not castline's variable names in lower case. */
const SETTING_ALIASES: Record<string, string> = { HTTP_API_PORT: 'HTTP_PORT' };

function readConfigFile(given: string | undefined, cwd: string): ConfigFileContents {
  const none = { path: null, dir: cwd, settings: {}, workflows: [], reactors: [], problems: [] };
  const explicit = given !== undefined && given.trim() !== '';
  const file = path.resolve(cwd, explicit ? given.trim() : 'castline.config');
  if (!explicit && !fs.existsSync(file)) return none;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return { ...none, problems: [`CASTLINE_CONFIG=${JSON.stringify(given)} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`] };
  }
  try {
    const parsed = parseConfigText(text);
    const settings: Record<string, string> = {};
    const problems: string[] = [];
    const known = new Set(VARIABLES.map((v) => v.name));
    for (const s of parsed.settings) {
      const name = SETTING_ALIASES[s.name.toUpperCase()] ?? s.name.toUpperCase();
      if (!known.has(name) || name === 'CASTLINE_CONFIG') problems.push(`${file}: line ${s.line}, column ${s.column}: unknown setting '${s.name}' (settings use the environment variables' names in lower case)`);
      else if (s.value === null) problems.push(`${file}: line ${s.line}, column ${s.column}: setting '${s.name}' needs a value`);
      else settings[name] = s.value;
    }
    return { path: file, dir: path.dirname(file), settings, workflows: parsed.workflows, reactors: parsed.reactors, problems };
  } catch (err) {
    if (err instanceof ConfigSyntaxError) return { ...none, problems: [`${file}: ${err.message}`] };
    throw err;
  }
}

/** LOG_PATH: a folder castline can write its log file into (created if missing); null = stdout only. */
function checkLogPath(given: string, base: string, problems: string[]): string | null {
  if (given.trim() === '') return null;
  const dir = path.resolve(base, given.trim());
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    fs.closeSync(fs.openSync(path.join(dir, LOG_FILE_NAME), 'a'));
  } catch (err) {
    problems.push(`LOG_PATH (log_path) ${JSON.stringify(dir)} is not a folder castline can write ${LOG_FILE_NAME} into: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return null;
  }
  return dir;
}

/** FFMPEG_PATH: an executable file that runs as ffmpeg; null = the bundled one. */
function checkFfmpegPath(given: string, base: string, problems: string[]): string | null {
  if (given.trim() === '') return null;
  const file = path.resolve(base, given.trim());
  try {
    fs.accessSync(file, fs.constants.X_OK);
    if (!fs.statSync(file).isFile()) throw new Error('not a file');
  } catch (err) {
    problems.push(`FFMPEG_PATH (ffmpeg_path) ${JSON.stringify(file)} is not an executable file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return null;
  }
  const run = spawnSync(file, ['-hide_banner', '-version'], { timeout: 10_000, encoding: 'utf8' });
  if (run.status !== 0 || !/ffmpeg version/i.test(run.stdout ?? '')) {
    problems.push(`FFMPEG_PATH (ffmpeg_path) ${JSON.stringify(file)} does not run as ffmpeg (\`-version\` ${run.error?.message ?? `exited ${run.status}`})`);
    return null;
  }
  return file;
}

/** The TLS certificate: read and checked now, so a bad file or password stops start-up naming its setting. */
function checkTls(get: (name: string) => string, baseOf: (name: string) => string, problems: string[]): TlsFiles | null {
  const pfx = get('TLS_CERT_PATH').trim();
  const cert = get('TLS_CERT_FILE').trim();
  const key = get('TLS_KEY_FILE').trim();
  if (pfx !== '' && (cert !== '' || key !== '')) {
    problems.push('TLS_CERT_PATH (tls_cert_path) and TLS_CERT_FILE/TLS_KEY_FILE cannot both be set: give a PKCS#12 file or PEM files');
    return null;
  }
  const read = (name: string, setting: string, value: string): { file: string; data: Buffer } | null => {
    const file = path.resolve(baseOf(name), value);
    try {
      return { file, data: fs.readFileSync(file) };
    } catch (err) {
      problems.push(`${name} (${setting}) ${JSON.stringify(file)} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return null;
    }
  };
  if (pfx !== '') {
    const data = read('TLS_CERT_PATH', 'tls_cert_path', pfx);
    if (data === null) return null;
    const password = get('TLS_CERT_PASSWORD');
    try {
      tls.createSecureContext({ pfx: data.data, passphrase: password });
    } catch (err) {
      problems.push(`TLS_CERT_PATH (tls_cert_path) ${JSON.stringify(data.file)} cannot be opened with TLS_CERT_PASSWORD (tls_cert_password): ${(err as Error).message}`);
      return null;
    }
    return { kind: 'pfx', path: data.file, password };
  }
  if (cert === '' && key === '') return null;
  if (cert === '' || key === '') {
    problems.push(`${cert === '' ? 'TLS_CERT_FILE' : 'TLS_KEY_FILE'} must be set with ${cert === '' ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE'}`);
    return null;
  }
  const certData = read('TLS_CERT_FILE', 'tls_cert_file', cert);
  const keyData = read('TLS_KEY_FILE', 'tls_key_file', key);
  if (certData === null || keyData === null) return null;
  try {
    tls.createSecureContext({ cert: certData.data, key: keyData.data });
  } catch (err) {
    problems.push(`TLS_CERT_FILE / TLS_KEY_FILE (${certData.file}, ${keyData.file}) are not a PEM certificate and its key: ${(err as Error).message}`);
    return null;
  }
  return { kind: 'pem', certPath: certData.file, keyPath: keyData.file };
}

function readDotenv(file: string | null): Record<string, string> {
  if (file === null || !fs.existsSync(file)) return {};
  return parseDotenv(fs.readFileSync(file));
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
