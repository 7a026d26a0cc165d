/**
 * The studio in a real browser (headless Chromium through playwright-core): the page asks for the
 * commands API credentials, publishes its test pattern over WebSocket (MediaRecorder), lists the
 * stream with its thumbnail and renditions, plays it with hls.js, shows a refused second publish
 * and the server's `ERROR:` message when the stream is closed by command. The player is
 * screenshotted and must not be blank. Fails (never skips) without Chromium.
 *
 * CASTLINE_UPDATE_DOCS=1 also writes the page's screenshot to docs/studio.png (the README's).
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestCastline, type TestCastline } from '../helpers/castline';
import { sample } from '../helpers/metrics';
import { greyStats, launchHeadlessChromium } from '../helpers/playwright';

const TOKEN = 'studio-s3cret';
const CHANNEL = 'studio-e2e';

describe('end to end: the studio page in headless Chromium (publish, list, watch)', function () {
  this.timeout(180_000);
  let castline: TestCastline | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    browser = await launchHeadlessChromium();
    castline = await startTestCastline({
      COMMANDS_API_AUTH: 'Bearer', COMMANDS_API_AUTH_TOKEN: TOKEN,
      DEFAULT_RESOLUTIONS: '320x180-15', DEFAULT_PREVIEWS: '160x90, 1',
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });
  after(async () => {
    await browser?.close();
    await castline?.dispose();
  });

  const url = (p: string) => `http://127.0.0.1:${castline!.httpPort}${p}`;
  const metrics = async () => (await fetch(url('/metrics'), { headers: { authorization: `Bearer ${TOKEN}` } })).text();

  it('asks for the commands API credentials and keeps them in sessionStorage, never in the URL', async () => {
    await page.goto(url('/studio/'));
    await page.locator('#login').waitFor({ state: 'visible' });
    await page.fill('#auth-secret', 'wrong');
    await page.click('#login button');
    await page.waitForFunction(() => document.getElementById('login-message')!.textContent!.includes('refused'));
    await page.fill('#auth-secret', TOKEN);
    await page.click('#login button');
    await page.locator('#login').waitFor({ state: 'hidden' });
    await page.waitForFunction(() => document.getElementById('encoder')!.textContent!.includes('/ 4'));
    expect(page.url()).to.equal(url('/studio/'));
    expect(await page.evaluate(() => sessionStorage.getItem('castline.studio.authorization'))).to.equal(`Bearer ${TOKEN}`);
  });

  it('publishes its test pattern, lists the stream with renditions and thumbnail, and plays it with hls.js', async () => {
    await page.fill('#channel', CHANNEL);
    await page.fill('#key', 'studio-key');
    await page.selectOption('#source', 'pattern');
    await page.selectOption('#size', '320x180');
    await page.click('#go-live');
    await page.locator('#publish-status.live').waitFor({ timeout: 20_000 });
    expect(await page.textContent('#publish-status')).to.match(/video\/webm;codecs=(h264|avc1)/i);

    const item = page.locator(`#streams li.stream[data-channel="${CHANNEL}"]`);
    await page.waitForFunction((ch) => {
      const li = document.querySelector(`#streams li.stream[data-channel="${ch}"]`);
      return li !== null && li.textContent!.includes('320x180-15') && li.querySelector('.thumb[data-loaded="true"]') !== null;
    }, CHANNEL, { timeout: 60_000 });
    expect(await item.textContent()).to.match(/WS · \d+ s/);

    await item.click();
    await page.waitForFunction(() => {
      const v = document.getElementById('video') as HTMLVideoElement;
      return v.currentTime > 2 && !v.paused && v.readyState >= 3;
    }, undefined, { timeout: 60_000 });
    await page.waitForFunction(() => /latency ≈ \d/.test(document.getElementById('latency')!.textContent!), undefined, { timeout: 10_000 });
    expect(await page.locator('#player-errors li').count()).to.equal(0);

    const shot = await page.locator('#video').screenshot();
    const grey = greyStats(shot);
    expect(grey.stddev, `grey levels of the playing video: ${JSON.stringify(grey)}`).to.be.greaterThan(20);
    const full = await page.screenshot();
    if (process.env.CASTLINE_UPDATE_DOCS === '1') fs.writeFileSync(path.resolve(__dirname, '../../../docs/studio.png'), full);
    expect(await page.textContent('#events')).to.include('stream-available');
  });

  it('shows a refused publish and the server\'s ERROR: message; metrics count both', async () => {
    const second = await browser!.newPage();
    await second.goto(url('/studio/'));
    await second.fill('#channel', CHANNEL);
    await second.click('#go-live');
    await second.waitForFunction(() => document.getElementById('publish-errors')!.textContent!.includes('refused the publish'), undefined, { timeout: 20_000 });
    await second.close();

    const viewers = sample(await metrics(), 'castline_hls_viewers');
    expect(viewers, 'the page watching').to.be.at.least(1);
    const close = await fetch(url('/commands/close'), { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'x-streaming-channel': CHANNEL, 'x-streaming-id': '*' } });
    expect(close.status).to.equal(200);
    await page.waitForFunction(() => document.getElementById('publish-errors')!.textContent!.includes('ERROR: Stream closed (close-command)'), undefined, { timeout: 20_000 });
    await page.waitForFunction(() => document.getElementById('publish-status')!.textContent === 'stopped');

    const text = await metrics();
    expect(sample(text, 'castline_publishes_total', { ingest: 'ws', outcome: 'accepted' })).to.equal(1);
    expect(sample(text, 'castline_publishes_total', { ingest: 'ws', outcome: 'channel_busy' })).to.equal(1);
    expect(sample(text, 'castline_ingest_bytes_total', { ingest: 'ws' })).to.be.greaterThan(10_000);
    expect(sample(text, 'castline_hls_bytes_served_total')).to.be.greaterThan(10_000);
    expect(pageErrors).to.deep.equal([]);
  });
});
