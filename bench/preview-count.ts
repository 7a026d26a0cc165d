/**
 * What one scan of the preview counter costs as a stream's preview folder grows (one image a
 * second: 3 600 after an hour, 36 000 after ten), in the same run:
 *
 *   sync-exists   what both owners did before (SegmentWatcher, KeyframePreviews): `existsSync` of
 *                 `{count}.jpg`, `{count+1}.jpg`, … on the calling thread (the main thread for a
 *                 passthrough stream; it blocks for as long as the file system takes)
 *   async-readdir an async `readdir` of the folder, the next numbers looked up in it
 *   castline      `PreviewWatcher.scan()`: async `access` of the next numbers (never blocks)
 *
 * Each scan finds no new image (the backstop timer's usual case, 4 a second per stream). CPU =
 * the process's user+system time per scan (libuv's threads included); wall = time per scan.
 *
 * Usage: npx tsc -p tsconfig.test.json && node dist-test/bench/preview-count.js [scans=2000] [sizes=100,3600,36000]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PreviewWatcher } from '../src/encoding/preview-watcher';

const SCANS = Number(process.argv[2] ?? 2000);
const SIZES = (process.argv[3] ?? '100,3600,36000').split(',').map(Number);
const MODES = ['sync-exists', 'async-readdir', 'castline'] as const;
type Mode = (typeof MODES)[number];

function scanner(mode: Mode, dir: string, count: number): () => Promise<void> | void {
  if (mode === 'sync-exists') {
    return () => {
      let n = count;
      while (fs.existsSync(path.join(dir, `${n}.jpg`))) n++;
    };
  }
  if (mode === 'async-readdir') {
    return async () => {
      const names = new Set(await fs.promises.readdir(dir));
      let n = count;
      while (names.has(`${n}.jpg`)) n++;
    };
  }
  const watcher = new PreviewWatcher({ dir, count, onCount: async () => undefined }, (err) => { throw err; });
  return () => watcher.scan();
}

async function measure(mode: Mode, dir: string, count: number, scans: number): Promise<{ cpuUs: number; wallUs: number }> {
  const scan = scanner(mode, dir, count);
  for (let i = 0; i < 20; i++) await scan(); // warm-up
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < scans; i++) await scan();
  const wallUs = Number(process.hrtime.bigint() - start) / 1000 / scans;
  const used = process.cpuUsage(cpu);
  return { cpuUs: (used.user + used.system) / scans, wallUs };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-preview-count-'));
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xd9]);
  let made = 0;
  try {
    console.log(`${SCANS} scans per cell, no new image; µs per scan (CPU / wall); ratio = CPU vs sync-exists`);
    console.log('| images in the folder | mode | CPU µs/scan | wall µs/scan | CPU vs sync-exists | % of a core at 4 scans/s |');
    console.log('|---|---|---|---|---|---|');
    for (const size of SIZES) {
      for (; made < size; made++) fs.writeFileSync(path.join(dir, `${made}.jpg`), jpeg);
      const results = new Map<Mode, { cpuUs: number; wallUs: number }>();
      const scans = MODES.map((mode) => (mode === 'async-readdir' && size > 1000 ? Math.max(50, Math.floor(SCANS / 40)) : SCANS));
      for (const [i, mode] of MODES.entries()) results.set(mode, await measure(mode, dir, size, scans[i]!));
      const base = results.get('sync-exists')!.cpuUs;
      for (const mode of MODES) {
        const r = results.get(mode)!;
        console.log(`| ${size} | ${mode} | ${r.cpuUs.toFixed(1)} | ${r.wallUs.toFixed(1)} | ${(r.cpuUs / base).toFixed(1)} | ${(r.cpuUs * 4 / 1e4).toFixed(4)} |`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
