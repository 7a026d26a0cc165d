/**
 * Cluster mode: the token an encoder node shows when it pulls a stream from an ingest node (RTMP
 * play, WS receive) — an HMAC-SHA256 of `{channel}/{key}` under CLUSTER_SECRET, so only nodes that
 * know the secret can pull, and a token for one channel and key opens no other. It travels as the
 * `cluster_token` query parameter of the source URI.
 */
import { createHmac } from 'node:crypto';

export const PULL_TOKEN_PARAM = 'cluster_token';

export type PullToken = (channel: string, key: string) => string;

export function pullTokenFor(secret: string): PullToken {
  return (channel, key) => createHmac('sha256', secret).update(`${channel}/${key}`).digest('hex');
}

/** `uri` with the token added as its query. */
export function withPullToken(uri: string, token: string): string {
  return `${uri}${uri.includes('?') ? '&' : '?'}${PULL_TOKEN_PARAM}=${token}`;
}
