/** Public types of the WebSocket ingest (`registerWsIngest`). */
import type { Config } from '../../config/config';
import type { Logger } from '../../logging/logger';
import type { IngestServerInfo, PublishSink } from '../ingest.types';

/** Where encoders and the report reach this ingest server. */
export interface WsAdvertisedAddress {
  /** IP or host name put in `ws://{host}:{port}/…` source URIs (IPv6 literals are bracketed). */
  host: string;
  port: number;
  ssl: boolean;
}

export interface WsIngestDeps {
  sink: PublishSink;
  config: Pick<Config, 'idMaxLength' | 'ingest'>;
  logger: Logger;
  /** This ingest server's id in the report's `streamingServers` and in `PublishRequest.serverId`. */
  serverId: number;
  /**
   * Read at every publish (so a port known only after `listen` works). Typically
   * `() => ({ host: '127.0.0.1', port: listenPort, ssl: false })`.
   */
  advertised: () => WsAdvertisedAddress;
  /** Loopback peers are exempt from the per-IP limit. Default true; tests turn it off. */
  exemptLoopbackFromIpLimit?: boolean;
  /** Told of publishes refused here, before the coordinator is asked (metrics). */
  onRefused?: (code: 'CHANNEL_BUSY' | 'TOO_MANY_CONNECTIONS') => void;
  /**
   * Cluster mode: receivers (`receive`, `receive-clear-cache`, `probe`) must show this token for
   * the channel and key as the `cluster_token` query parameter; source URIs carry it. Absent: the
   * key alone admits a receiver (docs/spec/cluster-protocols.md §1).
   */
  pullToken?: (channel: string, key: string) => string;
}

export interface WsIngestStats {
  /** Open WebSockets (publishers + receivers, started or waiting). */
  connections: number;
  publishers: number;
  receivers: number;
  waitingReceivers: number;
  /** Publishes waiting for the coordinator's decision. */
  pendingPublishes: number;
  /** Media bytes held for late receivers, all channels. */
  heldBytes: number;
  /** Media bytes received from publishers since start (binary message payloads). */
  receivedBytes: number;
}

/** An in-process reader of a publisher's bytes (castline's own packager). */
export interface WsBytesListener {
  /** One binary message (or a held one, replayed), valid only during the call. */
  chunk(data: Uint8Array): void;
  /** The publisher is gone, or its publish was not opened after all. */
  end(): void;
}

export interface WsBytesSubscription {
  unsubscribe(): void;
  /** Drops the bytes held for late receivers and holds no more (as `receive-clear-cache` does). */
  releaseHeld(): void;
}

export interface WsIngest {
  /**
   * Reads the publish of stream `streamId` in-process: every byte from the first (the held ones
   * replayed), then live; `end` when the publisher leaves. A publish whose key is still being
   * verified, or whose socket is not open yet, is subscribed too (bytes flow once it opens). null
   * when the channel has no such publish here.
   */
  subscribeBytes(channel: string, streamId: string, listener: WsBytesListener): WsBytesSubscription | null;
  info(): IngestServerInfo;
  stats(): WsIngestStats;
  /**
   * Refuses new upgrades (503), answers pending publishes 503, ends every socket with 1001 and
   * stops the timers. Publishers' `publisherGone` is reported as usual. Idempotent.
   */
  close(): Promise<void>;
}
