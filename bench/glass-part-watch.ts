/**
 * castline's own share of a Low-Latency HLS stream's delay, seen from outside: a viewer in the bench
 * process long-polls the media playlist (blocking reload on the preload hint, as hls.js does) and
 * notes, for every part that appears, how long after the end of that part's media had reached
 * castline it was listed. The end's arrival time comes from the playlist itself:
 * `EXT-X-PROGRAM-DATE-TIME` is the wall clock when the segment's first frame reached castline, and
 * the publisher sends in real time, so the part's end arrived at PDT + the durations of the
 * segment's parts up to and including it. The lag is castline's packaging + blocking-reload answer
 * + one loopback HTTP response; a frame also waits for the rest of its part (on average half a part).
 */

export interface PartListing {
  /** Date.now() when the playlist listing the part was read. */
  at: number;
  /** ms from the part's end reaching castline to the part being listed. */
  lag: number;
}

const PART = /^#EXT-X-PART:DURATION=([\d.]+),URI="(\d+)\.(\d+)\.m4s"/;
const HINT = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(\d+)\.(\d+)\.m4s"/;

/** Each part of `playlist`, by URI, with the wall-clock time its end reached the server. */
export function partEnds(playlist: string): Map<string, number> {
  const ends = new Map<string, number>();
  let pdt = NaN;
  let into = 0;
  for (const line of playlist.split('\n')) {
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) {
      pdt = Date.parse(line.slice('#EXT-X-PROGRAM-DATE-TIME:'.length));
      into = 0;
    }
    const m = PART.exec(line);
    if (m === null) continue;
    into += Number(m[1]) * 1000;
    ends.set(`${m[2]}.${m[3]}`, pdt + into);
  }
  return ends;
}

export class PartWatcher {
  readonly listings: PartListing[] = [];
  private stopped = false;
  private done: Promise<void> = Promise.resolve();

  /** Starts watching the first media playlist of `masterUrl`. */
  start(masterUrl: string): this {
    this.done = this.run(masterUrl).catch((err: Error) => {
      if (!this.stopped) console.error(`part watcher: ${err.message}`);
    });
    return this;
  }

  private async run(masterUrl: string): Promise<void> {
    const master = await (await fetch(masterUrl)).text();
    const variant = master.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#'));
    const media = master.includes('#EXT-X-STREAM-INF') && variant !== undefined ? new URL(variant.trim(), masterUrl).href : masterUrl;
    let text = await (await fetch(media)).text();
    const seen = new Set(partEnds(text).keys());
    while (!this.stopped) {
      const hint = HINT.exec(text);
      if (hint === null) return;
      text = await (await fetch(`${media}?_HLS_msn=${hint[1]}&_HLS_part=${hint[2]}`)).text();
      const at = Date.now();
      for (const [uri, end] of partEnds(text)) {
        if (seen.has(uri)) continue;
        seen.add(uri);
        if (Number.isFinite(end)) this.listings.push({ at, lag: at - end });
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}
