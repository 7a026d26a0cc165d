/**
 * Which other node holds a stream's Low-Latency HLS in memory: read from the live nodes' records
 * (each lists its `liveHls` streams, refreshed with its heartbeat and gone with its TTL). Asked only
 * when this node does not hold the stream itself; the answer for every stream of the cluster is one
 * snapshot read at most once per `cacheMs` (concurrent misses share one read), so requests for
 * streams nobody holds (classic files, unknown ids) cost no more than that. Redis away: nobody holds
 * anything (the disk answers).
 */
import type { NodeRecord } from './cluster.types';

export interface LiveHlsLocatorOptions {
  nodeId: string;
  /** The live nodes now. */
  nodes: () => Promise<NodeRecord[]>;
  cacheMs: number;
}

export class LiveHlsLocator {
  /** `{channel}/{streamId}` → base URL (`http://address:port`) of the node holding it. */
  #snapshot = new Map<string, string>();
  #readAt = -Infinity;
  #reading: Promise<void> | null = null;

  constructor(private readonly options: LiveHlsLocatorOptions) {}

  /** Base URL of the other node holding the stream's LL-HLS, or null. */
  async locate(channel: string, streamId: string): Promise<string | null> {
    if (Date.now() - this.#readAt >= this.options.cacheMs) await this.#read();
    return this.#snapshot.get(`${channel}/${streamId}`) ?? null;
  }

  #read(): Promise<void> {
    this.#reading ??= Promise.resolve()
      .then(() => this.options.nodes())
      .then((nodes) => {
        this.#snapshot = holders(nodes, this.options.nodeId);
      })
      .catch(() => {
        this.#snapshot = new Map();
      })
      .finally(() => {
        this.#readAt = Date.now();
        this.#reading = null;
      });
    return this.#reading;
  }
}

function holders(nodes: NodeRecord[], self: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const node of nodes) {
    if (node.id === self || node.liveHls === undefined) continue;
    const base = baseUrl(node);
    for (const key of node.liveHls) out.set(key, base);
  }
  return out;
}

/** Where a node's HTTP port is reached (an IPv6 address in brackets). */
export function baseUrl(node: Pick<NodeRecord, 'address' | 'httpPort' | 'tls'>): string {
  const host = node.address.includes(':') ? `[${node.address}]` : node.address;
  return `${node.tls ? 'https' : 'http'}://${host}:${node.httpPort}`;
}
