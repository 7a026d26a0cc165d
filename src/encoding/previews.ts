/** The previews index file (docs/spec/cluster-protocols.md §4). Pure. */

export interface PreviewIndex {
  index_start: number;
  count: number;
  pattern: string;
}

export function previewIndex(count: number): PreviewIndex {
  return { index_start: 0, count, pattern: '%d.jpg' };
}

export function previewIndexJson(count: number): string {
  return JSON.stringify(previewIndex(count));
}

/** Preview id `{W}x{H}-{SECONDS}` (the folder name and the event's resolution). */
export function previewId(width: number, height: number, intervalSeconds: number): string {
  return `${width}x${height}-${intervalSeconds}`;
}
