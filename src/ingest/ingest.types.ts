/**
 * What the ingest servers need from the rest of castline (the port they publish into) and what
 * they tell about themselves. Declared here, by the consumer; the coordinator implements it.
 */
import type { IngestType, PublishDecision, PublishRequest } from '../domain/stream';

/**
 * Where an ingest server publishes. Every call after `publish` names the stream id, so a late call
 * from an old session can never touch a newer session of the same channel.
 */
export interface PublishSink {
  /** Verifies the key (application callback), reserves an encoder and answers. Never rejects. */
  publish(request: PublishRequest): Promise<PublishDecision>;
  /** The publisher of this stream is gone (socket closed). Unknown or old ids are ignored. */
  publisherGone(streamId: string): void;
  /** The channel's live publisher, if any (used by receivers and players to check the key). */
  livePublisher(channel: string): { streamId: string; key: string } | null;
}

/** An ingest server as listed in the report's `streamingServers`. */
export interface IngestServerInfo {
  id: number;
  ip: string;
  port: number;
  ssl: boolean;
  serverType: IngestType;
}
