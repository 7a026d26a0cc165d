/**
 * Milestones of one publish, seen from outside the server by polling every 10 ms: ffmpeg child
 * processes of this process (the castline probe and encoder run as children of its piscina
 * threads), castline's staging folder (segment muxer output) and playlists, nginx-rtmp's playlist.
 * Used by bench/latency.ts for the per-phase breakdown; the headline figure comes from the
 * application's callback timestamp, not from here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Milestone = 'probeSpawn' | 'encoderSpawn' | 'stagedTs' | 'segmentListed' | 'playlist';

/** The ffmpeg children of this process, by pid, with their command line. */
function ffmpegChildren(): Array<{ pid: number; cmdline: string }> {
  const out: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes('ffmpeg')) out.push({ pid: Number(entry), cmdline });
    } catch {
      // the process ended between readdir and read
    }
  }
  return out;
}

function firstDir(dir: string): string | null {
  try {
    const names = fs.readdirSync(dir);
    return names.length > 0 ? path.join(dir, names[0]!) : null;
  } catch {
    return null;
  }
}

const nonEmpty = (file: string) => {
  try {
    return fs.statSync(file).size > 0;
  } catch {
    return false;
  }
};

/** Watches castline's side of one publish on channel `ch` (one stream per channel). */
export class CastlineTimeline {
  readonly at: Partial<Record<Milestone, number>> = {};
  private timer: NodeJS.Timeout;

  constructor(dataDir: string, ch: string) {
    const stagingCh = path.join(dataDir, '.staging', ch);
    const hlsCh = path.join(dataDir, 'hls', ch);
    const mark = (m: Milestone) => { this.at[m] ??= Date.now(); };
    this.timer = setInterval(() => {
      if (this.at.encoderSpawn === undefined) {
        for (const c of ffmpegChildren()) {
          if (!c.cmdline.includes(`/${ch}/`) || c.cmdline.includes('lavfi')) continue;
          mark(c.cmdline.includes('-progress') ? 'encoderSpawn' : 'probeSpawn');
        }
      }
      // .staging/{ch}/{streamId}/{attempt}/r0/{0.ts,list.csv}
      const attempt = firstDir(firstDir(stagingCh) ?? '/nonexistent');
      if (attempt) {
        if (fs.existsSync(path.join(attempt, 'r0', '0.ts'))) mark('stagedTs');
        if (nonEmpty(path.join(attempt, 'r0', 'list.csv'))) mark('segmentListed');
      }
      const stream = firstDir(hlsCh);
      if (stream && this.at.playlist === undefined) {
        try {
          if (fs.readdirSync(stream).some((r) => fs.existsSync(path.join(stream, r, 'live.m3u8')))) mark('playlist');
        } catch {
          // not yet
        }
      }
    }, 10);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Resolves with the Date.now() at which `file` first lists a segment (`#EXTINF`), polled every 10 ms. */
export function playlistWithSegment(file: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      let text = '';
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        // not yet
      }
      if (text.includes('#EXTINF')) {
        clearInterval(timer);
        resolve(Date.now());
      } else if (Date.now() > deadline) {
        clearInterval(timer);
        reject(new Error(`no segment listed in ${file} within ${timeoutMs} ms`));
      }
    }, 10);
  });
}
