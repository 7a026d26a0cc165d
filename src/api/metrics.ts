/**
 * `GET /metrics`: the Prometheus text exposition. Protected by its own bearer token
 * (METRICS_AUTH_TOKEN) when one is set, else like the commands API (COMMANDS_API_AUTH, open when
 * that is unset). A scrape only reads: gauges are computed from live state when asked.
 */
import type { Route } from './api.types';
import { authorizationCheck } from './auth';
import { errorResponse } from './json';

/** What the route needs: the exposition text (prom-client's registry behind it). */
export interface MetricsScraper {
  scrape(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsRouteOptions {
  /** METRICS_AUTH_TOKEN; empty: the commands API credentials apply. */
  token: string;
  /** Logs a refused scrape (the reason never reaches the client). */
  onUnauthorized?: (why: string, ip: string) => void;
}

export function metricsRoutes(scraper: MetricsScraper, options: MetricsRouteOptions): Route[] {
  const answer = async () => {
    const { contentType, body } = await scraper.scrape();
    return { status: 200, headers: { 'Content-Type': contentType, 'Cache-Control': 'no-cache' }, body };
  };
  if (options.token === '') return [{ method: 'GET', pattern: '/metrics', auth: true, headers: [], handler: answer }];
  const check = authorizationCheck({ method: 'Bearer', token: options.token });
  return [
    {
      method: 'GET',
      pattern: '/metrics',
      auth: false,
      headers: ['authorization'],
      handler: (req) => {
        const why = check(req.headers['authorization']);
        if (why === null) return answer();
        options.onUnauthorized?.(why, req.ip);
        return errorResponse('UNAUTHORIZED', 'invalid credentials', { 'WWW-Authenticate': 'Bearer realm="castline-metrics"' });
      },
    },
  ];
}
