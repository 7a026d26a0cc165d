/**
 * One workflow step job (runs in a worker thread): one supervised ffmpeg that copies (or
 * transcodes) the step's input to its output — see `step-args.ts` for the command lines.
 *
 * Supervision, per job:
 * - `active` is reported once, when ffmpeg first reports output (out_time > 0 or bytes written).
 * - ffmpeg exiting 0 (input ended: EOF, publisher gone, file done) → `exited` clean.
 * - ffmpeg failing while not stopped → restart (`restart-loop.ts`) after 1 s, 2 s, 4 s… (capped
 *   8 s), at most `maxRestarts` times (the count resets after a run that produced output for `stableRunSeconds`);
 *   then `exited` STEP_FAILED with ffmpeg's last stderr lines. Before each restart the input must
 *   still be there: a WS receiver that is refused or gets no bytes, or an RTMP/pull input ffmpeg
 *   cannot open, means the stream ended → `exited` clean (on the very first run: START_FAILED).
 * - No ffmpeg progress for `stallTimeoutSeconds` → killed, `exited` INPUT_STALLED.
 * - `stop()` (idempotent): WS → the socket is closed (EOF on stdin); RTMP/pull → SIGINT; SIGKILL
 *   after `stopGraceSeconds` (then `exited` is not clean: the output was not finalised).
 * - An `ffmpeg_hls` playlist always ends with `#EXT-X-ENDLIST` when the job is over; a restart
 *   continues it (`append_list`: numbering goes on after an `#EXT-X-DISCONTINUITY`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { JobErrorCode } from '../domain/jobs';
import { ensureContainedDir } from '../storage/contain';
import { stderrSummary } from './ffmpeg-console';
import { FfmpegRun, type FfmpegExit, watchRun } from './ffmpeg-run';
import { onAbort } from './on-abort';
import { ProbeError, runProbe } from './probe';
import { runWithRestarts, type RestartPolicy } from './restart-loop';
import {
  buildStepArgs, codecsForContainer, codecsForSource, COPY_CODECS, hlsPlaylistPath, inputOpenFailed,
  sniffContainer, stepInput, validateStep, type CodecPlan, type StepInput,
} from './step-args';
import { endHlsPlaylistSync, readWholePlaylist } from './step-playlist';
import type { StepExited, StepOptions, StepTask, StepWorkerToMain } from './worker.types';
import { WsInput } from './ws-input';

type RunOutcome =
  /** ffmpeg finished by itself (exit 0), or after our stop request. */
  | { kind: 'ended' }
  /** Stop requested, but ffmpeg had to be SIGKILLed after the grace period. */
  | { kind: 'stop-killed' }
  | { kind: 'stalled' }
  /** The input is not there (refused, no bytes, could not be opened). */
  | { kind: 'input-gone'; message: string }
  /** A WS input connected but sent nothing within the stall timeout. */
  | { kind: 'no-data' }
  | { kind: 'failed'; message: string; activeMs: number };

/** Cap of the pause between two ffmpeg runs of one step. */
const MAX_RESTART_BACKOFF_MS = 8000;

export class StepJobRunner {
  private readonly stopper = new AbortController();
  private activeReported = false;
  /** `ffmpeg_hls`: the playlist path, and its last whole text (restored if a kill cut it). */
  private playlist: string | null;
  private playlistSnapshot: string | null = null;

  constructor(private readonly task: Omit<StepTask, 'port'>, private readonly post: (message: StepWorkerToMain) => void) {
    const step = task.job.step;
    this.playlist = step.type === 'ffmpeg_hls' && typeof step.directory === 'string' && typeof step.name === 'string' ? hlsPlaylistPath(step) : null;
  }

  /** Graceful stop (idempotent). */
  stop(): void {
    this.stopper.abort();
  }

  private get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  private get options(): StepOptions {
    return this.task.options;
  }

  private get restartPolicy(): RestartPolicy {
    return { maxRestarts: this.options.maxRestarts, backoffBaseMs: this.options.restartBackoffMs, backoffMaxMs: MAX_RESTART_BACKOFF_MS };
  }

  /** Runs the job to its end; returns the final `exited` report (not yet posted). */
  async run(): Promise<StepExited> {
    const { job } = this.task;
    let input: StepInput;
    try {
      validateStep(job.step);
      input = stepInput(job);
      if (job.step.type === 'ffmpeg_hls') {
        const { directory, root } = job.step;
        if (root === undefined) await fs.promises.mkdir(directory, { recursive: true });
        else await ensureContainedDir(root, directory, path.relative(root, directory) || '.');
      }
    } catch (err) {
      this.playlist = null; // never finalise a playlist the step may not write (e.g. a symlink out of the root)
      return failed('START_FAILED', (err as Error).message);
    }
    try {
      return await this.supervise(input);
    } catch (err) {
      return failed('START_FAILED', (err as Error).message);
    } finally {
      if (this.playlist) {
        try {
          endHlsPlaylistSync(this.playlist, this.playlistSnapshot);
        } catch {
          /* the directory went away: nothing to finalise */
        }
      }
    }
  }

  private async supervise(input: StepInput): Promise<StepExited> {
    const { job } = this.task;
    // Codecs: RTMP inputs are H.264/AAC (copied); a pulled location is looked at first; a WS
    // input is decided from its first bytes (in runOnce).
    let codecs: CodecPlan | null = input.kind === 'rtmp' ? COPY_CODECS : null;
    if (input.kind === 'location') {
      const probed = await this.probeLocation(input.location);
      if (probed === 'stopped') return { type: 'exited', clean: true };
      if (probed instanceof Error) return failed('START_FAILED', probed.message);
      codecs = probed;
    }
    const end = await runWithRestarts<RunOutcome>({
      run: async (runIndex) => {
        const { outcome, codecs: used } = await this.runOnce(input, codecs, job.attempt > 0 || runIndex > 0);
        codecs = used;
        return outcome;
      },
      crashed: (outcome) => outcome.kind === 'failed',
      wasStable: (outcome) => outcome.kind === 'failed' && outcome.activeMs >= this.options.stableRunSeconds * 1000,
    }, this.restartPolicy, this.stopper.signal);
    if (end.kind === 'stopped-while-waiting') return { type: 'exited', clean: true };
    return this.exitReport(end.outcome, end.runIndex === 0 && job.attempt === 0, end.restarts);
  }

  /** The job's final report for its last run's outcome (`firstEver`: the step's very first run). */
  private exitReport(outcome: RunOutcome, firstEver: boolean, restarts: number): StepExited {
    if (outcome.kind === 'stop-killed') return failed('STEP_FAILED', `ffmpeg did not finish within ${this.options.stopGraceSeconds} s of the stop request and was killed`);
    if (this.stopped) return { type: 'exited', clean: true };
    switch (outcome.kind) {
      case 'ended':
        return { type: 'exited', clean: true };
      case 'stalled':
        return failed('INPUT_STALLED', `no progress for ${this.options.stallTimeoutSeconds} s`);
      case 'input-gone':
        return firstEver ? failed('START_FAILED', outcome.message) : { type: 'exited', clean: true };
      case 'no-data':
        return firstEver ? failed('INPUT_STALLED', `no media within ${this.options.stallTimeoutSeconds} s`) : { type: 'exited', clean: true };
      case 'failed':
        return failed('STEP_FAILED', `${outcome.message} (after ${restarts} restart(s))`);
    }
  }

  /** `ffmpeg_pull`: which tracks can be copied into FLV. */
  private async probeLocation(location: string): Promise<CodecPlan | Error | 'stopped'> {
    const timeout = this.options.stallTimeoutSeconds;
    const probe = runProbe(this.options.ffmpegPath, location, timeout, 5);
    if (probe.pid) this.post({ type: 'child', pid: probe.pid, alive: true });
    const off = onAbort(this.stopper.signal, () => probe.kill());
    try {
      return codecsForSource(await probe.result);
    } catch (err) {
      if (this.stopped) return 'stopped';
      return new Error(`cannot read ${location}: ${err instanceof ProbeError ? err.message : String(err)}`);
    } finally {
      off();
      if (probe.pid) this.post({ type: 'child', pid: probe.pid, alive: false });
    }
  }

  /** Connects a WS input and waits for its first bytes (or its end, or the stall timeout). */
  private async connectWs(uri: string): Promise<WsInput | RunOutcome> {
    const ws = new WsInput(uri, undefined, 'receive');
    let timer: NodeJS.Timeout | undefined;
    const off = onAbort(this.stopper.signal, () => ws.close());
    await Promise.race([ws.firstChunk(), new Promise<void>((r) => { timer = setTimeout(r, this.options.stallTimeoutSeconds * 1000); })]);
    clearTimeout(timer);
    off();
    if (this.stopped) {
      ws.close();
      return { kind: 'ended' };
    }
    if (ws.bytes > 0) return ws;
    const ended = ws.ended;
    const why = ws.endError ?? 'the stream ended before any media arrived';
    ws.close();
    return ended ? { kind: 'input-gone', message: why } : { kind: 'no-data' };
  }

  /** One ffmpeg run, from spawn to exit. */
  private async runOnce(input: StepInput, plannedCodecs: CodecPlan | null, appendHls: boolean): Promise<{ outcome: RunOutcome; codecs: CodecPlan | null }> {
    if (this.stopped) return { outcome: { kind: 'ended' }, codecs: plannedCodecs };
    let ws: WsInput | null = null;
    let codecs = plannedCodecs;
    if (input.kind === 'ws') {
      const connected = await this.connectWs(input.uri);
      if (!(connected instanceof WsInput)) return { outcome: connected, codecs };
      ws = connected;
      codecs ??= codecsForContainer(sniffContainer(ws.head));
    }
    const args = buildStepArgs({ input, step: this.task.job.step, codecs: codecs ?? COPY_CODECS, appendHls });
    const ffmpeg = new FfmpegRun(this.options.ffmpegPath, args, ws !== null);
    const pid = ffmpeg.pid;
    if (pid) this.post({ type: 'child', pid, alive: true });
    let activeAt = 0;
    ffmpeg.onFirstOutput = () => {
      activeAt = Date.now();
      if (!this.activeReported) {
        this.activeReported = true;
        this.post({ type: 'report', report: { type: 'active' } });
      }
    };
    if (ws) ws.attach((chunk) => ffmpeg.write(chunk), () => ffmpeg.endInput());

    // Stall watchdog (ffmpeg made no progress: input silent, or output blocked) and graceful stop.
    const watch = watchRun(ffmpeg, {
      lastActivity: () => ffmpeg.lastProgressAt,
      stallMs: this.options.stallTimeoutSeconds * 1000,
      onTick: () => {
        if (this.playlist) this.playlistSnapshot = readWholePlaylist(this.playlist) ?? this.playlistSnapshot;
      },
      stop: this.stopper.signal,
      stdinInput: ws,
      graceSeconds: this.options.stopGraceSeconds,
    });

    const exit: FfmpegExit = await ffmpeg.exited;
    watch.dispose();
    const stalled = watch.stalled();
    const stoppedByUs = watch.stoppedByUs();
    if (pid) this.post({ type: 'child', pid, alive: false });
    const wsEndedCleanly = ws !== null && ws.ended && ws.endError === null && !stoppedByUs;
    ws?.close();
    return { outcome: classifyStepExit(exit, { stalled, stoppedByUs, activeAt, wsEndedCleanly, input }), codecs };
  }
}

function classifyStepExit(exit: FfmpegExit, run: { stalled: boolean; stoppedByUs: boolean; activeAt: number; wsEndedCleanly: boolean; input: StepInput }): RunOutcome {
  if (run.stoppedByUs) return exit.signal === 'SIGKILL' ? { kind: 'stop-killed' } : { kind: 'ended' };
  if (run.stalled) return { kind: 'stalled' };
  if (exit.code === 0) return { kind: 'ended' };
  // The publisher closed the socket and ffmpeg complained about the truncated end: the input ended.
  if (run.wsEndedCleanly && run.activeAt > 0) return { kind: 'ended' };
  const summary = stderrSummary(exit.stderrTail) || 'no error output';
  const how = exit.signal ? `killed by ${exit.signal}` : exit.code === null ? 'did not start' : `exited with code ${exit.code}`;
  if (run.activeAt === 0 && run.input.kind !== 'ws' && inputOpenFailed(exit.stderrTail, run.input)) {
    return { kind: 'input-gone', message: `the input could not be opened: ${summary}` };
  }
  return { kind: 'failed', message: `ffmpeg ${how}: ${summary}`, activeMs: run.activeAt > 0 ? Date.now() - run.activeAt : 0 };
}

function failed(code: JobErrorCode, message: string): StepExited {
  return { type: 'exited', clean: false, error: { code, message } };
}
