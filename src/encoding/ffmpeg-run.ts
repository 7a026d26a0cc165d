/**
 * One ffmpeg process: spawn, stderr drained (last lines kept for the error message), `-progress`
 * parsed from stdout (out_time advancing = the stream is moving), graceful stop with SIGKILL
 * fallback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { onAbort } from './on-abort';

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last stderr lines (warnings/errors). */
  stderrTail: string;
}

export class FfmpegRun {
  readonly child: ChildProcess;
  readonly exited: Promise<FfmpegExit>;
  /** Date.now() of the last progress (out_time moved forward). */
  lastProgressAt = Date.now();
  /** Called once, the first time ffmpeg reports output (out_time > 0 or bytes written). */
  onFirstOutput: (() => void) | null = null;
  private outTime = -1;
  private producedOutput = false;
  private stderrTail = '';
  private killTimer: NodeJS.Timeout | null = null;
  private done = false;

  /**
   * @param outputPipes extra pipes ffmpeg writes to (`pipe:3`, `pipe:4`, …), read from `outputs`
   */
  constructor(ffmpegPath: string, args: string[], stdinIsInput: boolean, outputPipes = 0) {
    const extra: Array<'pipe'> = Array.from({ length: outputPipes }, () => 'pipe');
    this.child = spawn(ffmpegPath, args, { stdio: [stdinIsInput ? 'pipe' : 'ignore', 'pipe', 'pipe', ...extra] });
    this.child.stdin?.on('error', () => undefined); // EPIPE after ffmpeg exits
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-4000);
    });
    let pending = '';
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (text: string) => {
      pending += text;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.startsWith('out_time_ms=')) {
          const t = Number(line.slice(12));
          if (Number.isFinite(t) && t > this.outTime) {
            this.outTime = t;
            this.lastProgressAt = Date.now();
            if (t > 0) this.firstOutput();
          }
        } else if (line.startsWith('total_size=') && Number(line.slice(11)) > 0) {
          this.firstOutput();
        }
      }
    });
    this.exited = new Promise((resolve) => {
      let settled = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (settled) return;
        settled = true;
        this.done = true;
        if (this.killTimer) clearTimeout(this.killTimer);
        resolve({ code, signal, stderrTail: this.stderrTail });
      };
      this.child.on('error', (err) => {
        this.stderrTail += `\nspawn failed: ${err.message}`;
        finish(null, null);
      });
      this.child.on('close', finish);
    });
  }

  /** The extra output pipes, in order (fd 3 first). */
  get outputs(): Readable[] {
    return this.child.stdio.slice(3).filter((s): s is Readable => s !== null && s !== undefined && 'read' in s);
  }

  private firstOutput(): void {
    if (this.producedOutput) return;
    this.producedOutput = true;
    this.onFirstOutput?.();
  }

  /** Whether ffmpeg has reported any output yet. */
  get hasOutput(): boolean {
    return this.producedOutput;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  write(chunk: Uint8Array): void {
    const stdin = this.child.stdin;
    if (stdin && !stdin.destroyed && stdin.writable) stdin.write(chunk);
  }

  /** Bytes waiting in the stdin pipe buffer (back-pressure indicator). */
  get pendingInputBytes(): number {
    return this.child.stdin?.writableLength ?? 0;
  }

  endInput(): void {
    const stdin = this.child.stdin;
    if (stdin && !stdin.destroyed) stdin.end();
  }

  /** Graceful end: the caller already ended the input (stdin) or `signal` is sent; SIGKILL after `graceSeconds`. */
  stop(graceSeconds: number, signal: NodeJS.Signals | null): void {
    if (this.done) return;
    if (signal) this.child.kill(signal);
    if (!this.killTimer) this.killTimer = setTimeout(() => this.kill(), graceSeconds * 1000);
  }

  kill(): void {
    if (!this.done) this.child.kill('SIGKILL');
  }
}

export interface RunWatchOptions {
  /** Newest moment anything moved (ffmpeg progress, input bytes); no movement for `stallMs` kills ffmpeg. */
  lastActivity: () => number;
  stallMs: number;
  /** Also called on every watchdog tick (every 500 ms). */
  onTick?: () => void;
  /** The job's stop request. */
  stop: AbortSignal;
  /** A stdin-fed input: closing it is EOF for ffmpeg (flush, exit 0); null = signal ffmpeg (SIGINT). */
  stdinInput: { close(): void } | null;
  graceSeconds: number;
}

/**
 * Supervises one ffmpeg run for a job: the stall watchdog, and a graceful stop on the job's stop
 * signal (EOF on stdin, or SIGINT; SIGKILL after the grace period). `dispose()` once ffmpeg exited.
 */
export function watchRun(ffmpeg: FfmpegRun, options: RunWatchOptions): { stalled(): boolean; stoppedByUs(): boolean; dispose(): void } {
  let stalled = false;
  let stoppedByUs = false;
  const timer = setInterval(() => {
    options.onTick?.();
    if (Date.now() - options.lastActivity() > options.stallMs) {
      stalled = true;
      ffmpeg.kill();
    }
  }, 500);
  const off = onAbort(options.stop, () => {
    stoppedByUs = true;
    if (options.stdinInput) {
      options.stdinInput.close();
      ffmpeg.stop(options.graceSeconds, null);
    } else {
      ffmpeg.stop(options.graceSeconds, 'SIGINT');
    }
  });
  return {
    stalled: () => stalled,
    stoppedByUs: () => stoppedByUs,
    dispose: () => {
      clearInterval(timer);
      off();
    },
  };
}
