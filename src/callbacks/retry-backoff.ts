/**
 * Pause before the next attempt of a failed delivery: exponential backoff with full jitter
 * (uniform in [0, min(max, base·2^(failures-1))]). Pure; `random` is injectable for tests.
 */
export function retryDelay(failures: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 52);
  const ceiling = Math.min(maxMs, baseMs * 2 ** exponent);
  return Math.floor(Math.min(Math.max(random(), 0), 1) * ceiling);
}
