/**
 * The preview counter: a real folder, images appearing as ffmpeg's image2 muxer writes them
 * (`{n}.jpg.tmp`, renamed in), and a real ffmpeg writing previews (`previewArgs`).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ffmpegPath } from '../../src/encoding/binaries';
import { previewArgs } from '../../src/encoding/ffmpeg-args';
import { PreviewWatcher, type PreviewTarget } from '../../src/encoding/preview-watcher';
import { sleep, waitUntil } from '../helpers/wait';

/** No backstop within a test's time: what is counted promptly was counted through fs.watch. */
const NO_POLL_MS = 3_600_000;

/** Writes image `n` the way `-atomic_writing 1` does: a `.tmp` file, renamed in. */
function writeImage(dir: string, n: number): void {
  fs.writeFileSync(path.join(dir, `${n}.jpg.tmp`), Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
  fs.renameSync(path.join(dir, `${n}.jpg.tmp`), path.join(dir, `${n}.jpg`));
}

/** Every counter made (stopped after each test, passed or not: an open fs.watch would keep mocha running). */
const made: PreviewWatcher[] = [];
const dirs: string[] = [];

function counter(target: PreviewTarget, onError: (err: unknown) => void, pollMs: number): PreviewWatcher {
  const watcher = new PreviewWatcher(target, onError, pollMs);
  made.push(watcher);
  return watcher;
}

function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-previews-'));
  dirs.push(dir);
  return dir;
}

/** A counter over a fresh folder; `counts` records every count reported, `errors` every failure. */
function setup(options: { start?: number; pollMs?: number; onCount?: (count: number) => Promise<void> } = {}) {
  const dir = tmpDir();
  const counts: number[] = [];
  const errors: unknown[] = [];
  const target: PreviewTarget = {
    dir,
    count: options.start ?? 0,
    onCount: async (count) => {
      counts.push(count);
      await options.onCount?.(count);
    },
  };
  const watcher = counter(target, (err) => errors.push(err), options.pollMs ?? NO_POLL_MS);
  return { dir, counts, errors, watcher };
}

describe('preview watcher (the one preview counter)', function () {
  this.timeout(20_000);
  afterEach(async () => {
    await Promise.all(made.splice(0).map((w) => w.stop()));
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('counts each image as it is renamed in (inotify, no timer), in order; a .tmp file is no image', async () => {
    const s = (setup());
    s.watcher.start();
    fs.writeFileSync(path.join(s.dir, '0.jpg.tmp'), 'partial');
    await sleep(150);
    expect(s.counts).to.deep.equal([]);
    fs.renameSync(path.join(s.dir, '0.jpg.tmp'), path.join(s.dir, '0.jpg'));
    await waitUntil(() => s.counts.includes(1), 'image 0 counted', 2000);
    for (let n = 1; n < 5; n++) {
      writeImage(s.dir, n);
      await waitUntil(() => s.counts.includes(n + 1), `image ${n} counted`, 2000);
    }
    expect(s.counts).to.deep.equal([1, 2, 3, 4, 5]);
    await s.watcher.stop();
    expect(s.watcher.count).to.equal(5);
    expect(s.errors).to.deep.equal([]);
  });

  it('numbers on from the images already there (an encoder restart): counts only from its start, and only without gaps', async () => {
    const s = (setup({ start: 3 }));
    for (let n = 0; n < 3; n++) writeImage(s.dir, n);
    s.watcher.start();
    writeImage(s.dir, 3);
    writeImage(s.dir, 5); // 4 is not there yet: 5 waits for it
    await waitUntil(() => s.counts.includes(4), 'image 3 counted', 2000);
    await sleep(100);
    expect(s.watcher.count).to.equal(4);
    writeImage(s.dir, 4);
    await waitUntil(() => s.counts.includes(6), 'images 4 and 5 counted', 2000);
    await s.watcher.stop();
    expect(s.counts[0]).to.equal(4);
    expect(s.counts.at(-1)).to.equal(6);
    expect(s.errors).to.deep.equal([]);
  });

  it('scans never overlap: triggers during a slow publication are folded into one more scan, counts stay in order', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => { release = r; });
    const s = (setup({
      onCount: async (count) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        if (count === 1) await held; // the first publication is slow
        inFlight--;
      },
    }));
    s.watcher.start();
    writeImage(s.dir, 0);
    await waitUntil(() => s.counts.length === 1, 'the first count under way', 2000);
    // While it is held: more images (fs.watch triggers) and many explicit scans.
    const scans: Array<Promise<void>> = [];
    for (let n = 1; n <= 6; n++) {
      writeImage(s.dir, n);
      scans.push(s.watcher.scan(), s.watcher.scan());
    }
    await sleep(100);
    expect(s.counts).to.deep.equal([1]);
    release();
    await Promise.all(scans); // each resolves after a scan that started after it was asked for
    expect(s.watcher.count).to.equal(7);
    expect(s.counts).to.deep.equal([1, 7]);
    expect(maxInFlight).to.equal(1);
    await s.watcher.stop();
    expect(s.counts).to.deep.equal([1, 7]);
  });

  it('the backstop timer counts what no inotify event told of (the folder made after start)', async () => {
    const dir = path.join(tmpDir(), 'later');
    const counts: number[] = [];
    const errors: unknown[] = [];
    const watcher = counter({ dir, count: 0, onCount: async (c) => { counts.push(c); } }, (err) => errors.push(err), 50);
    watcher.start(); // fs.watch fails: no folder yet; a missing folder is no error
    await sleep(120);
    fs.mkdirSync(dir);
    writeImage(dir, 0);
    writeImage(dir, 1);
    await waitUntil(() => counts.includes(2), 'counted by the timer', 2000);
    await watcher.stop();
    expect(counts).to.deep.equal([2]);
    expect(errors).to.deep.equal([]);
  });

  it('stop(): the last image is counted; after it nothing is', async () => {
    const s = (setup());
    s.watcher.start();
    writeImage(s.dir, 0);
    writeImage(s.dir, 1);
    await s.watcher.stop(); // no wait: stop() itself counts what is there
    expect(s.watcher.count).to.equal(2);
    expect(s.counts.at(-1)).to.equal(2);
    writeImage(s.dir, 2);
    await sleep(150);
    expect(s.watcher.count).to.equal(2);
  });

  it('a failed publication goes to onError and counting goes on at the next image', async () => {
    const s = (setup({
      onCount: async (count) => {
        if (count === 1) throw Object.assign(new Error('no space left'), { code: 'ENOSPC' });
      },
    }));
    s.watcher.start();
    writeImage(s.dir, 0);
    await waitUntil(() => s.errors.length === 1, 'the failure reported', 2000);
    expect((s.errors[0] as NodeJS.ErrnoException).code).to.equal('ENOSPC');
    writeImage(s.dir, 1);
    await waitUntil(() => s.counts.includes(2), 'the next image counted', 2000);
    await s.watcher.stop();
    expect(s.counts).to.deep.equal([1, 2]);
  });

  it('a folder that is a file: no image, no error', async () => {
    const s = (setup());
    const file = path.join(s.dir, 'not-a-folder');
    fs.writeFileSync(file, '');
    const watcher = counter({ dir: file, count: 0, onCount: async (c) => { s.counts.push(c); } }, (err) => s.errors.push(err), 50);
    watcher.start();
    await sleep(150);
    await watcher.stop();
    expect(s.counts).to.deep.equal([]);
    expect(s.errors).to.deep.equal([]);
  });

  it('counts every image a real ffmpeg writes with previewArgs, the last one included', async () => {
    const s = (setup({ start: 2 }));
    for (let n = 0; n < 2; n++) writeImage(s.dir, n);
    s.watcher.start();
    const args = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=10', '-t', '4',
      ...previewArgs({ width: 80, height: 45, intervalSeconds: 1 }, s.dir, 2)];
    const ffmpeg = spawn(ffmpegPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    ffmpeg.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((r) => ffmpeg.on('exit', r));
    expect(code, stderr).to.equal(0);
    await s.watcher.stop();
    const images = fs.readdirSync(s.dir).filter((f) => /^\d+\.jpg$/.test(f)).length;
    expect(images).to.be.greaterThan(4);
    expect(s.watcher.count).to.equal(images);
    expect(s.counts.at(-1)).to.equal(images);
    expect(s.counts).to.deep.equal([...s.counts].sort((a, b) => a - b));
    expect(s.errors).to.deep.equal([]);
  });
});
