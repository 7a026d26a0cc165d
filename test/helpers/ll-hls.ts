/** Reading LL-HLS playlists in tests. */

/** The part the playlist's `EXT-X-PRELOAD-HINT` names (the next one to be written). */
export function preloadHint(playlist: string): { msn: number; part: number } {
  const m = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(\d+)\.(\d+)\.m4s"/.exec(playlist);
  if (m === null) throw new Error(`no preload hint in\n${playlist}`);
  return { msn: Number(m[1]), part: Number(m[2]) };
}

/** The `EXT-X-PART` line of that part (listed once it exists; the preload hint alone does not match). */
export function partLine(p: { msn: number; part: number }): RegExp {
  return new RegExp(`#EXT-X-PART:DURATION=[\\d.]+,URI="${p.msn}\\.${p.part}\\.m4s"`);
}
