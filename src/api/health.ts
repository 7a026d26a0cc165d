/** `GET /`: name, version, uptime and status — the health check (docs/spec/workflows-api.md). */
import { version } from '../../package.json';
import type { Route } from './api.types';
import { json } from './json';

export interface HealthSource {
  /** `degraded`: up and serving its live streams, but a dependency (Redis in cluster mode) is away. */
  status(): 'ok' | 'degraded' | 'shutting-down';
  streams(): number;
}

export function healthRoutes(source: HealthSource, uwsBuild: string): Route[] {
  const started = Date.now();
  return [
    {
      method: 'GET',
      pattern: '/',
      auth: false,
      handler: () => {
        const status = source.status();
        return json(status === 'shutting-down' ? 503 : 200, {
          name: 'castline',
          version,
          status,
          uptimeSeconds: Math.round((Date.now() - started) / 1000),
          streams: source.streams(),
          http: uwsBuild,
        });
      },
    },
  ];
}

/**
 * One thing readiness depends on: a phase (starting, shutting down) or a dependency (the event
 * store; Redis in cluster mode is one more). Synchronous and cheap: load balancers poll it.
 */
export interface ReadinessCheck {
  name: string;
  /** null when fine, else why the node is not ready. */
  problem(): string | null;
}

/**
 * Kubernetes / load-balancer probes. `GET /livez`: the process answers (always 200).
 * `GET /readyz`: 200 when every check passes, else 503 naming the failing ones. No auth: they
 * reveal nothing beyond up/down.
 */
export function probeRoutes(checks: readonly ReadinessCheck[]): Route[] {
  const started = Date.now();
  return [
    { method: 'GET', pattern: '/livez', auth: false, headers: [], handler: () => json(200, { status: 'alive', uptimeSeconds: Math.round((Date.now() - started) / 1000) }) },
    {
      method: 'GET',
      pattern: '/readyz',
      auth: false,
      headers: [],
      handler: () => {
        const results: Record<string, string> = {};
        const failing: string[] = [];
        for (const check of checks) {
          const problem = check.problem();
          results[check.name] = problem ?? 'ok';
          if (problem !== null) failing.push(`${check.name}: ${problem}`);
        }
        if (failing.length === 0) return json(200, { status: 'ready', checks: results });
        return json(503, { status: 'not-ready', error: `not ready (${failing.join('; ')})`, code: 'NOT_READY', checks: results });
      },
    },
  ];
}
