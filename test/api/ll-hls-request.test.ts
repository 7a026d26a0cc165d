import { expect } from 'chai';
import { llFile, playlistDecision, playlistQuery } from '../../src/api/ll-hls-request';

describe('api: LL-HLS requests (file names, blocking-reload query, decision)', () => {
  it('names the files of a rendition; everything else goes to disk', () => {
    expect(llFile('live.m3u8')).to.deep.equal({ kind: 'playlist' });
    expect(llFile('init.mp4')).to.deep.equal({ kind: 'init' });
    expect(llFile('12.m4s')).to.deep.equal({ kind: 'segment', msn: 12 });
    expect(llFile('12.3.m4s')).to.deep.equal({ kind: 'part', msn: 12, part: 3 });
    for (const other of ['vod-0.m3u8', '3.ts', '1.2.3.m4s', '-1.m4s', 'x.m4s', '1e3.m4s', '1234567890.m4s']) expect(llFile(other), other).to.deep.equal({ kind: 'other' });
  });

  it('parses _HLS_msn, _HLS_part and _HLS_skip; names what is wrong', () => {
    expect(playlistQuery('')).to.deep.equal({ msn: null, part: null, skip: false });
    expect(playlistQuery('_HLS_msn=7&_HLS_part=2&_HLS_skip=YES')).to.deep.equal({ msn: 7, part: 2, skip: true });
    expect(playlistQuery('_HLS_skip=v2')).to.deep.equal({ msn: null, part: null, skip: true });
    expect(playlistQuery('_HLS_part=1')).to.equal('_HLS_part requires _HLS_msn');
    expect(playlistQuery('_HLS_msn=-1')).to.match(/_HLS_msn/);
    expect(playlistQuery('_HLS_msn=1.5')).to.match(/_HLS_msn/);
    expect(playlistQuery('_HLS_msn=1&_HLS_part=')).to.match(/_HLS_part/);
    expect(playlistQuery('_HLS_skip=NO')).to.match(/_HLS_skip/);
    expect(playlistQuery('other=1&_HLS_msn=3')).to.deep.equal({ msn: 3, part: null, skip: false });
  });

  it('answers now (ended), holds, waits for the part being written (plain request), or refuses an msn more than two segments ahead', () => {
    const q = (msn: number | null, part: number | null = null) => ({ msn, part, skip: false });
    expect(playlistDecision(q(null), { msn: 5, part: 2 }, { msn: 5, part: 3 })).to.deep.equal({ action: 'fresh', msn: 5, part: 3 });
    expect(playlistDecision(q(null), { msn: 5, part: 2 }, null), 'ended').to.deep.equal({ action: 'now' });
    expect(playlistDecision(q(null), null, null)).to.deep.equal({ action: 'wait', msn: 0, part: 0 });
    expect(playlistDecision(q(5, 3), { msn: 5, part: 2 }, { msn: 5, part: 3 })).to.deep.equal({ action: 'wait', msn: 5, part: 3 });
    expect(playlistDecision(q(7), { msn: 5, part: 2 }, { msn: 5, part: 3 })).to.deep.equal({ action: 'wait', msn: 7, part: null });
    expect(playlistDecision(q(8), { msn: 5, part: 2 }, { msn: 5, part: 3 })).to.include({ action: 'refuse' });
    expect(playlistDecision(q(1), null, null)).to.deep.equal({ action: 'wait', msn: 1, part: null });
    expect(playlistDecision(q(2), null, null)).to.include({ action: 'refuse' });
  });
});
