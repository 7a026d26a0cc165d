/**
 * One stream's encode job (runs in a worker thread): probe the source, choose the ladder, run one
 * ffmpeg that decodes once and writes every rendition and the previews, publish each complete
 * segment with atomically written playlists, and report. HLS_SEGMENT_FORMAT=fmp4 (default): each
 * rendition comes out of ffmpeg as FLV on its own pipe and castline packages it (`{N}.m4s` +
 * `init.mp4`, LL-HLS parts to the main thread: `pipe-packaging.ts`); mpegts: ffmpeg's segment
 * muxer cuts `{N}.ts` into a staging folder (`segment-watcher.ts`). Preview images, in both, are
 * written by the same ffmpeg and counted by `preview-watcher.ts`.
 *
 * Supervision: an ffmpeg that dies while the input is live is restarted here (`restart-loop.ts`:
 * bounded, backoff from `restartBackoffMs` doubling up to 8 s); numbering continues and playlists
 * get `#EXT-X-DISCONTINUITY`. No input progress for `stallTimeoutSeconds` ends the stream
 * (`INPUT_STALLED`). `stop()` ends the input (WS) or sends SIGINT (RTMP), waits
 * `stopGraceSeconds`, then SIGKILL. Playlists get ENDLIST at the very end.
 */
import type { EncoderReport } from '../domain/jobs';
import { FileStorage } from '../storage/filesystem';
import { storageFaultInStderr, storageFaultOf, type StorageFault } from '../storage/storage-errors';
import { classifyEncodeExit, encodeExitReport, encodeFailed, type EncodeExited, type EncodeRunOutcome } from './encode-run-outcome';
import { buildFfmpegArgs, type EncodingOptions } from './ffmpeg-args';
import { FfmpegRun, watchRun } from './ffmpeg-run';
import { selectLadder, type SourceInfo } from './ladder';
import { layout, type StreamRef } from './layout';
import { onAbort } from './on-abort';
import { initialOutputs, StreamOutputs, type OutputsState } from './outputs';
import { PipePackaging } from './pipe-packaging';
import { PreviewWatcher } from './preview-watcher';
import { ProbeError, runProbe } from './probe';
import { runWithRestarts, type RestartPolicy } from './restart-loop';
import { SegmentWatcher } from './segment-watcher';
import type { JobOptions, WorkerTask, WorkerToMain } from './worker.types';
import { WsInput } from './ws-input';

/** Cap of the pause between two ffmpeg runs of one job. */
const MAX_RESTART_BACKOFF_MS = 8000;

/** Where one run's ffmpeg writes files. */
interface RunFolders {
  /** Storage-relative path of the run's staging folder (removed after the run); null for a piped run (none). */
  staging: string | null;
  /** Per rendition of the outputs state, in its order: the staging sub-folder ffmpeg segments into (none when piped). */
  renditionDirs: readonly string[];
  /** The absolute folder of the preview images; null without previews. */
  previewDir: string | null;
  /** Storage-relative folder named when ffmpeg's stderr reports a storage failure. */
  written: string;
}

export class EncodeJobRunner {
  private readonly ref: StreamRef;
  private readonly storage: FileStorage;
  private readonly stopper = new AbortController();
  /** The first storage failure met (full, not writable): the job ends with it, no restart. */
  private storageFault: StorageFault | null = null;

  constructor(private readonly task: Omit<WorkerTask, 'port'>, private readonly post: (message: WorkerToMain, transfer?: ArrayBuffer[]) => void) {
    this.ref = { channel: task.job.channel, streamId: task.job.streamId };
    this.storage = new FileStorage(task.options.storageRoot);
  }

  /** Graceful stop (idempotent). */
  stop(): void {
    this.stopper.abort();
  }

  /**
   * Records a storage failure (the first one wins) and stops the job: writing on is pointless.
   * Returns false for an error that is not a storage failure.
   */
  private noteStorageError(err: unknown): boolean {
    const fault = storageFaultOf(err, this.storage.root);
    if (fault === null) return false;
    if (this.storageFault === null) {
      this.storageFault = fault;
      this.stopper.abort();
    }
    return true;
  }

  private get options(): JobOptions {
    return this.task.options;
  }

  private get restartPolicy(): RestartPolicy {
    return { maxRestarts: this.options.maxRestarts, backoffBaseMs: this.options.restartBackoffMs, backoffMaxMs: MAX_RESTART_BACKOFF_MS };
  }

  private report(report: EncoderReport): void {
    this.post({ type: 'report', report });
  }

  /** Runs the job to its end; returns the final `exited` report (not yet posted). */
  async run(): Promise<EncodeExited> {
    try {
      layout.streamDir(this.ref); // validates the ids before anything touches the disk
    } catch (err) {
      return encodeFailed('START_FAILED', (err as Error).message);
    }
    let probedInput: WsInput | null = null;
    let outputs: StreamOutputs | null = null;
    try {
      const plan = await this.planOutputs();
      if (plan === 'no-input') return { type: 'exited', clean: true };
      probedInput = plan.input;
      const { state } = plan;
      const publishing = new StreamOutputs(state, this.storage, (output) => this.report({ type: 'available', output }), (event) => this.post({ type: 'output', event }));
      outputs = publishing;
      if (this.task.prior) await publishing.restart();
      const end = await runWithRestarts<EncodeRunOutcome>({
        run: async (runIndex) => {
          const outcome = await this.runOnce(state, publishing, runIndex, probedInput);
          probedInput = null;
          return outcome;
        },
        crashed: (outcome) => outcome.kind === 'crashed',
        beforeRestart: () => publishing.restart(),
      }, this.restartPolicy, this.stopper.signal);
      await this.endOutputs(publishing);
      const last: EncodeRunOutcome = this.storageFault !== null ? { kind: 'storage', fault: this.storageFault } : end.kind === 'ran' ? end.outcome : { kind: 'ended' };
      return encodeExitReport(last, end.restarts, this.options.stallTimeoutSeconds);
    } catch (err) {
      if (outputs) await outputs.end().catch(() => undefined);
      if (err instanceof ProbeError) return encodeFailed(err.code, err.message);
      if (this.noteStorageError(err)) return encodeFailed(this.storageFault!.code, this.storageFault!.message);
      return encodeFailed('START_FAILED', (err as Error).message);
    } finally {
      (probedInput as WsInput | null)?.close();
      await this.storage.removeTree(`.staging/${this.ref.channel}/${this.ref.streamId}`).catch(() => undefined);
    }
  }

  /** Ends the playlists and waits for every write; a storage failure there is noted, not thrown. */
  private async endOutputs(publishing: StreamOutputs): Promise<void> {
    try {
      await publishing.end();
      await publishing.flush();
    } catch (err) {
      if (!this.noteStorageError(err)) throw err;
    }
  }

  /**
   * The outputs to produce: those of an earlier attempt (a restart with `attempt > 0` continues
   * them), or a new plan (the ladder for the probed source), posted to the main thread.
   */
  private async planOutputs(): Promise<{ state: OutputsState; input: WsInput | null } | 'no-input'> {
    if (this.task.prior) return { state: this.task.prior, input: null };
    const probed = await this.probe();
    if (probed === 'no-input') return 'no-input';
    try {
      const { settings } = this.task.job;
      const requested = settings.resolutions.rungs.length > 0 || settings.resolutions.original ? settings.resolutions : { original: true, rungs: [] };
      const renditions = selectLadder(probed.info, requested, { originalMode: this.options.originalMode });
      const state = initialOutputs(
        this.ref,
        { hlsTime: this.options.hlsTimeSeconds, liveSize: this.options.hlsLivePlaylistSize, vodMaxSize: this.options.hlsVodMaxSize, record: settings.record, format: this.options.segmentFormat },
        probed.info,
        renditions,
        settings.previews,
      );
      this.post({ type: 'plan', state });
      return { state, input: probed.input };
    } catch (err) {
      probed.input?.close();
      throw err;
    }
  }

  /** Probes the source. For WS the same connection then feeds ffmpeg (its bytes are kept). */
  private async probe(): Promise<{ info: SourceInfo; input: WsInput | null } | 'no-input'> {
    const { job } = this.task;
    const timeout = this.options.stallTimeoutSeconds;
    const stop = this.stopper.signal;
    if (job.source.type === 'RTMP') {
      const probe = runProbe(this.options.ffmpegPath, job.source.uri, timeout, timeout + 2);
      if (probe.pid) this.post({ type: 'child', pid: probe.pid, alive: true });
      const off = onAbort(stop, () => probe.kill());
      try {
        return { info: await probe.result, input: null };
      } finally {
        off();
        if (probe.pid) this.post({ type: 'child', pid: probe.pid, alive: false });
      }
    }
    const probe = runProbe(this.options.ffmpegPath, null, timeout, timeout);
    if (probe.pid) this.post({ type: 'child', pid: probe.pid, alive: true });
    const input = new WsInput(job.source.uri, (chunk) => probe.write(chunk));
    void input.whenEnded().then(() => probe.end());
    const off = onAbort(stop, () => { input.close(); probe.kill(); });
    try {
      const info = await probe.result;
      return { info, input };
    } catch (err) {
      input.close();
      if (input.bytes === 0 && (input.ended || stop.aborted)) return 'no-input';
      throw err;
    } finally {
      off();
      if (probe.pid) this.post({ type: 'child', pid: probe.pid, alive: false });
    }
  }

  /**
   * The input of one run: none for RTMP (ffmpeg pulls it); for WS the probed connection on the
   * first run, a new one (with bytes) on a restart. 'no-input' when stopped or the publisher is gone.
   */
  private async runInput(probedInput: WsInput | null): Promise<WsInput | null | 'no-input'> {
    const { source } = this.task.job;
    if (this.stopper.signal.aborted) {
      probedInput?.close();
      return 'no-input';
    }
    if (source.type !== 'WS' || probedInput !== null) return probedInput;
    const input = new WsInput(source.uri);
    const off = onAbort(this.stopper.signal, () => input.close());
    await input.firstChunk();
    off();
    if (input.bytes > 0) return input;
    input.close();
    return 'no-input'; // the publisher is gone: nothing to restart
  }

  /**
   * The run's folders: the preview folder; for a run that cuts segments (not piped), a fresh
   * staging folder with one sub-folder per rendition. A piped run has no staging folder.
   */
  private async prepareFolders(state: OutputsState, runIndex: number, piped: boolean): Promise<RunFolders> {
    const previewRel = state.previews ? layout.previewDir(this.ref, state.previews.id) : null;
    const previewDir = previewRel !== null ? await this.storage.ensureDir(previewRel) : null;
    if (piped) return { staging: null, renditionDirs: [], previewDir, written: previewRel ?? layout.streamDir(this.ref) };
    const rel = layout.staging(this.ref, this.task.job.attempt * 1000 + runIndex);
    await this.storage.ensureDir(rel);
    const renditionDirs = await Promise.all(state.renditions.map((_, i) => this.storage.ensureDir(`${rel}/r${i}`)));
    return { staging: rel, renditionDirs, previewDir, written: rel };
  }

  /** What publishes the files a run's ffmpeg writes: its MPEG-TS segments (not piped), its preview images. */
  private fileWatchers(state: OutputsState, outputs: StreamOutputs, folders: RunFolders): { segments: SegmentWatcher | null; previews: PreviewWatcher | null } {
    const onError = (err: unknown) => void this.noteStorageError(err);
    const segments = folders.staging !== null ? new SegmentWatcher(state, folders.renditionDirs, outputs, onError) : null;
    const p = state.previews;
    const previews = p && folders.previewDir !== null
      ? new PreviewWatcher({ dir: folders.previewDir, count: p.count, onCount: (count) => outputs.setPreviewCount(count) }, onError)
      : null;
    segments?.start();
    previews?.start();
    return { segments, previews };
  }

  private ffmpegArgs(state: OutputsState, folders: RunFolders, piped: boolean): string[] {
    const o = this.options;
    const options: EncodingOptions = { hlsTimeSeconds: o.hlsTimeSeconds, h264Preset: o.h264Preset, videoCodec: o.videoCodec, audioCodec: o.audioCodec, pixelFormat: o.pixelFormat, readTimeoutSeconds: o.stallTimeoutSeconds + 2 };
    return buildFfmpegArgs({
      source: this.task.job.source,
      info: state.info,
      renditions: state.renditions.map((r, i) => ({
        rendition: r.rendition,
        level: r.level,
        target: piped ? { kind: 'flv-pipe' as const, fd: 3 + i } : { kind: 'segments' as const, dir: folders.renditionDirs[i]!, startNumber: r.nextNumber },
      })),
      previews: state.previews && folders.previewDir ? { settings: state.previews.settings, dir: folders.previewDir, startNumber: state.previews.count } : null,
      options,
    });
  }

  /** castline packages the run's renditions itself (FLV pipes), or ffmpeg cuts MPEG-TS segments. */
  private piped(state: OutputsState): boolean {
    return state.settings.format === 'fmp4';
  }

  /** The packager of a piped run: its invalid media stops ffmpeg (`invalid` holds why). */
  private pipePackaging(state: OutputsState, outputs: StreamOutputs, invalid: { message: string | null; stop: () => void }): PipePackaging {
    return new PipePackaging({
      state, outputs,
      timing: { partSeconds: this.options.partSeconds, segmentSeconds: this.options.hlsTimeSeconds },
      post: (rendition, event, transfer) => this.post({ type: 'live', rendition, event }, transfer),
      onStorageError: (err) => void this.noteStorageError(err),
      onInvalid: (message) => {
        invalid.message ??= message;
        invalid.stop();
      },
      onWarning: (message) => this.post({ type: 'warning', message }),
    });
  }

  /** One ffmpeg run, from spawn to exit, publishing what it produces. */
  private async runOnce(state: OutputsState, outputs: StreamOutputs, runIndex: number, probedInput: WsInput | null): Promise<EncodeRunOutcome> {
    const input = await this.runInput(probedInput);
    if (input === 'no-input') return { kind: 'ended' };
    const piped = this.piped(state);
    const folders = await this.prepareFolders(state, runIndex, piped);
    const ffmpeg = new FfmpegRun(this.options.ffmpegPath, this.ffmpegArgs(state, folders, piped), this.task.job.source.type === 'WS', piped ? state.renditions.length : 0);
    const pid = ffmpeg.pid;
    if (pid) this.post({ type: 'child', pid, alive: true });
    if (input) input.attach((chunk) => ffmpeg.write(chunk), () => ffmpeg.endInput());
    const invalid = { message: null as string | null, stop: () => ffmpeg.kill() };
    const packaging = piped ? this.pipePackaging(state, outputs, invalid) : null;
    packaging?.attach(ffmpeg.outputs);
    const { segments, previews } = this.fileWatchers(state, outputs, folders);
    // Stall watchdog (neither input bytes nor encoding progress) and graceful stop.
    const watch = watchRun(ffmpeg, {
      lastActivity: () => Math.max(ffmpeg.lastProgressAt, input?.lastByteAt ?? 0),
      stallMs: this.options.stallTimeoutSeconds * 1000,
      stop: this.stopper.signal,
      stdinInput: input,
      graceSeconds: this.options.stopGraceSeconds,
    });

    const exit = await ffmpeg.exited;
    segments?.stopWatching();
    watch.dispose();
    if (pid) this.post({ type: 'child', pid, alive: false });
    packaging?.end();
    await segments?.finalScan();
    await previews?.stop(); // the last image counted
    await outputs.flush().catch(() => undefined); // the packaged segments are written (or their failure noted)
    const inputEnded = input?.ended ?? false;
    const inputEndedCleanly = inputEnded && input?.endError === null;
    input?.close();
    if (folders.staging !== null) await this.storage.removeTree(folders.staging).catch(() => undefined);
    if (this.storageFault !== null) return { kind: 'storage', fault: this.storageFault };
    if (invalid.message !== null) return { kind: 'invalid', message: `castline cannot package this media: ${invalid.message}` };
    const facts = { stalled: watch.stalled(), stoppedByUs: watch.stoppedByUs(), produced: (segments?.produced ?? 0) + (packaging?.segments ?? 0), inputEnded, inputEndedCleanly };
    const ffmpegFault = facts.stalled || facts.stoppedByUs || exit.code === 0 ? null : storageFaultInStderr(exit.stderrTail, folders.written, this.storage.root);
    return ffmpegFault !== null ? { kind: 'storage', fault: ffmpegFault } : classifyEncodeExit(exit, facts);
  }
}
