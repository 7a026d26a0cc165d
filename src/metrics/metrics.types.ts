/**
 * What the metrics registry reads and records. The registry imports nothing from the rest of
 * castline: main.ts adapts the coordinator, outbox and ingests to `MetricsSources` (read at scrape
 * time, so nothing is booked on a hot path), and hands each consumer the narrow port it declares.
 * Label values are fixed, bounded words: never a stream key, never a channel.
 */

/** Session states as `castline_streams{state}` reports them. */
export const STREAM_STATES = ['verifying', 'encoding', 'available', 'restarting', 'ending'] as const;
export type StreamStateLabel = (typeof STREAM_STATES)[number];

export type IngestLabel = 'rtmp' | 'ws';

/** Read once per scrape. Each call must be cheap (a walk over live sessions at most). */
export interface MetricsSources {
  /** Sessions by state; states not listed count 0, unknown ones are ignored. */
  streamStates(): ReadonlyMap<string, number>;
  /** Streams this node encodes at once (-1 = unlimited) and live streams now. */
  encoder(): { capacity: number; load: number };
  /** Events enqueued and not yet delivered. */
  eventsPending(): number;
  /** Media bytes received from publishers since start, per ingest (monotonic). */
  ingestBytes(): Partial<Record<IngestLabel, number>>;
}

/** Why an ffmpeg was restarted: inside its job after a crash, or as a new job after its worker died. */
export type RestartReason = 'ffmpeg-crashed' | 'worker-died';
