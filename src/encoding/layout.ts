/**
 * Where every output lives, relative to the storage root (cluster-protocols §4). Pure.
 * Ids are validated upstream; `assertSafeName` is the defensive second check.
 */
const SAFE = /^[A-Za-z0-9_~.-]+$/;

export function assertSafeName(kind: string, value: string): string {
  if (!SAFE.test(value) || value === '.' || value === '..') throw new Error(`unsafe ${kind} for a path: ${JSON.stringify(value)}`);
  return value;
}

export interface StreamRef {
  channel: string;
  streamId: string;
}

const base = (s: StreamRef) => `${assertSafeName('channel', s.channel)}/${assertSafeName('stream id', s.streamId)}`;

export const layout = {
  streamDir: (s: StreamRef) => `hls/${base(s)}`,
  master: (s: StreamRef) => `hls/${base(s)}/master.m3u8`,
  renditionDir: (s: StreamRef, rendition: string) => `hls/${base(s)}/${assertSafeName('rendition', rendition)}`,
  segment: (s: StreamRef, rendition: string, n: number, ext: 'ts' | 'm4s' = 'ts') => `${layout.renditionDir(s, rendition)}/${n}.${ext}`,
  /** The CMAF header of an fmp4 rendition. */
  init: (s: StreamRef, rendition: string) => `${layout.renditionDir(s, rendition)}/init.mp4`,
  live: (s: StreamRef, rendition: string) => `${layout.renditionDir(s, rendition)}/live.m3u8`,
  vod: (s: StreamRef, rendition: string, part: number) => `${layout.renditionDir(s, rendition)}/vod-${part}.m3u8`,
  previewDir: (s: StreamRef, preview: string) => `img-preview/${base(s)}/${assertSafeName('preview', preview)}`,
  previewImage: (s: StreamRef, preview: string, n: number) => `${layout.previewDir(s, preview)}/${n}.jpg`,
  previewIndex: (s: StreamRef, preview: string) => `${layout.previewDir(s, preview)}/index.json`,
  /** ffmpeg's private working folder for one run (attempt) of one stream; never served. */
  staging: (s: StreamRef, attempt: number) => `.staging/${base(s)}/${attempt}`,
};
