/** Public types of the RTMP ingest server (`RtmpIngest`). */
import type { Config } from '../../config/config';
import type { StreamCoordinator } from '../../coordinator/coordinator.types';
import type { Logger } from '../../logger';
import type { RtmpConnectionLimitOptions } from './connection-limit';

export interface RtmpIngestOptions {
  coordinator: StreamCoordinator;
  /** `rtmpPort` (0 = any free port), `bindAddress`, `idMaxLength`, `statePath` (NMS's store goes to `{statePath}/nms`). */
  config: Pick<Config, 'rtmpPort' | 'bindAddress' | 'idMaxLength' | 'statePath'>;
  logger: Logger;
  /** This ingest server's id in the report's `streamingServers` and in every `PublishRequest`. */
  serverId: number;
  /**
   * Address advertised in `serverInfo().ip`. Default: `bindAddress`, or 127.0.0.1 when that is a
   * wildcard (0.0.0.0, ::, empty). Main may pass the machine's public address.
   */
  advertisedIp?: string;
  /** A connection must send `publish` or `play` within this many ms, or it is closed. Default 10 000. */
  commandTimeoutMs?: number;
  /** Per-address connection limit and pending-handshake bound; none = unlimited (main always sets it). */
  limits?: RtmpConnectionLimitOptions;
  /**
   * The secret castline's own step processes add as `?castline_token=` when they publish into this
   * server (workflow transcode outputs, rtmp_watch copies). Such publishes are accepted without a
   * coordinator session; players may watch them (the `internalApp` only with the token too).
   */
  internal?: { token: string; internalApp: string };
}

/** One entry of the report's `streamingServers`. */
export interface RtmpServerInfo {
  id: number;
  ip: string;
  port: number;
  ssl: false;
  serverType: 'RTMP';
}

export type RtmpPublisherState = 'verifying' | 'live' | 'refused' | 'ended';

/** A publisher connection as the ingest sees it (for logs, the report and tests). */
export interface RtmpPublisherInfo {
  /** node-media-server's session id. */
  sessionId: string;
  channel: string;
  /** Set once the coordinator accepted the publish. */
  streamId: string | null;
  state: RtmpPublisherState;
  userIp: string;
  /** ms since epoch when the publish command arrived. */
  since: number;
  /** Players currently attached to this publisher's stream (held ones included). */
  players: number;
}
