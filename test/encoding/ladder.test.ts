import { expect } from 'chai';
import type { ResolutionRequest, Rung } from '../../src/domain/settings';
import { defaultAudioKbps, defaultVideoKbps } from '../../src/encoding/default-bitrates';
import { fitIntoBox, selectLadder, type SourceInfo } from '../../src/encoding/ladder';

const src = (width: number, height: number, fps: number, extra: Partial<SourceInfo> = {}): SourceInfo => ({
  width, height, fps, videoCodec: 'h264', audioCodec: 'aac', formatName: 'flv', ...extra,
});
/** Parses the x-resolutions grammar just enough for the tests (the real parser lives upstream). */
function req(text: string): ResolutionRequest {
  const rungs: Rung[] = [];
  let original = false;
  for (const part of text.split(',').map((s) => s.trim())) {
    if (part.toUpperCase() === 'ORIGINAL') { original = true; continue; }
    const m = /^(\d+)x(\d+)(?:-(\d+))?(?:~(\d+))?$/.exec(part)!;
    rungs.push({ width: +m[1]!, height: +m[2]!, fps: m[3] ? +m[3] : -1, kbps: m[4] ? +m[4] : -1 });
  }
  return { original, rungs };
}
const ids = (s: SourceInfo, r: string, originalMode: 'copy' | 'encode' = 'copy') => selectLadder(s, req(r), { originalMode }).map((x) => x.id);

describe('ladder (cluster-protocols §5)', () => {
  it('spec example: 1920x1080@30 drops the rung larger than the source', () => {
    expect(ids(src(1920, 1080, 30), '1280x720-30~2500,854x480-30~1200,2560x1440-60')).to.deep.equal(['1280x720-30~2500', '854x480-30~1200']);
  });
  it('spec example: portrait 1080x1920@60 with ORIGINAL,1280x720-30', () => {
    expect(ids(src(1080, 1920, 60), 'ORIGINAL,1280x720-30')).to.deep.equal(['1080x1920-60', '406x720-30']);
  });
  it('spec example: 1440x1080@25 into 1280x720-30 gives 960x720-25 (fps capped at the source)', () => {
    expect(ids(src(1440, 1080, 25), '1280x720-30')).to.deep.equal(['960x720-25']);
  });
  it('spec example: 640x360 with only larger rungs encodes the smallest one anyway', () => {
    expect(ids(src(640, 360, 30), '1280x720,854x480')).to.deep.equal(['854x480-30']);
  });
  it('upscale-only request with ORIGINAL gives only ORIGINAL', () => {
    expect(ids(src(320, 180, 15), 'ORIGINAL,1280x720,640x360')).to.deep.equal(['320x180-15']);
  });
  it('the test ladder: 320x180@15 with 320x180-15,160x90-15', () => {
    const l = selectLadder(src(320, 180, 15), req('320x180-15,160x90-15'), { originalMode: 'copy' });
    expect(l.map((x) => x.id)).to.deep.equal(['320x180-15', '160x90-15']);
    expect(l.map((x) => x.videoKbps)).to.deep.equal([400, 200]);
    expect(l.every((x) => x.mode === 'encode' && !x.bitrateRequested)).to.equal(true);
  });
  it('odd source sizes give even rungs; ORIGINAL encode is padded to even, copy keeps the size', () => {
    expect(ids(src(641, 361, 30), '320x180')).to.deep.equal(['320x180-30']);
    expect(ids(src(641, 361, 30), 'ORIGINAL', 'encode')).to.deep.equal(['642x362-30']);
    expect(ids(src(641, 361, 30), 'ORIGINAL', 'copy')).to.deep.equal(['641x361-30']);
  });
  it('odd requested boxes are made even', () => {
    expect(ids(src(1920, 1080, 30), '853x481')).to.deep.equal(['854x482-30']);
  });
  it('portrait source into landscape boxes keeps the aspect ratio', () => {
    expect(ids(src(720, 1280, 30), '1280x720-30,854x480')).to.deep.equal(['406x720-30', '270x480-30']);
  });
  it('rung fps above the source is capped; unknown source fps counts as 30', () => {
    expect(ids(src(1280, 720, 30), '1280x720-60')).to.deep.equal(['1280x720-30']);
    expect(ids(src(1280, 720, 0, { formatName: 'matroska,webm' }), '640x360')).to.deep.equal(['640x360-30']);
  });
  it('duplicates are dropped', () => {
    expect(ids(src(1280, 720, 30), '640x360,640x360-30,640x360-30~800')).to.deep.equal(['640x360-30', '640x360-30~800']);
  });
  it('ORIGINAL is copied only from H.264/AAC (or H.264 without audio) in copy mode', () => {
    expect(selectLadder(src(640, 360, 30), req('ORIGINAL'), { originalMode: 'copy' })[0]!.mode).to.equal('copy');
    expect(selectLadder(src(640, 360, 30, { audioCodec: null }), req('ORIGINAL'), { originalMode: 'copy' })[0]!.mode).to.equal('copy');
    expect(selectLadder(src(640, 360, 30, { videoCodec: 'vp8', audioCodec: 'opus' }), req('ORIGINAL'), { originalMode: 'copy' })[0]!.mode).to.equal('encode');
    expect(selectLadder(src(640, 360, 30), req('ORIGINAL'), { originalMode: 'encode' })[0]!.mode).to.equal('encode');
  });
  it('a requested bitrate is used and named; otherwise the default table', () => {
    const [a, b] = selectLadder(src(1920, 1080, 60), req('1280x720-60~3000,1280x720-60'), { originalMode: 'copy' });
    expect(a).to.include({ id: '1280x720-60~3000', videoKbps: 3000, bitrateRequested: true });
    expect(b).to.include({ id: '1280x720-60', videoKbps: 3750, bitrateRequested: false });
  });
  it('fitIntoBox', () => {
    expect(fitIntoBox(1920, 1080, 1280, 720)).to.deep.equal({ width: 1280, height: 720 });
    expect(fitIntoBox(1080, 1920, 1280, 720)).to.deep.equal({ width: 406, height: 720 });
    expect(fitIntoBox(1000, 1000, 640, 360)).to.deep.equal({ width: 360, height: 360 });
  });
  it('default bitrate table', () => {
    expect(defaultVideoKbps(160, 90, 15)).to.equal(200);
    expect(defaultVideoKbps(640, 360, 30)).to.equal(800);
    expect(defaultVideoKbps(406, 720, 30)).to.equal(1200);
    expect(defaultVideoKbps(1920, 1080, 60)).to.equal(6750);
    expect(defaultVideoKbps(7680, 4320, 30)).to.equal(25000);
    expect(defaultAudioKbps(640, 360)).to.equal(96);
    expect(defaultAudioKbps(1280, 720)).to.equal(128);
  });
});
