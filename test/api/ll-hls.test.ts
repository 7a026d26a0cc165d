/**
 * LL-HLS served from memory over a real socket (uWebSockets.js): blocking playlist reload, the
 * preload-hinted part, delta updates, the 400/503 cases, aborted and stalled viewers, and the
 * fall back to disk. The stream is real CMAF from the packager, fed part by part by the test.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { MediaEvent } from '../../src/domain/media';
import { fileRoutes } from '../../src/api/files';
import { mountRoutes } from '../../src/api/http';
import { llHlsRoutes } from '../../src/api/ll-hls';
import { silentLogger } from '../../src/logging/logger';
import { uWS } from '../../src/net/uws';
import { LiveHlsRegistry } from '../../src/packaging/live-hls';
import { PartStore } from '../../src/packaging/part-store';
import { Segmenter } from '../../src/packaging/segmenter';
import { TeeSink } from '../../src/packaging/tee-sink';
import { partLine, preloadHint } from '../helpers/ll-hls';
import { listen } from '../helpers/listen';
import { sleep, waitUntil } from '../helpers/wait';
import { flvEvents, makeFlv, tempDir } from '../packaging/media';

const timing = { partSeconds: 0.25, segmentSeconds: 1 };
const base = '/hls/ch/0123456789abcdef0123456789abcdef/320x180-30';

describe('api: LL-HLS from memory (blocking reload, parts, delta updates)', function () {
  this.timeout(60_000);
  let root: string;
  let events: MediaEvent[];
  let next = 0;
  let store: PartStore;
  let segmenter: Segmenter;
  let server: { port: number; close: () => void };
  let registry: LiveHlsRegistry;

  const url = (p: string) => `http://127.0.0.1:${server.port}${p}`;
  let written = 0;
  /** Feeds media until `count` more parts were written. */
  const feedParts = (count: number) => {
    const target = written + count;
    while (written < target && next < events.length) segmenter.push(events[next++]!);
  };

  before(async () => {
    root = tempDir('llhls-api');
    events = flvEvents(makeFlv(root, { seconds: 14, fps: 30, gop: 30, bframes: 2 }));
    store = new PartStore({ windowSegments: 10 });
    const counter = { init: () => undefined, part: () => void written++, segmentEnd: () => undefined };
    segmenter = new Segmenter(new TeeSink(store, counter), timing);
    registry = new LiveHlsRegistry(60_000);
    registry.add('ch', '0123456789abcdef0123456789abcdef', '320x180-30', store, timing);
    const app = uWS.App();
    const files = fileRoutes(root);
    mountRoutes(app, [...llHlsRoutes(registry, files[0]!), ...files], { auth: { method: 'none' }, maxBodyBytes: 1024, logger: silentLogger, closing: () => false });
    server = await listen(app);
  });
  after(() => {
    server?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('a plain playlist request before the first part is held until it exists', async () => {
    const pending = fetch(url(`${base}/live.m3u8`));
    await sleep(150);
    feedParts(1);
    const res = await pending;
    expect(res.status).to.equal(200);
    expect(res.headers.get('cache-control')).to.equal('no-cache');
    expect(res.headers.get('content-type')).to.equal('application/vnd.apple.mpegurl');
    const text = await res.text();
    expect(text).to.match(/#EXT-X-PART:DURATION=0\.23\d*,URI="0\.0\.m4s",INDEPENDENT=YES/);
    expect(text).to.contain('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="0.1.m4s"');
    expect(text).to.contain('#EXT-X-MAP:URI="init.mp4"');
  });

  it('blocking reload: _HLS_msn/_HLS_part is answered only once that part exists', async () => {
    feedParts(2);
    const last = store.last()!;
    const wanted = store.hinted()!;
    let answered = false;
    const pending = fetch(url(`${base}/live.m3u8?_HLS_msn=${wanted.msn}&_HLS_part=${wanted.part}`)).then((r) => {
      answered = true;
      return r;
    });
    await sleep(300);
    expect(answered, 'held while the part does not exist').to.equal(false);
    expect(store.waiting).to.equal(1);
    feedParts(1);
    const res = await pending;
    const text = await res.text();
    expect(`${res.status} ${text}`).to.match(/^200 /);
    expect(text).to.contain(`URI="${wanted.msn}.${wanted.part}.m4s"`);
    expect(store.last()).to.not.deep.equal(last);
    // A part already in the playlist is answered at once.
    const now = await fetch(url(`${base}/live.m3u8?_HLS_msn=0&_HLS_part=0`));
    expect(now.status).to.equal(200);
  });

  it('the preload-hinted part is held until written, then served as written with immutable caching', async () => {
    const hint = store.hinted()!;
    const pending = fetch(url(`${base}/${hint.msn}.${hint.part}.m4s`));
    await sleep(150);
    feedParts(1);
    const res = await pending;
    expect(res.status).to.equal(200);
    expect(res.headers.get('cache-control')).to.equal('public, max-age=31536000, immutable');
    expect(res.headers.get('content-type')).to.equal('video/iso.segment');
    expect(Buffer.from(await res.arrayBuffer()).equals(store.partData(hint.msn, hint.part)!)).to.equal(true);
    const init = await fetch(url(`${base}/init.mp4`));
    expect(Buffer.from(await init.arrayBuffer()).equals(store.initSegment!)).to.equal(true);
    // A part beyond the hint is not held: 404 at once.
    const ahead = await fetch(url(`${base}/${hint.msn + 1}.3.m4s`));
    expect(ahead.status).to.equal(404);
  });

  it('answers 400 with a JSON error for _HLS_part without _HLS_msn, an msn more than two segments ahead, bad values', async () => {
    const last = store.last()!;
    for (const q of ['_HLS_part=1', `_HLS_msn=${last.msn + 3}`, '_HLS_msn=-1', '_HLS_msn=abc', `_HLS_msn=${last.msn}&_HLS_part=x`, '_HLS_skip=maybe']) {
      const res = await fetch(url(`${base}/live.m3u8?${q}`));
      expect(res.status, q).to.equal(400);
      expect(((await res.json()) as { error: string }).error, q).to.be.a('string');
    }
    expect((await fetch(url(`${base}/live.m3u8?_HLS_msn=${last.msn + 2}&_HLS_part=0`), { signal: AbortSignal.timeout(100) }).catch(() => 'held'))).to.equal('held');
  });

  it('answers 503 when the part does not arrive within 3 target durations', async () => {
    await waitUntil(() => store.waiting === 0, 'the aborted request of the last test forgotten', 2000);
    const last = store.last()!;
    const started = Date.now();
    const res = await fetch(url(`${base}/live.m3u8?_HLS_msn=${last.msn + 2}`));
    expect(res.status).to.equal(503);
    expect(((await res.json()) as { error: string }).error).to.match(/did not arrive within 3 s/);
    expect(Date.now() - started).to.be.within(2900, 4500);
    expect(store.waiting).to.equal(0);
  });

  it('forgets a held request whose client went away', async () => {
    const hint = store.hinted()!;
    const controller = new AbortController();
    const pending = fetch(url(`${base}/live.m3u8?_HLS_msn=${hint.msn}&_HLS_part=${hint.part}`), { signal: controller.signal }).catch(() => 'aborted');
    await waitUntil(() => store.waiting === 1, 'request held');
    controller.abort();
    expect(await pending).to.equal('aborted');
    await waitUntil(() => store.waiting === 0, 'waiter cancelled on abort', 2000);
  });

  it('a plain request of a live playlist is answered as the part being written completes (its end is live), or after 1.5 parts as it is', async () => {
    await waitUntil(() => store.waiting === 0, 'no request held', 2000);
    const hint = store.hinted()!;
    let answered = false;
    const pending = fetch(url(`${base}/live.m3u8`)).then((r) => {
      answered = true;
      return r;
    });
    await sleep(150);
    expect(answered, 'held while the part is being written').to.equal(false);
    feedParts(1);
    const res = await pending;
    const text = await res.text();
    expect(res.status).to.equal(200);
    expect(text).to.match(partLine(hint));
    expect(preloadHint(text)).to.not.deep.equal(hint);
    // Nothing more written (a stalled publisher): the playlist as it is after 1.5 × 0.25 s, not a 503.
    const started = Date.now();
    const stalled = await fetch(url(`${base}/live.m3u8`));
    const waited = Date.now() - started;
    expect(stalled.status).to.equal(200);
    expect(preloadHint(await stalled.text())).to.deep.equal(store.hinted());
    expect(waited).to.be.within(360, 1500);
    expect(store.waiting).to.equal(0);
  });

  it('delta update: _HLS_skip=YES replaces the segments older than 6 target durations with EXT-X-SKIP', async () => {
    while (next < events.length && store.window().filter((s) => s.duration !== null).length < 9) feedParts(1);
    const full = await (await fetch(url(`${base}/live.m3u8`))).text();
    const delta = await (await fetch(url(`${base}/live.m3u8?_HLS_skip=YES`))).text();
    expect(full).to.not.contain('EXT-X-SKIP');
    const skipped = Number(/#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)/.exec(delta)![1]);
    expect(skipped).to.be.greaterThan(0);
    const listed = (t: string) => t.split('\n').filter((l) => /^\d+\.m4s$/.test(l));
    expect(listed(delta)).to.deep.equal(listed(full).slice(skipped));
    expect(full).to.contain('CAN-SKIP-UNTIL=6.0');
  });

  it('a viewer that stalls mid-download holds nothing back: other viewers and the packager go on', async () => {
    const msn = store.window().find((s) => s.duration !== null)!.msn;
    const size = store.segmentData(msn)!.length;
    const socket = net.connect(server.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.pause(); // never reads: the response stays in the socket buffers
    for (let i = 0; i < 40; i++) socket.write(`GET ${base}/${msn}.m4s HTTP/1.1\r\nHost: x\r\n\r\n`);
    await sleep(200);
    const before = store.last()!;
    feedParts(6);
    expect(store.last()).to.not.deep.equal(before);
    const res = await fetch(url(`${base}/live.m3u8?_HLS_msn=${store.last()!.msn}&_HLS_part=${store.last()!.part}`));
    expect(res.status).to.equal(200);
    expect(size).to.be.greaterThan(10_000);
    socket.destroy();
  });

  it('the end of the stream answers every held request and lists ENDLIST; unknown streams and recordings come from disk', async () => {
    const hint = store.hinted()!;
    const pending = fetch(url(`${base}/live.m3u8?_HLS_msn=${hint.msn + 1}`));
    while (next < events.length) segmenter.push(events[next++]!);
    segmenter.end();
    store.end();
    const res = await pending;
    const text = await res.text();
    expect(text.trimEnd().endsWith('#EXT-X-ENDLIST')).to.equal(true);
    expect(text).to.not.contain('PRELOAD-HINT');
    fs.mkdirSync(path.join(root, 'hls/ch/other/r'), { recursive: true });
    fs.writeFileSync(path.join(root, 'hls/ch/other/r/live.m3u8'), '#EXTM3U\n');
    expect(await (await fetch(url('/hls/ch/other/r/live.m3u8'))).text()).to.equal('#EXTM3U\n');
    expect((await fetch(url('/hls/ch/other/r/0.m4s'))).status).to.equal(404);
    expect((await fetch(url(`${base}/vod-0.m3u8`))).status).to.equal(404);
  });
});
