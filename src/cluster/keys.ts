/**
 * Every Redis key castline uses, in one place. All start with `castline:` so one Redis (database)
 * can be shared with other applications.
 */
export const KEYS = {
  /** JSON NodeRecord of a live node; expires when the node stops heartbeating. */
  node: (nodeId: string) => `castline:node:${nodeId}`,
  /** Set of node ids ever registered (members whose record expired are pruned by readers). */
  nodes: 'castline:nodes',
  /** Hash node id → the node's cluster-wide number (report ids are derived from it). */
  nodeIndex: 'castline:node-index',
  nodeSeq: 'castline:node-seq',
  /** `{nodeId} {streamId}` of the session holding a channel; expires unless its node refreshes it. */
  channel: (channel: string) => `castline:channel:${channel}`,
  /** Reserved stream id (ids are unique across nodes). */
  streamId: (streamId: string) => `castline:stream-id:${streamId}`,
  /** The cluster's shared event queue (a Redis stream, AOF-persisted): entries `event` = OutboxEvent JSON, deleted once delivered. */
  events: 'castline:events',
  /**
   * An event already appended (appends are idempotent: a node's retry after a crash adds nothing):
   * by event id, and for `stream-closed` by stream id (a stream closes once, whoever closes it: its
   * node after a restart, or a survivor when the node is gone).
   */
  eventSeen: (eventId: string) => `castline:event-seen:${eventId}`,
  streamClosedSeen: (streamId: string) => `castline:event-seen:closed:${streamId}`,
  /** `{nodeId}` of the one node delivering the queue to EVENT_CALLBACK_URL; expires unless refreshed. */
  eventsLease: 'castline:events:lease',
  /** Hash encoder node id → streams placed on it (reserved atomically with `placements`). */
  encoderLoad: 'castline:encoder-load',
  /** Hash stream id → the encoder node encoding it. */
  placements: 'castline:placements',
  /** JSON outputs state of an encoded stream (see outputs-mirror.ts). */
  outputs: (streamId: string) => `castline:outputs:${streamId}`,
  /** A node's mailbox (a Redis stream): encode start/stop for encoder nodes, encoder reports for ingest nodes. */
  mailbox: (nodeId: string) => `castline:mailbox:${nodeId}`,
  /** Hash stream id → channel of every live (accepted, not yet closed) session of a node: what a survivor closes when the node dies. */
  nodeStreams: (nodeId: string) => `castline:node-streams:${nodeId}`,
  /** Set of node ids that have (or had) live sessions. */
  streamNodes: 'castline:stream-nodes',
  /** Hash workflow name → its text (changes made over the API); set of deleted names; pub/sub of changes. */
  workflows: 'castline:workflows',
  workflowsDeleted: 'castline:workflows:deleted',
  workflowChanges: 'castline:workflows:changed',
} as const;

/** How long a stream id stays reserved. Ids start with their creation time in ms, so only ids created in the same millisecond can collide: a day covers any clock skew. */
export const STREAM_ID_RESERVATION_SECONDS = 86_400;

/** How long an appended event id is remembered (a node retries an append within seconds to hours of a crash). */
export const EVENT_SEEN_SECONDS = 7 * 86_400;
