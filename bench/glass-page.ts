/**
 * The viewer of the glass-to-glass bench: a local HTTP server for the page (a `<video>`, hls.js from
 * node_modules, the clock reader) and for nginx-rtmp's HLS folder, and the page's side of the
 * measurement, driven through playwright-core in headless Chromium.
 *
 * In the page, hls.js plays the stream with the mode's config; on every `requestVideoFrameCallback`
 * (a frame handed to the compositor) the frame is drawn into a 640x360 canvas, the clock grid's
 * cell levels are read (`cellLevels` of bench/glass-clock.ts, its source injected into the page)
 * and kept with `Date.now()` of that moment; the bench decodes them (`decodeClock`) and subtracts.
 * Every 500 ms the page also notes hls.js' view: `latency` (seconds behind the live edge of the
 * playlist), `targetLatency`, the playback rate and the buffer ahead; and it counts stalls
 * (`waiting` events), parts and fragments loaded, fatal errors.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { cellLevels } from './glass-clock';

const PAGE = '<!doctype html><html><head><meta charset="utf-8"><title>glass</title></head>'
  + '<body style="margin:0;background:#000"><video muted playsinline width="640" height="360"></video>'
  + '<script src="/hls.min.js"></script></body></html>';

/** The page, hls.js, and `/files/…` from `filesRoot` (nginx-rtmp's HLS folder), on 127.0.0.1. */
export class GlassPageServer {
  private readonly server: http.Server;
  private readonly hlsJs = fs.readFileSync(require.resolve('hls.js/dist/hls.min.js'));
  filesRoot: string | null = null;
  port = 0;

  constructor() {
    this.server = http.createServer((req, res) => this.handle(req.url ?? '/', res));
  }

  private handle(url: string, res: http.ServerResponse): void {
    const pathname = new URL(url, 'http://x').pathname;
    if (pathname === '/') return void res.writeHead(200, { 'Content-Type': 'text/html', 'Cache-Control': 'no-cache' }).end(PAGE);
    if (pathname === '/hls.min.js') return void res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(this.hlsJs);
    if (pathname.startsWith('/files/') && this.filesRoot !== null) {
      const file = path.join(this.filesRoot, path.normalize(decodeURIComponent(pathname.slice('/files/'.length))).replace(/^(\.\.[/\\])+/, ''));
      fs.readFile(file, (err, body) => {
        if (err) return void res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not found"}');
        const type = file.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t';
        res.writeHead(200, { 'Content-Type': type, 'Cache-Control': file.endsWith('.m3u8') ? 'no-cache' : 'max-age=60' }).end(body);
      });
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not found"}');
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** One frame the page showed: when (Date.now()), and the 64 clock cell levels read from it. */
export interface ShownFrame {
  at: number;
  levels: number[];
}

/** hls.js' view, sampled every 500 ms. */
export interface PlayerStat {
  at: number;
  latency: number;
  targetLatency: number;
  playbackRate: number;
  bufferAhead: number;
}

export interface PageReport {
  frames: ShownFrame[];
  stats: PlayerStat[];
  stalls: number[];
  parts: number;
  fragments: number;
  errors: string[];
  dropped: number;
}

interface StartOptions {
  src: string;
  config: Record<string, unknown>;
}

/** Runs in the page: starts hls.js and the per-frame clock reading (state on window.__glass). */
function startInPage({ src, config }: StartOptions): void {
  const w = window as unknown as { Hls: any; __glass: any; cellLevels: (d: ArrayLike<number>, w: number, h: number, k: string) => number[] };
  const video = document.querySelector('video')!;
  const canvas = document.createElement('canvas');
  canvas.width = 640;
  canvas.height = 360;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const g = { frames: [] as unknown[], stats: [] as unknown[], stalls: [] as number[], parts: 0, fragments: 0, errors: [] as string[], hls: null as any };
  w.__glass = g;
  const hls = new w.Hls(config);
  g.hls = hls;
  hls.on(w.Hls.Events.FRAG_LOADED, (_e: unknown, data: { part?: unknown }) => (data.part ? g.parts++ : g.fragments++));
  hls.on(w.Hls.Events.ERROR, (_e: unknown, data: { fatal: boolean; details: string }) => { if (data.fatal) g.errors.push(data.details); });
  video.addEventListener('waiting', () => g.stalls.push(Date.now()));
  const onFrame = () => {
    const at = Date.now();
    ctx.drawImage(video, 0, 0, 640, 360);
    const levels = w.cellLevels(ctx.getImageData(0, 0, 640, 160).data, 640, 360, 'rgba');
    g.frames.push({ at, levels: levels.map((l) => Math.round(l * 100) / 100) });
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  setInterval(() => {
    const b = video.buffered;
    const ahead = b.length > 0 ? b.end(b.length - 1) - video.currentTime : 0;
    g.stats.push({ at: Date.now(), latency: hls.latency ?? NaN, targetLatency: hls.targetLatency ?? NaN, playbackRate: video.playbackRate, bufferAhead: ahead });
  }, 500);
  hls.loadSource(src);
  hls.attachMedia(video);
  void video.play().catch(() => undefined);
}

/** Opens the page and starts playing `src` with hls.js `config`. */
export async function startPlayer(page: Page, server: GlassPageServer, src: string, config: Record<string, unknown>): Promise<void> {
  await page.goto(server.url);
  await page.addScriptTag({ content: `window.cellLevels = ${cellLevels.toString()};` });
  await page.evaluate(startInPage, { src, config });
}

/** What the page recorded so far (and clears its frame list). */
export async function collect(page: Page): Promise<PageReport> {
  return page.evaluate(() => {
    const g = (window as unknown as { __glass: any }).__glass;
    const video = document.querySelector('video')!;
    const frames = g.frames;
    g.frames = [];
    return { frames, stats: g.stats, stalls: g.stalls, parts: g.parts, fragments: g.fragments, errors: g.errors, dropped: video.getVideoPlaybackQuality().droppedVideoFrames };
  }) as Promise<PageReport>;
}
