import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureExecutable, ffmpegPath } from '../../src/encoding/binaries';

describe('bundled binaries', () => {
  it('a binary installed without its execute bit (as a fresh npm ci leaves ffmpeg) is made executable', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-bin-'));
    try {
      const copy = path.join(dir, 'ffmpeg');
      fs.copyFileSync(ffmpegPath, copy);
      fs.chmodSync(copy, 0o644);
      ensureExecutable(copy, 'ffmpeg');
      expect(fs.statSync(copy).mode & 0o111).to.equal(0o111);
      expect(execFileSync(copy, ['-version'], { encoding: 'utf8' })).to.match(/^ffmpeg version/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing binary fails with a message saying what to do', () => {
    expect(() => ensureExecutable('/nonexistent/ffmpeg', 'ffmpeg')).to.throw(/ffmpeg binary not found at \/nonexistent\/ffmpeg: run 'npm ci' again/);
  });
});
