/**
 * A job's stop request is an `AbortSignal` (its runner's `AbortController`). This is how each phase
 * (probe, input connection, ffmpeg run) reacts to it: the listener runs once, at once if the signal
 * has already aborted, and the phase unsubscribes when it is over.
 */
export function onAbort(signal: AbortSignal, listener: () => void): () => void {
  if (signal.aborted) {
    listener();
    return () => undefined;
  }
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}
