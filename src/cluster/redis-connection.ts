/**
 * The Redis connections of a cluster node (ioredis): commands fail at once while Redis is away
 * (no offline queue: a publish must be refused now, not after an unbounded wait) and the client
 * reconnects on its own, so a node recovers without a restart.
 */
import Redis from 'ioredis';
import type { Logger } from '../logging/logger';

const CONNECT_TIMEOUT_MS = 2000;

export function redisClient(url: string, logger: Logger, name: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: CONNECT_TIMEOUT_MS,
    connectionName: name,
    // Reconnect forever, at most every 1 s: Redis coming back must be noticed within seconds.
    retryStrategy: (attempt) => Math.min(100 * attempt, 1000),
  });
  let down = false;
  redis.on('error', (err: Error) => {
    if (!down) logger.warn({ err: { message: err.message }, connection: name }, 'Redis connection failed; retrying');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info({ connection: name }, 'Redis connection back');
    down = false;
  });
  return redis;
}

/** Connects, retrying until `timeoutMs`; rejects naming the URL's host when Redis never answers. */
export async function connectRedis(redis: Redis, timeoutMs: number): Promise<void> {
  const ready = new Promise<void>((resolve) => redis.once('ready', () => resolve()));
  redis.connect().catch(() => undefined); // failures are retried by retryStrategy and logged by 'error'
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis (REDIS_URL) did not answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
  });
  try {
    await Promise.race([ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
