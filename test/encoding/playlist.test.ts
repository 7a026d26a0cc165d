import { expect } from 'chai';
import { AAC_LC_CODEC, avc1Codec, h264Level, masterPlaylist } from '../../src/encoding/master';
import { liveWindow, livePlaylist, parseMediaPlaylist, targetDuration, vodPlaylist, type Segment } from '../../src/encoding/playlist';
import { previewIndexJson } from '../../src/encoding/previews';
import { SegmentListReader } from '../../src/encoding/segment-list';

const seg = (n: number, duration = 2, discontinuity = false): Segment => ({ n, duration, discontinuity });

describe('playlists', () => {
  it('live: sliding window with media sequence, target = longest rounded up, ENDLIST only at the end', () => {
    const all = [seg(0), seg(1, 2.02), seg(2), seg(3, 3.4), seg(4)];
    const text = livePlaylist(liveWindow(all, 3), { hlsTime: 2, ended: false });
    expect(text).to.equal('#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:2\n#EXTINF:2.000000,\n2.ts\n#EXTINF:3.400000,\n3.ts\n#EXTINF:2.000000,\n4.ts\n');
    const ended = parseMediaPlaylist(livePlaylist(liveWindow(all, 3), { hlsTime: 2, ended: true }));
    expect(ended.ended).to.equal(true);
    expect(ended.segments.map((s) => s.uri)).to.deep.equal(['2.ts', '3.ts', '4.ts']);
  });
  it('target duration is at least T and an exact integer is not rounded up', () => {
    expect(targetDuration([seg(0, 2.0), seg(1, 1.5)], 2)).to.equal(2);
    expect(targetDuration([seg(0, 2.023)], 2)).to.equal(3);
    expect(targetDuration([], 3)).to.equal(3);
  });
  it('live: discontinuity tag before the first segment of a restart; discontinuity sequence counts what slid out', () => {
    const all = [seg(0), seg(1), seg(2, 2, true), seg(3), seg(4, 2, true), seg(5)];
    const p = parseMediaPlaylist(livePlaylist(liveWindow(all, 4), { hlsTime: 2, ended: false }));
    expect(p.segments.map((s) => s.discontinuity)).to.deep.equal([true, false, true, false]);
    const later = livePlaylist(liveWindow(all, 2), { hlsTime: 2, ended: false });
    expect(later).to.contain('#EXT-X-DISCONTINUITY-SEQUENCE:1\n');
  });
  it('vod: EVENT while live (no ENDLIST), VOD with ENDLIST once ended, lists every segment', () => {
    const all = [seg(0), seg(1), seg(2, 2, true)];
    const live = parseMediaPlaylist(vodPlaylist(all, { hlsTime: 2, ended: false }));
    expect(live.playlistType).to.equal('EVENT');
    expect(live.ended).to.equal(false);
    const done = parseMediaPlaylist(vodPlaylist(all, { hlsTime: 2, ended: true }));
    expect(done.playlistType).to.equal('VOD');
    expect(done.ended).to.equal(true);
    expect(done.segments.map((s) => s.uri)).to.deep.equal(['0.ts', '1.ts', '2.ts']);
    expect(done.segments[2]!.discontinuity).to.equal(true);
  });
  it('a part that starts with a restart does not begin with a discontinuity tag', () => {
    expect(vodPlaylist([seg(7, 2, true)], { hlsTime: 2, ended: false })).not.to.contain('DISCONTINUITY');
  });
  it('parser rejects a truncated playlist', () => {
    expect(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n')).to.throw(/truncated/);
    expect(() => parseMediaPlaylist('#EXT-X-TARGETDURATION:2\n')).to.throw(/EXTM3U/);
  });
  it('master: BANDWIDTH, RESOLUTION, CODECS, highest first', () => {
    const text = masterPlaylist([
      { id: '160x90-15', width: 160, height: 90, fps: 15, bandwidth: 355200, codecs: `${avc1Codec('High', 30)},${AAC_LC_CODEC}` },
      { id: '320x180-15', width: 320, height: 180, fps: 15, bandwidth: 595200, codecs: `${avc1Codec('High', 30)},${AAC_LC_CODEC}` },
    ]);
    expect(text).to.equal(
      '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n' +
        '#EXT-X-STREAM-INF:BANDWIDTH=595200,RESOLUTION=320x180,FRAME-RATE=15.000,CODECS="avc1.64001e,mp4a.40.2"\n320x180-15/live.m3u8\n' +
        '#EXT-X-STREAM-INF:BANDWIDTH=355200,RESOLUTION=160x90,FRAME-RATE=15.000,CODECS="avc1.64001e,mp4a.40.2"\n160x90-15/live.m3u8\n',
    );
  });
  it('codec strings and levels', () => {
    expect(avc1Codec('Constrained Baseline', 31)).to.equal('avc1.42e01f');
    expect(avc1Codec('Main', 40)).to.equal('avc1.4d4028');
    expect(h264Level(320, 180, 15)).to.equal(30);
    expect(h264Level(1280, 720, 30)).to.equal(31);
    expect(h264Level(1920, 1080, 30)).to.equal(40);
    expect(h264Level(1920, 1080, 60)).to.equal(42);
  });
  it('preview index.json', () => {
    expect(previewIndexJson(100)).to.equal('{"index_start":0,"count":100,"pattern":"%d.jpg"}');
  });
  it('segment list reader takes whole lines only', () => {
    const r = new SegmentListReader();
    expect(r.push('5.ts,0.000000,2.0232')).to.deep.equal([]);
    const got = r.push('22\n6.ts,2.023222,4.023222\n7.ts,4.0');
    expect(got.map((s) => s.n)).to.deep.equal([5, 6]);
    expect(got[0]!.duration).to.be.closeTo(2.023222, 1e-9);
  });
});
