/**
 * The domain types shared by ingest, encoding, callbacks and the API, and the coordinator's
 * internal interface (`StreamCoordinator`) that ingest servers call.
 */

export type IngestType = 'RTMP' | 'WS';

/** One requested ladder rung: a box the source is fitted into. -1 = not given. */
export interface Rung {
  width: number;
  height: number;
  /** Frames per second; -1 = the source's. */
  fps: number;
  /** Video bitrate in kbit/s; -1 = the ladder's default for that size. */
  kbps: number;
}

/** What `x-resolutions` asked for. */
export interface ResolutionRequest {
  /** ORIGINAL was requested (the source as it is). */
  original: boolean;
  rungs: Rung[];
}

/** `x-previews`: one W x H JPEG every `intervalSeconds`. */
export interface PreviewSettings {
  width: number;
  height: number;
  intervalSeconds: number;
}

/** How one stream is encoded: the parsed key-verification answer (or the defaults). */
export interface StreamSettings {
  resolutions: ResolutionRequest;
  record: boolean;
  /** null = no previews. */
  previews: PreviewSettings | null;
}

/** Where an encoder pulls a stream's media from (the cluster's ENCODE-START source). */
export interface MediaSource {
  type: IngestType;
  /** `rtmp://ip:port/{channel}/{key}` or `ws://ip:port/{channel}/{key}` (the encoder appends `/receive-clear-cache`). */
  uri: string;
}

export type StreamType = 'HLS-LIVE' | 'HLS-VOD' | 'IMG-PREVIEW';

/** One output that became available; becomes a `stream-available` event. */
export interface OutputAvailable {
  streamType: StreamType;
  /** Rendition id `{W}x{H}-{FPS}[~{KBPS}]`, or `{W}x{H}-{SECONDS}` for previews. */
  resolution: string;
  /** Storage-relative path of the playlist or index.json. */
  indexFile: string;
  /** Seconds from the stream start: VOD parts after the first. */
  startTime?: number;
}

/** Why a publish was refused. Ingest maps these to HTTP statuses (WS) or a socket destroy (RTMP). */
export type RefusalCode = 'INVALID_ID' | 'KEY_REFUSED' | 'CHANNEL_BUSY' | 'CAPACITY_FULL' | 'SHUTTING_DOWN' | 'NO_WORKFLOW' | 'IP_DENIED' | 'STORAGE_FULL' | 'STORAGE_ERROR';

/** Why a stream closed; sent as `x-close-reason` with `stream-closed` and logged. */
export type CloseReason =
  | 'publisher-disconnected'
  | 'close-command'
  | 'shutdown'
  | 'server-restart'
  | 'encoder-failed'
  | 'input-stalled'
  | 'invalid-media'
  | 'workflow-removed'
  /** The output storage is full (ENOSPC, EDQUOT). */
  | 'storage-full'
  /** The output storage cannot be written (EROFS, EACCES, EPERM, a symlink out of the root). */
  | 'storage-error';

/** A publisher asking to go live. Built by an ingest server. */
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
   * Disconnects the publisher. Called by the coordinator on a close command, shutdown or a fatal
   * encoder error; the ingest then reports `publisherGone` as usual. Must be idempotent.
   */
  disconnect(reason: CloseReason): void;
  /**
   * Internal sources only (a workflow's ffmpeg_pull): the workflow that owns this stream. Routing
   * and key verification are skipped; the session follows that workflow until it is deleted.
   */
  workflow?: string;
}

export type PublishDecision =
  | { accepted: true; streamId: string; settings: StreamSettings }
  | { accepted: false; code: RefusalCode; message: string };

/**
 * What ingest servers call. Every call after `publish` names the stream id, so a late call from
 * an old session can never touch a newer session of the same channel.
 */
export interface StreamCoordinator {
  /** Verifies the key (application callback), reserves an encoder and answers. Never rejects. */
  publish(request: PublishRequest): Promise<PublishDecision>;
  /** The publisher of this stream is gone (socket closed). Unknown or old ids are ignored. */
  publisherGone(streamId: string): void;
  /** The channel's live publisher, if any (used by WS receivers to check the key). */
  livePublisher(channel: string): { streamId: string; key: string } | null;
}
