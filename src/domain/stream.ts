/** A publish session's words: who publishes, from where, what was decided, why it ended. */
import type { RefusalCode } from './errors';
import type { StreamSettings } from './settings';

export const INGEST_TYPES = ['RTMP', 'WS'] as const;
export type IngestType = (typeof INGEST_TYPES)[number];

/** Where an encoder pulls a stream's media from (the cluster's ENCODE-START source). */
export interface MediaSource {
  type: IngestType;
  /** `rtmp://ip:port/{channel}/{key}` or `ws://ip:port/{channel}/{key}` (the encoder appends `/receive-clear-cache`). */
  uri: string;
}

/** Why a stream closed; sent as `x-close-reason` with `stream-closed` and logged. */
export const CLOSE_REASONS = [
  'publisher-disconnected',
  'close-command',
  'shutdown',
  'server-restart',
  'encoder-failed',
  'input-stalled',
  'invalid-media',
  'workflow-removed',
  /** The output storage is full (ENOSPC, EDQUOT). */
  'storage-full',
  /** The output storage cannot be written (EROFS, EACCES, EPERM, a symlink out of the root). */
  'storage-error',
  /** Cluster mode: the node holding the stream left the cluster (died, or lost Redis beyond its TTL). */
  'node-lost',
] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** The session as the coordinator identifies it: what an ingest server knows when a publisher asks to go live. */
export interface PublishRequest {
  channel: string;
  key: string;
  /** The publisher's IP address (no port). */
  userIp: string;
  ingest: IngestType;
  /** Id of the ingest server (as listed in the report's `streamingServers`). */
  serverId: number;
  /** How an encoder reaches this stream's media once accepted. */
  source: MediaSource;
  /**
   * Disconnects the publisher. Called on a close command, shutdown or a fatal encoder error; the
   * ingest then reports the publisher gone as usual. Must be idempotent.
   */
  disconnect(reason: CloseReason): void;
  /**
   * Internal sources only (a workflow's ffmpeg_pull): the workflow that owns this stream. Routing
   * and key verification are skipped; the session follows that workflow until it is deleted.
   */
  workflow?: string;
  /** RTMP only: the listener the publish arrived on (`rtmp:{port}`, `rtmps:{port}`); absent = the default one. */
  listener?: string;
}

export type PublishDecision =
  | { accepted: true; streamId: string; settings: StreamSettings }
  | { accepted: false; code: RefusalCode; message: string };

/** The outcome of a session's key verification (or of its workflow's policy when it has none). */
export type VerificationOutcome = { accepted: true; settings: StreamSettings } | { accepted: false; reason: string };
