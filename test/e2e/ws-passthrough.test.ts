/**
 * WS publishes of FLV H.264/AAC with an ORIGINAL-only request are packaged by castline itself, as
 * RTMP passthrough is: no ffmpeg for the stream (previews aside: one keyframe-only ffmpeg). A
 * browser's WebM still goes to ffmpeg. Bytes that are not FLV, or FLV that breaks, have defined
 * outcomes and the server goes on.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import WebSocket from 'ws';
import { parseMediaPlaylist } from '../../src/encoding/playlist';
import { processesMentioning } from '../encoding/helpers';
import { descendants } from '../helpers/process-tree';
import { AppServer } from '../helpers/app-server';
import { startTestCastline, type TestCastline } from '../helpers/castline';
import { sleep, waitUntil } from '../helpers/wait';
import { killWsPublishers, publishWs } from '../helpers/ws-publisher';
import { decodeFrames } from '../packaging/media';

describe('end to end: WS FLV passthrough packaged without ffmpeg', function () {
  this.timeout(90_000);
  let app: AppServer;
  let castline: TestCastline;
  const wsUrl = (p: string) => `ws://127.0.0.1:${castline.httpPort}${p}`;
  const eventsOf = (channel: string) => app.delivered().filter((h) => h['x-streaming-channel'] === channel);
  const closedOf = (channel: string) => waitUntil(() => eventsOf(channel).find((h) => h['x-event-type'] === 'stream-closed'), `${channel} stream-closed`, 40_000);
  /**
   * castline's own ffmpeg processes (children of this process): those writing into its data folder
   * (previews, mpegts) or a rendition pipe (`pipe:3`, encoded fmp4) — the publishers write to stdout.
   */
  const castlineFfmpegs = () => {
    const ours = new Set(descendants(process.pid));
    return processesMentioning('ffmpeg').filter((l) => ours.has(Number(l.split(' ')[0])) && (l.includes(castline.dataDir) || l.includes('pipe:3')));
  };

  before(async () => {
    app = await new AppServer().start();
    app.settingsFor = (h) => ({ 'x-resolutions': 'ORIGINAL', 'x-record': 'true', ...(String(h['x-streaming-channel']).includes('prev') ? { 'x-previews': '160x90,1' } : {}) });
    castline = await startTestCastline({ KEY_VERIFICATION_URL: `${app.url}/verify`, EVENT_CALLBACK_URL: `${app.url}/events` });
  });
  after(async () => {
    await killWsPublishers();
    await castline?.dispose();
    await app?.stop();
  });

  it('an ffmpeg FLV pipe over WS → init.mp4 + .m4s + LL-HLS playlist, decodable, no ffmpeg for the stream', async () => {
    const pub = publishWs(wsUrl('/wspt/good-key/publish'), 'flv', 5);
    await pub.opened;
    const live = (await waitUntil(() => eventsOf('wspt').find((h) => h['x-stream-type'] === 'HLS-LIVE'), 'HLS-LIVE', 20_000))!;
    expect(live['x-resolution']).to.equal('320x180-15');
    const ll = await (await fetch(`http://127.0.0.1:${castline.httpPort}/${String(live['x-index-file'])}`)).text();
    expect(ll).to.contain('#EXT-X-PART:').and.contain('#EXT-X-MAP:URI="init.mp4"').and.contain('#EXT-X-PRELOAD-HINT');
    expect(castlineFfmpegs()).to.deep.equal([]);
    await pub.closed;
    const closed = await closedOf('wspt');
    expect(closed).to.include({ 'x-close-reason': 'publisher-disconnected' });
    const streamId = String(live['x-streaming-id']);
    const dir = path.join(castline.dataDir, 'hls', 'wspt', streamId, '320x180-15');
    const vod = parseMediaPlaylist(fs.readFileSync(path.join(dir, 'vod-0.m3u8'), 'utf8'));
    expect(vod.ended).to.equal(true);
    expect(vod.segments.map((s) => s.uri)).to.deep.equal(vod.segments.map((_, i) => `${i}.m4s`));
    expect(fs.existsSync(path.join(dir, 'init.mp4'))).to.equal(true);
    const frames = decodeFrames(path.join(dir, 'vod-0.m3u8'));
    // 5 s at 15 fps, every frame the publisher sent: video and audio.
    expect(frames.filter((f) => f.stream === 0).length).to.be.within(70, 76);
    expect(frames.some((f) => f.stream === 1)).to.equal(true);
    expect(eventsOf('wspt').filter((h) => h['x-event-type'] === 'stream-available').map((h) => h['x-stream-type'])).to.deep.equal(['HLS-LIVE', 'HLS-VOD']);
  });

  it('with previews: packaged in-process, one keyframe-only ffmpeg writes and announces the images, and is gone at the end', async () => {
    const pub = publishWs(wsUrl('/wsprev/good-key/publish'), 'flv', 5);
    const preview = (await waitUntil(() => eventsOf('wsprev').find((h) => h['x-stream-type'] === 'IMG-PREVIEW'), 'IMG-PREVIEW', 20_000))!;
    expect(preview['x-resolution']).to.equal('160x90-1');
    const ffmpegs = castlineFfmpegs();
    expect(ffmpegs).to.have.length(1);
    expect(ffmpegs[0]).to.contain('-skip_frame nokey').and.contain('pipe:0');
    await pub.closed;
    await closedOf('wsprev');
    expect(castlineFfmpegs()).to.deep.equal([]);
    const index = JSON.parse(fs.readFileSync(path.join(castline.dataDir, String(preview['x-index-file'])), 'utf8')) as { count: number };
    expect(index.count).to.be.within(3, 6);
    const live = eventsOf('wsprev').find((h) => h['x-stream-type'] === 'HLS-LIVE')!;
    expect(fs.readFileSync(path.join(castline.dataDir, String(live['x-index-file'])), 'utf8')).to.contain('.m4s');
  });

  it('a browser-like WebM publish still goes to ffmpeg (transcoded to H.264/AAC by an ffmpeg of castline)', async () => {
    const pub = publishWs(wsUrl('/wswebm/good-key/publish'), 'webm', 4);
    const live = (await waitUntil(() => eventsOf('wswebm').find((h) => h['x-stream-type'] === 'HLS-LIVE'), 'HLS-LIVE', 20_000))!;
    // castline's ffmpeg (a child of this process, encoding x264) — the publisher's encodes VP8.
    const ours = new Set(descendants(process.pid));
    expect(processesMentioning('libx264').filter((l) => ours.has(Number(l.split(' ')[0])))).to.have.length(1);
    await pub.closed;
    await closedOf('wswebm');
    const master = fs.readFileSync(path.join(castline.dataDir, path.dirname(path.dirname(String(live['x-index-file']))), 'master.m3u8'), 'utf8');
    expect(master).to.match(/CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
    const frames = decodeFrames(path.join(castline.dataDir, String(live['x-index-file'])));
    expect(frames.filter((f) => f.stream === 0).length).to.be.greaterThan(0);
  });

  it('FLV that breaks while packaged (garbage once it is live) → stream-closed invalid-media, the publisher is told, no ffmpeg was started', async () => {
    const pub = publishWs(wsUrl('/wsbad/good-key/publish'), 'flv', 30);
    await waitUntil(() => eventsOf('wsbad').find((h) => h['x-stream-type'] === 'HLS-LIVE'), 'HLS-LIVE', 20_000);
    pub.ws.send(Buffer.alloc(4096, 0x41));
    const closed = await closedOf('wsbad');
    expect(closed).to.include({ 'x-close-reason': 'invalid-media' });
    await pub.closed;
    expect(pub.texts.some((t) => t.startsWith('ERROR: Stream closed (invalid-media)'))).to.equal(true, pub.texts.join('|'));
    expect(castlineFfmpegs()).to.deep.equal([]);
  });

  it('an FLV header followed by garbage (before anything was packaged) → invalid-media at once, without ffmpeg', async () => {
    const sent = await sendRaw(wsUrl('/wsbad2/good-key/publish'), [Buffer.from('464c5601050000000900000000', 'hex'), Buffer.alloc(2048, 0x37)]);
    const closed = await closedOf('wsbad2');
    expect(closed).to.include({ 'x-close-reason': 'invalid-media' });
    expect(Date.now() - sent).to.be.below(5000);
    expect(castlineFfmpegs()).to.deep.equal([]);
  });

  it('bytes that are neither FLV nor WebM → handed to ffmpeg as before, which finds no format in them: invalid-media; the server goes on', async () => {
    // 1 MiB of zeros: ffmpeg's probe gives up (no format) without waiting for the end of the input.
    await sendRaw(wsUrl('/wsjunk/good-key/publish'), Array.from({ length: 4 }, () => Buffer.alloc(256 * 1024)), 15_000);
    const closed = await closedOf('wsjunk');
    expect(closed).to.include({ 'x-close-reason': 'invalid-media' });
    expect(eventsOf('wsjunk').filter((h) => h['x-event-type'] === 'stream-available')).to.deep.equal([]);
    // The process still serves publishes.
    const pub = publishWs(wsUrl('/wsafter/good-key/publish'), 'flv', 3);
    await waitUntil(() => eventsOf('wsafter').find((h) => h['x-stream-type'] === 'HLS-LIVE'), 'HLS-LIVE after the bad publishes', 20_000);
    pub.stop();
    await closedOf('wsafter');
  });
});

/**
 * Opens a WS publish and sends `chunks`; resolves with the time of the last send. With `holdMs`,
 * keeps the socket open (heartbeats) until the server closes it or `holdMs` passed.
 */
async function sendRaw(url: string, chunks: Buffer[], holdMs = 0): Promise<number> {
  const ws = new WebSocket(url);
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  for (const chunk of chunks) ws.send(chunk);
  const sent = Date.now();
  if (holdMs > 0) {
    const heartbeat = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('h'), 1000);
    await Promise.race([closed, sleep(holdMs)]);
    clearInterval(heartbeat);
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
  }
  return sent;
}
