/**
 * Distinct clients seen in the last `windowMs` (HLS viewers): a map from client to the time it was
 * last seen, kept in recency order (re-inserted on every sighting) so expired clients are dropped
 * from its front, at count time or when it holds `max` clients (then the oldest goes first).
 */
export class RecentClients {
  readonly #seen = new Map<string, number>();

  constructor(
    readonly windowMs: number,
    readonly max = 100_000,
  ) {}

  saw(client: string, now = Date.now()): void {
    this.#seen.delete(client);
    this.#seen.set(client, now);
    if (this.#seen.size > this.max) this.#prune(now, this.#seen.size - this.max);
  }

  count(now = Date.now()): number {
    this.#prune(now, 0);
    return this.#seen.size;
  }

  /** Drops expired clients from the front, and at least `atLeast` of the oldest. */
  #prune(now: number, atLeast: number): void {
    let dropped = 0;
    for (const [client, at] of this.#seen) {
      if (dropped >= atLeast && now - at <= this.windowMs) break;
      this.#seen.delete(client);
      dropped++;
    }
  }
}
