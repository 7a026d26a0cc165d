/**
 * The operations side of the composition root (main.ts): this instance's metrics registry and
 * where it reads from, the studio's activity log, and the `/livez`, `/readyz`, `/metrics` and
 * `/studio/` routes.
 */
import { StreamActivity } from './api/activity';
import type { Route } from './api/api.types';
import { probeRoutes } from './api/health';
import { metricsRoutes } from './api/metrics';
import { studioRoutes } from './api/studio';
import type { Outbox } from './callbacks/outbox';
import type { Config } from './config/config';
import type { Coordinator } from './coordinator/coordinator';
import type { RtmpIngest } from './ingest/rtmp/rtmp-ingest';
import type { WsIngest } from './ingest/ws/ws-ingest.types';
import type { Logger } from './logging/logger';
import { CastlineMetrics } from './metrics/registry';

/**
 * Operations: this instance's metrics registry, read at scrape time from the pieces (registered in
 * `parts` as they come up: a scrape before then reads zeros), and the studio's activity log.
 */
export interface Ops {
  metrics: CastlineMetrics;
  activity: StreamActivity | null;
  parts: { coordinator?: Coordinator; outbox?: Outbox; ws?: WsIngest; rtmp?: RtmpIngest; cluster?: { problem(): string | null } };
  /** Why the node is not ready by its lifecycle (starting, shutting down), or null. */
  lifecycle: () => string | null;
}

export function createOps(config: Readonly<Config>, lifecycle: () => string | null): Ops {
  const parts: Ops['parts'] = {};
  const metrics = new CastlineMetrics({
    streamStates: () => parts.coordinator?.sessionStates() ?? new Map(),
    encoder: () => parts.coordinator?.capacity() ?? { capacity: 0, load: 0 },
    eventsPending: () => parts.outbox?.pendingCount() ?? 0,
    ingestBytes: () => ({ ws: parts.ws?.stats().receivedBytes ?? 0, rtmp: parts.rtmp?.receivedBytes() ?? 0 }),
  });
  return { metrics, activity: config.ops.studioEnabled ? new StreamActivity() : null, parts, lifecycle };
}

/** `/livez`, `/readyz`, `/metrics`, and the studio unless STUDIO_ENABLED=false. */
export function operationsRoutes(config: Readonly<Config>, logger: Logger, ops: Ops, core: { coordinator: Coordinator; outbox: Outbox }): Route[] {
  const { metrics, activity } = ops;
  const { coordinator, outbox } = core;
  return [
    // Readiness: one check per phase or dependency (Redis joins here in cluster mode).
    ...probeRoutes([
      { name: 'lifecycle', problem: ops.lifecycle },
      { name: 'event-store', problem: () => outbox.storeProblem() },
      ...(ops.parts.cluster === undefined ? [] : [{ name: 'cluster', problem: () => ops.parts.cluster?.problem() ?? null }]),
    ]),
    ...metricsRoutes(metrics, { token: config.ops.metricsAuthToken, onUnauthorized: (why, ip) => logger.warn({ path: '/metrics', ip, why }, 'unauthorized metrics scrape') }),
    ...(activity === null
      ? []
      : studioRoutes(
          { report: () => coordinator.report(), capacity: () => coordinator.capacity(), live: (id) => activity.live(id), recent: () => activity.recent() },
          { segmentSeconds: config.encoding.hlsTimeSeconds },
        )),
  ];
}
