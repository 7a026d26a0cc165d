/**
 * The glass-to-glass bench's part watcher reads, from castline's own LL-HLS playlist text
 * (src/packaging/ll-playlist.ts), when each part's end reached castline: the segment's
 * PROGRAM-DATE-TIME plus the durations of its parts up to and including that part.
 */
import { expect } from 'chai';
import { partEnds } from '../../bench/glass-part-watch';
import { llPlaylist } from '../../src/packaging/ll-playlist';

describe('bench: glass-to-glass part watcher', () => {
  it('gives each listed part the wall-clock time its end reached castline', () => {
    const t0 = Date.UTC(2026, 10, 26, 4, 0, 0, 250);
    const parts = (n: number) => Array.from({ length: n }, (_, i) => ({ duration: 0.334, independent: i === 0 }));
    const text = llPlaylist({
      segments: [
        { msn: 7, programDateTime: t0, parts: parts(6), duration: 2.004 },
        { msn: 8, programDateTime: t0 + 2004, parts: parts(2), duration: null },
      ],
      segmentSeconds: 2, partSeconds: 0.334, initUri: 'init.mp4', ended: false, renditionReports: [], skip: false,
    });
    const ends = partEnds(text);
    expect([...ends.keys()]).to.deep.equal(['7.0', '7.1', '7.2', '7.3', '7.4', '7.5', '8.0', '8.1']);
    expect(ends.get('7.0')).to.be.closeTo(t0 + 334, 0.5);
    expect(ends.get('7.5')).to.be.closeTo(t0 + 2004, 0.5);
    expect(ends.get('8.1')).to.be.closeTo(t0 + 2004 + 668, 0.5);
  });

  it('lists nothing for a playlist without parts (classic HLS)', () => {
    expect(partEnds('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n0.ts\n').size).to.equal(0);
  });
});
