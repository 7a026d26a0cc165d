/**
 * Reads the CSV segment list that ffmpeg's segment muxer appends to (`-segment_list_type csv`):
 * one `name,start,end` line per completed segment. Incremental: feed it what was appended.
 */
export interface ListedSegment {
  /** The number in the staged file name `{n}.ts`. */
  n: number;
  duration: number;
}

export class SegmentListReader {
  private pending = '';

  /** Returns the segments completed by this chunk (only whole lines count). */
  push(chunk: string): ListedSegment[] {
    this.pending += chunk;
    const out: ListedSegment[] = [];
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, nl).trim();
      this.pending = this.pending.slice(nl + 1);
      const parsed = parseLine(line);
      if (parsed) out.push(parsed);
    }
    return out;
  }
}

export function parseLine(line: string): ListedSegment | null {
  const m = /^(\d+)\.ts,([0-9.]+),([0-9.]+)$/.exec(line);
  if (!m) return null;
  const duration = Number(m[3]) - Number(m[2]);
  return { n: Number(m[1]), duration: duration > 0 ? duration : 0.001 };
}
