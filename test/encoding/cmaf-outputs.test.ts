import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OutputAvailable } from '../../src/domain/outputs';
import { ffmpegPath } from '../../src/encoding/binaries';
import { CmafOutputsSink } from '../../src/encoding/cmaf-outputs-sink';
import { initialOutputs, StreamOutputs, type OutputEvent } from '../../src/encoding/outputs';
import { parseMediaPlaylist } from '../../src/encoding/playlist';
import { PartStore } from '../../src/packaging/part-store';
import { Segmenter } from '../../src/packaging/segmenter';
import { TeeSink } from '../../src/packaging/tee-sink';
import { FileStorage } from '../../src/storage/filesystem';
import { decodeFrames, flvEvents, makeFlv, tempDir } from '../packaging/media';

const ref = { channel: 'ch', streamId: '0123456789abcdef0123456789abcdef' };
const rendition = { id: '320x180-30', width: 320, height: 180, fps: 30, videoKbps: 0, bitrateRequested: false, audioKbps: 0, mode: 'copy' as const, original: true };
const info = { width: 320, height: 180, fps: 30, videoCodec: 'h264', audioCodec: 'aac', formatName: 'flv' };

describe('encoding: CMAF segments on disk (init.mp4, {n}.m4s, classic playlists)', function () {
  this.timeout(60_000);
  let root: string;
  let announced: OutputAvailable[];
  let mirrored: OutputEvent[];
  let store: PartStore;
  let dir: string;

  before(async () => {
    root = tempDir('cmaf-disk');
    const source = makeFlv(root, { seconds: 7, bframes: 2 });
    const state = initialOutputs(ref, { hlsTime: 2, liveSize: 2, vodMaxSize: 86400, record: true, format: 'fmp4' }, info, [rendition], null);
    announced = [];
    mirrored = [];
    const outputs = new StreamOutputs(state, new FileStorage(root), (o) => announced.push(o), (e) => mirrored.push(e));
    const errors: Error[] = [];
    store = new PartStore({ windowSegments: 7 });
    const segmenter = new Segmenter(new TeeSink(store, new CmafOutputsSink(outputs, rendition.id, (e) => errors.push(e))), { partSeconds: 0.333, segmentSeconds: 2 });
    for (const e of flvEvents(source)) segmenter.push(e);
    segmenter.end();
    store.end();
    await outputs.end();
    await outputs.flush();
    expect(errors).to.deep.equal([]);
    dir = path.join(root, 'hls', ref.channel, ref.streamId, rendition.id);
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('writes init.mp4 and every segment as {n}.m4s, the same bytes the memory store holds', () => {
    expect(fs.readFileSync(path.join(dir, 'init.mp4')).equals(store.initSegment!)).to.equal(true);
    // 7 s with 2 s keyframes: 0..3, the last 1 s; recording keeps them all on disk.
    for (const n of [0, 1, 2, 3]) expect(fs.readFileSync(path.join(dir, `${n}.m4s`)).length).to.be.greaterThan(1000);
    expect(fs.readFileSync(path.join(dir, '3.m4s')).equals(store.segmentData(3)!)).to.equal(true);
    expect(fs.existsSync(path.join(dir, '0.ts'))).to.equal(false);
  });

  it('live.m3u8 is a classic fMP4 playlist (version 7, EXT-X-MAP, no parts) that ffmpeg plays to the end', () => {
    const text = fs.readFileSync(path.join(dir, 'live.m3u8'), 'utf8');
    expect(text).to.contain('#EXT-X-VERSION:7\n');
    expect(text).to.contain('#EXT-X-MAP:URI="init.mp4"\n');
    expect(text).to.not.contain('EXT-X-PART');
    const live = parseMediaPlaylist(text);
    expect(live.ended).to.equal(true);
    expect(live.segments.map((s) => s.uri)).to.deep.equal(['2.m4s', '3.m4s']);
    const vod = parseMediaPlaylist(fs.readFileSync(path.join(dir, 'vod-0.m3u8'), 'utf8'));
    expect(vod.segments.map((s) => s.uri)).to.deep.equal(['0.m4s', '1.m4s', '2.m4s', '3.m4s']);
    expect(vod.segments.reduce((t, s) => t + s.duration, 0)).to.be.closeTo(7, 0.05);
    const frames = decodeFrames(path.join(dir, 'vod-0.m3u8'));
    expect(frames.filter((f) => f.stream === 0)).to.have.length(210);
    execFileSync(ffmpegPath, ['-v', 'error', '-xerror', '-i', path.join(dir, 'live.m3u8'), '-f', 'null', '-']);
  });

  it('announces HLS-LIVE and HLS-VOD with the playlists as index files; the master lists the exact codecs', () => {
    expect(announced.map((a) => [a.streamType, a.indexFile])).to.deep.equal([
      ['HLS-LIVE', `hls/ch/${ref.streamId}/${rendition.id}/live.m3u8`],
      ['HLS-VOD', `hls/ch/${ref.streamId}/${rendition.id}/vod-0.m3u8`],
    ]);
    const master = fs.readFileSync(path.join(root, 'hls', 'ch', ref.streamId, 'master.m3u8'), 'utf8');
    expect(master).to.match(/CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
    expect(master).to.contain(`${rendition.id}/live.m3u8`);
    expect(mirrored.some((e) => e.kind === 'codecs')).to.equal(true);
  });
});
