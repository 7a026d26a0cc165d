/**
 * Compressed media as the packager takes it: access units (one H.264 picture or one AAC frame)
 * with their timestamps, and the codec configuration a decoder needs before the first of them.
 * Whoever demuxes (the RTMP ingest, an FLV pipe from ffmpeg) produces these; `src/packaging/`
 * turns them into CMAF. Timestamps are milliseconds on the source's clock (FLV/RTMP resolution),
 * possibly fractional.
 */

export type TrackKind = 'video' | 'audio';

/** H.264 decoder configuration: the `AVCDecoderConfigurationRecord` (`avcC`) and what it says. */
export interface VideoConfig {
  codec: 'h264';
  /** AVCDecoderConfigurationRecord bytes, as carried in an FLV AVC sequence header / MP4 `avcC`. */
  avcC: Uint8Array;
  /** RFC 6381 codec string, e.g. `avc1.64001f`. */
  codecString: string;
  width: number;
  height: number;
  /** Bytes of each NAL unit's length prefix in the access units (1, 2 or 4). */
  nalLengthSize: number;
}

/** AAC decoder configuration: the `AudioSpecificConfig` and what it says. */
export interface AudioConfig {
  codec: 'aac';
  /** AudioSpecificConfig bytes, as carried in an FLV AAC sequence header / MP4 `esds`. */
  asc: Uint8Array;
  /** RFC 6381 codec string, e.g. `mp4a.40.2`. */
  codecString: string;
  sampleRate: number;
  channels: number;
  /** PCM samples per AAC frame (1024; 960 is not produced by RTMP encoders). */
  samplesPerFrame: number;
}

export interface TrackConfig {
  video: VideoConfig | null;
  audio: AudioConfig | null;
}

/** One coded picture (length-prefixed NAL units, AVCC form) or one raw AAC frame. */
export interface AccessUnit {
  track: TrackKind;
  /** Decode timestamp, ms. */
  dts: number;
  /** Presentation timestamp, ms (≥ dts for video with B-frames; = dts for audio). */
  pts: number;
  /** An IDR picture (video); every audio frame is a sync sample. */
  keyframe: boolean;
  data: Uint8Array;
  /** Wall clock (ms since the epoch) when it reached castline; the packager stamps it if absent. */
  receivedAt?: number;
}

/** What a demuxer yields, in stream order: configuration changes and access units. */
export type MediaEvent =
  | { type: 'config'; video?: VideoConfig; audio?: AudioConfig }
  | { type: 'unit'; unit: AccessUnit };

/**
 * How HLS segments are written (`HLS_SEGMENT_FORMAT`): `fmp4` = CMAF segments (`{n}.m4s` + `init.mp4`),
 * packaged by castline, served as Low-Latency HLS; `mpegts` = classic `{n}.ts` segments cut by ffmpeg.
 */
export const SEGMENT_FORMATS = ['fmp4', 'mpegts'] as const;
export type SegmentFormat = (typeof SEGMENT_FORMATS)[number];
