/** How one stream is encoded: the parsed key-verification answer (`x-resolutions`, `x-record`, `x-previews`) or the defaults. */

/** One requested ladder rung: a box the source is fitted into. -1 = not given. */
export interface Rung {
  width: number;
  height: number;
  /** Frames per second; -1 = the source's. */
  fps: number;
  /** Video bitrate in kbit/s; -1 = the ladder's default for that size. */
  kbps: number;
}

/** What `x-resolutions` asked for. */
export interface ResolutionRequest {
  /** ORIGINAL was requested (the source as it is). */
  original: boolean;
  rungs: Rung[];
}

/** `x-previews`: one W x H JPEG every `intervalSeconds`. */
export interface PreviewSettings {
  width: number;
  height: number;
  intervalSeconds: number;
}

export interface StreamSettings {
  resolutions: ResolutionRequest;
  record: boolean;
  /** null = no previews. */
  previews: PreviewSettings | null;
}

/** Bounds every session's settings are held to (`MAX_RENDITIONS`, `RENDITION_*`, `PREVIEW_MIN_INTERVAL_SECONDS`). */
export interface EncodingLimits {
  /** Renditions per stream, ORIGINAL included. */
  maxRenditions: number;
  /** Smallest and largest width or height of a rung or preview, in pixels. */
  minDimension: number;
  maxDimension: number;
  /** Frame rate bounds of a rung that sets one. */
  minFps: number;
  maxFps: number;
  /** Shortest preview interval, in seconds. */
  previewMinIntervalSeconds: number;
}
