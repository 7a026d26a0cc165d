import { expect } from 'chai';
import { PartStore } from '../../src/packaging/part-store';

const config = { video: null, audio: null };

function writeSegment(store: PartStore, msn: number, parts: number, bytesPerPart = 100): void {
  for (let i = 0; i < parts; i++) store.part({ msn, index: i, duration: 0.333, independent: i === 0, data: Buffer.alloc(bytesPerPart, msn * 16 + i), ...(i === 0 ? { programDateTime: 1000 + msn } : {}) });
  store.segmentEnd({ msn, duration: parts * 0.333 });
}

describe('packaging: part store (live window in memory, waiting requests)', () => {
  it('keeps only the window of complete segments plus the open one; a segment is its parts, bytes held once', () => {
    const store = new PartStore({ windowSegments: 3 });
    store.init(Buffer.from('init'), config);
    for (let msn = 0; msn < 10; msn++) writeSegment(store, msn, 6);
    store.part({ msn: 10, index: 0, duration: 0.333, independent: true, data: Buffer.alloc(100, 1), programDateTime: 5 });
    expect(store.window().map((s) => s.msn)).to.deep.equal([7, 8, 9, 10]);
    expect(store.bytes).to.equal(4 + 3 * 600 + 100);
    expect(store.segmentData(6)).to.equal(null);
    const seg = store.segmentData(9)!;
    expect(seg.length).to.equal(600);
    expect(store.partData(9, 2)!.equals(Buffer.alloc(100, 9 * 16 + 2))).to.equal(true);
    expect(store.partData(9, 2)!.buffer).to.equal(seg.buffer); // a view, not a copy
    expect(store.segmentData(10)).to.equal(null);
    expect(store.partData(10, 1)).to.equal(null);
    expect(store.last()).to.deep.equal({ msn: 10, part: 0 });
    expect(store.hinted()).to.deep.equal({ msn: 10, part: 1 });
    expect(store.window()[0]!.programDateTime).to.equal(1007);
  });

  it('a segment that came as parts (an encode worker\'s) is joined only when asked for whole, once; one that came in one piece is that buffer', () => {
    const store = new PartStore({ windowSegments: 3 });
    const parts = [Buffer.alloc(5000, 1), Buffer.alloc(7000, 2)];
    parts.forEach((data, index) => store.part({ msn: 0, index, duration: 0.333, independent: index === 0, data }));
    store.segmentEnd({ msn: 0, duration: 0.666 });
    expect(store.partData(0, 1), 'not joined at the segment end').to.equal(parts[1]);
    expect(store.bytes).to.equal(12_000);
    const whole = store.segmentData(0)!;
    expect(whole.equals(Buffer.concat(parts))).to.equal(true);
    expect(store.segmentData(0), 'joined once, then kept').to.equal(whole);
    expect(store.partData(0, 1)!.buffer, 'its parts are views of it from then on').to.equal(whole.buffer);
    expect(store.partData(0, 1)!.equals(parts[1]!)).to.equal(true);
    expect(store.bytes).to.equal(12_000);

    const contiguous = Buffer.alloc(9000, 3);
    store.part({ msn: 1, index: 0, duration: 0.333, independent: true, data: contiguous.subarray(0, 4000) });
    store.part({ msn: 1, index: 1, duration: 0.333, independent: false, data: contiguous.subarray(4000) });
    store.segmentEnd({ msn: 1, duration: 0.666, data: contiguous });
    expect(store.segmentData(1)).to.equal(contiguous);
    expect(store.partData(1, 1)!.buffer).to.equal(contiguous.buffer);
    expect(store.partData(1, 1)!.length).to.equal(5000);
  });

  it('a waiter is answered when its part is written, a later one stays; parts past a closed segment are satisfied by it', async () => {
    const store = new PartStore({ windowSegments: 3 });
    writeSegment(store, 0, 6);
    store.part({ msn: 1, index: 0, duration: 0.333, independent: true, data: Buffer.alloc(1), programDateTime: 1 });
    const immediate = await store.waitFor(1, 0, 1000).done;
    expect(immediate).to.equal('ready');
    const part1 = store.waitFor(1, 1, 1000);
    const part3 = store.waitFor(1, 3, 1000);
    const whole = store.waitFor(1, null, 1000);
    expect(store.waiting).to.equal(3);
    store.part({ msn: 1, index: 1, duration: 0.333, independent: false, data: Buffer.alloc(1) });
    expect(await part1.done).to.equal('ready');
    expect(store.waiting).to.equal(2);
    store.segmentEnd({ msn: 1, duration: 0.666 });
    expect(await part3.done).to.equal('ready');
    expect(await whole.done).to.equal('ready');
    expect(store.waiting).to.equal(0);
  });

  it('times out, ends, and forgets a cancelled waiter', async () => {
    const store = new PartStore({ windowSegments: 3 });
    writeSegment(store, 0, 2);
    const started = Date.now();
    expect(await store.waitFor(2, 0, 50).done).to.equal('timeout');
    expect(Date.now() - started).to.be.within(40, 500);
    const cancelled = store.waitFor(1, 0, 10_000);
    cancelled.cancel();
    expect(store.waiting).to.equal(0);
    const pending = store.waitFor(1, 0, 10_000);
    store.end();
    expect(await pending.done).to.equal('ended');
    expect(store.hinted()).to.equal(null);
    expect(await store.waitFor(5, 0, 10).done).to.equal('ended');
  });

  it('keeps a part 0 discontinuity on its segment and counts the ones that slide out of the window', () => {
    const store = new PartStore({ windowSegments: 2 });
    writeSegment(store, 0, 2);
    store.part({ msn: 1, index: 0, duration: 0.333, independent: true, data: Buffer.alloc(10), programDateTime: 5, discontinuity: true });
    store.segmentEnd({ msn: 1, duration: 0.333 });
    expect(store.window().map((s) => s.discontinuity)).to.deep.equal([false, true]);
    expect(store.discontinuitySequence).to.equal(0);
    writeSegment(store, 2, 2);
    expect(store.discontinuitySequence, 'segment 0 dropped, no discontinuity').to.equal(0);
    writeSegment(store, 3, 2);
    expect(store.window().map((s) => s.msn)).to.deep.equal([2, 3]);
    expect(store.discontinuitySequence).to.equal(1);
  });
});
