/**
 * One Prometheus registry per castline instance (tests run several in one process): Node and
 * process defaults plus castline's own metrics. Gauges, and counters of bytes, are computed at
 * scrape time from `MetricsSources` and plain counters; prom-client is only touched on rare events
 * (a publish decision, a key verification, an event delivery, an ffmpeg restart).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RecentClients } from './recent-clients';
import { STREAM_STATES, type IngestLabel, type MetricsSources, type RestartReason } from './metrics.types';

/** Clients that fetched an HLS file this recently count as viewers. */
export const VIEWER_WINDOW_SECONDS = 30;

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const DELIVERY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export class CastlineMetrics {
  readonly registry = new Registry();
  readonly #publishes: Counter<'ingest' | 'outcome'>;
  readonly #restarts: Counter<'reason'>;
  readonly #verification: Histogram<'outcome'>;
  readonly #deliveries: Counter<'outcome'>;
  readonly #deliverySeconds: Histogram;
  readonly #viewers = new RecentClients(VIEWER_WINDOW_SECONDS * 1000);
  #hlsBytes = 0;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.#publishes = new Counter({ name: 'castline_publishes_total', help: 'Publish attempts by ingest and outcome (accepted, or the refusal code in lower case).', labelNames: ['ingest', 'outcome'], registers });
    this.#restarts = new Counter({ name: 'castline_ffmpeg_restarts_total', help: 'Encoder ffmpeg restarts while the publisher was live, by reason.', labelNames: ['reason'], registers });
    for (const reason of ['ffmpeg-crashed', 'worker-died'] satisfies RestartReason[]) this.#restarts.inc({ reason }, 0);
    this.#verification = new Histogram({ name: 'castline_key_verification_seconds', help: 'Key verification callback duration, by outcome (accepted, refused).', labelNames: ['outcome'], buckets: SECONDS_BUCKETS, registers });
    this.#deliveries = new Counter({ name: 'castline_event_deliveries_total', help: 'Event delivery attempts by outcome (delivered = 2xx, failed = retried later).', labelNames: ['outcome'], registers });
    for (const outcome of ['delivered', 'failed']) this.#deliveries.inc({ outcome }, 0);
    this.#deliverySeconds = new Histogram({ name: 'castline_event_delivery_seconds', help: 'Time from enqueueing an event to its 2xx answer, retries included.', buckets: DELIVERY_BUCKETS, registers });
    this.#scrapeTimeMetrics(sources);
  }

  /** The Prometheus text exposition and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** A publish was decided: `outcome` is `accepted` or a refusal code (a fixed set of words). */
  publish(ingest: IngestLabel, outcome: string): void {
    this.#publishes.inc({ ingest, outcome: outcome.toLowerCase() });
  }

  ffmpegRestart(reason: RestartReason): void {
    this.#restarts.inc({ reason });
  }

  keyVerified(seconds: number, accepted: boolean): void {
    this.#verification.observe({ outcome: accepted ? 'accepted' : 'refused' }, seconds);
  }

  eventDelivered(seconds: number): void {
    this.#deliveries.inc({ outcome: 'delivered' });
    this.#deliverySeconds.observe(Math.max(0, seconds));
  }

  eventDeliveryFailed(): void {
    this.#deliveries.inc({ outcome: 'failed' });
  }

  /** An HLS file was served (hot path: a number added and a map touched). */
  hlsServed(bytes: number, client: string): void {
    this.#hlsBytes += bytes;
    this.#viewers.saw(client);
  }

  #scrapeTimeMetrics(sources: MetricsSources): void {
    const registers = [this.registry];
    const hlsBytes = () => this.#hlsBytes;
    const viewers = this.#viewers;
    new Gauge({
      name: 'castline_streams', help: 'Sessions by state.', labelNames: ['state'], registers,
      collect() {
        const counts = sources.streamStates();
        for (const state of STREAM_STATES) this.set({ state }, counts.get(state) ?? 0);
      },
    });
    new Counter({
      name: 'castline_ingest_bytes_total', help: 'Bytes received from publishers, by ingest (RTMP: socket bytes; WS: message payloads).', labelNames: ['ingest'], registers,
      collect() {
        const bytes = sources.ingestBytes();
        this.reset();
        for (const ingest of Object.keys(bytes) as IngestLabel[]) this.inc({ ingest }, bytes[ingest] ?? 0);
      },
    });
    new Counter({
      name: 'castline_hls_bytes_served_total', help: 'Bytes of HLS playlists and segments served over HTTP.', registers,
      collect() {
        this.reset();
        this.inc(hlsBytes());
      },
    });
    new Gauge({ name: 'castline_hls_viewers', help: `Distinct HLS clients (address + User-Agent) in the last ${VIEWER_WINDOW_SECONDS} s.`, registers, collect() { this.set(viewers.count()); } });
    new Gauge({ name: 'castline_encoder_capacity', help: 'Streams this node encodes at once (-1 = unlimited).', registers, collect() { this.set(sources.encoder().capacity); } });
    new Gauge({ name: 'castline_encoder_load', help: 'Live streams on this node.', registers, collect() { this.set(sources.encoder().load); } });
    new Gauge({ name: 'castline_events_pending', help: 'Events enqueued and not yet delivered.', registers, collect() { this.set(sources.eventsPending()); } });
  }
}
