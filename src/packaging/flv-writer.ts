/**
 * FLV bytes from tags (the inverse of `flv-reader.ts`): the file header and one tag with its
 * trailing PreviousTagSize. Used to feed a stream's own media to an ffmpeg on stdin. Pure; every
 * call returns a new buffer (safe to hand to a stream while the source buffer is reused).
 */

const TAG_HEADER_BYTES = 11;

/** `FLV` version 1, the audio/video flags, the 9-byte header length, then PreviousTagSize0 = 0. */
export function flvHeader(tracks: { audio: boolean; video: boolean }): Buffer {
  const b = Buffer.alloc(13);
  b.write('FLV', 0, 'latin1');
  b[3] = 1;
  b[4] = (tracks.audio ? 0x04 : 0) | (tracks.video ? 0x01 : 0);
  b.writeUInt32BE(9, 5);
  return b;
}

/** One tag: type (8 audio, 9 video, 18 script), timestamp in ms (32 bits, extended byte last), body, PreviousTagSize. */
export function flvTag(type: number, timestamp: number, body: Uint8Array): Buffer {
  const size = body.byteLength;
  if (size > 0xffffff) throw new RangeError(`FLV tag body of ${size} bytes`);
  const b = Buffer.allocUnsafe(TAG_HEADER_BYTES + size + 4);
  const ts = timestamp >>> 0;
  b[0] = type;
  b.writeUIntBE(size, 1, 3);
  b.writeUIntBE(ts & 0xffffff, 4, 3);
  b[7] = ts >>> 24;
  b.writeUIntBE(0, 8, 3);
  b.set(body, TAG_HEADER_BYTES);
  b.writeUInt32BE(TAG_HEADER_BYTES + size, TAG_HEADER_BYTES + size);
  return b;
}
