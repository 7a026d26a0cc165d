/**
 * The clock pattern of the glass-to-glass bench: a capture time (Date.now(), ms) drawn into a video
 * frame as 64 black/white cells, and read back from a decoded frame (a Y plane, or the RGBA pixels
 * of a canvas the browser drew the playing `<video>` into).
 *
 * Layout (relative to the frame, so any rendition size reads back): the top 4/9 of the frame is a
 * grid of 16 × 4 cells (40 × 40 px at 640x360: aligned to x264's 16 px macroblocks, so a cell never
 * shares a block with its neighbour). Cell i (row-major) carries bit i: bits 0–47 the time, most
 * significant first; bits 48–63 a CRC-16/CCITT-FALSE of the time's 6 bytes. A frame decoded with a
 * wrong bit fails the CRC (a false accept needs ≥ 3 wrong bits matching a CRC: ~1 in 65,536 of the
 * frames that are damaged at all). White is Y 235, black Y 16 (limited range, as x264 and browsers
 * expect); a cell is read as the mean of its central half and is a 1 when that mean is above mid grey.
 *
 * `cellLevels` is self-contained (no reference outside its body) so the bench can hand its source
 * to the page (`cellLevels.toString()`): the browser runs the very function the unit test checks.
 */
export const CLOCK_COLUMNS = 16;
export const CLOCK_ROWS = 4;
export const CLOCK_BITS = CLOCK_COLUMNS * CLOCK_ROWS;
/** Fraction of the frame height the grid takes (160 of 360 lines). */
export const CLOCK_HEIGHT_FRACTION = 4 / 9;
const TIME_BITS = 48;
const WHITE = 235;
const BLACK = 16;

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xffff) of `bytes`. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function timeBytes(ms: number): Uint8Array {
  const out = new Uint8Array(6);
  let v = ms;
  for (let i = 5; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

/** The 64 bits (0/1) that encode `ms`. */
export function clockBits(ms: number): number[] {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms >= 2 ** TIME_BITS) throw new RangeError(`time ${ms} does not fit ${TIME_BITS} bits`);
  const bytes = [...timeBytes(ms), ...timeBytes(crc16(timeBytes(ms))).slice(4)];
  return bytes.flatMap((b) => Array.from({ length: 8 }, (_, i) => (b >> (7 - i)) & 1));
}

/** Draws `ms` into the Y plane (`width` × `height`, one byte per pixel) of a frame; the rest is left as it is. */
export function drawClock(y: Uint8Array, width: number, height: number, ms: number): void {
  const bits = clockBits(ms);
  const gridHeight = Math.round(height * CLOCK_HEIGHT_FRACTION);
  for (let row = 0; row < gridHeight; row++) {
    const cellRow = Math.min(CLOCK_ROWS - 1, Math.floor((row * CLOCK_ROWS) / gridHeight));
    const line = row * width;
    for (let col = 0; col < CLOCK_COLUMNS; col++) {
      const x0 = Math.round((col * width) / CLOCK_COLUMNS);
      const x1 = Math.round(((col + 1) * width) / CLOCK_COLUMNS);
      y.fill(bits[cellRow * CLOCK_COLUMNS + col] ? WHITE : BLACK, line + x0, line + x1);
    }
  }
}

/**
 * The brightness (0 black … 1 white) of each of the 64 cells of a decoded frame: the mean over the
 * central half of the cell. `kind` 'y': one byte per pixel, limited-range luma; 'rgba': 4 bytes per
 * pixel (a canvas' ImageData), full range. Self-contained: its source runs in the browser page.
 */
export function cellLevels(data: ArrayLike<number>, width: number, height: number, kind: 'y' | 'rgba'): number[] {
  const columns = 16;
  const rows = 4;
  const gridHeight = Math.round((height * 4) / 9);
  const levels: number[] = [];
  for (let r = 0; r < rows; r++) {
    const y0 = (r * gridHeight) / rows;
    const cellH = gridHeight / rows;
    for (let c = 0; c < columns; c++) {
      const x0 = (c * width) / columns;
      const cellW = width / columns;
      let sum = 0;
      let n = 0;
      for (let y = Math.floor(y0 + cellH / 4); y < Math.ceil(y0 + (3 * cellH) / 4); y++) {
        for (let x = Math.floor(x0 + cellW / 4); x < Math.ceil(x0 + (3 * cellW) / 4); x++) {
          if (kind === 'y') sum += (data[y * width + x]! - 16) / 219;
          else {
            const i = (y * width + x) * 4;
            sum += (0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!) / 255;
          }
          n++;
        }
      }
      levels.push(n > 0 ? sum / n : 0);
    }
  }
  return levels;
}

/** The time the 64 cell levels encode, or null when they do not hold a valid clock (CRC mismatch, wrong count). */
export function decodeClock(levels: readonly number[]): number | null {
  if (levels.length !== CLOCK_BITS) return null;
  const bytes = new Uint8Array(8);
  levels.forEach((level, i) => {
    if (level > 0.5) bytes[i >> 3]! |= 1 << (7 - (i & 7));
  });
  let ms = 0;
  for (let i = 0; i < 6; i++) ms = ms * 256 + bytes[i]!;
  const crc = (bytes[6]! << 8) | bytes[7]!;
  return crc16(bytes.subarray(0, 6)) === crc ? ms : null;
}
