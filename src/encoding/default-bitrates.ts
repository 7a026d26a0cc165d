/**
 * The default bitrate ladder: the video bitrate of a rung whose request set none (`~KBPS` absent),
 * chosen by picture area — the first row whose area is at least the rung's — and raised by half
 * above 30 fps. Audio is AAC stereo at 96 kbit/s up to 360p-sized pictures, 128 kbit/s above.
 *
 * | reference size | area (px)  | video kbit/s (≤30 fps) | >30 fps |
 * |----------------|-----------:|-----------------------:|--------:|
 * | 256x144        |     36 864 |                    200 |     300 |
 * | 426x240        |    102 240 |                    400 |     600 |
 * | 640x360        |    230 400 |                    800 |    1200 |
 * | 854x480        |    409 920 |                   1200 |    1800 |
 * | 1280x720       |    921 600 |                   2500 |    3750 |
 * | 1920x1080      |  2 073 600 |                   4500 |    6750 |
 * | 2560x1440      |  3 686 400 |                   9000 |   13500 |
 * | 3840x2160      |  8 294 400 |                  16000 |   24000 |
 * | larger         |            |                  25000 |   37500 |
 *
 * Portrait pictures use the same table by area (406x720 is priced like 854x480).
 */
export const DEFAULT_VIDEO_LADDER: ReadonlyArray<{ width: number; height: number; kbps: number }> = [
  { width: 256, height: 144, kbps: 200 },
  { width: 426, height: 240, kbps: 400 },
  { width: 640, height: 360, kbps: 800 },
  { width: 854, height: 480, kbps: 1200 },
  { width: 1280, height: 720, kbps: 2500 },
  { width: 1920, height: 1080, kbps: 4500 },
  { width: 2560, height: 1440, kbps: 9000 },
  { width: 3840, height: 2160, kbps: 16000 },
];
const LARGEST_KBPS = 25000;

export function defaultVideoKbps(width: number, height: number, fps: number): number {
  const area = width * height;
  const row = DEFAULT_VIDEO_LADDER.find((r) => r.width * r.height >= area);
  const base = row ? row.kbps : LARGEST_KBPS;
  return fps > 30 ? Math.round(base * 1.5) : base;
}

export function defaultAudioKbps(width: number, height: number): number {
  return width * height <= 640 * 360 ? 96 : 128;
}
