import { expect } from 'chai';
import { llPlaylist, nextPart, skippableSegments, type LlPlaylistInput, type PlaylistSegment } from '../../src/packaging/ll-playlist';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

/** `complete` segments of 6 parts (2 s), then an open one with `openParts` parts. */
function window(first: number, complete: number, openParts: number): PlaylistSegment[] {
  const parts = (n: number) => Array.from({ length: n }, (_, i) => ({ duration: 0.33333, independent: i === 0 }));
  const segments: PlaylistSegment[] = [];
  for (let i = 0; i < complete; i++) segments.push({ msn: first + i, programDateTime: T0 + i * 2000, parts: parts(6), duration: 2 });
  if (openParts > 0) segments.push({ msn: first + complete, programDateTime: T0 + complete * 2000, parts: parts(openParts), duration: null });
  return segments;
}

function input(over: Partial<LlPlaylistInput> = {}): LlPlaylistInput {
  return { segments: window(5, 7, 2), segmentSeconds: 2, partSeconds: 0.333, initUri: 'init.mp4', ended: false, renditionReports: [], skip: false, ...over };
}

const lines = (text: string) => text.trimEnd().split('\n');

describe('packaging: LL-HLS media playlist (RFC 8216bis)', () => {
  it('starts with version 9, target duration, server control (block reload, skip, part hold-back ≥ 3 × part target), part info, sequence and map', () => {
    expect(lines(llPlaylist(input())).slice(0, 7)).to.deep.equal([
      '#EXTM3U',
      '#EXT-X-VERSION:9',
      '#EXT-X-TARGETDURATION:2',
      '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12.0,PART-HOLD-BACK=0.99999',
      '#EXT-X-PART-INF:PART-TARGET=0.33333',
      '#EXT-X-MEDIA-SEQUENCE:5',
      '#EXT-X-MAP:URI="init.mp4"',
    ]);
  });

  it('lists every segment with its program date-time, parts only for the last 3 target durations, and the preload hint', () => {
    const text = llPlaylist(input());
    const l = lines(text);
    expect(l.filter((x) => x.startsWith('#EXTINF:'))).to.have.length(7);
    expect(l).to.include('#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:05.678Z');
    // 6 s from the end: the open segment (0.67 s), 11 (2 s), 10 (2 s), 9 (2 s) list parts; 8 does not.
    const partUris = l.filter((x) => x.startsWith('#EXT-X-PART:')).map((x) => /URI="([^"]+)"/.exec(x)![1]);
    expect(partUris[0]).to.equal('9.0.m4s');
    expect(partUris.at(-1)).to.equal('12.1.m4s');
    expect(partUris).to.have.length(6 * 3 + 2);
    expect(l).to.include('#EXT-X-PART:DURATION=0.33333,URI="12.0.m4s",INDEPENDENT=YES');
    expect(l).to.include('#EXT-X-PART:DURATION=0.33333,URI="12.1.m4s"');
    expect(l.at(-1)).to.equal('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="12.2.m4s"');
    expect(l.indexOf('11.m4s')).to.be.lessThan(l.indexOf('#EXT-X-PART:DURATION=0.33333,URI="12.0.m4s",INDEPENDENT=YES'));
    expect(l).to.not.include('12.m4s');
  });

  it('hints part 0 of the next segment after a complete one; no hint and ENDLIST once ended', () => {
    expect(nextPart(window(0, 3, 0))).to.deep.equal({ msn: 3, part: 0 });
    expect(lines(llPlaylist(input({ segments: window(0, 3, 0) }))).at(-1)).to.equal('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="3.0.m4s"');
    const ended = lines(llPlaylist(input({ segments: window(0, 3, 0), ended: true })));
    expect(ended.at(-1)).to.equal('#EXT-X-ENDLIST');
    expect(ended.some((x) => x.startsWith('#EXT-X-PRELOAD-HINT'))).to.equal(false);
  });

  it('reports the other renditions', () => {
    const text = llPlaylist(input({ renditionReports: [{ uri: '../640x360-30/live.m3u8', lastMsn: 12, lastPart: 1 }] }));
    expect(lines(text)).to.include('#EXT-X-RENDITION-REPORT:URI="../640x360-30/live.m3u8",LAST-MSN=12,LAST-PART=1');
  });

  it('delta update: skips the segments more than 6 target durations before the end, never the recent ones', () => {
    const segments = window(20, 10, 3);
    // 10 × 2 s + 1 s open: segments 20..22 end more than 12 s before the end.
    expect(skippableSegments(segments, 2)).to.equal(4);
    const l = lines(llPlaylist(input({ segments, skip: true })));
    expect(l).to.include('#EXT-X-SKIP:SKIPPED-SEGMENTS=4');
    expect(l).to.include('#EXT-X-MEDIA-SEQUENCE:20');
    expect(l).to.not.include('23.m4s');
    expect(l).to.include('24.m4s');
    expect(l.filter((x) => x.startsWith('#EXTINF:'))).to.have.length(6);
    expect(skippableSegments(window(0, 5, 1), 2)).to.equal(0);
    expect(lines(llPlaylist(input({ segments: window(0, 5, 1), skip: true }))).some((x) => x.startsWith('#EXT-X-SKIP'))).to.equal(false);
  });

  it('target duration covers the longest segment; part target the longest part', () => {
    const segments = window(0, 2, 1);
    segments[0] = { ...segments[0]!, duration: 4.2, parts: [{ duration: 0.4, independent: true }] };
    const l = lines(llPlaylist(input({ segments })));
    expect(l).to.include('#EXT-X-TARGETDURATION:5');
    expect(l).to.include('#EXT-X-PART-INF:PART-TARGET=0.4');
    expect(l).to.include('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=30.0,PART-HOLD-BACK=1.2');
  });

  it('a segment after an encoder restart gets EXT-X-DISCONTINUITY; discontinuities that slid out give EXT-X-DISCONTINUITY-SEQUENCE', () => {
    const segments = window(5, 4, 1);
    segments[2] = { ...segments[2]!, discontinuity: true };
    const l = lines(llPlaylist(input({ segments, discontinuitySequence: 2 })));
    expect(l).to.include('#EXT-X-DISCONTINUITY-SEQUENCE:2');
    const at = l.indexOf('#EXT-X-DISCONTINUITY');
    expect(l[at + 1]).to.match(/^#EXT-X-PROGRAM-DATE-TIME:/);
    expect(l.slice(0, at).filter((x) => x === '7.m4s'), 'before the third segment').to.deep.equal([]);
    expect(l.slice(0, at)).to.include('6.m4s');
    expect(l.filter((x) => x === '#EXT-X-DISCONTINUITY')).to.have.length(1);
    expect(llPlaylist(input())).to.not.contain('DISCONTINUITY');
  });
});
