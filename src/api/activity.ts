/**
 * What the studio shows besides the coordinator's report: when each live stream started, its
 * outputs so far (renditions, master playlist, previews) and the last stream events. Fed by the
 * coordinator's event sink (`teeEvents`), so it works with or without EVENT_CALLBACK_URL. Bounded:
 * a stream's entry goes when it closes, and only the last `maxEvents` events are kept.
 */
import type { StreamEventSink } from '../coordinator/coordinator.types';
import type { OutputAvailable } from '../domain/outputs';
import type { CloseReason } from '../domain/stream';

export interface ActivityEvent {
  /** ms since the epoch. */
  at: number;
  type: 'stream-started' | 'stream-available' | 'stream-closed';
  channel: string;
  streamId: string;
  /** `HLS-LIVE 320x180-15`, a close reason, … */
  detail: string;
}

export interface LiveActivity {
  since: number;
  /** HLS-LIVE rendition ids, in announcement order. */
  renditions: string[];
  /** Storage-relative path of the master playlist once a live rendition exists (e.g. `hls/ch/id/master.m3u8`). */
  master: string | null;
  /** Storage-relative path of the previews' index.json, once the first preview exists. */
  previewIndex: string | null;
}

export class StreamActivity implements StreamEventSink {
  readonly #live = new Map<string, LiveActivity>();
  readonly #events: ActivityEvent[] = [];

  constructor(readonly maxEvents = 50) {}

  streamStarted(channel: string, streamId: string): void {
    this.#live.set(streamId, { since: Date.now(), renditions: [], master: null, previewIndex: null });
    this.#record('stream-started', channel, streamId, '');
  }

  available(channel: string, streamId: string, output: OutputAvailable): void {
    const live = this.#live.get(streamId);
    if (live !== undefined && output.streamType === 'HLS-LIVE') {
      if (!live.renditions.includes(output.resolution)) live.renditions.push(output.resolution);
      live.master = `${output.indexFile.split('/').slice(0, 3).join('/')}/master.m3u8`;
    }
    if (live !== undefined && output.streamType === 'IMG-PREVIEW') live.previewIndex = output.indexFile;
    this.#record('stream-available', channel, streamId, `${output.streamType} ${output.resolution}`);
  }

  streamClosed(channel: string, streamId: string, reason: CloseReason): void {
    this.#live.delete(streamId);
    this.#record('stream-closed', channel, streamId, reason);
  }

  /** What is known of a live stream, or null (not started here, or closed). */
  live(streamId: string): Readonly<LiveActivity> | null {
    return this.#live.get(streamId) ?? null;
  }

  /** The last events, newest first. */
  recent(): ActivityEvent[] {
    return [...this.#events].reverse();
  }

  #record(type: ActivityEvent['type'], channel: string, streamId: string, detail: string): void {
    this.#events.push({ at: Date.now(), type, channel, streamId, detail });
    if (this.#events.length > this.maxEvents) this.#events.shift();
  }
}

/** One sink that forwards every call to each of `sinks`, in order. */
export function teeEvents(...sinks: StreamEventSink[]): StreamEventSink {
  return {
    streamStarted: (channel, streamId) => sinks.forEach((s) => s.streamStarted(channel, streamId)),
    available: (channel, streamId, output) => sinks.forEach((s) => s.available(channel, streamId, output)),
    streamClosed: (channel, streamId, reason) => sinks.forEach((s) => s.streamClosed(channel, streamId, reason)),
  };
}
