import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { layout } from '../../src/encoding/layout';
import { FileStorage, StoragePathError } from '../../src/storage/filesystem';

describe('storage (filesystem)', () => {
  let root: string;
  beforeEach(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-storage-')); });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('writes atomically and leaves no temp file', async () => {
    const s = new FileStorage(root);
    await s.writeAtomic('hls/a/b/live.m3u8', 'one');
    await s.writeAtomic('hls/a/b/live.m3u8', 'two');
    expect(fs.readFileSync(path.join(root, 'hls/a/b/live.m3u8'), 'utf8')).to.equal('two');
    expect(fs.readdirSync(path.join(root, 'hls/a/b'))).to.deep.equal(['live.m3u8']);
  });
  it('rejects paths escaping the root', () => {
    const s = new FileStorage(root);
    for (const bad of ['../x', '/etc/passwd', 'a/../../x', 'a/..', '', 'a\0b']) expect(() => s.resolve(bad), bad).to.throw(StoragePathError);
    expect(s.resolve('hls/x/0.ts')).to.equal(path.join(root, 'hls/x/0.ts'));
  });
  it('layout follows cluster-protocols §4 and refuses unsafe ids', () => {
    const ref = { channel: 'ch1', streamId: 'abc' };
    expect(layout.segment(ref, '320x180-15', 0)).to.equal('hls/ch1/abc/320x180-15/0.ts');
    expect(layout.live(ref, '320x180-15~400')).to.equal('hls/ch1/abc/320x180-15~400/live.m3u8');
    expect(layout.vod(ref, '320x180-15', 1)).to.equal('hls/ch1/abc/320x180-15/vod-1.m3u8');
    expect(layout.master(ref)).to.equal('hls/ch1/abc/master.m3u8');
    expect(layout.previewIndex(ref, '160x90-1')).to.equal('img-preview/ch1/abc/160x90-1/index.json');
    expect(() => layout.live({ channel: '..', streamId: 'x' }, 'r')).to.throw(/unsafe/);
    expect(() => layout.live({ channel: 'a/b', streamId: 'x' }, 'r')).to.throw(/unsafe/);
  });
});
