/**
 * Headless Chromium driven by playwright-core (which downloads nothing): Debian's `chromium`
 * package, as .ci/run installs it. A test that needs the browser and finds none FAILS, naming the
 * fix: a skipped browser test would hide that the studio was never exercised.
 */
import { execFileSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';
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
