/**
 * The glass-to-glass bench's clock pattern reads back what was drawn: frames made as the bench's
 * publisher makes them (clock grid + moving scene), encoded by real x264 (the publisher's settings,
 * and a starved bitrate), decoded by ffmpeg, read from the Y plane and from RGBA (what a browser
 * canvas gives), at 640x360 and scaled to the 480x270 rung. Damaged patterns are refused.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { ffmpegPath } from '../../src/encoding/binaries';
import { cellLevels, clockBits, crc16, decodeClock, drawClock, CLOCK_BITS } from '../../bench/glass-clock';
import { drawScene, FPS, HEIGHT, WIDTH } from '../../bench/glass-publisher';

const FRAMES = 45;
const T0 = 1_795_000_000_123; // Nov 2026, in ms

/** Raw yuv420p frames as the publisher makes them; frame i carries T0 + 33·i + (i % 7). */
function rawFrames(): { raw: Buffer; times: number[] } {
  const ySize = WIDTH * HEIGHT;
  const times: number[] = [];
  const frames: Buffer[] = [];
  for (let i = 0; i < FRAMES; i++) {
    const f = new Uint8Array(ySize * 1.5).fill(128);
    f.fill(16, 0, ySize);
    drawScene(f, i);
    const t = T0 + 33 * i + (i % 7);
    drawClock(f, WIDTH, HEIGHT, t);
    times.push(t);
    frames.push(Buffer.from(f));
  }
  return { raw: Buffer.concat(frames), times };
}

/** x264 (veryfast, 2 s GOP, B-frames as the publisher) then decode to `pixFmt` at `size`. */
function roundTrip(raw: Buffer, bitrate: string, size: string, pixFmt: 'gray' | 'rgba'): Buffer {
  const h264 = execFileSync(ffmpegPath, [
    '-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${WIDTH}x${HEIGHT}`, '-framerate', String(FPS), '-i', 'pipe:0',
    '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-b:v', bitrate, '-maxrate', bitrate, '-bufsize', bitrate, '-f', 'h264', 'pipe:1',
  ], { input: raw, maxBuffer: 256 << 20 });
  return execFileSync(ffmpegPath, ['-v', 'error', '-f', 'h264', '-i', 'pipe:0', '-s', size, '-f', 'rawvideo', '-pix_fmt', pixFmt, 'pipe:1'], { input: h264, maxBuffer: 256 << 20 });
}

function readBack(decoded: Buffer, w: number, h: number, kind: 'y' | 'rgba'): Array<number | null> {
  const frameBytes = w * h * (kind === 'y' ? 1 : 4);
  expect(decoded.length).to.equal(frameBytes * FRAMES);
  return Array.from({ length: FRAMES }, (_, i) => decodeClock(cellLevels(decoded.subarray(i * frameBytes, (i + 1) * frameBytes), w, h, kind)));
}

describe('bench: glass-to-glass clock pattern', function () {
  this.timeout(60_000);
  const { raw, times } = rawFrames();

  it('encodes 48 bits of time and a CRC-16 (CCITT-FALSE check value 0x29b1 for "123456789")', () => {
    expect(crc16(new TextEncoder().encode('123456789'))).to.equal(0x29b1);
    expect(clockBits(T0)).to.have.length(CLOCK_BITS);
    expect(decodeClock(clockBits(T0))).to.equal(T0);
    expect(() => clockBits(2 ** 48)).to.throw(RangeError);
    expect(() => clockBits(-1)).to.throw(RangeError);
    expect(() => clockBits(1.5)).to.throw(RangeError);
  });

  it('reads every frame back after x264 at the publisher bitrate (1500k), from the Y plane and from RGBA', () => {
    expect(readBack(roundTrip(raw, '1500k', '640x360', 'gray'), 640, 360, 'y')).to.deep.equal(times);
    expect(readBack(roundTrip(raw, '1500k', '640x360', 'rgba'), 640, 360, 'rgba')).to.deep.equal(times);
  });

  it('reads every frame back scaled to the 480x270 rung and at a starved 200 kbit/s', () => {
    expect(readBack(roundTrip(raw, '1500k', '480x270', 'rgba'), 480, 270, 'rgba')).to.deep.equal(times);
    expect(readBack(roundTrip(raw, '200k', '640x360', 'gray'), 640, 360, 'y')).to.deep.equal(times);
  });

  it('refuses a pattern with a wrong bit, a frame without a pattern, and a wrong cell count', () => {
    const levels: number[] = clockBits(T0).map((b) => (b ? 0.9 : 0.1));
    for (let bit = 0; bit < CLOCK_BITS; bit++) {
      const damaged = levels.slice();
      damaged[bit] = 1 - damaged[bit]!;
      expect(decodeClock(damaged), `bit ${bit} flipped`).to.equal(null);
    }
    const scene = new Uint8Array(WIDTH * HEIGHT).fill(16);
    drawScene(scene, 3);
    expect(decodeClock(cellLevels(scene, WIDTH, HEIGHT, 'y')), 'no pattern drawn').to.equal(null);
    expect(decodeClock(levels.slice(1))).to.equal(null);
  });
});
