/**
 * One FLV tag body (what an RTMP audio/video message carries, what node-media-server hands out as
 * a packet) to a media event: AVC sequence header → video config, AVC NALUs → a video access unit
 * (dts = tag time, pts = dts + composition time), AAC sequence header → audio config, raw AAC →
 * an audio access unit (E.4.2/E.4.3 of the FLV spec v10.1). Script data and AVC end-of-sequence
 * yield nothing. Anything castline cannot package (another codec, enhanced RTMP) throws an
 * `UnsupportedMediaError` naming it. The data is copied (RTMP parsers reuse their buffers), unless
 * the caller says the body is its own (`bodyOwned`): then the access unit is a view into it.
 */
import type { MediaEvent } from '../domain/media';
import { parseAudioSpecificConfig } from './aac-config';
import { parseAvcC } from './avc-config';

export const FLV_AUDIO = 8;
export const FLV_VIDEO = 9;
export const FLV_SCRIPT = 18;

export class UnsupportedMediaError extends Error {}

const VIDEO_CODECS: Record<number, string> = { 2: 'Sorenson H.263', 3: 'Screen video', 4: 'VP6', 5: 'VP6 alpha', 6: 'Screen video v2', 7: 'H.264', 12: 'HEVC' };
const AUDIO_FORMATS: Record<number, string> = { 0: 'PCM', 1: 'ADPCM', 2: 'MP3', 3: 'PCM LE', 4: 'Nellymoser', 5: 'Nellymoser', 6: 'Nellymoser', 7: 'G.711 A-law', 8: 'G.711 mu-law', 10: 'AAC', 11: 'Speex', 14: 'MP3 8 kHz' };

/**
 * @param type FLV tag type (8 audio, 9 video, 18 script data)
 * @param timestamp tag time, ms
 * @param body the tag body (`size` bytes)
 * @param bodyOwned nothing will overwrite `body`: the access unit may be a view of it (no copy)
 */
export function flvTagToMedia(type: number, timestamp: number, body: Uint8Array, receivedAt?: number, bodyOwned = false): MediaEvent | null {
  if (type === FLV_VIDEO) return videoTag(timestamp, body, receivedAt, bodyOwned);
  if (type === FLV_AUDIO) return audioTag(timestamp, body, receivedAt, bodyOwned);
  return null;
}

/** Bytes `from` on of `body`: a view when the body is owned, else a copy. */
function payload(body: Uint8Array, from: number, owned: boolean): Uint8Array {
  return owned ? body.subarray(from) : Buffer.from(body.subarray(from));
}

function videoTag(timestamp: number, body: Uint8Array, receivedAt: number | undefined, owned: boolean): MediaEvent | null {
  if (body.length < 1) throw new UnsupportedMediaError('empty video tag');
  const first = body[0]!;
  if ((first & 0x80) !== 0) throw new UnsupportedMediaError('enhanced RTMP video (HEVC/AV1/VP9) is not supported: send H.264');
  const frameType = first >> 4;
  const codecId = first & 0x0f;
  if (frameType === 5) return null; // video info / command frame
  if (codecId !== 7) throw new UnsupportedMediaError(`video codec ${VIDEO_CODECS[codecId] ?? codecId} is not supported: send H.264`);
  if (body.length < 5) throw new UnsupportedMediaError('truncated AVC video tag');
  const packetType = body[1]!;
  if (packetType === 0) return { type: 'config', video: parseAvcC(body.subarray(5)) };
  if (packetType !== 1) return null; // 2 = end of sequence
  const cts = ((body[2]! << 16) | (body[3]! << 8) | body[4]!) << 8 >> 8; // signed 24-bit
  const data = payload(body, 5, owned);
  const unit = receivedAt === undefined
    ? { track: 'video' as const, dts: timestamp, pts: timestamp + cts, keyframe: frameType === 1, data }
    : { track: 'video' as const, dts: timestamp, pts: timestamp + cts, keyframe: frameType === 1, data, receivedAt };
  return { type: 'unit', unit };
}

function audioTag(timestamp: number, body: Uint8Array, receivedAt: number | undefined, owned: boolean): MediaEvent | null {
  if (body.length < 1) throw new UnsupportedMediaError('empty audio tag');
  const format = body[0]! >> 4;
  if (format === 9) throw new UnsupportedMediaError('enhanced RTMP audio is not supported: send AAC');
  if (format !== 10) throw new UnsupportedMediaError(`audio codec ${AUDIO_FORMATS[format] ?? format} is not supported: send AAC`);
  if (body.length < 2) throw new UnsupportedMediaError('truncated AAC audio tag');
  if (body[1] === 0) return { type: 'config', audio: parseAudioSpecificConfig(body.subarray(2)) };
  const data = payload(body, 2, owned);
  const unit = receivedAt === undefined
    ? { track: 'audio' as const, dts: timestamp, pts: timestamp, keyframe: true, data }
    : { track: 'audio' as const, dts: timestamp, pts: timestamp, keyframe: true, data, receivedAt };
  return { type: 'unit', unit };
}
