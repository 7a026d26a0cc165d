import { expect } from 'chai';
import { backoffMs, withFullJitter } from '../../src/domain/backoff';

/** The outbox's delay: full jitter over the backoff ceiling. */
const retryDelay = (failures: number, base: number, max: number, random?: () => number) => withFullJitter(backoffMs(failures, base, max), random);

describe('backoff', () => {
  it('backoffMs doubles from the base per retry and stops at the cap', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, 1000, 8000))).to.deep.equal([1000, 2000, 4000, 8000, 8000]);
    expect(backoffMs(0, 1000, 8000)).to.equal(1000);
    expect(backoffMs(10_000, 1000, 30_000)).to.equal(30_000);
  });

  const table: Array<[number, number, number, number, number]> = [
    // failures, base, max, random, expected
    [1, 500, 60_000, 0.999999, 499],
    [1, 500, 60_000, 0, 0],
    [2, 500, 60_000, 0.5, 500],
    [3, 500, 60_000, 1, 2000],
    [8, 500, 60_000, 1, 60_000], // 500·2^7 = 64,000 → capped
    [1000, 500, 60_000, 0.5, 30_000], // huge exponents do not overflow
    [0, 500, 60_000, 1, 500], // 0 failures treated as the first
    [2, 500, 60_000, 7, 1000], // random clamped into [0, 1]
    [2, 500, 60_000, -3, 0],
  ];
  for (const [failures, base, max, random, expected] of table) {
    it(`failures=${failures} base=${base} max=${max} random=${random} → ${expected}`, () => {
      expect(retryDelay(failures, base, max, () => random)).to.equal(expected);
    });
  }
  it('stays within [0, ceiling] with the real random source', () => {
    for (let i = 0; i < 1000; i++) expect(retryDelay(4, 100, 10_000)).to.be.within(0, 800);
  });
});
