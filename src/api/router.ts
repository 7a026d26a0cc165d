/**
 * Matches a method and path against the route table: exact segments, `:param` segments and a
 * trailing `*`. A path that matches no pattern is a 404; one that matches only under another
 * method is a 405 with `Allow`.
 */
import type { Method, Route } from './api.types';

export type Match =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allow: Method[] }
  | { kind: 'not-found' };

export function matchRoute(routes: readonly Route[], method: string, path: string): Match {
  const allow: Method[] = [];
  const wanted = method === 'HEAD' ? 'GET' : method;
  for (const route of routes) {
    const params = matchPattern(route.pattern, path);
    if (params === null) continue;
    if (route.method === wanted) return { kind: 'found', route, params };
    if (!allow.includes(route.method)) allow.push(route.method);
  }
  return allow.length > 0 ? { kind: 'method-not-allowed', allow } : { kind: 'not-found' };
}

export function matchPattern(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.split('/');
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    if (w === '*' && i === want.length - 1) {
      const rest = got.slice(i).join('/');
      if (rest === '') return null;
      params['*'] = rest;
      return params;
    }
    const g = got[i];
    if (g === undefined) return null;
    if (w.startsWith(':')) {
      if (g === '') return null;
      params[w.slice(1)] = g;
    } else if (w !== g) {
      return null;
    }
  }
  return got.length === want.length ? params : null;
}
