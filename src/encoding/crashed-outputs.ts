/**
 * The outputs of a stream whose process died (kill -9, power loss) while it was live: on the next
 * start, before its `stream-closed` (`server-restart`) is sent, every live playlist gets
 * `#EXT-X-ENDLIST` and every recording part becomes a VOD playlist, so the index files the
 * application reads are final. Segments are published before they are listed (move, then
 * playlist rewrite), so whatever a playlist lists exists; its text is kept as it is.
 * The stream's staging folder (ffmpeg's unfinished work) is removed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readContained } from '../storage/contain';
import type { FileStorage } from '../storage/filesystem';
import { layout, type StreamRef } from './layout';

const VOD_PART = /^vod-\d+\.m3u8$/;

/** The playlist text made final: VOD type for a recording part, ENDLIST at the end. Null if unchanged or not a playlist. */
export function endedPlaylistText(text: string, recording: boolean): string | null {
  if (!text.startsWith('#EXTM3U')) return null;
  let ended = recording ? text.replace(/^#EXT-X-PLAYLIST-TYPE:EVENT$/m, '#EXT-X-PLAYLIST-TYPE:VOD') : text;
  if (!/#EXT-X-ENDLIST\s*$/.test(ended)) ended = `${ended.endsWith('\n') ? ended : `${ended}\n`}#EXT-X-ENDLIST\n`;
  return ended === text ? null : ended;
}

/** Ends every playlist of the stream; returns the storage-relative paths rewritten. Missing folders: nothing to do. */
export async function endCrashedStream(storage: FileStorage, ref: StreamRef): Promise<string[]> {
  const streamRel = layout.streamDir(ref);
  const streamAbs = storage.resolve(streamRel);
  const rewritten: string[] = [];
  const renditions = await fs.promises.readdir(streamAbs, { withFileTypes: true }).catch(() => []);
  for (const entry of renditions) {
    if (!entry.isDirectory()) continue; // symlinks and files (master.m3u8) are left alone
    const files = await fs.promises.readdir(path.join(streamAbs, entry.name)).catch(() => [] as string[]);
    for (const file of files) {
      const recording = VOD_PART.test(file);
      if (!recording && file !== 'live.m3u8') continue;
      const rel = `${streamRel}/${entry.name}/${file}`;
      const text = await readContained(storage.root, storage.resolve(rel));
      const ended = text === null ? null : endedPlaylistText(text.toString('utf8'), recording);
      if (ended === null) continue;
      await storage.writeAtomic(rel, ended);
      rewritten.push(rel);
    }
  }
  await storage.removeTree(`.staging/${ref.channel}/${ref.streamId}`).catch(() => undefined);
  return rewritten;
}
