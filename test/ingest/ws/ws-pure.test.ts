import { expect } from 'chai';
import { IpConnectionLimit } from '../../../src/ingest/ip-connection-limit';
import { ChunkCache } from '../../../src/ingest/ws/chunk-cache';
import { parseIngestPath } from '../../../src/ingest/ws/ingest-path';
import { sourceUri } from '../../../src/ingest/ws/ws-ingest';

describe('ws ingest: path', () => {
  it('accepts the four kinds', () => {
    for (const kind of ['publish', 'receive', 'receive-clear-cache', 'probe']) {
      expect(parseIngestPath(`/ch_1/Key-2/${kind}`, 128)).to.deep.equal({ ok: true, path: { channel: 'ch_1', key: 'Key-2', kind } });
    }
  });
  it('refuses bad characters, lengths, kinds and shapes', () => {
    const long = 'a'.repeat(11);
    const cases: Array<[string, string]> = [
      ['/c h/k/publish', 'Invalid channel'],
      ['/ch/k.y/publish', 'Invalid key'],
      ['/%41/k/publish', 'Invalid channel'],
      [`/${long}/k/publish`, 'Invalid channel'],
      [`/c/${long}/receive`, 'Invalid key'],
      ['/c/k/play', 'Invalid connection kind'],
      ['/c/k/Publish', 'Invalid connection kind'],
      ['/c/k', 'Not found'],
      ['/c/k/publish/', 'Not found'],
      ['//k/publish', 'Invalid channel'],
      ['/', 'Not found'],
    ];
    for (const [url, reason] of cases) expect(parseIngestPath(url, 10), url).to.deep.equal({ ok: false, reason });
    expect(parseIngestPath(`/${'a'.repeat(10)}/${'b'.repeat(10)}/probe`, 10).ok).to.equal(true);
  });
});

describe('ws ingest: per-IP connection limit', () => {
  it('counts per address, releases once, exempts loopback and the allowlist', () => {
    const limit = new IpConnectionLimit({ max: 2, whitelist: '10.0.0.0/8' });
    const a = limit.acquire('203.0.113.1')!;
    const b = limit.acquire('::ffff:203.0.113.1')!; // same address, other form
    expect(limit.acquire('203.0.113.1')).to.equal(null);
    expect(limit.acquire('203.0.113.2')).not.to.equal(null);
    a.release();
    a.release();
    expect(limit.count('203.0.113.1')).to.equal(1);
    expect(limit.acquire('203.0.113.1')).not.to.equal(null);
    b.release();
    for (let i = 0; i < 10; i++) {
      expect(limit.acquire('127.0.0.1')).not.to.equal(null);
      expect(limit.acquire('10.3.4.5')).not.to.equal(null);
    }
  });
  it('loopback exemption can be turned off', () => {
    const limit = new IpConnectionLimit({ max: 1, whitelist: '', exemptLoopback: false });
    expect(limit.acquire('127.0.0.1')).not.to.equal(null);
    expect(limit.acquire('127.0.0.1')).to.equal(null);
  });
});

describe('ws ingest: chunk cache', () => {
  const chunk = (n: number, fill: number) => new Uint8Array(n).fill(fill);
  it('keeps the header forever and the newest chunks within the budget', () => {
    const cache = new ChunkCache(100);
    cache.append(chunk(30, 0)); // header
    for (let i = 1; i <= 10; i++) cache.append(chunk(20, i));
    expect(cache.heldBytes).to.equal(90); // 30 + 3 × 20 (budget for chunks: 70)
    expect(cache.replay().map((c) => c[0])).to.deep.equal([0, 8, 9, 10]);
    expect(cache.first()![0]).to.equal(0);
  });
  it('a chunk larger than the budget empties the chunks but not the header', () => {
    const cache = new ChunkCache(100);
    cache.append(chunk(30, 0));
    cache.append(chunk(20, 1));
    cache.append(chunk(71, 2));
    expect(cache.replay().map((c) => c[0])).to.deep.equal([0]);
    cache.append(chunk(10, 3));
    expect(cache.replay().map((c) => c[0])).to.deep.equal([0, 3]);
  });
  it('a header bigger than the budget is still kept', () => {
    const cache = new ChunkCache(10);
    cache.append(chunk(50, 0));
    cache.append(chunk(1, 1));
    expect(cache.replay().map((c) => c.byteLength)).to.deep.equal([50]);
  });
  it('clear() drops chunks and stops holding, header stays', () => {
    const cache = new ChunkCache(1000);
    cache.append(chunk(5, 0));
    cache.append(chunk(5, 1));
    cache.clear();
    expect(cache.wantsNext).to.equal(false);
    cache.append(chunk(5, 2));
    expect(cache.replay().map((c) => c[0])).to.deep.equal([0]);
  });
  it('clear() before any chunk still keeps the header when it comes', () => {
    const cache = new ChunkCache(1000);
    cache.clear();
    expect(cache.wantsNext).to.equal(true);
    cache.append(chunk(5, 9));
    cache.append(chunk(5, 1));
    expect(cache.replay().map((c) => c[0])).to.deep.equal([9]);
  });
  it('recycles its slabs: bounded allocation and correct bytes under churn', () => {
    const cache = new ChunkCache(256 * 1024); // 16 KiB slabs
    const seen = new Set<ArrayBufferLike>();
    for (let i = 0; i < 5000; i++) {
      const size = 100 + ((i * 7919) % 9000);
      cache.append(chunk(size, i % 256));
      for (const c of cache.replay()) seen.add(c.buffer);
      // chunks up to 9 kB in 16 kB slabs waste up to half a slab each: at most 2 × budget + 2 slabs
      expect(cache.slabCount).to.be.at.most(2 * (256 / 16) + 2);
    }
    expect(seen.size).to.be.lessThan(60); // header + ~18 slabs reused, not one buffer per chunk
    const held = cache.replay().slice(1);
    expect(held.reduce((s, c) => s + c.byteLength, 0) + cache.first()!.byteLength).to.equal(cache.heldBytes);
    for (const c of held) expect(c.every((b) => b === c[0])).to.equal(true); // no chunk overwritten by a later one
    const last = held[held.length - 1]!;
    expect(last[0]).to.equal(4999 % 256);
    expect(last.byteLength).to.equal(100 + ((4999 * 7919) % 9000));
  });
  it('copies what it is given (the source buffer may be reused)', () => {
    const cache = new ChunkCache(1000);
    const src = chunk(10, 1);
    cache.append(src);
    cache.append(src);
    src.fill(9);
    expect(cache.replay().map((c) => c[0])).to.deep.equal([1, 1]);
  });
  it('stays bounded and in order over many chunks', () => {
    const cache = new ChunkCache(1000);
    for (let i = 0; i < 10_000; i++) cache.append(chunk(7, i % 256));
    expect(cache.heldBytes).to.be.at.most(1000);
    const firsts = cache.replay().slice(1).map((c) => c[0]!);
    for (let i = 1; i < firsts.length; i++) expect((firsts[i - 1]! + 1) % 256).to.equal(firsts[i]);
    expect(firsts[firsts.length - 1]).to.equal(9999 % 256);
  });
});

describe('ws ingest: source URIs', () => {
  it('builds ws(s) source URIs, bracketing IPv6', () => {
    expect(sourceUri({ host: '127.0.0.1', port: 80, ssl: false }, 'c', 'k')).to.equal('ws://127.0.0.1:80/c/k');
    expect(sourceUri({ host: '::1', port: 443, ssl: true }, 'c', 'k')).to.equal('wss://[::1]:443/c/k');
  });
});
