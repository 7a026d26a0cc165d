/**
 * Observes what the HLS file routes serve (for `castline_hls_bytes_served_total` and
 * `castline_hls_viewers`) without touching them: the handler of each `/hls/` route is wrapped (other
 * routes pass unchanged), and every 200 answer to a GET reports its size and the client (address +
 * User-Agent).
 */
import type { ApiResponse, Route } from './api.types';

/** The port the metrics side implements. Called on the hot path: must be cheap and never throw. */
export interface ServedObserver {
  served(bytes: number, client: string): void;
}

export function observeHlsServed(routes: readonly Route[], observer: ServedObserver): Route[] {
  return routes.map((route): Route => !route.pattern.startsWith('/hls/') ? route : ({
    ...route,
    headers: route.headers === undefined ? undefined : [...route.headers, 'user-agent'],
    handler: (req) => {
      const report = (res: ApiResponse): ApiResponse => {
        if (res.status === 200 && req.method === 'GET' && res.body instanceof Buffer) observer.served(res.body.length, `${req.ip}\n${req.headers['user-agent'] ?? ''}`);
        return res;
      };
      const result = route.handler(req);
      return result instanceof Promise ? result.then(report) : report(result);
    },
  }));
}
