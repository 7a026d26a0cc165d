/**
 * Glass-to-glass latency (issue 9): from the moment a frame is made at the publisher to the moment
 * hls.js shows it in headless Chromium, same machine, same clock.
 *
 * Camera: bench/glass-publisher.ts (a child process) makes 640x360@30 frames paced by the wall
 * clock, draws each frame's capture time (Date.now()) into it as 64 black/white cells with a CRC
 * (bench/glass-clock.ts), and pipes them into ffmpeg: x264 veryfast, 2 s keyframes, B-frames and
 * lookahead as OBS sends them (`--tune zerolatency`: without), AAC sine, RTMP.
 * Viewer: bench/glass-page.ts — hls.js from node_modules plays the stream; on each
 * requestVideoFrameCallback the frame is drawn to a canvas and its cells read; the bench decodes
 * them and takes `shownAt − captured` per frame.
 * Publisher's share: a TCP proxy in front of the server's RTMP port (bench/latency-proxy.ts) reads the
 * RTMP messages (bench/latency-rtmp-tap.ts) and notes when each video frame fully arrived; the
 * frame is found by its presentation time (frame n = pts·30) and the publisher's own log of
 * (n, capture time). So each shown frame splits into `publisher` (capture → last byte at the
 * server: x264 lookahead/B-frames/threads, RTMP) and `server + player` (that → shown).
 *
 * Modes (run one after the other, interleaved per round, one Chromium):
 *   ll-copy     castline HLS_SEGMENT_FORMAT=fmp4, ORIGINAL (passthrough), hls.js lowLatencyMode
 *   ll-encoded  castline fmp4, DEFAULT_RESOLUTIONS=640x360-30 (one encoded rung), lowLatencyMode
 *   classic     castline HLS_SEGMENT_FORMAT=mpegts, ORIGINAL, hls.js default config
 *   nginx       nginx-rtmp (hls_fragment 2s), hls.js default config
 * and variants for finding where the time goes: ll-copy-part0.2 (HLS_PART_SECONDS=0.2),
 * ll-copy-catchup (hls.js maxLiveSyncPlaybackRate 1.5), ll-encoded-catchup, ll-encoded-part0.2, ll-copy-part0.2-catchup,
 * ll-copy-holdback2x (hls.js liveSyncDuration 0.667: what PART-HOLD-BACK = 2 × part target would do),
 * ll-copy-part0.2-holdback2x and ll-encoded-part0.2-holdback2x (part 0.2 s, hls.js aiming at 0.4 s).
 * Each mode: the viewer joins a running stream (`--join`, default 15 s after the first playlist
 * appeared, so every server's live playlist is full: castline lists 6 × 2 s, nginx-rtmp 10 s — a
 * player that starts with the first segment begins as close to the edge as the stream's age allows
 * and, at playback rate 1, stays there), warm-up (default 10 s from the first frame shown), then a steady window (default 20 s)
 * over which p50/p95 are taken (numpy's linear interpolation). "LL" says whether the media playlist
 * had EXT-X-PART lines (an encoded rung is LL only once the packager handles encoded rungs).
 *
 * Run: npx tsc -p tsconfig.test.json && node dist-test/bench/glass-to-glass.js [--modes ll-copy,ll-encoded,classic,nginx] [--rounds 1] [--warmup 10] [--window 20] [--join 15] [--tune zerolatency]
 * nginx needs `apt-get install -y --no-install-recommends nginx libnginx-mod-rtmp` (skipped with a message otherwise).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchHeadlessChromium } from '../test/helpers/playwright';
import { decodeClock } from './glass-clock';
import { PartWatcher } from './glass-part-watch';
import { collect, GlassPageServer, startPlayer, type PageReport } from './glass-page';
import { FPS } from './glass-publisher';
import { startCastlineProcess, startNginxServer, type GlassServer } from './glass-servers';
import { findNginx } from './latency-nginx';
import { FirstByteProxy } from './latency-proxy';
import { percentile } from './latency';

interface Mode {
  server: 'castline' | 'nginx';
  env: Record<string, string>;
  hls: Record<string, unknown>;
}

const LL = { lowLatencyMode: true };
const CATCHUP = { lowLatencyMode: true, maxLiveSyncPlaybackRate: 1.5 };
const FMP4 = { HLS_SEGMENT_FORMAT: 'fmp4', DEFAULT_RESOLUTIONS: 'ORIGINAL' };
const ENCODED = { HLS_SEGMENT_FORMAT: 'fmp4', DEFAULT_RESOLUTIONS: '640x360-30' };
export const MODES: Record<string, Mode> = {
  'll-copy': { server: 'castline', env: FMP4, hls: LL },
  'll-encoded': { server: 'castline', env: ENCODED, hls: LL },
  classic: { server: 'castline', env: { HLS_SEGMENT_FORMAT: 'mpegts', DEFAULT_RESOLUTIONS: 'ORIGINAL' }, hls: {} },
  nginx: { server: 'nginx', env: {}, hls: {} },
  'll-copy-part0.2': { server: 'castline', env: { ...FMP4, HLS_PART_SECONDS: '0.2' }, hls: LL },
  'll-copy-catchup': { server: 'castline', env: FMP4, hls: CATCHUP },
  'll-encoded-catchup': { server: 'castline', env: ENCODED, hls: CATCHUP },
  'll-encoded-part0.2': { server: 'castline', env: { ...ENCODED, HLS_PART_SECONDS: '0.2' }, hls: LL },
  'll-copy-part0.2-holdback2x': { server: 'castline', env: { ...FMP4, HLS_PART_SECONDS: '0.2' }, hls: { lowLatencyMode: true, liveSyncDuration: 0.4 } },
  'll-encoded-part0.2-holdback2x': { server: 'castline', env: { ...ENCODED, HLS_PART_SECONDS: '0.2' }, hls: { lowLatencyMode: true, liveSyncDuration: 0.4 } },
  'll-copy-part0.2-catchup': { server: 'castline', env: { ...FMP4, HLS_PART_SECONDS: '0.2' }, hls: CATCHUP },
  // hls.js aiming at 2 × part target (0.667 s), what it would do with PART-HOLD-BACK=2×PART-TARGET (the RFC's MUST).
  'll-copy-holdback2x': { server: 'castline', env: FMP4, hls: { lowLatencyMode: true, liveSyncDuration: 0.667 } },
};

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

export interface ModeResult {
  mode: string;
  round: number;
  lowLatency: boolean;
  /** Glass-to-glass of the first frame shown after joining (ms): where playback started. */
  joinGlass: number;
  shown: number;
  unreadable: number;
  /** Median glass-to-glass of the window's last 2 s minus that of its first 2 s (ms): drift at playback rate 1. */
  drift: number;
  /** Per shown frame in the window, ms. */
  glass: number[];
  publisher: number[];
  serverToGlass: number[];
  hlsLatency: number[];
  targetLatency: number[];
  /** LL only: ms from a part's end reaching castline to the part listed (bench/glass-part-watch.ts). */
  partLag: number[];
  stalls: number;
  parts: number;
  fragments: number;
  dropped: number;
  errors: string[];
  load: [number, number];
}

interface Publisher {
  proc: ChildProcess;
  /** Capture time of frame n. */
  captures: number[];
  stop(): Promise<void>;
}

function startPublisher(url: string, seconds: number, tune: string): Publisher {
  const script = path.join(__dirname, 'glass-publisher.js');
  const proc = spawn(process.execPath, [script, '--url', url, '--seconds', String(seconds), ...(tune ? ['--tune', tune] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const captures: number[] = [];
  let rest = '';
  proc.stdout!.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      const [n, t] = line.split(' ').map(Number);
      captures[n!] = t!;
    }
  });
  const exited = new Promise((r) => proc.once('exit', r));
  return {
    proc, captures,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitFor<T>(check: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether the first media playlist of `src` (a master or a media playlist) lists parts. */
async function lowLatencyPlaylist(src: string): Promise<boolean> {
  const text = await (await fetch(src)).text();
  const variant = text.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#'));
  const media = variant !== undefined && text.includes('#EXT-X-STREAM-INF') ? await (await fetch(new URL(variant.trim(), src))).text() : text;
  return media.includes('#EXT-X-PART:');
}

interface Run {
  server: GlassServer;
  proxy: FirstByteProxy;
  publisher: Publisher;
}

/** Splits what the page showed in the window into per-frame figures. */
function analyse(report: PageReport, run: Run, from: number, to: number): Pick<ModeResult, 'shown' | 'unreadable' | 'glass' | 'publisher' | 'serverToGlass' | 'drift'> {
  const tap = run.proxy.taps[0];
  const pts0 = tap?.frames[0]?.pts ?? 0;
  const arrival = new Map<number, number>();
  for (const f of tap?.frames ?? []) arrival.set(Math.round(((f.pts - pts0) * FPS) / 1000), f.at);
  const frameOf = new Map<number, number>();
  run.publisher.captures.forEach((t, n) => { if (!frameOf.has(t)) frameOf.set(t, n); });
  const out = { shown: 0, unreadable: 0, glass: [] as number[], publisher: [] as number[], serverToGlass: [] as number[], first: [] as number[], last: [] as number[] };
  for (const f of report.frames.filter((x) => x.at >= from && x.at <= to)) {
    out.shown++;
    const captured = decodeClock(f.levels);
    if (captured === null || captured > f.at || f.at - captured > 120_000) {
      out.unreadable++;
      continue;
    }
    out.glass.push(f.at - captured);
    if (f.at < from + 2000) out.first.push(f.at - captured);
    if (f.at > to - 2000) out.last.push(f.at - captured);
    const arrived = arrival.get(frameOf.get(captured) ?? -1);
    if (arrived !== undefined) {
      out.publisher.push(arrived - captured);
      out.serverToGlass.push(f.at - arrived);
    }
  }
  const { first, last, ...rest } = out;
  return { ...rest, drift: percentile(last, 0.5) - percentile(first, 0.5) };
}

interface Context {
  browser: Browser;
  pages: GlassPageServer;
  dir: string;
  nginxBin: string | null;
  warmupS: number;
  windowS: number;
  joinS: number;
  tune: string;
}

async function startServer(mode: Mode, name: string, ctx: Context): Promise<GlassServer> {
  if (mode.server === 'castline') return startCastlineProcess(path.join(ctx.dir, name), mode.env);
  if (ctx.nginxBin === null) throw new Error('nginx is not installed');
  return startNginxServer(ctx.nginxBin, `http://127.0.0.1:${ctx.pages.port}/files/`, (d) => (ctx.pages.filesRoot = d));
}

async function measureMode(name: string, round: number, ctx: Context): Promise<ModeResult> {
  const mode = MODES[name]!;
  const loadBefore = os.loadavg()[0]!;
  const server = await startServer(mode, `${name}-${round}`, ctx);
  const proxy = await new FirstByteProxy(server.rtmpPort, '127.0.0.1', true).start();
  const stream = `glass${round}${name.replace(/[^a-z0-9]/g, '')}`;
  const publisher = startPublisher(`rtmp://127.0.0.1:${proxy.port}/${server.publishPath(stream)}`, ctx.warmupS + ctx.windowS + 60, ctx.tune);
  const page = await ctx.browser.newPage();
  let watcher: PartWatcher | null = null;
  try {
    const src = await waitFor(() => server.playlistUrl(stream), `${name}: a playlist`, 30_000);
    await new Promise((r) => setTimeout(r, ctx.joinS * 1000));
    const lowLatency = await lowLatencyPlaylist(src);
    if (lowLatency) watcher = new PartWatcher().start(src);
    await startPlayer(page, ctx.pages, src, mode.hls);
    const joinGlass = await waitFor(async () => {
      const first = (await collect(page)).frames.find((f) => decodeClock(f.levels) !== null);
      return first === undefined ? undefined : first.at - decodeClock(first.levels)!;
    }, `${name}: a frame shown`, 30_000);
    await new Promise((r) => setTimeout(r, ctx.warmupS * 1000));
    await collect(page);
    const from = Date.now();
    await new Promise((r) => setTimeout(r, ctx.windowS * 1000));
    const report = await collect(page);
    const to = Date.now();
    const inWindow = <T extends { at: number }>(xs: T[]) => xs.filter((x) => x.at >= from && x.at <= to);
    return {
      mode: name, round, lowLatency, joinGlass, ...analyse(report, { server, proxy, publisher }, from, to),
      hlsLatency: inWindow(report.stats).map((s) => s.latency * 1000).filter(Number.isFinite),
      targetLatency: inWindow(report.stats).map((s) => s.targetLatency * 1000).filter(Number.isFinite),
      partLag: inWindow(watcher?.listings ?? []).map((l) => l.lag),
      stalls: report.stalls.filter((t) => t >= from && t <= to).length,
      parts: report.parts, fragments: report.fragments, dropped: report.dropped, errors: report.errors,
      load: [loadBefore, os.loadavg()[0]!],
    };
  } finally {
    await watcher?.stop();
    await page.close();
    await publisher.stop();
    await proxy.close();
    await server.stop();
  }
}

const sec = (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : '—');
const p = (v: number[], q: number) => sec(percentile(v, q));
const ms = (v: number[], q: number) => (v.length > 0 ? String(Math.round(percentile(v, q))) : '—');

export function summarize(results: ModeResult[]): void {
  console.log('\n| mode | LL | 1st frame after join | frames read | glass-to-glass p50 / p95 (s) | drift in window | publisher p50 | server + player p50 / p95 | part listed after its end arrived p50 / p95 (ms) | hls.js latency p50 (target) | stalls | parts / segments loaded | load (1 min) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.mode}${r.round > 0 ? ` #${r.round}` : ''} | ${r.lowLatency ? 'yes' : 'no'} | ${sec(r.joinGlass)} | ${r.glass.length}/${r.shown} | **${p(r.glass, 0.5)}** / ${p(r.glass, 0.95)} | ${r.drift >= 0 ? '+' : ''}${sec(r.drift)} | ${p(r.publisher, 0.5)} | ${p(r.serverToGlass, 0.5)} / ${p(r.serverToGlass, 0.95)} | ${ms(r.partLag, 0.5)} / ${ms(r.partLag, 0.95)} | ${p(r.hlsLatency, 0.5)} (${p(r.targetLatency, 0.5)}) | ${r.stalls} | ${r.parts} / ${r.fragments} | ${r.load[0].toFixed(1)}→${r.load[1].toFixed(1)} |`);
  }
}

async function main(): Promise<void> {
  const names = arg('modes', 'll-copy,ll-encoded,classic,nginx').split(',');
  for (const n of names) if (!MODES[n]) throw new Error(`unknown mode ${n} (known: ${Object.keys(MODES).join(', ')})`);
  const found = findNginx();
  const modes = names.filter((n) => MODES[n]!.server !== 'nginx' || found.ok);
  if (!found.ok && names.includes('nginx')) console.log(`nginx-rtmp: skipped (${found.reason})`);
  const pages = await new GlassPageServer().start();
  const browser = await launchHeadlessChromium();
  const ctx: Context = {
    browser, pages, dir: fs.mkdtempSync(path.join(os.tmpdir(), 'castline-glass-')), nginxBin: found.ok ? found.bin : null,
    warmupS: Number(arg('warmup', '10')), windowS: Number(arg('window', '20')), joinS: Number(arg('join', '15')), tune: arg('tune', ''),
  };
  console.log(`${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; publisher 640x360@30 x264 veryfast${ctx.tune ? ` tune ${ctx.tune}` : ''}; viewer joins ${ctx.joinS} s after the first playlist; warm-up ${ctx.warmupS} s, window ${ctx.windowS} s`);
  const results: ModeResult[] = [];
  try {
    for (let round = 0; round < Number(arg('rounds', '1')); round++) {
      for (const name of modes) {
        const r = await measureMode(name, round, ctx);
        results.push(r);
        console.log(JSON.stringify({ ...r, glass: undefined, publisher: undefined, serverToGlass: undefined, hlsLatency: undefined, targetLatency: undefined, partLag: undefined, partLagP50: percentile(r.partLag, 0.5), g2gP50: percentile(r.glass, 0.5), g2gP95: percentile(r.glass, 0.95), publisherP50: percentile(r.publisher, 0.5) }));
      }
    }
  } finally {
    await browser.close();
    await pages.close();
    fs.rmSync(ctx.dir, { recursive: true, force: true });
  }
  summarize(results);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
