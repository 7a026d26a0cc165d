/**
 * The multivariant playlist `hls/{channel}/{streamId}/master.m3u8`: one entry per rendition that
 * has published its first segment, with BANDWIDTH, RESOLUTION, CODECS, FRAME-RATE. Pure.
 */

export interface MasterEntry {
  /** Rendition id (its folder): the URI is `{id}/live.m3u8`. */
  id: string;
  width: number;
  height: number;
  fps: number;
  /** Peak bits per second (video + audio + container overhead). */
  bandwidth: number;
  /** RFC 6381 codecs, e.g. `avc1.64001f,mp4a.40.2`. */
  codecs: string;
}

export function masterPlaylist(entries: readonly MasterEntry[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  const sorted = [...entries].sort((a, b) => b.bandwidth - a.bandwidth);
  for (const e of sorted) {
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${Math.round(e.bandwidth)},RESOLUTION=${e.width}x${e.height},FRAME-RATE=${e.fps.toFixed(3)},CODECS="${e.codecs}"`,
      `${e.id}/live.m3u8`,
    );
  }
  return lines.join('\n') + '\n';
}

/** Container overhead of MPEG-TS over the elementary streams, plus VBV headroom. */
const PEAK_FACTOR = 1.2;

/** BANDWIDTH of an encoded rendition from its configured bitrates. */
export function encodedBandwidth(videoKbps: number, audioKbps: number): number {
  return Math.round((videoKbps + audioKbps) * 1000 * PEAK_FACTOR);
}

/** BANDWIDTH of a copied rendition from a measured segment (bytes over seconds). */
export function measuredBandwidth(bytes: number, seconds: number): number {
  return seconds > 0 ? Math.round(((bytes * 8) / seconds) * PEAK_FACTOR) : 0;
}

/** H.264 level (×10) for a picture size and rate: the lowest whose macroblock limits allow it. */
export function h264Level(width: number, height: number, fps: number): number {
  const mbs = Math.ceil(width / 16) * Math.ceil(height / 16);
  const rate = mbs * fps;
  const levels: Array<[number, number, number]> = [
    [30, 1620, 40500],
    [31, 3600, 108000],
    [32, 5120, 216000],
    [40, 8192, 245760],
    [42, 8704, 522240],
    [50, 22080, 589824],
    [51, 36864, 983040],
    [52, 36864, 2073600],
  ];
  for (const [level, frame, perSecond] of levels) if (mbs <= frame && rate <= perSecond) return level;
  return 52;
}

const PROFILE_IDC: Record<string, string> = {
  baseline: '4200',
  'constrained baseline': '42e0',
  main: '4d40',
  extended: '5800',
  high: '6400',
  'high 10': '6e00',
  'high 4:2:2': '7a00',
  'high 4:4:4 predictive': 'f400',
};

/** `avc1.PPCCLL` for a profile name (as ffprobe spells it) and level_idc. */
export function avc1Codec(profile: string, level: number): string {
  const pc = PROFILE_IDC[profile.toLowerCase()] ?? '6400';
  return `avc1.${pc}${Math.max(0, Math.min(255, level)).toString(16).padStart(2, '0')}`;
}

export const AAC_LC_CODEC = 'mp4a.40.2';

const H264_PROFILES = new Set([66, 77, 88, 100, 110, 122, 244]);

/**
 * `avc1.PPCCLL` read from the first H.264 SPS in a byte stream (e.g. the start of an MPEG-TS
 * segment): what the encoder really produced (x264 lowers the profile for fast presets). null if
 * no SPS is found.
 */
export function avc1FromStream(bytes: Uint8Array): string | null {
  for (let i = 0; i + 6 < bytes.length; i++) {
    if (bytes[i] !== 0 || bytes[i + 1] !== 0 || bytes[i + 2] !== 1 || (bytes[i + 3]! & 0x1f) !== 7) continue;
    const profile = bytes[i + 4]!;
    if (!H264_PROFILES.has(profile)) continue;
    const hex = (b: number) => b.toString(16).padStart(2, '0');
    return `avc1.${hex(profile)}${hex(bytes[i + 5]!)}${hex(bytes[i + 6]!)}`;
  }
  return null;
}
