/**
 * The MPEG-TS segment watcher (`HLS_SEGMENT_FORMAT=mpegts`) over real staging folders: lines
 * appended to `list.csv` as ffmpeg's segment muxer does, real segment files, every rendition's
 * list read on its own. It publishes segments only (previews: `preview-watcher.test.ts`).
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initialOutputs } from '../../src/encoding/outputs';
import { SegmentWatcher } from '../../src/encoding/segment-watcher';
import { tempDir } from '../packaging/media';
import { sleep, waitUntil } from '../helpers/wait';

const ref = { channel: 'ch', streamId: '0123456789abcdef0123456789abcdef' };
const rung = (id: string, width: number, height: number) => ({ id, width, height, fps: 15, videoKbps: 300, bitrateRequested: false, audioKbps: 64, mode: 'encode' as const, original: false });
const info = { width: 320, height: 180, fps: 15, videoCodec: 'h264', audioCodec: 'aac', formatName: 'flv' };

describe('segment watcher (MPEG-TS list.csv)', function () {
  this.timeout(20_000);
  let root: string;
  let watcher: SegmentWatcher | null = null;
  afterEach(async () => {
    watcher?.stopWatching();
    watcher = null;
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('publishes each segment once its list line is whole, per rendition, in order; an empty file is skipped; the final scan reads a last line without newline', async () => {
    root = tempDir('segment-watcher');
    const dirs = ['r0', 'r1'].map((d) => {
      fs.mkdirSync(path.join(root, d));
      return path.join(root, d);
    });
    const state = initialOutputs(ref, { hlsTime: 1, liveSize: 3, vodMaxSize: 100, record: false, format: 'mpegts' }, info, [rung('320x180-15', 320, 180), rung('160x90-15', 160, 90)], null);
    const added: string[] = [];
    const errors: unknown[] = [];
    watcher = new SegmentWatcher(state, dirs, {
      addSegment: async (rendition, n, duration, file, size) => {
        added.push(`${rendition} ${n} ${duration.toFixed(2)} ${path.basename(file)} ${size}`);
      },
    }, (err) => errors.push(err));
    const segment = (d: number, n: number, bytes: number) => fs.writeFileSync(path.join(dirs[d]!, `${n}.ts`), Buffer.alloc(bytes, 0x47));
    const append = (d: number, text: string) => fs.appendFileSync(path.join(dirs[d]!, 'list.csv'), text);
    watcher.start();

    segment(0, 0, 188);
    append(0, '0.ts,0.000000,1.0'); // half a line: not yet
    await sleep(300);
    expect(added).to.deep.equal([]);
    append(0, '00000\n');
    await waitUntil(() => added.length === 1, 'the first segment', 2000);
    segment(1, 0, 0); // listed but empty: skipped
    append(1, '0.ts,0.000000,1.000000\n');
    segment(1, 1, 376);
    append(1, '1.ts,1.000000,2.000000\n');
    await waitUntil(() => added.length === 2, 'the second rendition', 2000);
    segment(0, 1, 188);
    append(0, '1.ts,1.000000,1.500000'); // ffmpeg exits before the newline
    await sleep(300);
    watcher.stopWatching();
    await watcher.finalScan();
    expect(added).to.deep.equal([
      '320x180-15 0 1.00 0.ts 188',
      '160x90-15 1 1.00 1.ts 376',
      '320x180-15 1 0.50 1.ts 188',
    ]);
    expect(watcher.produced).to.equal(3);
    expect(errors).to.deep.equal([]);
  });
});
