/**
 * The CMAF header (init segment): `ftyp` + `moov` with one `trak` per track and `mvex`/`trex`,
 * empty sample tables (ISO/IEC 14496-12 §8, ISO/IEC 23000-19 §7.3). Pure.
 */
import type { AudioConfig, VideoConfig } from '../domain/media';
import { BoxWriter } from './box-writer';
import type { CmafTrack, CmafTracks } from './cmaf-tracks';

const MATRIX = [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000];

export function initSegment(tracks: CmafTracks): Buffer {
  const w = new BoxWriter(2048);
  w.open('ftyp').fourcc('iso6').u32(1).fourcc('iso6').fourcc('cmfc').fourcc('mp41').close();
  w.open('moov');
  w.openFull('mvhd', 0, 0).u32(0).u32(0).u32(1000).u32(0).u32(0x00010000).u16(0x0100).zeros(10);
  for (const m of MATRIX) w.u32(m);
  w.zeros(24).u32((tracks.audio?.id ?? tracks.video?.id ?? 0) + 1).close();
  if (tracks.video !== null) trak(w, tracks.video, tracks.video.config);
  if (tracks.audio !== null) trak(w, tracks.audio, tracks.audio.config);
  w.open('mvex');
  for (const t of [tracks.video, tracks.audio]) {
    if (t !== null) w.openFull('trex', 0, 0).u32(t.id).u32(1).u32(0).u32(0).u32(0).close();
  }
  w.close().close();
  return w.finish();
}

function trak(w: BoxWriter, track: CmafTrack, config: VideoConfig | AudioConfig): void {
  const video = config.codec === 'h264' ? config : null;
  w.open('trak');
  w.openFull('tkhd', 0, 3).u32(0).u32(0).u32(track.id).u32(0).u32(0).zeros(8).u16(0).u16(0);
  w.u16(video === null ? 0x0100 : 0).u16(0);
  for (const m of MATRIX) w.u32(m);
  w.u32((video?.width ?? 0) * 65536).u32((video?.height ?? 0) * 65536).close();
  w.open('mdia');
  w.openFull('mdhd', 0, 0).u32(0).u32(0).u32(track.timescale).u32(0).u16(0x55c4).u16(0).close();
  const handler = video === null ? 'soun' : 'vide';
  w.openFull('hdlr', 0, 0).u32(0).fourcc(handler).zeros(12).bytes(Buffer.from(video === null ? 'SoundHandler\0' : 'VideoHandler\0')).close();
  w.open('minf');
  if (video === null) w.openFull('smhd', 0, 0).u16(0).u16(0).close();
  else w.openFull('vmhd', 0, 1).zeros(8).close();
  w.open('dinf').openFull('dref', 0, 0).u32(1).openFull('url ', 0, 1).close().close().close();
  w.open('stbl');
  w.openFull('stsd', 0, 0).u32(1);
  if (config.codec === 'h264') avc1(w, config);
  else mp4a(w, config, track.id);
  w.close();
  w.openFull('stts', 0, 0).u32(0).close();
  w.openFull('stsc', 0, 0).u32(0).close();
  w.openFull('stsz', 0, 0).u32(0).u32(0).close();
  w.openFull('stco', 0, 0).u32(0).close();
  w.close().close().close().close();
}

function avc1(w: BoxWriter, config: VideoConfig): void {
  w.open('avc1').zeros(6).u16(1).u16(0).u16(0).zeros(12);
  w.u16(config.width).u16(config.height).u32(0x00480000).u32(0x00480000).u32(0).u16(1).zeros(32).u16(0x0018).u16(0xffff);
  w.box('avcC', config.avcC);
  w.close();
}

function mp4a(w: BoxWriter, config: AudioConfig, esId: number): void {
  w.open('mp4a').zeros(6).u16(1).zeros(8).u16(config.channels).u16(16).u16(0).u16(0).u32((config.sampleRate & 0xffff) * 65536);
  const asc = config.asc;
  const decoderSpecific = 2 + asc.length;
  const decoderConfig = 2 + 13 + decoderSpecific;
  const es = 2 + 3 + decoderConfig + 3;
  w.openFull('esds', 0, 0);
  w.u8(0x03).u8(es - 2).u16(esId).u8(0);
  w.u8(0x04).u8(decoderConfig - 2).u8(0x40).u8(0x15).u24(0).u32(0).u32(0);
  w.u8(0x05).u8(asc.length).bytes(asc);
  w.u8(0x06).u8(1).u8(0x02);
  w.close().close();
}
