/**
 * The one place uWebSockets.js is loaded. The npm build silently falls back to a slow ws-based
 * JavaScript implementation when its native binary fails to load; `uwsIsNative` tells which one
 * is in use (the fallback has no H3App/SSLApp). main.ts refuses to start on the fallback.
 */
import * as uWS from 'uWebSockets.js';

export { uWS };
export const uwsIsNative: boolean = typeof (uWS as { H3App?: unknown }).H3App === 'function';
export const uwsBuild: string = uwsIsNative
  ? `native (node ABI ${process.versions.modules})`
  : 'JavaScript fallback (native binary failed to load)';
