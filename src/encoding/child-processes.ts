/**
 * Signalling the ffmpeg/ffprobe processes a job runs, by PID, from the main thread: what is left
 * to do when the job's worker thread is gone (or the process is exiting).
 */
import * as fs from 'node:fs';

/** Sends `signal` to each PID; a process already gone is skipped. */
export function signalAll(pids: Iterable<number>, signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Resolves once none of `pids` runs any more (gone, or a zombie: a dead worker's children are
 * never reaped by its event loop), or after `timeoutMs`.
 */
export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<void> {
  const running = (pid: number) => {
    try {
      return !/^State:\s+[ZX]/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return false;
    }
  };
  const deadline = Date.now() + timeoutMs;
  while (pids.some(running) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
