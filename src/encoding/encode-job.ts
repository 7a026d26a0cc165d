/**
 * One stream's encode job (runs in a worker thread): probe the source, choose the ladder, run one
 * ffmpeg that decodes once and writes every rendition and the previews into a staging folder,
 * publish each complete segment as `{N}.ts` with atomically written playlists, and report.
 *
 * Supervision: an ffmpeg that dies while the input is live is restarted here (bounded, with
 * backoff); numbering continues and playlists get `#EXT-X-DISCONTINUITY`. No input progress for
 * `stallTimeoutSeconds` ends the stream (`INPUT_STALLED`). `stop()` ends the input (WS) or sends
 * SIGINT (RTMP), waits `stopGraceSeconds`, then SIGKILL. Playlists get ENDLIST at the very end.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EncoderReport } from './encoder.types';
import { FileStorage } from '../storage/filesystem';
import { buildFfmpegArgs, type EncodingOptions } from './ffmpeg-args';
import { FfmpegRun, type FfmpegExit, watchRun } from './ffmpeg-run';
import { selectLadder, type SourceInfo } from './ladder';
import { layout, type StreamRef } from './layout';
import { initialOutputs, StreamOutputs, type OutputsState } from './outputs';
import { lastLine, ProbeError, runProbe } from './probe';
import { SegmentListReader } from './segment-list';
import type { JobOptions, WorkerTask, WorkerToMain } from './worker.types';
import { WsInput } from './ws-input';
import { StopSignal } from './stop-signal';
import { storageFaultInStderr, storageFaultOf, type StorageFault } from '../storage/storage-errors';

type RunOutcome =
  | { kind: 'ended' }
  | { kind: 'storage'; fault: StorageFault }
  | { kind: 'stalled' }
  | { kind: 'invalid'; message: string }
  | { kind: 'crashed'; message: string };

const POLL_MS = 200;
const INVALID_MEDIA_PATTERN = /Invalid data found|Could not find codec parameters|does not contain any stream|Stream map .* matches no streams|Error while decoding|moov atom not found|EBML header parsing failed/i;

export class EncodeJobRunner {
  private readonly ref: StreamRef;
  private readonly storage: FileStorage;
  private readonly stopSignal = new StopSignal();
  private outputs: StreamOutputs | null = null;
  /** The first storage failure met (full, not writable): the job ends with it, no restart. */
  private storageFault: StorageFault | null = null;

  constructor(private readonly task: Omit<WorkerTask, 'port'>, private readonly post: (message: WorkerToMain) => void) {
    this.ref = { channel: task.job.channel, streamId: task.job.streamId };
    this.storage = new FileStorage(task.options.storageRoot);
  }

  /** Graceful stop (idempotent). */
  stop(): void {
    this.stopSignal.request();
  }

  /**
   * Records a storage failure (the first one wins) and stops the run: writing on is pointless.
   * Returns false for an error that is not a storage failure.
   */
  private noteStorageError(err: unknown): boolean {
    const fault = storageFaultOf(err, this.storage.root);
    if (fault === null) return false;
    if (this.storageFault === null) {
      this.storageFault = fault;
      this.stopSignal.request();
    }
    return true;
  }

  private get options(): JobOptions {
    return this.task.options;
  }

  private report(report: EncoderReport): void {
    this.post({ type: 'report', report });
  }

  /** Runs the job to its end; returns the final `exited` report (not yet posted). */
  async run(): Promise<Extract<EncoderReport, { type: 'exited' }>> {
    const { job } = this.task;
    try {
      layout.streamDir(this.ref); // validates the ids before anything touches the disk
    } catch (err) {
      return { type: 'exited', clean: false, error: { code: 'START_FAILED', message: (err as Error).message } };
    }
    let wsInput: WsInput | null = null;
    try {
      let state: OutputsState;
      if (this.task.prior) {
        state = this.task.prior;
      } else {
        const probed = await this.probe();
        if (probed === 'no-input') return { type: 'exited', clean: true };
        wsInput = probed.input;
        const renditions = selectLadder(probed.info, job.settings.resolutions.rungs.length > 0 || job.settings.resolutions.original
          ? job.settings.resolutions
          : { original: true, rungs: [] }, { originalMode: this.options.originalMode });
        state = initialOutputs(
          this.ref,
          { hlsTime: this.options.hlsTimeSeconds, liveSize: this.options.hlsLivePlaylistSize, vodMaxSize: this.options.hlsVodMaxSize, record: job.settings.record },
          probed.info,
          renditions,
          job.settings.previews,
        );
        this.post({ type: 'plan', state });
      }
      const outputs = new StreamOutputs(state, this.storage, (output) => this.report({ type: 'available', output }), (event) => this.post({ type: 'output', event }));
      this.outputs = outputs;
      if (this.task.prior) await outputs.restart();

      let restarts = 0;
      let outcome: RunOutcome;
      for (let runIndex = 0; ; runIndex++) {
        outcome = await this.runOnce(state, runIndex, wsInput);
        wsInput = null;
        if (outcome.kind !== 'crashed' || this.stopSignal.requested || restarts >= this.options.maxRestarts) break;
        restarts++;
        await this.sleep(Math.min(8000, this.options.restartBackoffMs * 2 ** (restarts - 1)));
        if (this.stopSignal.requested) {
          outcome = { kind: 'ended' };
          break;
        }
        await outputs.restart();
      }
      try {
        await outputs.end();
        await outputs.flush();
      } catch (err) {
        if (!this.noteStorageError(err)) throw err;
      }
      if (this.storageFault !== null) outcome = { kind: 'storage', fault: this.storageFault };
      switch (outcome.kind) {
        case 'storage': return { type: 'exited', clean: false, error: { code: outcome.fault.code, message: outcome.fault.message } };
        case 'ended': return { type: 'exited', clean: true };
        case 'stalled': return { type: 'exited', clean: false, error: { code: 'INPUT_STALLED', message: `no input for ${this.options.stallTimeoutSeconds} s` } };
        case 'invalid': return { type: 'exited', clean: false, error: { code: 'INVALID_MEDIA', message: outcome.message } };
        case 'crashed': return { type: 'exited', clean: false, error: { code: 'ENCODER_CRASHED', message: `${outcome.message} (after ${restarts} restart(s))` } };
      }
      return { type: 'exited', clean: false, error: { code: 'ENCODER_CRASHED', message: 'unknown outcome' } };
    } catch (err) {
      if (this.outputs) await this.outputs.end().catch(() => undefined);
      if (err instanceof ProbeError) return { type: 'exited', clean: false, error: { code: err.code, message: err.message } };
      if (this.noteStorageError(err)) return { type: 'exited', clean: false, error: { code: this.storageFault!.code, message: this.storageFault!.message } };
      return { type: 'exited', clean: false, error: { code: 'START_FAILED', message: (err as Error).message } };
    } finally {
      (wsInput as WsInput | null)?.close();
      await this.storage.removeTree(`.staging/${this.ref.channel}/${this.ref.streamId}`).catch(() => undefined);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { off(); resolve(); }, ms);
      const off = this.stopSignal.onStop(() => { clearTimeout(timer); resolve(); });
    });
  }

  /** Probes the source. For WS the same connection then feeds ffmpeg (its bytes are kept). */
  private async probe(): Promise<{ info: SourceInfo; input: WsInput | null } | 'no-input'> {
    const { job } = this.task;
    const timeout = this.options.stallTimeoutSeconds;
    if (job.source.type === 'RTMP') {
      const probe = runProbe(this.options.ffmpegPath, job.source.uri, timeout, timeout + 2);
      if (probe.pid) this.post({ type: 'child', pid: probe.pid, alive: true });
      const off = this.stopSignal.onStop(() => probe.kill());
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
    const off = this.stopSignal.onStop(() => { input.close(); probe.kill(); });
    try {
      const info = await probe.result;
      return { info, input };
    } catch (err) {
      input.close();
      if (input.bytes === 0 && (input.ended || this.stopSignal.requested)) return 'no-input';
      throw err;
    } finally {
      off();
      if (probe.pid) this.post({ type: 'child', pid: probe.pid, alive: false });
    }
  }

  private encodingOptions(): EncodingOptions {
    const o = this.options;
    return { hlsTimeSeconds: o.hlsTimeSeconds, h264Preset: o.h264Preset, videoCodec: o.videoCodec, audioCodec: o.audioCodec, pixelFormat: o.pixelFormat, readTimeoutSeconds: o.stallTimeoutSeconds + 2 };
  }

  /** One ffmpeg run, from spawn to exit, publishing what it produces. */
  private async runOnce(state: OutputsState, runIndex: number, probedInput: WsInput | null): Promise<RunOutcome> {
    const { job } = this.task;
    const outputs = this.outputs!;
    if (this.stopSignal.requested) {
      probedInput?.close();
      return { kind: 'ended' };
    }
    let input = probedInput;
    if (job.source.type === 'WS' && input === null) {
      input = new WsInput(job.source.uri);
      const off = this.stopSignal.onStop(() => input!.close());
      await input.firstChunk();
      off();
      if (input.bytes === 0) {
        input.close();
        return { kind: 'ended' }; // the publisher is gone: nothing to restart
      }
    }
    const stagingRel = layout.staging(this.ref, job.attempt * 1000 + runIndex);
    const stagingAbs = await this.storage.ensureDir(stagingRel);
    const renditionDirs = await Promise.all(state.renditions.map((_, i) => this.storage.ensureDir(`${stagingRel}/r${i}`)));
    const previewDir = state.previews ? await this.storage.ensureDir(layout.previewDir(this.ref, state.previews.id)) : null;
    const args = buildFfmpegArgs({
      source: job.source,
      info: state.info,
      renditions: state.renditions.map((r, i) => ({ rendition: r.rendition, level: r.level, stagingDir: renditionDirs[i]!, startNumber: r.nextNumber })),
      previews: state.previews && previewDir ? { settings: state.previews.settings, dir: previewDir, startNumber: state.previews.count } : null,
      options: this.encodingOptions(),
    });
    const ffmpeg = new FfmpegRun(this.options.ffmpegPath, args, job.source.type === 'WS');
    const pid = ffmpeg.pid;
    if (pid) this.post({ type: 'child', pid, alive: true });
    if (input) input.attach((chunk) => ffmpeg.write(chunk), () => ffmpeg.endInput());

    // Watch the staging lists and the preview folder; publish in order.
    const readers = state.renditions.map(() => ({ reader: new SegmentListReader(), offset: 0 }));
    let produced = 0;
    let polling = false;
    let again = false;
    const scan = async (final: boolean) => {
      for (let i = 0; i < state.renditions.length; i++) {
        const r = state.renditions[i]!;
        const watch = readers[i]!;
        const text = await readAppended(path.join(renditionDirs[i]!, 'list.csv'), watch.offset, final);
        watch.offset += Buffer.byteLength(text);
        for (const seg of watch.reader.push(final ? `${text}\n` : text)) {
          const file = path.join(renditionDirs[i]!, `${seg.n}.ts`);
          const size = await fs.promises.stat(file).then((s) => s.size, () => -1);
          if (size <= 0) continue;
          produced++;
          await outputs.addSegment(r.rendition.id, seg.n, seg.duration, file, size);
        }
      }
      const p = state.previews;
      if (p && previewDir) {
        let count = p.count;
        while (fs.existsSync(path.join(previewDir, `${count}.jpg`))) count++;
        if (count > p.count) await outputs.setPreviewCount(count);
      }
    };
    /** One scan at a time; a trigger that arrives during a scan runs another right after it. */
    const poll = async (final: boolean) => {
      if (polling && !final) {
        again = true;
        return;
      }
      polling = true;
      try {
        do {
          again = false;
          await scan(final);
        } while (again && !final);
      } finally {
        polling = false;
      }
    };
    // ffmpeg appends a line to list.csv when a segment is complete: react at once (inotify), with
    // the timer as a backstop. Measured: the timer alone added 0-200 ms to the first segment.
    const watchers = renditionDirs.map((dir) => {
      try {
        const w = fs.watch(dir, (_event, file) => {
          if (file === 'list.csv') void poll(false).catch((err: unknown) => this.noteStorageError(err));
        });
        w.on('error', () => undefined);
        return w;
      } catch {
        return null;
      }
    });
    const pollTimer = setInterval(() => void poll(false).catch((err: unknown) => this.noteStorageError(err)), POLL_MS);

    // Stall watchdog (neither input bytes nor encoding progress) and graceful stop.
    const watch = watchRun(ffmpeg, {
      lastActivity: () => Math.max(ffmpeg.lastProgressAt, input?.lastByteAt ?? 0),
      stallMs: this.options.stallTimeoutSeconds * 1000,
      onStop: (l) => this.stopSignal.onStop(l),
      stdinInput: input,
      graceSeconds: this.options.stopGraceSeconds,
    });

    const exit: FfmpegExit = await ffmpeg.exited;
    clearInterval(pollTimer);
    for (const w of watchers) w?.close();
    watch.dispose();
    const stalled = watch.stalled();
    const stoppedByUs = watch.stoppedByUs();
    if (pid) this.post({ type: 'child', pid, alive: false });
    while (polling) await new Promise((r) => setTimeout(r, 20));
    await poll(true).catch((err: unknown) => this.noteStorageError(err));
    const inputEnded = input?.ended ?? false;
    input?.close();
    await this.storage.removeTree(stagingRel).catch(() => undefined);
    void stagingAbs;

    if (this.storageFault !== null) return { kind: 'storage', fault: this.storageFault };
    if (stalled) return { kind: 'stalled' };
    if (stoppedByUs || exit.code === 0) return { kind: 'ended' };
    const ffmpegFault = storageFaultInStderr(exit.stderrTail, stagingRel, this.storage.root);
    if (ffmpegFault !== null) return { kind: 'storage', fault: ffmpegFault }; // not worth a restart
    const why = lastLine(exit.stderrTail) || (exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`);
    if (inputEnded && produced > 0) return { kind: 'ended' }; // truncated input at the publisher's end
    if (produced === 0 && INVALID_MEDIA_PATTERN.test(exit.stderrTail)) return { kind: 'invalid', message: `undecodable source: ${why}` };
    if (inputEnded && input?.endError === null && produced === 0) return { kind: 'invalid', message: `undecodable source: ${why}` };
    return { kind: 'crashed', message: `ffmpeg ${exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`}: ${why}` };
  }
}

async function readAppended(file: string, offset: number, all: boolean): Promise<string> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await handle.stat();
    if (size <= offset) return '';
    const buffer = Buffer.alloc(size - offset);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    // Only whole lines: keep a partial last line for the next read.
    const text = buffer.subarray(0, bytesRead).toString('utf8');
    if (all) return text;
    const cut = text.lastIndexOf('\n');
    return cut >= 0 ? text.slice(0, cut + 1) : '';
  } finally {
    await handle.close();
  }
}
