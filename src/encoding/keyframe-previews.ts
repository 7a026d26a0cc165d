/**
 * The previews of a stream castline packages itself (passthrough, no encoded rung): one small
 * ffmpeg that decodes keyframes only and writes the same JPEGs as an encode job's preview output
 * (`previewArgs`: same folder, numbering, `index.json` and `IMG-PREVIEW` event through
 * `StreamOutputs.setPreviewCount`), counted by the same counter (`preview-watcher.ts`).
 *
 * Its input is the stream's own video, handed over in-process and written to its stdin as FLV:
 * the header, the AVC sequence header, then the keyframes only — the other frames would be
 * skipped by the decoder anyway (`-skip_frame nokey`, kept for keyframe flags a publisher sets on
 * non-IDR frames), so they are not even piped. The decoder runs single-threaded (`-threads 1`:
 * frame threads held the first image back by two keyframes) and the input is not probed beyond
 * its first packets (`-probesize 32`: with the default, a keyframe-only input is so small that
 * ffmpeg read it to the end before writing any image). Measured with 1 s keyframes and one
 * image a second: the first image 1.0 s after the first keyframe was piped, then one a second.
 *
 * Supervised: an ffmpeg that exits while the stream runs is restarted after a backoff (1 s
 * doubling to 8 s, `maxRestarts` in a row; a run that lasted `STABLE_RUN_MS` resets the count),
 * starting again from the sequence header and the last keyframe, numbering on. When restarts
 * are exhausted the previews stop (logged) and the stream goes on: previews never end a stream.
 * `stop()` ends stdin (ffmpeg writes what is due and exits), SIGKILL after the grace period, and
 * resolves once ffmpeg is gone and the last image is counted.
 */
import type { PreviewSettings } from '../domain/settings';
import type { Logger } from '../logging/logger';
import { FLV_VIDEO } from '../packaging/flv-tag';
import { flvHeader, flvTag } from '../packaging/flv-writer';
import { previewArgs } from './ffmpeg-args';
import { globalArgs, stderrSummary } from './ffmpeg-console';
import { FfmpegRun } from './ffmpeg-run';
import type { FlvPacket } from './passthrough.types';
import { PreviewWatcher, type PreviewTarget } from './preview-watcher';
import { runWithRestarts } from './restart-loop';

const AVC = 7;
/** A run this long counts as stable: the restart count starts over. */
const STABLE_RUN_MS = 60_000;
const MAX_BACKOFF_MS = 8000;
/** Keyframes are dropped (not queued) while this much is still waiting in ffmpeg's stdin pipe. */
const MAX_PENDING_INPUT_BYTES = 4 * 1024 * 1024;

/** The preview ffmpeg's command line: keyframe-only FLV video on stdin, the images as `previewArgs` writes them. */
export function keyframePreviewArgs(settings: PreviewSettings, dir: string, startNumber: number): string[] {
  return [
    ...globalArgs(),
    '-threads', '1', '-skip_frame', 'nokey', '-probesize', '32',
    '-f', 'flv', '-i', 'pipe:0',
    ...previewArgs(settings, dir, startNumber),
  ];
}

/** The preview ffmpeg's supervision (the stream's settings aside). */
export interface PreviewProcessOptions {
  ffmpegPath: string;
  maxRestarts: number;
  restartBackoffMs: number;
  graceSeconds: number;
  /** Told of each ffmpeg started and gone (the encoder kills what is left when the process exits). */
  onChild?: (pid: number, alive: boolean) => void;
  /** Told of each restart after a crash (metrics). */
  onRestart?: () => void;
}

export class KeyframePreviews {
  private sequenceHeader: Buffer | null = null;
  private lastKeyframe: Buffer | null = null;
  private current: FfmpegRun | null = null;
  /** Counts the images (`preview-watcher.ts`) from `start()` to `stop()`, across restarts. */
  private counter: PreviewWatcher | null = null;
  private readonly stopper = new AbortController();
  private loop: Promise<void> | null = null;

  constructor(private readonly settings: PreviewSettings, private readonly options: PreviewProcessOptions, private readonly logger: Logger) {}

  /** Every FLV tag of the stream, in order, from its start (kept: the sequence header and the last keyframe). */
  packet(packet: FlvPacket): void {
    const b = packet.body;
    if (packet.type !== FLV_VIDEO || b.length < 2 || (b[0]! & 0x0f) !== AVC) return;
    const sequenceHeader = b[1] === 0;
    if (!sequenceHeader && !(b[0]! >> 4 === 1 && b[1] === 1)) return;
    const tag = flvTag(FLV_VIDEO, packet.timestamp, b);
    if (sequenceHeader) this.sequenceHeader = tag;
    else this.lastKeyframe = tag;
    const ffmpeg = this.current;
    if (ffmpeg !== null && (sequenceHeader || ffmpeg.pendingInputBytes < MAX_PENDING_INPUT_BYTES)) ffmpeg.write(tag);
  }

  /** Runs the ffmpeg (from the sequence header and the last keyframe seen so far) into the target's folder. Not after `stop()`. */
  start(target: PreviewTarget): void {
    if (this.loop !== null || this.stopper.signal.aborted) return;
    const counter = new PreviewWatcher(target, (err) => this.logger.warn({ err }, 'could not publish the preview count'));
    this.counter = counter;
    counter.start();
    this.loop = this.supervise(target.dir, counter).catch((err: Error) => this.logger.error({ err }, 'preview supervision failed'));
  }

  /** Ends the previews: ffmpeg flushed and gone (SIGKILL after the grace period), the last image counted. */
  async stop(): Promise<void> {
    this.stopper.abort();
    const ffmpeg = this.current;
    if (ffmpeg !== null) {
      ffmpeg.endInput();
      ffmpeg.stop(this.options.graceSeconds, null);
    }
    await this.loop;
    await this.counter?.stop();
  }

  /** The running ffmpeg's pid (tests, the process-exit kill). */
  get pid(): number | null {
    return this.current?.pid ?? null;
  }

  private async supervise(dir: string, counter: PreviewWatcher): Promise<void> {
    const o = this.options;
    const end = await runWithRestarts<{ crashed: boolean; ms: number }>({
      run: () => this.runOnce(dir, counter),
      crashed: (outcome) => outcome.crashed,
      wasStable: (outcome) => outcome.ms >= STABLE_RUN_MS,
      beforeRestart: async () => o.onRestart?.(),
    }, { maxRestarts: o.maxRestarts, backoffBaseMs: o.restartBackoffMs, backoffMaxMs: MAX_BACKOFF_MS }, this.stopper.signal);
    if (end.kind === 'ran' && end.outcome.crashed && !this.stopper.signal.aborted) {
      this.logger.error({ restarts: end.restarts }, 'preview ffmpeg keeps failing: no more previews for this stream (it goes on)');
    }
  }

  /** One preview ffmpeg, numbering on from the images counted; its last image is counted before it returns. */
  private async runOnce(dir: string, counter: PreviewWatcher): Promise<{ crashed: boolean; ms: number }> {
    const o = this.options;
    const started = Date.now();
    const ffmpeg = new FfmpegRun(o.ffmpegPath, keyframePreviewArgs(this.settings, dir, counter.count), true);
    const pid = ffmpeg.pid;
    if (pid !== undefined) o.onChild?.(pid, true);
    this.current = ffmpeg;
    ffmpeg.write(flvHeader({ audio: false, video: true }));
    for (const tag of [this.sequenceHeader, this.lastKeyframe]) if (tag !== null) ffmpeg.write(tag);
    if (this.stopper.signal.aborted) ffmpeg.endInput();
    const exit = await ffmpeg.exited;
    this.current = null;
    if (pid !== undefined) o.onChild?.(pid, false);
    await counter.scan();
    if (this.stopper.signal.aborted) return { crashed: false, ms: Date.now() - started };
    const why = exit.signal ?? `exit code ${exit.code}`;
    this.logger.warn({ pid, why, stderr: stderrSummary(exit.stderrTail) }, 'preview ffmpeg ended while the stream runs: restarting it');
    return { crashed: true, ms: Date.now() - started };
  }
}
