/**
 * H.264 configuration from an `AVCDecoderConfigurationRecord` (ISO/IEC 14496-15 §5.3.3): the codec
 * string, the NAL length size and the picture size read from the first SPS (ITU-T H.264 §7.3.2.1).
 * Throws a described error on a malformed record: the caller turns it into a closed stream.
 */
import type { VideoConfig } from '../domain/media';
import { BitReader } from './bit-reader';

/** Profiles whose SPS carries chroma format, bit depths and scaling matrices. */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

export function parseAvcC(avcC: Uint8Array): VideoConfig {
  if (avcC.length < 7 || avcC[0] !== 1) throw new Error('invalid AVCDecoderConfigurationRecord');
  const nalLengthSize = (avcC[4]! & 0x03) + 1;
  const spsCount = avcC[5]! & 0x1f;
  if (spsCount < 1) throw new Error('AVCDecoderConfigurationRecord without SPS');
  const spsLength = (avcC[6]! << 8) | avcC[7]!;
  const sps = avcC.subarray(8, 8 + spsLength);
  if (sps.length !== spsLength || spsLength < 4) throw new Error('truncated SPS in AVCDecoderConfigurationRecord');
  const { width, height } = spsPictureSize(sps);
  const hex = (b: number) => b.toString(16).padStart(2, '0');
  return {
    codec: 'h264',
    avcC: Buffer.from(avcC),
    codecString: `avc1.${hex(avcC[1]!)}${hex(avcC[2]!)}${hex(avcC[3]!)}`,
    width,
    height,
    nalLengthSize,
  };
}

/** The RBSP of a NAL unit: header byte dropped, emulation-prevention bytes (00 00 03) removed. */
function rbsp(nal: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (let i = 1; i < nal.length; i++) {
    const byte = nal[i]!;
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    zeros = byte === 0 ? zeros + 1 : 0;
    out.push(byte);
  }
  return Uint8Array.from(out);
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Width and height in pixels after cropping. */
export function spsPictureSize(sps: Uint8Array): { width: number; height: number } {
  const r = new BitReader(rbsp(sps));
  const profile = r.u(8);
  r.u(16); // constraint flags + level
  r.ue(); // seq_parameter_set_id
  let chroma = 1;
  if (HIGH_PROFILES.has(profile)) {
    chroma = r.ue();
    if (chroma === 3) r.u(1);
    r.ue();
    r.ue();
    r.u(1);
    if (r.u(1) === 1) {
      for (let i = 0; i < (chroma === 3 ? 12 : 8); i++) if (r.u(1) === 1) skipScalingList(r, i < 6 ? 16 : 64);
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.u(1);
    r.se();
    r.se();
    const n = r.ue();
    for (let i = 0; i < n; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.u(1);
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.u(1);
  if (frameMbsOnly === 0) r.u(1);
  r.u(1);
  let crop = [0, 0, 0, 0];
  if (r.u(1) === 1) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
  const cropX = chroma === 0 || chroma === 3 ? 1 : 2;
  const cropY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
  return {
    width: widthMbs * 16 - (crop[0]! + crop[1]!) * cropX,
    height: (2 - frameMbsOnly) * heightMapUnits * 16 - (crop[2]! + crop[3]!) * cropY,
  };
}
