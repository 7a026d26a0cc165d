/** Storage faults told apart from everything else, on errors made by real file operations. */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../../src/storage/atomic-write';
import { storageFaultOf } from '../../src/storage/storage-errors';

describe('storage faults', () => {
  let root: string;
  beforeEach(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-faults-')); });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const errorOf = async (work: () => Promise<unknown>): Promise<unknown> => work().then(() => expect.fail('expected an error'), (err: unknown) => err);

  it('a write into an output folder that was removed (ENOENT) or replaced by a file (ENOTDIR): STORAGE_ERROR naming what happened', async () => {
    const removed = await errorOf(() => writeFileAtomic(path.join(root, 'gone', 'live.m3u8'), 'x'));
    expect(storageFaultOf(removed, root)).to.deep.include({ code: 'STORAGE_ERROR' });
    expect(storageFaultOf(removed, root)!.message).to.match(/^output folder removed or replaced \(ENOENT\) writing .*gone/);
    fs.writeFileSync(path.join(root, 'file'), 'x');
    const replaced = await errorOf(() => writeFileAtomic(path.join(root, 'file', 'live.m3u8'), 'x'));
    expect(storageFaultOf(replaced, root)).to.deep.include({ code: 'STORAGE_ERROR' });
  });

  it('ENOENT outside the output root (a missing program, an input) is no storage fault', async () => {
    const missing = await new Promise<unknown>((resolve) => spawn(path.join(root, '..', 'no-such-ffmpeg')).once('error', resolve));
    expect((missing as NodeJS.ErrnoException).code).to.equal('ENOENT');
    expect(storageFaultOf(missing, root)).to.equal(null);
    const unread = await errorOf(() => fs.promises.readFile('/nonexistent/input.flv'));
    expect(storageFaultOf(unread, root)).to.equal(null);
  });

  it('other errors are not storage faults', () => {
    expect(storageFaultOf(new Error('boom'), root)).to.equal(null);
    expect(storageFaultOf(null, root)).to.equal(null);
  });
});
