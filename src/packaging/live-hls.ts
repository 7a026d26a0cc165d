/**
 * The streams castline packages itself, by `{channel}/{streamId}` and rendition: what the LL-HLS
 * server reads. A stream is added when its packager starts and released when it ends; a released
 * stream stays readable for `lingerMs` (players fetch the final playlist with ENDLIST and the last
 * parts), after which the server answers from the files on disk.
 */
import type { PartStore } from './part-store';
import type { PackagerTiming } from './packaging.types';

export interface LiveStreamHls {
  timing: PackagerTiming;
  /** By rendition id (its folder name). */
  renditions: Map<string, PartStore>;
}

export class LiveHlsRegistry {
  private readonly streams = new Map<string, LiveStreamHls>();

  /** @param onChange called when a stream is added or forgotten (cluster mode: the node's record lists them) */
  constructor(private readonly lingerMs: number, private readonly onChange: () => void = () => undefined) {}

  /** Adds a rendition; returns its release (idempotent). */
  add(channel: string, streamId: string, renditionId: string, store: PartStore, timing: PackagerTiming): () => void {
    const key = `${channel}/${streamId}`;
    let stream = this.streams.get(key);
    if (stream === undefined) {
      stream = { timing, renditions: new Map() };
      this.streams.set(key, stream);
      this.onChange();
    }
    stream.renditions.set(renditionId, store);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const timer = setTimeout(() => {
        const current = this.streams.get(key);
        if (current?.renditions.get(renditionId) !== store) return;
        current.renditions.delete(renditionId);
        if (current.renditions.size === 0) {
          this.streams.delete(key);
          this.onChange();
        }
      }, this.lingerMs);
      timer.unref();
    };
  }

  stream(channel: string, streamId: string): LiveStreamHls | undefined {
    return this.streams.get(`${channel}/${streamId}`);
  }

  /** `{channel}/{streamId}` of every stream held now. */
  keys(): string[] {
    return [...this.streams.keys()];
  }

  /** Streams held now. */
  get size(): number {
    return this.streams.size;
  }

  /** Bytes held by every stream (metrics, tests). */
  get bytes(): number {
    let total = 0;
    for (const s of this.streams.values()) for (const r of s.renditions.values()) total += r.bytes;
    return total;
  }
}
