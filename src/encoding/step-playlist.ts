/**
 * An `ffmpeg_hls` step's playlist must end with `#EXT-X-ENDLIST` once the step is over, also when
 * its ffmpeg was killed (crash, stall, SIGKILL after the grace period, dead worker thread): ffmpeg
 * writes it only on a clean end (EOF or SIGINT). Sync on purpose: the pool calls it on the main
 * thread when a worker died, like `finalizeSync` for the ladder.
 */
import * as fs from 'node:fs';

/** Appends `#EXT-X-ENDLIST` unless the playlist is missing, empty or already ended. Returns whether it wrote. */
export function endHlsPlaylistSync(file: string): boolean {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  if (!text.startsWith('#EXTM3U') || /#EXT-X-ENDLIST\s*$/.test(text)) return false;
  fs.appendFileSync(file, `${text.endsWith('\n') ? '' : '\n'}#EXT-X-ENDLIST\n`);
  return true;
}
