/**
 * What a cluster node publishes about itself in Redis (its membership record), and what the
 * cluster needs from the node's own coordinator to build it.
 */
import type { NodeRole } from '../config/config';
import type { Report } from '../coordinator/coordinator.types';

/** One live node, as registered (and refreshed by its heartbeat) under `castline:node:{id}`. */
export interface NodeRecord {
  id: string;
  /** Cluster-wide number of the node: its encoder id in the report, its ingest servers 2n-1 (WS) and 2n (RTMP). */
  index: number;
  roles: NodeRole[];
  /** Where other nodes reach this one (NODE_ADDRESS). */
  address: string;
  httpPort: number;
  /** 0 when the node serves no RTMP. */
  rtmpPort: number;
  tls: boolean;
  version: string;
  /** ms since the epoch. */
  startedAt: number;
  /** The node's encoder (encoder role), with its load; null without the role. */
  encoder: { id: number; capacity: number; load: number } | null;
  /** Live sessions this node holds (published on it). */
  load: number;
  ingestServers: Report['streamingServers'];
  activeStreams: Report['activeStreams'];
  /** Stream id → id of the encoder node encoding it, for this node's streams. */
  placements: Record<string, string>;
  /** `{channel}/{streamId}` of the streams whose Low-Latency HLS this node holds in memory (other nodes redirect their requests here). */
  liveHls: string[];
}

/** Report ids of a node: derived from its cluster-wide number (node 1 keeps the single-node ids). */
export function clusterIds(index: number): { wsServer: number; rtmpServer: number; encoder: number } {
  return { wsServer: 2 * index - 1, rtmpServer: 2 * index, encoder: index };
}
