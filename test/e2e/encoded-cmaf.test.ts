/**
 * Encoded rungs packaged by castline (HLS_SEGMENT_FORMAT=fmp4, the default): one ffmpeg decodes
 * once and writes every rendition as FLV to its own pipe; castline demuxes and cuts CMAF. Real
 * ffmpeg publishers (RTMP, and a browser-like WebM over WS), real files decoded with ffmpeg, the
 * LL playlist of an encoded rung read over castline's HTTP port, a SIGKILLed ffmpeg restarted.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseMediaPlaylist } from '../../src/encoding/playlist';
import { decodeFile, previewFolder, processesMentioning, readableSegment } from '../encoding/helpers';
import type { Browser } from 'playwright-core';
import { AppServer, type RecordedRequest } from '../helpers/app-server';
import { startTestCastline, type TestCastline } from '../helpers/castline';
import { launchHeadlessChromium, playLowLatency } from '../helpers/playwright';
import { sleep, waitUntil } from '../helpers/wait';
import { killWsPublishers, publishWs } from '../helpers/ws-publisher';
import { killAll, publishFile, publishObsLike } from '../ingest/rtmp/rtmp-ffmpeg';
import { decodeFrames, makeFlv, tempDir } from '../packaging/media';
import { ffmpegPath } from '../../src/encoding/binaries';
import { partLine, preloadHint } from '../helpers/ll-hls';

type Headers = RecordedRequest['headers'];

/** Presentation time (s) of the first video frame of a playlist (ffmpeg keeps the segments' own timestamps). */
const firstVideoPts = (playlist: string): number => Math.min(...decodeFrames(playlist).filter((f) => f.stream === 0).map((f) => f.pts));

const of = (events: Headers[], channel: string) => events.filter((h) => h['x-streaming-channel'] === channel);

describe('end to end: encoded rungs packaged by castline (FLV pipes → CMAF + LL-HLS)', function () {
  this.timeout(120_000);
  let app: AppServer;
  let castline: TestCastline;
  let scratch: string;
  let browser: Browser | undefined;
  const http = (p: string) => `http://127.0.0.1:${castline.httpPort}/${p}`;

  before(async () => {
    scratch = tempDir('encoded-cmaf');
    app = await new AppServer({ settings: { 'x-resolutions': 'ORIGINAL, 256x144-15, 160x90-15', 'x-record': 'true', 'x-previews': '160x90, 1' } }).start();
    castline = await startTestCastline({ KEY_VERIFICATION_URL: `${app.url}/verify`, EVENT_CALLBACK_URL: `${app.url}/events`, ENCODER_MAX_RESTARTS: '3' });
  });
  after(async () => {
    await browser?.close();
    await killAll();
    await killWsPublishers();
    await castline?.dispose();
    await app?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('RTMP: ORIGINAL + 2 encoded rungs + previews → init.mp4 + .m4s per rung that decode, aligned segments, LL parts with blocking reload, master with codecs', async () => {
    // Source keyframes every 51 frames (1.7 s): not at multiples of HLS_TIME, so the copy rung cuts
    // at 1.7 s, 3.4 s …, and the encoded rungs must cut there too — the 15 fps rungs included,
    // though every other source keyframe falls between their frames (51 is odd).
    const source = makeFlv(scratch, { seconds: 10, fps: 30, gop: 51, bframes: 2, sampleRate: 48000 });
    const publisher = publishFile(`rtmp://127.0.0.1:${castline.rtmpPort}/enc1/good-key`, source);
    const live = (await waitUntil(() => of(app.delivered(), 'enc1').find((h) => h['x-stream-type'] === 'HLS-LIVE' && h['x-resolution'] === '160x90-15'), 'HLS-LIVE of an encoded rung', 30_000))!;
    // While live: the encoded rung's LL playlist comes from memory, and a blocking reload waits for the next part.
    const playlistUrl = http(String(live['x-index-file']));
    const text = await (await fetch(playlistUrl)).text();
    expect(text).to.contain('#EXT-X-PART-INF:PART-TARGET=');
    expect(text).to.match(/#EXT-X-PART:DURATION=0\.\d+,URI="\d+\.0\.m4s",INDEPENDENT=YES/);
    expect(text).to.match(/#EXT-X-RENDITION-REPORT:URI="\.\.\/256x144-15\/live\.m3u8"/);
    const next = preloadHint(text);
    expect(text, 'the hinted part is not listed yet').to.not.match(partLine(next));
    const started = Date.now();
    const held = await fetch(`${playlistUrl}?_HLS_msn=${next.msn}&_HLS_part=${next.part}`);
    expect(held.status).to.equal(200);
    expect(await held.text()).to.match(partLine(next));
    expect(Date.now() - started, 'held until the part existed').to.be.within(1, 2000);
    const part = await fetch(playlistUrl.replace('live.m3u8', `${next.msn}.${next.part}.m4s`));
    expect(part.status).to.equal(200);
    expect((await part.arrayBuffer()).byteLength).to.be.greaterThan(100);
    // ffmpeg writes the rungs to pipes: the run has no staging folder (only MPEG-TS runs cut into one).
    expect(fs.existsSync(path.join(castline.dataDir, '.staging', 'enc1'))).to.equal(false);

    expect((await publisher.exited).code, publisher.stderr()).to.equal(0);
    await waitUntil(() => of(app.delivered(), 'enc1').some((h) => h['x-event-type'] === 'stream-closed'), 'stream-closed', 30_000);
    const events = of(app.delivered(), 'enc1');
    expect(events.at(-1)).to.include({ 'x-event-type': 'stream-closed', 'x-close-reason': 'publisher-disconnected' });
    const streamId = String(events[0]!['x-streaming-id']);
    const renditions = ['320x180-30', '256x144-15', '160x90-15'];
    const available = events.filter((h) => h['x-event-type'] === 'stream-available').map((h) => `${h['x-stream-type']} ${h['x-index-file']}`);
    expect(available).to.include.members([
      ...renditions.map((r) => `HLS-LIVE hls/enc1/${streamId}/${r}/live.m3u8`),
      ...renditions.map((r) => `HLS-VOD hls/enc1/${streamId}/${r}/vod-0.m3u8`),
      `IMG-PREVIEW img-preview/enc1/${streamId}/160x90-1/index.json`,
    ]);

    const base = path.join(castline.dataDir, 'hls', 'enc1', streamId);
    const master = fs.readFileSync(path.join(base, 'master.m3u8'), 'utf8');
    for (const r of renditions) expect(master).to.contain(`${r}/live.m3u8`);
    expect(master.match(/CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/g)).to.have.length(3);
    const lists = renditions.map((r) => parseMediaPlaylist(fs.readFileSync(path.join(base, r, 'vod-0.m3u8'), 'utf8')));
    for (const [i, list] of lists.entries()) {
      expect(list.ended, renditions[i]).to.equal(true);
      expect(list.segments.map((s) => s.uri)).to.deep.equal(list.segments.map((_, n) => `${n}.m4s`));
      expect(list.segments.length, renditions[i]).to.be.greaterThan(1);
      for (const s of list.segments) decodeFile(ffmpegPath, readableSegment(path.join(base, renditions[i]!), s.uri));
    }
    // Aligned: the same segments in every rung, each starting at the same media time (within a frame at 15 fps).
    const count = Math.min(...lists.map((l) => l.segments.length));
    expect(lists.map((l) => l.segments.length).every((n) => Math.abs(n - count) <= 1), 'segment counts').to.equal(true);
    for (let n = 0; n < count - 1; n++) {
      const durations = lists.map((l) => l.segments[n]!.duration);
      for (const d of durations) expect(d, `segment ${n} durations ${durations.join(' ')}`).to.be.closeTo(durations[0]!, 0.02);
      expect(durations[0], 'cut at the source keyframes (HLS_TIME_SECONDS=1 here)').to.be.closeTo(1.7, 0.01);
    }
    // … from the same first frame: the recordings start at the same media time.
    const starts = renditions.map((r) => firstVideoPts(path.join(base, r, 'vod-0.m3u8')));
    for (const s of starts) expect(s, `first frames ${starts.join(' ')}`).to.be.closeTo(starts[0]!, 0.07);
    // Every image counted, the last one too.
    const previews = previewFolder(path.join(castline.dataDir, 'img-preview', 'enc1', streamId, '160x90-1'));
    expect(previews.count).to.be.greaterThan(3);
    expect(previews.numbers).to.deep.equal(Array.from({ length: previews.count }, (_, i) => i));
  });

  it('WS WebM publish (browser MediaRecorder-like) → encoded rungs packaged as CMAF', async () => {
    app.settings = { 'x-resolutions': '256x144-15, 160x90-15' };
    const publisher = publishWs(`ws://127.0.0.1:${castline.httpPort}/encws/good-webm/publish`, 'webm', 6);
    await publisher.opened;
    await publisher.closed;
    await waitUntil(() => of(app.delivered(), 'encws').some((h) => h['x-event-type'] === 'stream-closed'), 'stream-closed', 40_000);
    const events = of(app.delivered(), 'encws');
    const lives = events.filter((h) => h['x-stream-type'] === 'HLS-LIVE').map((h) => String(h['x-index-file']));
    expect(lives).to.have.length(2);
    for (const index of lives) {
      const dir = path.dirname(path.join(castline.dataDir, index));
      const list = parseMediaPlaylist(fs.readFileSync(path.join(dir, 'live.m3u8'), 'utf8'));
      expect(list.ended).to.equal(true);
      expect(list.segments.length).to.be.greaterThan(1);
      expect(list.segments.every((s) => s.uri.endsWith('.m4s'))).to.equal(true);
      for (const s of list.segments) decodeFile(ffmpegPath, readableSegment(dir, s.uri));
    }
  });

  it('ffmpeg SIGKILLed mid-stream: restarted, numbering continues (segments and preview images) with EXT-X-DISCONTINUITY on disk and in the LL playlist', async () => {
    app.settings = { 'x-resolutions': '160x90-15', 'x-previews': '160x90, 1' };
    publishObsLike(`rtmp://127.0.0.1:${castline.rtmpPort}/enckill/good-key`, 30);
    const live = (await waitUntil(() => of(app.delivered(), 'enckill').find((h) => h['x-stream-type'] === 'HLS-LIVE'), 'HLS-LIVE', 30_000))!;
    const preview = (await waitUntil(() => of(app.delivered(), 'enckill').find((h) => h['x-stream-type'] === 'IMG-PREVIEW'), 'IMG-PREVIEW', 30_000))!;
    const previewDir = path.dirname(path.join(castline.dataDir, String(preview['x-index-file'])));
    const playlistUrl = http(String(live['x-index-file']));
    await sleep(2500);
    const ours = processesMentioning('pipe:3').filter((l) => l.includes('/enckill/'));
    expect(ours, 'the stream runs one ffmpeg').to.have.length(1);
    const countAtKill = previewFolder(previewDir).count;
    const killedAt = Date.now();
    process.kill(Number(ours[0]!.split(/\s+/)[0]), 'SIGKILL');
    const ll = await waitUntil(async () => {
      const text = await (await fetch(playlistUrl)).text();
      return /#EXT-X-DISCONTINUITY\n(#EXT-X-PROGRAM-DATE-TIME:.*\n)(#EXT-X-PART:.*\n)*#EXTINF/.test(text) ? text : null;
    }, 'a complete segment after the discontinuity in the LL playlist', 30_000);
    expect(ll).to.not.contain('#EXT-X-ENDLIST');
    const file = path.join(castline.dataDir, String(live['x-index-file']));
    // The disk playlist follows the memory one: the worker writes the segment and the playlist after posting the last part.
    const disk = (await waitUntil(() => {
      const parsed = parseMediaPlaylist(fs.readFileSync(file, 'utf8'));
      return parsed.segments.some((s) => s.discontinuity) ? parsed : null;
    }, 'the discontinuity in the playlist on disk', 10_000))!;
    const at = disk.segments.findIndex((s) => s.discontinuity);
    expect(at, fs.readFileSync(file, 'utf8')).to.be.greaterThan(0);
    const numbers = disk.segments.map((s) => Number.parseInt(s.uri, 10));
    expect(numbers).to.deep.equal(numbers.map((_, i) => numbers[0]! + i));
    const dir = path.dirname(file);
    decodeFile(ffmpegPath, readableSegment(dir, `${numbers[at]!}.m4s`));
    // The restarted ffmpeg numbers its images on: those before the kill are kept, the new ones counted.
    await waitUntil(() => previewFolder(previewDir).count >= countAtKill + 2, 'images counted after the restart', 15_000);
    const previews = previewFolder(previewDir);
    expect(previews.numbers.slice(0, previews.count)).to.deep.equal(Array.from({ length: previews.count }, (_, i) => i));
    for (let n = 0; n < countAtKill; n++) expect(fs.statSync(path.join(previewDir, `${n}.jpg`)).mtimeMs, `${n}.jpg kept`).to.be.at.most(killedAt);
    expect(fs.existsSync(path.join(castline.dataDir, '.staging', 'enckill')), 'no staging folder in a piped run').to.equal(false);
    expect(of(app.delivered(), 'enckill').some((h) => h['x-event-type'] === 'stream-closed')).to.equal(false);
  });

  it('hls.js plays an encoded rung in low-latency mode in Chromium, loading parts', async () => {
    app.settings = { 'x-resolutions': '256x144-15' };
    publishObsLike(`rtmp://127.0.0.1:${castline.rtmpPort}/encplay/good-key`, 60);
    const live = (await waitUntil(() => of(app.delivered(), 'encplay').find((h) => h['x-stream-type'] === 'HLS-LIVE'), 'HLS-LIVE', 30_000))!;
    browser = await launchHeadlessChromium();
    const page = await browser.newPage();
    await page.goto(http('studio/'));
    const result = await playLowLatency(page, http(String(live['x-index-file'])));
    expect(result.errors).to.deep.equal([]);
    expect(result.played, 'seconds played').to.be.greaterThan(3);
    expect(result.parts, 'hls.js loaded parts (LL-HLS), not only whole segments').to.be.greaterThan(5);
    expect(result.latency, JSON.stringify(result)).to.be.lessThan(2.5);
    console.log(`      hls.js, encoded rung: latency ${result.latency.toFixed(2)} s (target ${result.targetLatency.toFixed(2)} s), ${result.parts} parts loaded`);
  });
});
