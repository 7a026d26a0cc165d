/**
 * An `ffmpeg_hls` step's playlist must end with `#EXT-X-ENDLIST` once the step is over, also when
 * its ffmpeg was killed (crash, stall, SIGKILL after the grace period, dead worker thread): ffmpeg
 * writes it only on a clean end (EOF or SIGINT).
 *
 * The bundled ffmpeg 4.1 rewrites the playlist in place: it opens it with O_TRUNC, then writes
 * (strace shows no rename; it prints "Cannot use rename on non file protocol" whatever
 * `-hls_flags temp_file` says: docs/encoding.md). A kill can land between the two and leave the
 * file empty or cut, so whoever kills takes a snapshot first;
 * finalising then restores the snapshot if the file was left broken. Sync on purpose: the pool
 * calls it on the main thread when a worker died, like `finalizeSync` for the ladder.
 */
import * as fs from 'node:fs';
import { writeFileAtomicSync } from '../storage/atomic-write';

/** The playlist's text if it is whole (starts with #EXTM3U, ends with a newline), else null. */
export function readWholePlaylist(file: string): string | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  return text.startsWith('#EXTM3U') && text.endsWith('\n') ? text : null;
}

/**
 * Ends the playlist with `#EXT-X-ENDLIST` (unless it already has it). If the file is missing or
 * broken, the `snapshot` taken before the kill is written back (atomically) and ended. Returns
 * whether it wrote.
 */
export function endHlsPlaylistSync(file: string, snapshot: string | null = null): boolean {
  const current = readWholePlaylist(file);
  const base = current ?? snapshot;
  if (base === null || /#EXT-X-ENDLIST\s*$/.test(base) && base === current) return false;
  const ended = /#EXT-X-ENDLIST\s*$/.test(base) ? base : `${base}#EXT-X-ENDLIST\n`;
  if (current !== null) {
    fs.appendFileSync(file, ended.slice(current.length));
  } else {
    writeFileAtomicSync(file, ended);
  }
  return true;
}
