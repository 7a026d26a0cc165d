/**
 * A job's graceful-stop request: set once, and listeners registered for the phase under way
 * (probe, ffmpeg run, backoff wait) are called at once — or immediately when it was already set.
 */
export class StopSignal {
  #requested = false;
  #listeners: Array<() => void> = [];

  get requested(): boolean {
    return this.#requested;
  }

  /** Idempotent. */
  request(): void {
    if (this.#requested) return;
    this.#requested = true;
    this.#listeners.splice(0).forEach((l) => l());
  }

  /** Calls `listener` on stop (now, if already stopped); returns the unsubscribe function. */
  onStop(listener: () => void): () => void {
    if (this.#requested) {
      listener();
      return () => undefined;
    }
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }
}
