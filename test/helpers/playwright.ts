/**
 * Headless Chromium driven by playwright-core (which downloads nothing): Debian's `chromium`
 * package, as .ci/run installs it. A test that needs the browser and finds none FAILS, naming the
 * fix: a skipped browser test would hide that the studio was never exercised.
 */
import { execFileSync } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ffmpegPath } from '../../src/encoding/binaries';
import { chromiumAvailable, chromiumPath } from './browser';

export function requireChromium(): void {
  if (!chromiumAvailable()) {
    throw new Error(`no Chromium at ${chromiumPath}: apt-get update && apt-get install -y chromium fonts-liberation (.ci/run installs it), or set CASTLINE_TEST_CHROMIUM`);
  }
}

export async function launchHeadlessChromium(): Promise<Browser> {
  requireChromium();
  return chromium.launch({
    executablePath: chromiumPath,
    timeout: 60_000,
    args: [
      '--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows', '--mute-audio',
    ],
  });
}

/** Mean and standard deviation of an image's grey levels (0–255), decoded by the bundled ffmpeg. */
export function greyStats(png: Buffer): { mean: number; stddev: number; pixels: number } {
  const grey = execFileSync(ffmpegPath, ['-v', 'error', '-f', 'png_pipe', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], { input: png, maxBuffer: 64 << 20 });
  let sum = 0;
  let squares = 0;
  for (const v of grey) {
    sum += v;
    squares += v * v;
  }
  const mean = sum / grey.length;
  return { mean, stddev: Math.sqrt(Math.max(0, squares / grey.length - mean * mean)), pixels: grey.length };
}

export interface LowLatencyPlayback {
  /** Seconds played after the first frame. */
  played: number;
  /** Parts (not whole segments) hls.js loaded. */
  parts: number;
  /** Fatal hls.js errors. */
  errors: string[];
  latency: number;
  targetLatency: number;
  lowLatency: boolean;
}

/**
 * Plays `src` with hls.js (`lowLatencyMode: true`) in `page` (a castline page that loads hls.js:
 * `/studio/`) until it played 3 s and loaded more than 5 parts, or 30 s passed.
 */
export function playLowLatency(page: Page, src: string): Promise<LowLatencyPlayback> {
  return page.evaluate(async (url) => {
    const HlsCtor = (window as unknown as { Hls: any }).Hls;
    const video = document.createElement('video');
    video.muted = true;
    document.body.appendChild(video);
    const hls = new HlsCtor({ lowLatencyMode: true });
    let parts = 0;
    const errors: string[] = [];
    hls.on(HlsCtor.Events.FRAG_LOADED, (_e: unknown, data: { part?: unknown }) => { if (data.part) parts++; });
    hls.on(HlsCtor.Events.ERROR, (_e: unknown, data: { fatal: boolean; details: string }) => { if (data.fatal) errors.push(data.details); });
    hls.loadSource(url);
    hls.attachMedia(video);
    await video.play().catch(() => undefined);
    const until = Date.now() + 30_000;
    let first = -1;
    while (Date.now() < until && !(first >= 0 && video.currentTime - first > 3 && parts > 5)) {
      if (first < 0 && video.currentTime > 0) first = video.currentTime;
      await new Promise((r) => setTimeout(r, 200));
    }
    return { played: video.currentTime - first, parts, errors, latency: hls.latency as number, targetLatency: hls.targetLatency as number, lowLatency: hls.lowLatencyMode as boolean };
  }, src);
}
