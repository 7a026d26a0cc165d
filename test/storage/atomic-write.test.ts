import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic, writeFileAtomicSync } from '../../src/storage/atomic-write';

describe('storage: atomic file write', () => {
  let root: string;
  beforeEach(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-atomic-')); });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('a reader polling during a large write sees the old file or the new one, never a partial one', async () => {
    const file = path.join(root, 'big.bin');
    const before = Buffer.alloc(1024, 1);
    const after = Buffer.alloc(64 * 1024 * 1024, 2);
    fs.writeFileSync(file, before);
    let done = false;
    const writing = writeFileAtomic(file, after).finally(() => { done = true; });
    const seen = new Set<number>();
    let reads = 0;
    while (!done) {
      const { size } = fs.statSync(file);
      seen.add(size);
      reads++;
      await new Promise((r) => setImmediate(r));
    }
    await writing;
    // The write took several turns of the event loop: a partial file had the chance to show.
    expect(reads).to.be.greaterThan(3);
    for (const size of seen) expect([before.length, after.length]).to.include(size);
    expect(fs.readFileSync(file).equals(after)).to.equal(true);
    expect(fs.readdirSync(root)).to.deep.equal(['big.bin']);
  });

  it('a failed write leaves the target untouched and no temp file (async and sync)', async () => {
    // The target is a non-empty folder: the rename fails after the data was written.
    const target = path.join(root, 'taken');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'inside'), 'x');
    let asyncError: unknown = null;
    await writeFileAtomic(target, 'new').catch((err: unknown) => { asyncError = err; });
    expect(asyncError).to.be.instanceOf(Error);
    expect(() => writeFileAtomicSync(target, 'new')).to.throw();
    expect(fs.readdirSync(root)).to.deep.equal(['taken']);
    expect(fs.readdirSync(target)).to.deep.equal(['inside']);
  });

  it('the sync form replaces the file whole, with the requested mode, fsync included', () => {
    const file = path.join(root, 'state.json');
    fs.writeFileSync(file, 'old old old');
    writeFileAtomicSync(file, '{"v":1}', { mode: 0o600, fsync: true });
    expect(fs.readFileSync(file, 'utf8')).to.equal('{"v":1}');
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    expect(fs.readdirSync(root)).to.deep.equal(['state.json']);
  });
});
