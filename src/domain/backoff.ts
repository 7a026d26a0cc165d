/**
 * The one backoff formula of castline: the pause before retry number `retry` (1 = the first retry)
 * is `min(maxMs, baseMs · 2^(retry-1))`. Used by the stream machine (encoder restarts), the job
 * runners (ffmpeg restarts) and the event outbox (with full jitter). Pure.
 */
export function backoffMs(retry: number, baseMs: number, maxMs: number): number {
  const exponent = Math.min(Math.max(retry, 1) - 1, 52);
  return Math.min(maxMs, baseMs * 2 ** exponent);
}

/** Full jitter: a uniform pick in [0, ms). `random` is injectable for tests; clamped into [0, 1]. */
export function withFullJitter(ms: number, random: () => number = Math.random): number {
  return Math.floor(Math.min(Math.max(random(), 0), 1) * ms);
}
