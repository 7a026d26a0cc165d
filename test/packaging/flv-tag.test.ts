import { expect } from 'chai';
import { flvTagToMedia, UnsupportedMediaError } from '../../src/packaging/flv-tag';

describe('packaging: FLV tag → access unit (copy or view of the body)', () => {
  const video = () => Buffer.from([0x27, 1, 0, 0, 0x21, 0, 0, 0, 2, 0x41, 0x9a]); // inter frame, cts 33 ms, one 2-byte NALU
  const audio = () => Buffer.from([0xaf, 1, 0x21, 0x10, 0x05]);

  it('copies the payload by default: a parse buffer reused afterwards does not change the unit', () => {
    const body = video();
    const event = flvTagToMedia(9, 1000, body, 5);
    body.fill(0);
    expect(event).to.deep.include({ type: 'unit' });
    if (event?.type !== 'unit') return;
    expect(event.unit).to.deep.include({ track: 'video', dts: 1000, pts: 1033, keyframe: false, receivedAt: 5 });
    expect([...event.unit.data]).to.deep.equal([0, 0, 0, 2, 0x41, 0x9a]);
  });

  it('an owned body is not copied: the unit is a view of it (video and audio)', () => {
    const body = video();
    const event = flvTagToMedia(9, 1000, body, undefined, true);
    if (event?.type !== 'unit') throw new Error('no unit');
    expect(event.unit.data.buffer).to.equal(body.buffer);
    expect(event.unit.data.byteOffset).to.equal(body.byteOffset + 5);
    expect(event.unit).to.not.have.property('receivedAt');
    const a = audio();
    const aac = flvTagToMedia(8, 1010, a, 7, true);
    if (aac?.type !== 'unit') throw new Error('no unit');
    expect(aac.unit).to.deep.include({ track: 'audio', dts: 1010, pts: 1010, keyframe: true, receivedAt: 7 });
    expect(aac.unit.data.buffer).to.equal(a.buffer);
    expect([...aac.unit.data]).to.deep.equal([0x21, 0x10, 0x05]);
  });

  it('still refuses what it cannot package, owned or not', () => {
    expect(() => flvTagToMedia(9, 0, Buffer.from([0x22, 1, 0, 0, 0]), undefined, true)).to.throw(UnsupportedMediaError, /Sorenson/);
    expect(() => flvTagToMedia(8, 0, Buffer.from([0x2f, 1]), undefined, true)).to.throw(UnsupportedMediaError, /MP3/);
  });
});
