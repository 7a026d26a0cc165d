import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MediaEvent, TrackConfig } from '../../src/domain/media';
import { UnsupportedMediaError } from '../../src/packaging/flv-tag';
import type { PackagedPart, PackagedSegmentEnd, PackagerSink } from '../../src/packaging/packaging.types';
import { Segmenter } from '../../src/packaging/segmenter';
import { decodeFrames, flvEvents, makeFlv, streamLines, tempDir } from './media';

class Collected implements PackagerSink {
  inits: Buffer[] = [];
  config: TrackConfig | null = null;
  parts: PackagedPart[] = [];
  segments: PackagedSegmentEnd[] = [];
  init(data: Buffer, config: TrackConfig): void {
    this.inits.push(data);
    this.config = config;
  }
  part(part: PackagedPart): void {
    this.parts.push(part);
  }
  segmentEnd(segment: PackagedSegmentEnd): void {
    this.segments.push(segment);
  }
  segmentBytes(msn: number): Buffer {
    return Buffer.concat(this.parts.filter((p) => p.msn === msn).map((p) => p.data));
  }
}

function packageAll(events: MediaEvent[], partSeconds = 0.333, segmentSeconds = 2): Collected {
  const sink = new Collected();
  const segmenter = new Segmenter(sink, { partSeconds, segmentSeconds, now: () => 1_700_000_000_000 });
  for (const e of events) segmenter.push(e);
  segmenter.end();
  return sink;
}

describe('packaging: segmenter (CMAF parts and segments from access units)', function () {
  this.timeout(60_000);
  let dir: string;
  let source: string;
  let sink: Collected;

  before(() => {
    dir = tempDir('segmenter');
    source = makeFlv(dir, { seconds: 5, bframes: 2, sampleRate: 48000 });
    sink = packageAll(flvEvents(source));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes one init segment with both tracks and their codec strings', () => {
    expect(sink.inits).to.have.length(1);
    expect(sink.config!.video!.codecString).to.match(/^avc1\.[0-9a-f]{6}$/);
    expect(sink.config!.video!).to.include({ width: 320, height: 180 });
    expect(sink.config!.audio!).to.include({ codecString: 'mp4a.40.2', sampleRate: 48000, channels: 1 });
    const file = path.join(dir, 'init.mp4');
    fs.writeFileSync(file, sink.inits[0]!);
    const streams = streamLines(file).join('\n');
    expect(streams).to.match(/Video: h264.*320x180/);
    expect(streams).to.match(/Audio: aac.*48000 Hz/);
  });

  it('closes segments at the first keyframe at or after HLS_TIME (2 s keyframes → 2 s segments)', () => {
    expect(sink.segments.map((s) => s.msn)).to.deep.equal([0, 1, 2]);
    expect(sink.segments[0]!.duration).to.be.closeTo(2, 0.001);
    expect(sink.segments[1]!.duration).to.be.closeTo(2, 0.001);
    expect(sink.segments[2]!.duration).to.be.closeTo(1, 0.05);
  });

  it('cuts parts of at most the part target, the first of each segment independent', () => {
    for (const p of sink.parts) {
      expect(p.duration).to.be.at.most(0.334 + 1e-9);
      expect(p.independent).to.equal(p.index === 0);
    }
    const first = sink.parts.filter((p) => p.msn === 0);
    expect(first).to.have.length(6); // 6 × 10 frames = 2 s at 30 fps
    expect(first[0]!.programDateTime).to.equal(1_700_000_000_000);
    expect(first[1]!.programDateTime).to.equal(undefined);
    const total = sink.parts.filter((p) => p.msn === 0).reduce((t, p) => t + p.duration, 0);
    expect(total).to.be.closeTo(sink.segments[0]!.duration, 1e-6);
  });

  it('every segment decodes with ffmpeg on its own (init + its fragments), all its frames', () => {
    for (const { msn, duration } of sink.segments) {
      const file = path.join(dir, `seg-${msn}.mp4`);
      fs.writeFileSync(file, Buffer.concat([sink.inits[0]!, sink.segmentBytes(msn)]));
      const frames = decodeFrames(file);
      expect(frames.filter((f) => f.stream === 0)).to.have.length(Math.round(duration * 30), `video frames of segment ${msn}`);
      expect(frames.filter((f) => f.stream === 1).length).to.be.greaterThan(duration * 46 - 3, `audio frames of segment ${msn}`);
    }
  });

  it('every part decodes with ffmpeg after the parts before it in its segment', () => {
    for (const part of sink.parts) {
      const upTo = sink.parts.filter((p) => p.msn === part.msn && p.index <= part.index);
      const file = path.join(dir, `part-${part.msn}-${part.index}.mp4`);
      fs.writeFileSync(file, Buffer.concat([sink.inits[0]!, ...upTo.map((p) => p.data)]));
      const video = decodeFrames(file).filter((f) => f.stream === 0);
      const expected = Math.round(upTo.reduce((t, p) => t + p.duration, 0) * 30);
      expect(video.length).to.equal(expected, `video frames up to part ${part.msn}.${part.index}`);
    }
  });

  it('keeps the source timestamps of every video frame and audio in sync (B-frames, 48 kHz AAC)', () => {
    const all = path.join(dir, 'all.mp4');
    fs.writeFileSync(all, Buffer.concat([sink.inits[0]!, ...sink.parts.map((p) => p.data)]));
    const ours = decodeFrames(all);
    const theirs = decodeFrames(source);
    const video = (fs: ReturnType<typeof decodeFrames>) => fs.filter((f) => f.stream === 0).map((f) => Math.round(f.pts * 1000));
    expect(video(ours)).to.deep.equal(video(theirs));
    const firstAudio = (fs: ReturnType<typeof decodeFrames>) => fs.find((f) => f.stream === 1)!.pts;
    const audioCount = (fs: ReturnType<typeof decodeFrames>) => fs.filter((f) => f.stream === 1).length;
    expect(firstAudio(ours)).to.be.closeTo(firstAudio(theirs), 0.001);
    expect(audioCount(ours)).to.equal(audioCount(theirs));
    const lastAudio = (fs: ReturnType<typeof decodeFrames>) => fs.filter((f) => f.stream === 1).at(-1)!.pts;
    expect(lastAudio(ours)).to.be.closeTo(lastAudio(theirs), 0.002);
  });

  it('segments of 1 s and parts of 0.1 s are honoured', () => {
    const short = packageAll(flvEvents(makeFlv(dir, { seconds: 3, gop: 15, audio: false, name: 'short.flv' })), 0.1, 1);
    expect(short.segments.map((s) => s.duration)).to.deep.equal([1, 1, 1]);
    for (const p of short.parts) expect(p.duration).to.be.at.most(0.1 + 1e-9);
    expect(short.config!.audio).to.equal(null);
  });

  it('never makes a part longer than the part target at frame rates that do not divide it (25 fps)', () => {
    const pal = packageAll(flvEvents(makeFlv(dir, { seconds: 2, fps: 25, audio: false, name: 'pal.flv' })));
    for (const p of pal.parts) expect(p.duration).to.be.at.most(0.333 + 0.001);
    expect(pal.parts.filter((p) => p.msn === 0).map((p) => p.duration).slice(0, 3)).to.deep.equal([0.32, 0.32, 0.32]);
  });

  it('drops media before the first keyframe and ignores an identical repeated configuration', () => {
    const events = flvEvents(source);
    const configs = events.filter((e) => e.type === 'config');
    const units = events.filter((e) => e.type === 'unit');
    const firstDelta = units.findIndex((e) => e.type === 'unit' && e.unit.track === 'video' && !e.unit.keyframe);
    const again = packageAll([...configs, units[firstDelta]!, ...events, ...configs]);
    expect(again.parts.length).to.equal(sink.parts.length);
  });

  it('refuses a codec configuration that changes mid-stream (a defined error, not corrupt output)', () => {
    const events = flvEvents(source);
    const other = flvEvents(makeFlv(dir, { seconds: 1, width: 160, height: 90, name: 'small.flv' })).filter((e) => e.type === 'config');
    const segmenter = new Segmenter(new Collected(), { partSeconds: 0.333, segmentSeconds: 2 });
    for (const e of events.slice(0, 40)) segmenter.push(e);
    expect(() => segmenter.push(other.find((e) => e.type === 'config' && e.video !== undefined)!)).to.throw(UnsupportedMediaError, /video codec configuration changed/);
  });

  it('hands each segment over in one piece: the parts\' bytes, unchanged, also when a segment outgrew its first buffer', () => {
    // Frames of 40-90 KB (a 5 s stream of ~15 Mbit/s): segments of MBs, far past the first 256 KiB buffer.
    let i = 0;
    const big = flvEvents(source).map((e): MediaEvent => (e.type === 'unit' && e.unit.track === 'video' ? { type: 'unit', unit: { ...e.unit, data: Buffer.alloc(40_000 + ((i++ * 7919) % 50_000), i % 251) } } : e));
    const parts: Array<{ msn: number; copy: Buffer; view: Buffer }> = [];
    const ends: PackagedSegmentEnd[] = [];
    const segmenter = new Segmenter({
      init: () => undefined,
      part: (p) => parts.push({ msn: p.msn, copy: Buffer.from(p.data), view: p.data }),
      segmentEnd: (s) => ends.push(s),
    }, { partSeconds: 0.333, segmentSeconds: 2 });
    for (const e of big) segmenter.push(e);
    segmenter.end();
    expect(ends.length).to.be.at.least(2);
    for (const end of ends) {
      const own = parts.filter((p) => p.msn === end.msn);
      const expected = Buffer.concat(own.map((p) => p.copy));
      expect(expected.length, `segment ${end.msn} is large`).to.be.above(1 << 20);
      expect(end.data!.equals(expected), `segment ${end.msn} = its parts`).to.equal(true);
      for (const p of own) expect(p.view.equals(p.copy), 'a part handed out earlier is never overwritten').to.equal(true);
      expect(end.data!.buffer.byteLength, 'little slack kept (BoxWriter.finish\'s rule)').to.be.at.most(end.data!.length + Math.max(4096, end.data!.length / 2));
    }
  });

  it('a run after a restart: numbering from firstMsn, the first segment\'s part 0 says discontinuity, no other part does', () => {
    const restarted = new Collected();
    const segmenter = new Segmenter(restarted, { partSeconds: 0.333, segmentSeconds: 2, firstMsn: 7, discontinuity: true });
    for (const e of flvEvents(source)) segmenter.push(e);
    segmenter.end();
    expect(restarted.segments[0]!.msn).to.equal(7);
    expect(restarted.parts.filter((p) => p.discontinuity === true).map((p) => `${p.msn}.${p.index}`)).to.deep.equal(['7.0']);
    expect(sink.parts.some((p) => p.discontinuity !== undefined), 'not without a restart').to.equal(false);
  });
});
