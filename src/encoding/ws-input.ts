/**
 * The input side of a WS-sourced ffmpeg run: a `WsSource` whose chunks are buffered until an
 * ffmpeg is attached, then forwarded to its stdin; the socket closing ends the input (EOF).
 * Shared by the HLS ladder encode job and the workflow step jobs.
 */
import { WsSource, type WsReceiveEndpoint } from './ws-source';

export class WsInput {
  readonly source: WsSource;
  private buffered: Buffer[] = [];
  private sink: ((chunk: Buffer) => void) | null = null;
  private endSink: (() => void) | null = null;
  lastByteAt = Date.now();
  bytes = 0;
  /** The first chunk received (kept for a look at the container), or null. */
  head: Buffer | null = null;
  ended = false;
  endError: string | null = null;
  private endWaiters: Array<() => void> = [];
  private firstChunkWaiters: Array<() => void> = [];

  constructor(uri: string, private readonly onChunk?: (chunk: Buffer) => void, endpoint: WsReceiveEndpoint = 'receive-clear-cache') {
    this.source = new WsSource(uri, {
      chunk: (data) => {
        this.lastByteAt = Date.now();
        this.bytes += data.length;
        this.head ??= data;
        this.onChunk?.(data);
        if (this.sink) this.sink(data);
        else this.buffered.push(data);
        this.firstChunkWaiters.splice(0).forEach((w) => w());
      },
      end: (error) => {
        this.ended = true;
        this.endError = error;
        this.endSink?.();
        this.endWaiters.splice(0).forEach((w) => w());
        this.firstChunkWaiters.splice(0).forEach((w) => w());
      },
    }, 20, endpoint);
  }

  /** Resolves once a chunk arrived or the input ended. */
  firstChunk(): Promise<void> {
    return this.bytes > 0 || this.ended ? Promise.resolve() : new Promise((r) => this.firstChunkWaiters.push(r));
  }

  whenEnded(): Promise<void> {
    return this.ended ? Promise.resolve() : new Promise((r) => this.endWaiters.push(r));
  }

  /** Sends everything received so far, then every new chunk, to `write`; `end` on EOF. */
  attach(write: (chunk: Buffer) => void, end: () => void): void {
    for (const chunk of this.buffered) write(chunk);
    this.buffered = [];
    this.sink = write;
    this.endSink = end;
    if (this.ended) end();
  }

  close(): void {
    this.source.close();
  }
}
