/** What an encoder produces for a stream; each output becomes a `stream-available` event (docs/spec/coordinator-api.md). */

export const STREAM_TYPES = ['HLS-LIVE', 'HLS-VOD', 'IMG-PREVIEW'] as const;
export type StreamType = (typeof STREAM_TYPES)[number];

/** One output that became available. */
export interface OutputAvailable {
  streamType: StreamType;
  /** Rendition id `{W}x{H}-{FPS}[~{KBPS}]`, or `{W}x{H}-{SECONDS}` for previews. */
  resolution: string;
  /** Storage-relative path of the playlist or index.json. */
  indexFile: string;
  /** Seconds from the stream start: VOD parts after the first. */
  startTime?: number;
}
