/** Public types of the RTMP ingest server (`RtmpIngest`). */
import type { SecureContextOptions } from 'node:tls';
import type { Config } from '../../config/config';
import type { RefusalCode } from '../../domain/errors';
import type { Logger } from '../../logging/logger';
import type { PublishSink } from '../ingest.types';
import type { RtmpConnectionLimitOptions } from './connection-limit';

export interface RtmpIngestOptions {
  sink: PublishSink;
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
  /**
   * The secret castline's own step processes add as `?castline_token=` when they publish into this
   * server (workflow transcode outputs, rtmp_watch copies). Such publishes are accepted without a
   * coordinator session; players may watch them (the `internalApp` only with the token too).
   */
  internal?: { token: string; internalApp: string };
  /** Per-address connection limit and pending-handshake bound; none = unlimited (main always sets it). */
  limits?: RtmpConnectionLimitOptions;
  /** Told of publishes refused here, before the coordinator is asked (metrics). */
  onRefused?: (code: RefusalCode) => void;
  /**
   * Bytes of media since the last keyframe kept per publisher for `subscribeMedia` (castline's own
   * packager). 0 or absent: no media tap (nothing is cached, `subscribeMedia` answers null).
   */
  mediaTapBytes?: number;
  /** Certificate of the `rtmps:` listeners workflow steps ask for; absent = none can start. */
  tls?: SecureContextOptions | null;
  /** The workflows' rules for stream paths (rtmp_watch steps); absent = none. */
  paths?: WatchedPaths;
  /**
   * Cluster mode: a player of a published channel must show this token for the channel and key as
   * the `cluster_token` query parameter (`rtmp://host/{channel}/{key}?cluster_token=…`); source
   * URIs carry it. Absent: the key alone admits a player.
   */
  pullToken?: (channel: string, key: string) => string;
}

export type PlayerAdmission = { ok: true; release?: () => void } | { ok: false; reason: string };

/** What the workflows say about `rtmp://host/{app}/{key}` as a place players watch. */
export interface WatchedPaths {
  /** An `rtmp_watch` step publishes on this path: a real publisher of it is moved aside (media follows the step order). */
  watched(app: string, key: string): boolean;
  /**
   * A player of the path: null when no rtmp_watch step rules it (the ingest's own rules apply);
   * otherwise the step's IP filter and reactor decide, maybe later (the player is kept waiting).
   */
  admitPlayer(app: string, key: string, ip: string): PlayerAdmission | Promise<PlayerAdmission> | null;
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
