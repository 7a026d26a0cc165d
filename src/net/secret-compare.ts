/**
 * The one constant-time comparison of secrets (API credentials, stream keys, the internal RTMP
 * token). The loop runs over the *given* value (whose length the caller already knows) and compares
 * it with the expected one cyclically, so the time depends neither on where the values differ nor
 * on the expected secret's length; no allocation (it sits on the API's hot path: measured in
 * bench/RESULTS.md, a SHA-256 of both sides cost 8–20 % of the commands API's throughput).
 */
export function secretsEqual(given: string, expected: string): boolean {
  const n = expected.length;
  if (n === 0) return given.length === 0;
  let diff = given.length ^ n;
  for (let i = 0; i < given.length; i++) diff |= given.charCodeAt(i) ^ expected.charCodeAt(i % n);
  return diff === 0;
}

/** A check against a fixed secret. */
export function secretMatcher(secret: string): (given: string) => boolean {
  return (given) => secretsEqual(given, secret);
}
