/**
 * Low-Latency HLS end to end: a live RTMP publish (OBS-like: B-frames, 48 kHz AAC) packaged by
 * castline without ffmpeg, read over castline's own HTTP port — the LL playlist with parts and
 * blocking reload, 200 viewers long-polling it while memory stays flat, and hls.js playing it
 * in low-latency mode in headless Chromium.
 */
import { expect } from 'chai';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import type { Browser } from 'playwright-core';
import { AppServer } from '../helpers/app-server';
import { startTestCastline, type TestCastline } from '../helpers/castline';
import { launchHeadlessChromium, playLowLatency } from '../helpers/playwright';
import { sleep, waitUntil } from '../helpers/wait';
import { killAll, publishObsLike } from '../ingest/rtmp/rtmp-ffmpeg';
import { partLine, preloadHint } from '../helpers/ll-hls';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('end to end: Low-Latency HLS of a passthrough stream (blocking reload, 200 viewers, hls.js)', function () {
  this.timeout(180_000);
  let app: AppServer;
  let castline: TestCastline;
  let browser: Browser | undefined;
  let playlistUrl = '';
  const url = (p: string) => `http://127.0.0.1:${castline.httpPort}${p}`;

  before(async () => {
    app = await new AppServer({ settings: { 'x-resolutions': 'ORIGINAL' } }).start();
    castline = await startTestCastline({ KEY_VERIFICATION_URL: `${app.url}/verify`, EVENT_CALLBACK_URL: `${app.url}/events` });
    publishObsLike(`rtmp://127.0.0.1:${castline.rtmpPort}/llch/good-key`, 60);
    await waitUntil(() => app.delivered().some((h) => h['x-event-type'] === 'stream-available'), 'HLS-LIVE', 20_000);
    const live = app.delivered().find((h) => h['x-event-type'] === 'stream-available')!;
    playlistUrl = url(`/${String(live['x-index-file'])}`);
  });
  after(async () => {
    await browser?.close();
    await killAll();
    await castline?.dispose();
    await app?.stop();
  });

  it('serves the LL playlist (parts, preload hint, program date-time) and holds a blocking reload until the next part', async () => {
    const res = await fetch(playlistUrl);
    expect(res.status).to.equal(200);
    expect(res.headers.get('cache-control')).to.equal('no-cache');
    const text = await res.text();
    expect(text).to.contain('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES');
    expect(text).to.match(/#EXT-X-PART:DURATION=0\.\d+,URI="0\.0\.m4s",INDEPENDENT=YES/);
    expect(text).to.match(/#EXT-X-PROGRAM-DATE-TIME:\d{4}-\d\d-\d\dT/);
    const next = preloadHint(text);
    expect(text, 'the hinted part is not listed yet').to.not.match(partLine(next));
    const started = Date.now();
    const held = await fetch(`${playlistUrl}?_HLS_msn=${next.msn}&_HLS_part=${next.part}`);
    const waited = Date.now() - started;
    expect(held.status).to.equal(200);
    expect(await held.text()).to.match(partLine(next));
    expect(waited, 'held until the part was written, at most one part later').to.be.within(1, 1500);
    const part = await fetch(playlistUrl.replace('live.m3u8', `${next.msn}.${next.part}.m4s`));
    expect(part.status).to.equal(200);
    expect((await part.arrayBuffer()).byteLength).to.be.greaterThan(100);
  });

  it('200 viewers long-polling the playlist: every one is answered at each part, memory stays flat', async () => {
    let stop = false;
    let answers = 0;
    let failures = 0;
    const viewer = async () => {
      let next = preloadHint(await (await fetch(playlistUrl)).text());
      while (!stop) {
        const res = await fetch(`${playlistUrl}?_HLS_msn=${next.msn}&_HLS_part=${next.part}`);
        if (res.status !== 200) failures++;
        const text = await res.text();
        if (res.status === 200) {
          answers++;
          next = preloadHint(text);
        }
      }
    };
    const viewers = Array.from({ length: 200 }, () => viewer());
    await sleep(3000);
    gc();
    const early = process.memoryUsage().heapUsed;
    const earlyAnswers = answers;
    await sleep(6000);
    gc();
    const late = process.memoryUsage().heapUsed;
    stop = true;
    await Promise.all(viewers);
    expect(failures).to.equal(0);
    // ~3 parts a second for 6 s, to each of the 200 viewers.
    expect(answers - earlyAnswers).to.be.greaterThan(200 * 14);
    expect(late - early, `heap ${early} → ${late}`).to.be.lessThan(8 * 1024 * 1024);
  });

  it('hls.js plays it in low-latency mode in Chromium, loading parts, a few hundred ms behind the live edge', async () => {
    browser = await launchHeadlessChromium();
    const page = await browser.newPage();
    await page.goto(url('/studio/'));
    const result = await playLowLatency(page, playlistUrl);
    expect(result.errors).to.deep.equal([]);
    expect(result.played, 'seconds played').to.be.greaterThan(3);
    expect(result.parts, 'hls.js loaded parts (LL-HLS), not only whole segments').to.be.greaterThan(5);
    expect(result.latency, JSON.stringify(result)).to.be.lessThan(2.5);
    console.log(`      hls.js: latency ${result.latency.toFixed(2)} s (target ${result.targetLatency.toFixed(2)} s), ${result.parts} parts loaded`);
  });
});
