/**
 * RTMP listeners named by workflow steps (mmids' `port=` and `rtmps`). A listener is known by its
 * key, `rtmp:{port}` or `rtmps:{port}`, where a step without `port=` uses the configured default
 * (RTMP_PORT, or RTMPS_PORT with `rtmps`); the RTMP ingest tags each publish with the key of the
 * listener it arrived on, and routing matches it against the steps' keys.
 */
import type { RtmpListenerSpec } from './workflow.types';

export interface ListenerDefaults {
  rtmpPort: number;
  rtmpsPort: number;
}

export function listenerKey(spec: RtmpListenerSpec, defaults: ListenerDefaults): string {
  return `${spec.tls ? 'rtmps' : 'rtmp'}:${spec.port ?? (spec.tls ? defaults.rtmpsPort : defaults.rtmpPort)}`;
}

/** `rtmps:8443` → { tls: true, port: 8443 }. */
export function parseListenerKey(key: string): { tls: boolean; port: number } {
  const [scheme, port] = key.split(':');
  return { tls: scheme === 'rtmps', port: Number(port) };
}
