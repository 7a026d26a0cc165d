/** AAC configuration from an `AudioSpecificConfig` (ISO/IEC 14496-3 §1.6.2.1). Throws on a malformed one. */
import type { AudioConfig } from '../domain/media';
import { BitReader } from './bit-reader';

const SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

export function parseAudioSpecificConfig(asc: Uint8Array): AudioConfig {
  if (asc.length < 2) throw new Error('AudioSpecificConfig too short');
  const r = new BitReader(asc);
  let objectType = r.u(5);
  if (objectType === 31) objectType = 32 + r.u(6);
  const rateIndex = r.u(4);
  const sampleRate = rateIndex === 15 ? r.u(24) : SAMPLE_RATES[rateIndex];
  if (sampleRate === undefined || sampleRate === 0) throw new Error(`AudioSpecificConfig: bad sampling frequency index ${rateIndex}`);
  const channels = r.u(4);
  if (channels === 0) throw new Error('AudioSpecificConfig: channel configuration 0 (program config element) is not supported');
  return {
    codec: 'aac',
    asc: Buffer.from(asc),
    codecString: `mp4a.40.${objectType}`,
    sampleRate,
    channels: channels === 7 ? 8 : channels,
    samplesPerFrame: 1024,
  };
}
