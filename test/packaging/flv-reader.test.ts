/**
 * FLV demux and mux on a real ffmpeg FLV: tags survive any chunking (even chunks whose memory is
 * wiped after the call, as uWS detaches a message's buffer), written tags are what ffmpeg reads,
 * and bytes that are not FLV or broken FLV framing have their defined errors.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ffmpegPath } from '../../src/encoding/binaries';
import { FlvReader, FlvStreamError, type FlvTag } from '../../src/packaging/flv-reader';
import { flvHeader, flvTag } from '../../src/packaging/flv-writer';
import { makeFlv, tempDir } from './media';

const copyTags = (tags: FlvTag[]) => tags.map((t) => ({ type: t.type, timestamp: t.timestamp, body: Buffer.from(t.body) }));

function readInChunks(bytes: Buffer, size: (i: number) => number): FlvTag[] {
  const reader = new FlvReader();
  const tags: FlvTag[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const chunk = Buffer.from(bytes.subarray(at, at + size(i)));
    tags.push(...copyTags(reader.push(chunk)));
    chunk.fill(0xee); // the caller's buffer is reused: nothing may point into it after the call
    at += chunk.length;
  }
  return tags;
}

function errorOf(fn: () => unknown): FlvStreamError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(FlvStreamError);
    return err as FlvStreamError;
  }
  throw new Error('no error thrown');
}

describe('packaging: FLV reader and writer', function () {
  this.timeout(30_000);
  let dir: string;
  let source: Buffer;
  let whole: FlvTag[];

  before(() => {
    dir = tempDir('flv-rw');
    source = fs.readFileSync(makeFlv(dir, { seconds: 2, fps: 15, gop: 15 }));
    whole = copyTags(new FlvReader().push(source));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads every tag of an ffmpeg FLV, the same whatever the chunking (1 byte, odd sizes, reused buffers)', () => {
    expect(whole.length).to.be.greaterThan(40);
    expect(new Set(whole.map((t) => t.type))).to.deep.equal(new Set([18, 9, 8]));
    for (const size of [() => 1, (i: number) => 1 + ((i * 7919) % 5000), () => 13]) {
      expect(readInChunks(source, size)).to.deep.equal(whole);
    }
  });

  it('writes tags ffmpeg reads back: a video-only FLV of the keyframes decodes to one frame per keyframe', () => {
    const keyframes = whole.filter((t) => t.type === 9 && t.body[1] === 1 && t.body[0]! >> 4 === 1);
    const header = whole.find((t) => t.type === 9 && t.body[1] === 0)!;
    const file = path.join(dir, 'keyframes.flv');
    fs.writeFileSync(file, Buffer.concat([flvHeader({ audio: false, video: true }), ...[header, ...keyframes].map((t) => flvTag(9, t.timestamp, t.body))]));
    expect(copyTags(new FlvReader().push(fs.readFileSync(file))).slice(1)).to.deep.equal(keyframes);
    const out = execFileSync(ffmpegPath, ['-v', 'error', '-i', file, '-f', 'framemd5', '-'], { encoding: 'utf8' });
    expect(out.split('\n').filter((l) => /^0,/.test(l))).to.have.length(keyframes.length);
    expect(keyframes.length).to.equal(2);
  });

  it('a timestamp beyond 24 bits keeps its extended byte', () => {
    const tag = flvTag(9, 0x12345678, Buffer.from([0x27, 1, 0, 0, 0]));
    const [read] = new FlvReader().push(Buffer.concat([flvHeader({ audio: false, video: true }), tag]));
    expect(read!.timestamp).to.equal(0x12345678);
  });

  it('bytes that are not FLV (a WebM header) → not-flv; the reader stays failed', () => {
    const reader = new FlvReader();
    const webm = Buffer.from('1a45dfa39f4286810142f7810142f2810442f381084282847765626d', 'hex');
    expect(errorOf(() => reader.push(webm)).kind).to.equal('not-flv');
    expect(errorOf(() => reader.push(source)).kind).to.equal('not-flv');
  });

  it('garbage after a good start → broken (a tag type that is not audio/video/script, or a PreviousTagSize that does not match)', () => {
    const cut = 13 + 11 + source.readUIntBE(14, 3) + 4; // header + the first tag
    const garbage = Buffer.alloc(64, 0x41);
    const typeError = errorOf(() => new FlvReader().push(Buffer.concat([source.subarray(0, cut), garbage])));
    expect(typeError.kind).to.equal('broken');
    expect(typeError.message).to.match(/tag type 1\b/);
    const bad = Buffer.from(source.subarray(0, cut));
    bad.writeUInt32BE(12345, cut - 4);
    const sizeError = errorOf(() => new FlvReader().push(bad));
    expect(sizeError.kind).to.equal('broken');
    expect(sizeError.message).to.match(/PreviousTagSize 12345/);
  });
});
