import { expect } from 'chai';
import { BoxWriter } from '../../src/packaging/box-writer';

/** A writer of `capacity` bytes holding `written` bytes (a byte pattern, so copies can be checked). */
function written(capacity: number, count: number): BoxWriter {
  const w = new BoxWriter(capacity);
  w.bytes(Buffer.from(Array.from({ length: count }, (_, i) => i % 251)));
  return w;
}

describe('packaging: box writer (one slack rule for a finished buffer)', () => {
  it('finish() hands out a view while the unused tail is at most max(4 KiB, half the bytes), else an exact copy', () => {
    const cases: Array<[capacity: number, count: number, view: boolean]> = [
      [8192, 5000, true], // 3192 unused: under the 4 KiB floor
      [8192, 3000, false], // 5192 unused: over the floor, over half
      [65536, 44000, true], // 21536 unused ≤ 22000
      [65536, 43000, false], // 22536 unused > 21500
      [65536, 70000, false], // grew to 128 KiB: 61072 unused
      [4096, 5000, true], // grew to 8 KiB: 3192 unused
    ];
    for (const [capacity, count, view] of cases) {
      const w = written(capacity, count);
      const before = w.view();
      const out = w.finish();
      const label = `${count} of ${capacity}`;
      expect(out.equals(before), label).to.equal(true);
      expect(out.length, label).to.equal(count);
      if (view) expect(out.buffer, `${label}: a view`).to.equal(before.buffer);
      else {
        expect(out.buffer, `${label}: a copy`).not.to.equal(before.buffer);
        // (a copy under 4 KiB comes from Node's shared Buffer pool, like any small Buffer)
        if (count >= 4096) expect(out.buffer.byteLength, `${label}: of its own size`).to.equal(count);
      }
    }
  });

  it('a view taken before a copy or a growth keeps its bytes', () => {
    const w = new BoxWriter(65536);
    w.open('mdat').bytes(Buffer.alloc(1000, 7)).close();
    const early = w.view();
    w.bytes(Buffer.alloc(100_000, 9));
    const out = w.finish();
    expect(early.equals(out.subarray(0, early.length))).to.equal(true);
    expect(early.readUInt32BE(0)).to.equal(1008);
  });

  it('refuses to finish with a box open (a defined error)', () => {
    const w = new BoxWriter();
    w.open('moof');
    expect(() => w.finish()).to.throw(/1 box\(es\) open/);
  });
});
