/** `GET /`: name, version, uptime and status — the health check (docs/spec/workflows-api.md). */
import { version } from '../../package.json';
import type { Route } from './api.types';
import { json } from './json';

export interface HealthSource {
  status(): 'ok' | 'shutting-down';
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
        return json(status === 'ok' ? 200 : 503, {
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
