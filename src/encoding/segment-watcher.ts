/**
 * Publishes the MPEG-TS segments one encode run's ffmpeg cuts (`HLS_SEGMENT_FORMAT=mpegts`), in
 * order: each rendition's staging folder gets a line in `list.csv` when a segment is complete (the
 * segment muxer's CSV list). A line appended is acted on at once (inotify through `fs.watch`), with
 * a 200 ms timer as a backstop: measured, the timer alone added 0-200 ms to the first segment.
 * Scans never overlap; a trigger during a scan runs another one right after it. (The run's preview
 * images are counted by `preview-watcher.ts`; fmp4 runs come through pipes, `pipe-packaging.ts`.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OutputsState, StreamOutputs } from './outputs';
import { SegmentListReader } from './segment-list';

const POLL_MS = 200;

export class SegmentWatcher {
  /** Segments published by this run (non-empty files). */
  produced = 0;
  private readonly lists: Array<{ reader: SegmentListReader; offset: number }>;
  private watchers: Array<fs.FSWatcher | null> = [];
  private timer: NodeJS.Timeout | null = null;
  private scanning = false;
  private again = false;

  constructor(
    private readonly state: OutputsState,
    /** Per rendition of the outputs state, in its order: the folder ffmpeg segments into. */
    private readonly renditionDirs: readonly string[],
    private readonly outputs: Pick<StreamOutputs, 'addSegment'>,
    /** A failed publication (e.g. the storage is full); the scan goes on at the next trigger. */
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.lists = state.renditions.map(() => ({ reader: new SegmentListReader(), offset: 0 }));
  }

  start(): void {
    this.watchers = this.renditionDirs.map((dir) => {
      try {
        const w = fs.watch(dir, (_event, file) => {
          if (file === 'list.csv') void this.scan(false).catch(this.onError);
        });
        w.on('error', () => undefined);
        return w;
      } catch {
        return null;
      }
    });
    this.timer = setInterval(() => void this.scan(false).catch(this.onError), POLL_MS);
  }

  /** No more triggers (ffmpeg exited). */
  stopWatching(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const w of this.watchers) w?.close();
    this.watchers = [];
  }

  /** After ffmpeg exited: waits for a scan under way, then reads the lists to their end (a last line without newline too). */
  async finalScan(): Promise<void> {
    while (this.scanning) await new Promise((r) => setTimeout(r, 20));
    await this.scan(true).catch(this.onError);
  }

  private async scan(final: boolean): Promise<void> {
    if (this.scanning && !final) {
      this.again = true;
      return;
    }
    this.scanning = true;
    try {
      do {
        this.again = false;
        await this.publishNew(final);
      } while (this.again && !final);
    } finally {
      this.scanning = false;
    }
  }

  private async publishNew(final: boolean): Promise<void> {
    for (let i = 0; i < this.state.renditions.length; i++) await this.publishSegments(i, final);
  }

  private async publishSegments(index: number, final: boolean): Promise<void> {
    const dir = this.renditionDirs[index]!;
    const list = this.lists[index]!;
    const text = await readAppended(path.join(dir, 'list.csv'), list.offset, final);
    list.offset += Buffer.byteLength(text);
    for (const seg of list.reader.push(final ? `${text}\n` : text)) {
      const file = path.join(dir, `${seg.n}.ts`);
      const size = await fs.promises.stat(file).then((s) => s.size, () => -1);
      if (size <= 0) continue;
      this.produced++;
      await this.outputs.addSegment(this.state.renditions[index]!.rendition.id, seg.n, seg.duration, file, size);
    }
  }
}

/** What was appended to `file` after `offset`: whole lines only, unless `all`. */
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
