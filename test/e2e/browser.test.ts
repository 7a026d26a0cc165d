/**
 * A real browser publishes: headless Chromium opens a page that records a canvas and a WebAudio
 * oscillator with MediaRecorder (its default WebM VP8/Opus, 500 ms timeslice) and sends every
 * chunk as one binary WebSocket message, with `h` heartbeats, then closes. castline must turn it
 * into the same decodable H.264/AAC ladder, recording, previews and ordered events as the Node
 * WebSocket publisher in ws-to-hls.test.ts. Fails when Chromium is not installed
 * (`apt-get install chromium`; .ci/run installs it).
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { ffmpegPath } from '../../src/encoding/binaries';
import { parseMediaPlaylist } from '../../src/encoding/playlist';
import { decodeFile, probeFile, readableSegment } from '../encoding/helpers';
import { AppServer } from '../helpers/app-server';
import { chromiumAvailable, chromiumPath, launchChromium, type Browser } from '../helpers/browser';
import { startTestCastline, type TestCastline } from '../helpers/castline';
import { waitUntil } from '../helpers/wait';

/** What the page POSTs to /report, in order. */
interface PageReport {
  type: 'loaded' | 'open' | 'recording' | 'first-chunk' | 'stopped' | 'closed' | 'error';
  t: number;
  [k: string]: unknown;
}

/**
 * The publishing page. Query: `ws` (publish URL), `seconds` (recording length). It reports each
 * step and every error (window errors, rejections, WebSocket, MediaRecorder, `ERROR:` messages from
 * the server) to POST /report, one after the other so they arrive in order.
 */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>castline publisher</title></head>
<body><canvas id="c" width="320" height="180"></canvas>
<script>
'use strict';
let chain = Promise.resolve();
const report = (body) => {
  const payload = JSON.stringify(Object.assign({ t: Math.round(performance.now()) }, body));
  chain = chain.then(() => fetch('/report', { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload })).catch(() => undefined);
};
const fail = (where, err) => report({ type: 'error', where, message: String((err && (err.stack || err.message)) || err) });
window.addEventListener('error', (e) => fail('window', e.error || e.message));
window.addEventListener('unhandledrejection', (e) => fail('unhandledrejection', e.reason));

(async () => {
  const params = new URLSearchParams(location.search);
  const wsUrl = params.get('ws');
  const seconds = Number(params.get('seconds') || '6');
  report({ type: 'loaded', userAgent: navigator.userAgent });

  // Video: a moving test pattern on a 320x180 canvas, captured at 15 fps.
  const canvas = document.getElementById('c');
  const g = canvas.getContext('2d');
  let frame = 0;
  const draw = () => {
    frame++;
    g.fillStyle = 'hsl(' + ((frame * 7) % 360) + ', 70%, 45%)';
    g.fillRect(0, 0, 320, 180);
    g.fillStyle = '#fff';
    g.font = '28px sans-serif';
    g.fillText('frame ' + frame, 20, 60);
    g.fillRect((frame * 6) % 320, 110, 40, 40);
  };
  draw();
  const drawTimer = setInterval(draw, 1000 / 15);
  const video = canvas.captureStream(15);

  // Audio: a 440 Hz oscillator through a MediaStream destination.
  const ac = new AudioContext();
  const osc = ac.createOscillator();
  osc.frequency.value = 440;
  const dest = ac.createMediaStreamDestination();
  osc.connect(dest);
  osc.start();
  await ac.resume();
  const stream = new MediaStream([...video.getVideoTracks(), ...dest.stream.getAudioTracks()]);

  const ws = new WebSocket(wsUrl);
  const texts = [];
  let chunks = 0, bytes = 0, heartbeats = 0, heartbeat = null;
  ws.onerror = () => fail('websocket', 'error event (readyState ' + ws.readyState + ')');
  ws.onmessage = (e) => {
    if (typeof e.data !== 'string') return;
    texts.push(e.data);
    if (e.data.startsWith('ERROR:')) fail('server', e.data);
  };
  ws.onclose = (e) => {
    clearInterval(drawTimer);
    clearInterval(heartbeat);
    osc.stop();
    stream.getTracks().forEach((t) => t.stop());
    report({ type: 'closed', code: e.code, reason: e.reason, wasClean: e.wasClean, chunks, bytes, heartbeats, texts, frames: frame });
  };
  ws.onopen = () => {
    report({ type: 'open' });
    const rec = new MediaRecorder(stream); // the browser's default: WebM VP8/Opus
    rec.onerror = (e) => fail('mediarecorder', e.error || 'error event');
    rec.ondataavailable = (e) => {
      if (!e.data || e.data.size === 0) return;
      if (ws.readyState !== WebSocket.OPEN) return fail('send', 'chunk ' + chunks + ' after the socket left OPEN');
      if (chunks === 0) report({ type: 'first-chunk', mimeType: rec.mimeType, blobType: e.data.type, size: e.data.size });
      chunks++;
      bytes += e.data.size;
      ws.send(e.data); // a Blob: one binary message per chunk, in order
    };
    rec.onstop = () => {
      report({ type: 'stopped', chunks, bytes });
      // Close only once every queued chunk has left.
      const started = performance.now();
      const drain = setInterval(() => {
        if (ws.bufferedAmount === 0 || performance.now() - started > 30000) {
          clearInterval(drain);
          if (ws.bufferedAmount !== 0) fail('send', ws.bufferedAmount + ' bytes still buffered after 30 s');
          ws.close(1000, 'done');
        }
      }, 50);
    };
    heartbeat = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) { ws.send('h'); heartbeats++; }
    }, 2000);
    rec.start(500);
    report({ type: 'recording', videoTracks: stream.getVideoTracks().length, audioTracks: stream.getAudioTracks().length });
    setTimeout(() => rec.state !== 'inactive' && rec.stop(), seconds * 1000);
  };
})().catch((err) => fail('main', err));
</script></body></html>
`;

/** Serves PAGE at / and records the page's reports. */
class PageServer {
  readonly reports: PageReport[] = [];
  #server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url ?? '/').split('?')[0] === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE);
      return;
    }
    if (req.method === 'POST' && req.url === '/report') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        try {
          this.reports.push(JSON.parse(body) as PageReport);
        } catch {
          this.reports.push({ type: 'error', t: -1, where: 'report', message: `unparsable report: ${body.slice(0, 200)}` });
        }
        res.writeHead(204);
        res.end();
      });
      return;
    }
    res.writeHead(404);
    res.end();
  });
  port = 0;

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  url(query: Record<string, string>): string {
    return `http://127.0.0.1:${this.port}/?${new URLSearchParams(query).toString()}`;
  }

  find(type: PageReport['type']): PageReport | undefined {
    return this.reports.find((r) => r.type === type);
  }

  errors(): PageReport[] {
    return this.reports.filter((r) => r.type === 'error');
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

describe('end to end: a real browser (headless Chromium MediaRecorder) publishes over WebSocket → HLS', function () {
  this.timeout(180_000);
  let app: AppServer | undefined;
  let castline: TestCastline | undefined;
  let page: PageServer | undefined;
  let browser: Browser | undefined;

  before(async function () {
    // No Chromium is a failure, not a skip: CI installs it, and a skipped browser test hides a gap.
    if (!chromiumAvailable()) throw new Error(`no Chromium at ${chromiumPath}: apt-get install chromium, or set CASTLINE_TEST_CHROMIUM`);
    app = await new AppServer({ settings: { 'x-resolutions': '320x180-15,160x90-15', 'x-record': 'true', 'x-previews': '160x90,1' } }).start();
    castline = await startTestCastline({ KEY_VERIFICATION_URL: `${app.url}/verify`, EVENT_CALLBACK_URL: `${app.url}/events` });
    page = await new PageServer().start();
  });
  after(async () => {
    await browser?.close(1_000).catch(() => undefined);
    await castline?.dispose();
    await page?.stop();
    await app?.stop();
  });

  it('MediaRecorder WebM VP8/Opus chunks become a decodable H.264/AAC ladder with recording, previews and ordered events', async () => {
    const channel = 'browser-cam';
    const wsUrl = `ws://127.0.0.1:${castline!.httpPort}/${channel}/good-browser/publish`;
    browser = launchChromium(page!.url({ ws: wsUrl, seconds: '6' }));
    const diagnose = () => `page reports: ${JSON.stringify(page!.reports)}\nbrowser exit: ${JSON.stringify(browser!.exited())}\nbrowser output (tail, D-Bus noise left out): ${browser!.output().split('\n').filter((l) => !l.includes('dbus')).join('\n').slice(-3000)}`;
    const pageWait = async <T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> => {
      try {
        return (await waitUntil(() => {
          if (page!.errors().length > 0) throw new Error('the page reported an error');
          if (browser!.exited()) throw new Error('the browser exited');
          return check();
        }, what, timeoutMs, 50)) as T;
      } catch (err) {
        throw new Error(`${(err as Error).message} (waiting for ${what})\n${diagnose()}`);
      }
    };

    // The page loads, connects, records ~6 s and closes the socket itself once every chunk is sent.
    await pageWait(() => page!.find('recording'), 'the page to start recording', 60_000);
    const closed = await pageWait(() => page!.find('closed'), 'the page to finish and close its socket', 60_000);
    expect(page!.errors(), diagnose()).to.deep.equal([]);
    expect(page!.find('recording')).to.include({ videoTracks: 1, audioTracks: 1 });
    expect(String(page!.find('first-chunk')?.mimeType), 'the default MediaRecorder format').to.match(/^video\/webm;codecs=/);
    expect(closed, diagnose()).to.include({ code: 1000, wasClean: true });
    expect(closed.chunks).to.be.at.least(8); // ~6 s in 500 ms slices
    expect(closed.heartbeats).to.be.at.least(2);
    expect((closed.texts as string[]).filter((t) => t.startsWith('ERROR:'))).to.deep.equal([]);

    // The browser is done: stop it, and nothing of it may be left running.
    const stragglers = await browser.close();
    expect(stragglers, 'browser processes that ignored SIGTERM').to.deep.equal([]);

    await waitUntil(() => app!.delivered().some((h) => h['x-streaming-channel'] === channel && h['x-event-type'] === 'stream-closed'), 'stream-closed', 60_000);
    const events = app!.delivered().filter((h) => h['x-streaming-channel'] === channel);
    const streamId = String(events[0]['x-streaming-id']);
    expect(events.every((h) => h['x-streaming-id'] === streamId), 'one stream').to.equal(true);
    expect(events.at(-1)).to.include({ 'x-event-type': 'stream-closed', 'x-close-reason': 'publisher-disconnected' });
    // The rungs ask for 15 fps; a rung never exceeds the source's rate, and headless Chromium's
    // MediaRecorder (variable frame rate) sometimes delivers ~14 fps on a loaded machine.
    const available = events.filter((h) => h['x-event-type'] === 'stream-available').map((h) => `${h['x-stream-type']} ${h['x-resolution']}`);
    const fps = Number(/^HLS-LIVE 320x180-(\d+)$/.exec(available.find((a) => a.startsWith('HLS-LIVE 320x180-')) ?? '')?.[1]);
    expect(fps, available.join(', ')).to.be.within(10, 15);
    const rungs = [`320x180-${fps}`, `160x90-${fps}`];
    expect(available).to.have.members([...rungs.map((r) => `HLS-LIVE ${r}`), ...rungs.map((r) => `HLS-VOD ${r}`), 'IMG-PREVIEW 160x90-1']);

    for (const rung of rungs) {
      const dir = path.join(castline!.dataDir, 'hls', channel, streamId, rung);
      const vod = parseMediaPlaylist(fs.readFileSync(path.join(dir, 'vod-0.m3u8'), 'utf8'));
      expect(vod.ended, `${rung} VOD ended`).to.equal(true);
      expect(vod.segments.length, `${rung} VOD segments`).to.be.greaterThan(3);
      // The whole ~6 s recording made it through, in one piece.
      const seconds = vod.segments.reduce((sum, seg) => sum + seg.duration, 0);
      expect(seconds, `${rung} VOD duration`).to.be.within(4.5, 9);
      expect(vod.segments.filter((seg) => seg.discontinuity), `${rung} discontinuities`).to.deep.equal([]);
      // fmp4 (the default): every rung is packaged by castline from ffmpeg's FLV pipe.
      expect(vod.segments.every((seg) => seg.uri.endsWith('.m4s')), `${rung} CMAF segments`).to.equal(true);
      for (const seg of vod.segments) decodeFile(ffmpegPath, readableSegment(dir, seg.uri));
    }
    const probe = probeFile(readableSegment(path.join(castline!.dataDir, 'hls', channel, streamId, rungs[0]!), '0.m4s'));
    expect(probe).to.include({ width: 320, height: 180 });
    expect(probe.codecs).to.deep.equal(['h264', 'aac']);
  });
});
