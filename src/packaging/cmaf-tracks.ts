/** The tracks of one CMAF rendition: ids and timescales shared by the init segment and every fragment. */
import type { AudioConfig, TrackConfig, VideoConfig } from '../domain/media';

export const VIDEO_TIMESCALE = 90_000;

export interface CmafTrack {
  id: number;
  kind: 'video' | 'audio';
  timescale: number;
}

export interface CmafTracks {
  video: (CmafTrack & { config: VideoConfig }) | null;
  audio: (CmafTrack & { config: AudioConfig }) | null;
}

/** Video is track 1 when present; audio is the next id. */
export function cmafTracks(config: TrackConfig): CmafTracks {
  const video = config.video === null ? null : { id: 1, kind: 'video' as const, timescale: VIDEO_TIMESCALE, config: config.video };
  const audio = config.audio === null
    ? null
    : { id: video === null ? 1 : 2, kind: 'audio' as const, timescale: config.audio.sampleRate, config: config.audio };
  return { video, audio };
}

/** `CODECS` attribute of a variant: video first. */
export function codecsOf(config: TrackConfig): string {
  return [config.video?.codecString, config.audio?.codecString].filter((c) => c !== undefined).join(',');
}
