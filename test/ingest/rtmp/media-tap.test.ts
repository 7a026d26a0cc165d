import { expect } from 'chai';
import { MediaTap, type TapPacket } from '../../../src/ingest/rtmp/media-tap';

/**
 * An NMS packet: FLV tag body in a buffer larger than `size` (NMS reuses its parse buffer), with
 * NMS's flags (0 audio header, 1 audio frame, 2 video header, 3 keyframe, 4 other video frame, 5 metadata).
 */
function packet(type: number, flags: number, dts: number, body: number[]) {
  const data = Buffer.alloc(body.length + 16, 0xee);
  Buffer.from(body).copy(data);
  return { codec_type: type, flags, dts, pts: dts, size: body.length, data };
}
const avcHeader = (dts: number) => packet(9, 2, dts, [0x17, 0, 0, 0, 0, 1, 2, 3]);
const keyframe = (dts: number) => packet(9, 3, dts, [0x17, 1, 0, 0, 0, 9, 9]);
const delta = (dts: number) => packet(9, 4, dts, [0x27, 1, 0, 0, 0, 8]);
const aacHeader = (dts: number) => packet(8, 0, dts, [0xaf, 0, 0x11, 0x90]);
const aac = (dts: number) => packet(8, 1, dts, [0xaf, 1, 5, 5]);
const metadata = (dts: number) => packet(18, 5, dts, [2, 0, 10, 0x6f, 0x6e, 0x4d, 0x65, 0x74, 0x61, 0x44, 0x61, 0x74, 0x61]);

function recorder() {
  const got: TapPacket[] = [];
  let ended = 0;
  return { got, ended: () => ended, listener: { packet: (p: TapPacket) => got.push({ ...p, body: Buffer.from(p.body) }), end: () => void ended++ } };
}

describe('ingest/rtmp: media tap (the publisher\'s packets for castline\'s packager)', () => {
  it('a late subscriber gets the sequence headers and the packets since the last keyframe, then live ones', () => {
    const tap = new MediaTap(1 << 20);
    for (const p of [avcHeader(0), aacHeader(0), keyframe(0), aac(10), delta(33), keyframe(1000), aac(1010), delta(1033)]) tap.push(p);
    const r = recorder();
    tap.subscribe(r.listener);
    expect(r.got.map((p) => `${p.type}@${p.timestamp}`)).to.deep.equal(['9@0', '8@0', '9@1000', '8@1010', '9@1033']);
    expect(r.got[0]!.body.length, 'only `size` bytes of the reused buffer').to.equal(8);
    tap.push(delta(1066));
    expect(r.got.at(-1)!.timestamp).to.equal(1066);
    expect(tap.subscribers).to.equal(1);
  });

  it('keeps copies: a packet buffer reused after push does not change what a later subscriber gets', () => {
    const tap = new MediaTap(1 << 20);
    const k = keyframe(0);
    tap.push(avcHeader(0));
    tap.push(k);
    k.data.fill(0);
    const r = recorder();
    tap.subscribe(r.listener);
    expect([...r.got[1]!.body]).to.deep.equal([0x17, 1, 0, 0, 0, 9, 9]);
  });

  it('drops the cache beyond its byte bound (until the next keyframe) and caches nothing before the first keyframe', () => {
    const tap = new MediaTap(20);
    tap.push(avcHeader(0));
    tap.push(delta(0)); // before any keyframe: nothing to start from
    tap.push(keyframe(33));
    for (let i = 2; i < 10; i++) tap.push(delta(i * 33));
    const r = recorder();
    tap.subscribe(r.listener);
    expect(r.got.map((p) => p.timestamp)).to.deep.equal([0]); // the header only
  });

  it('end() tells every subscriber once; a subscriber after the end is told at once; unsubscribe stops delivery', () => {
    const tap = new MediaTap(1 << 20);
    const a = recorder();
    const b = recorder();
    const offA = tap.subscribe(a.listener);
    tap.subscribe(b.listener);
    offA();
    tap.push(keyframe(0));
    expect(a.got).to.have.length(0);
    expect(b.got).to.have.length(1);
    tap.end();
    tap.end();
    expect(b.ended()).to.equal(1);
    expect(a.ended()).to.equal(0);
    const late = recorder();
    tap.subscribe(late.listener);
    expect(late.ended()).to.equal(1);
    tap.push(keyframe(1000));
    expect(b.got).to.have.length(1);
  });

  it('keeps its cache while subscribed: a second subscriber and the RTMP fan-out still start on the last keyframe', () => {
    const tap = new MediaTap(1 << 20);
    const first = recorder();
    tap.subscribe(first.listener);
    for (const p of [metadata(0), avcHeader(0), aacHeader(0), keyframe(0), aac(10), delta(33), keyframe(1000), aac(1010), delta(1033)]) tap.push(p);
    expect(first.got.map((p) => p.type), 'script data is not handed to subscribers').to.not.include(18);
    const second = recorder();
    tap.subscribe(second.listener);
    expect(second.got.map((p) => `${p.type}@${p.timestamp}`)).to.deep.equal(['9@0', '8@0', '9@1000', '8@1010', '9@1033']);
    // node-media-server's order for a new player: metadata, audio header, video header, then the GOP.
    expect(tap.cached().map((p) => `${p.type}@${p.timestamp}`)).to.deep.equal(['18@0', '8@0', '9@0', '9@1000', '8@1010', '9@1033']);
  });

  it('hands out owned copies: many packets through one reused parse buffer all stay intact', () => {
    const tap = new MediaTap(64 << 20);
    const kept: TapPacket[] = [];
    tap.subscribe({ packet: (p) => kept.push(p), end: () => undefined });
    const parse = Buffer.alloc(40_000);
    const sizes: number[] = [];
    for (let i = 0; i < 600; i++) {
      const size = 5 + ((i * 7919) % 30_000); // across several arena slabs, some packets straddling a slab's end
      parse.fill(i % 251, 0, size);
      parse[0] = i === 0 ? 0x17 : 0x27;
      parse[1] = 1;
      tap.push({ codec_type: 9, flags: i === 0 ? 3 : 4, dts: i * 33, pts: i * 33, size, data: parse });
      sizes.push(size);
    }
    expect(kept).to.have.length(600);
    kept.forEach((p, i) => {
      expect(p.owned).to.equal(true);
      expect(p.body.length).to.equal(sizes[i]);
      expect(p.body[p.body.length - 1], `packet ${i}`).to.equal(i % 251);
      expect(p.body.buffer).to.not.equal(parse.buffer);
    });
  });
});
