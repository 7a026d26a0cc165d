/**
 * Bounds on what one stream may ask the encoder for, whoever asked (the key-verification answer's
 * `x-resolutions` / `x-previews`, a workflow's `hls_ladder resolutions=` / `previews=`, the
 * configured defaults). Pure: settings in, bounded settings and warnings out. The stream goes on
 * with what is left; every warning names what was dropped or changed.
 *
 * - Rungs: duplicates are merged; a rung whose width or height is outside
 *   `RENDITION_MIN_DIMENSION..RENDITION_MAX_DIMENSION` is dropped; a frame rate outside
 *   `RENDITION_MIN_FPS..RENDITION_MAX_FPS` is brought to the nearest bound; only the first
 *   `MAX_RENDITIONS` parts are kept (ORIGINAL, when asked, counts as one and is kept first). If no
 *   part is left the stream gets ORIGINAL, as when `x-resolutions` has no usable part.
 * - Previews: a size outside the dimension bounds or an interval below
 *   `PREVIEW_MIN_INTERVAL_SECONDS` disables the previews.
 */
import type { EncodingLimits, PreviewSettings, Rung, StreamSettings } from '../domain/settings';

export interface Limited {
  settings: StreamSettings;
  warnings: string[];
}

const rungId = (r: Rung) => `${r.width}x${r.height}${r.fps > 0 ? `-${r.fps}` : ''}${r.kbps > 0 ? `~${r.kbps}` : ''}`;

/** Names a list for a warning, shortened when long (a hostile answer may list thousands). */
export function nameList(ids: readonly string[], shown = 10): string {
  const head = ids.slice(0, shown).join(', ');
  return ids.length > shown ? `${head} and ${ids.length - shown} more` : head;
}

function boundRungs(rungs: readonly Rung[], limits: EncodingLimits, warnings: string[]): Rung[] {
  const kept: Rung[] = [];
  const seen = new Set<string>();
  const outOfBounds: string[] = [];
  for (const rung of rungs) {
    const { width, height } = rung;
    if (width < limits.minDimension || height < limits.minDimension || width > limits.maxDimension || height > limits.maxDimension) {
      outOfBounds.push(rungId(rung));
      continue;
    }
    let fps = rung.fps;
    if (fps > 0 && (fps < limits.minFps || fps > limits.maxFps)) {
      fps = Math.min(limits.maxFps, Math.max(limits.minFps, fps));
      warnings.push(`rung ${rungId(rung)}: frame rate brought to ${fps} (RENDITION_MIN_FPS..RENDITION_MAX_FPS = ${limits.minFps}..${limits.maxFps})`);
    }
    const bounded = { ...rung, fps };
    const id = rungId(bounded);
    if (seen.has(id)) continue;
    seen.add(id);
    kept.push(bounded);
  }
  if (outOfBounds.length > 0) {
    warnings.push(`rungs dropped, size outside ${limits.minDimension}..${limits.maxDimension} px (RENDITION_MIN_DIMENSION..RENDITION_MAX_DIMENSION): ${nameList(outOfBounds)}`);
  }
  return kept;
}

function boundPreviews(previews: PreviewSettings | null, limits: EncodingLimits, warnings: string[]): PreviewSettings | null {
  if (previews === null) return null;
  const { width, height, intervalSeconds } = previews;
  const id = `${width}x${height}, ${intervalSeconds}`;
  if (width < limits.minDimension || height < limits.minDimension || width > limits.maxDimension || height > limits.maxDimension) {
    warnings.push(`previews ${id} disabled: size outside ${limits.minDimension}..${limits.maxDimension} px (RENDITION_MIN_DIMENSION..RENDITION_MAX_DIMENSION)`);
    return null;
  }
  if (intervalSeconds < limits.previewMinIntervalSeconds) {
    warnings.push(`previews ${id} disabled: interval below PREVIEW_MIN_INTERVAL_SECONDS (${limits.previewMinIntervalSeconds} s)`);
    return null;
  }
  return previews;
}

/** The settings within `limits`, and a warning for everything dropped or changed. */
export function applyEncodingLimits(settings: StreamSettings, limits: EncodingLimits): Limited {
  const warnings: string[] = [];
  let rungs = boundRungs(settings.resolutions.rungs, limits, warnings);
  let original = settings.resolutions.original;
  const room = Math.max(0, limits.maxRenditions - (original ? 1 : 0));
  if (rungs.length > room) {
    const dropped = rungs.slice(room).map(rungId);
    warnings.push(`${dropped.length} rung(s) beyond MAX_RENDITIONS (${limits.maxRenditions}) dropped: ${nameList(dropped)}`);
    rungs = rungs.slice(0, room);
  }
  if (!original && rungs.length === 0) {
    warnings.push('no rung within the limits is left: using ORIGINAL');
    original = true;
  }
  const previews = boundPreviews(settings.previews, limits, warnings);
  return { settings: { ...settings, resolutions: { original, rungs }, previews }, warnings };
}
