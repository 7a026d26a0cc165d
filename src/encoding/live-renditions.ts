/**
 * The main thread's side of an encode job packaged by castline (`pipe-packaging.ts` on the
 * worker): one in-memory LL-HLS store per rendition, registered in the node's `LiveHlsRegistry`
 * (what the HLS server reads) at the rendition's first init segment, fed with the parts the worker
 * transfers (kept as they came: the store joins a segment's parts only when a player asks for
 * the whole segment), ended (ENDLIST) and released when the job ends. A restart within the job keeps the
 * stores (the worker's next run continues the numbering, with a discontinuity); a new job for the
 * same stream (attempt > 0) registers new ones in their place.
 */
import type { LiveHlsRegistry } from '../packaging/live-hls';
import type { PackagerTiming } from '../packaging/packaging.types';
import { PartStore } from '../packaging/part-store';
import type { StreamRef } from './layout';
import type { LivePackagingEvent } from './worker.types';

export interface LiveRenditionsOptions {
  registry: LiveHlsRegistry;
  timing: PackagerTiming;
  /** Complete segments held in memory per rendition. */
  windowSegments: number;
}

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export class LiveRenditions {
  private readonly stores = new Map<string, { store: PartStore; release: () => void }>();
  private ended = false;

  constructor(private readonly ref: StreamRef, private readonly options: LiveRenditionsOptions) {}

  apply(renditionId: string, event: LivePackagingEvent): void {
    if (this.ended) return;
    if (event.kind === 'init') {
      this.storeFor(renditionId).init(asBuffer(event.data), event.config);
      return;
    }
    const store = this.stores.get(renditionId)?.store;
    if (store === undefined) return; // nothing before the init segment
    if (event.kind === 'part') store.part({ ...event.part, data: asBuffer(event.part.data) });
    else store.segmentEnd(event.segment);
  }

  /** The job ended: every playlist gets ENDLIST, the stores stay readable for the registry's linger. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const { store, release } of this.stores.values()) {
      store.end();
      release();
    }
  }

  private storeFor(renditionId: string): PartStore {
    const known = this.stores.get(renditionId);
    if (known !== undefined) return known.store;
    const store = new PartStore({ windowSegments: this.options.windowSegments });
    const release = this.options.registry.add(this.ref.channel, this.ref.streamId, renditionId, store, this.options.timing);
    this.stores.set(renditionId, { store, release });
    return store;
  }
}
