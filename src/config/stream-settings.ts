/**
 * The key-verification answer's `x-record`, `x-previews` and `x-resolutions` headers, parsed into
 * `StreamSettings` (docs/spec/coordinator-api.md; docs/spec/cluster-protocols.md §5), and rendered back
 * for ENCODE-START. Pure functions: no I/O, no throws, every problem comes back as a warning.
 *
 * Rules (tolerant where the reference is brittle, same outcomes where it is not):
 * - A header that is absent or blank counts as not sent: the configured default (same grammar) applies.
 * - `x-record`: true/false, yes/no, 1/0, on/off in any case. Anything else: false, with a warning.
 * - `x-previews`: `{W}x{H}, {SECONDS}` (spaces allowed around every part, `x` in any case) or
 *   `False` (any case; also `no`, `0`, `off`, `none`, `disabled`). Anything else: no previews, with a warning.
 * - `x-resolutions`: comma-separated parts, each `ORIGINAL` (any case, any position) or a rung
 *   `{W}x{H}[-{FPS}][~{KBPS}]` (spaces allowed around the separators). Malformed parts are ignored
 *   with a warning; if no usable part remains, the request is ORIGINAL.
 */
import type { PreviewSettings, ResolutionRequest, Rung, StreamSettings } from '../domain/settings';

/** Largest width or height accepted in a rung or a preview size. */
export const MAX_DIMENSION = 16384;
/** Largest frame rate accepted in a rung. */
export const MAX_FPS = 1000;
/** Largest bitrate (kbit/s) accepted in a rung. */
export const MAX_KBPS = 10_000_000;
/** Largest preview interval in seconds. */
export const MAX_PREVIEW_INTERVAL = 86_400;

/** The three response headers as received; `undefined`/`null` = absent. */
export interface SettingsHeaders {
  record?: string | null;
  previews?: string | null;
  resolutions?: string | null;
}

/** The configured defaults (`DEFAULT_RESOLUTIONS`, `DEFAULT_RECORD`, `DEFAULT_PREVIEWS`): raw header grammar. */
export interface SettingsDefaults {
  resolutions: string;
  record: boolean;
  previews: string;
}

/** A parsed value and the problems met on the way (human-readable, naming the header). */
export interface Parsed<T> {
  value: T;
  warnings: string[];
}

export interface ParsedSettings {
  settings: StreamSettings;
  warnings: string[];
}

const TRUE_WORDS = ['true', 'yes', '1', 'on'];
const FALSE_WORDS = ['false', 'no', '0', 'off'];
const PREVIEWS_OFF_WORDS = [...FALSE_WORDS, 'none', 'disabled'];

const RUNG = /^(\d+)\s*[xX]\s*(\d+)(?:\s*-\s*(\d+))?(?:\s*~\s*(\d+))?$/;
const PREVIEW = /^(\d+)\s*[xX]\s*(\d+)\s*,\s*(\d+)$/;

const isBlank = (raw: string | null | undefined): raw is null | undefined | '' => raw === undefined || raw === null || raw.trim() === '';
const quote = (s: string) => JSON.stringify(s);
const inRange = (n: number, max: number) => Number.isSafeInteger(n) && n >= 1 && n <= max;

/** Parses an `x-record` value. Unrecognised → false with a warning. */
export function parseRecord(raw: string): Parsed<boolean> {
  const s = raw.trim().toLowerCase();
  if (TRUE_WORDS.includes(s)) return { value: true, warnings: [] };
  if (FALSE_WORDS.includes(s)) return { value: false, warnings: [] };
  return { value: false, warnings: [`x-record ${quote(raw)} is not true or false; recording disabled`] };
}

/** Parses an `x-previews` value. `False` → null; malformed → null with a warning. */
export function parsePreviews(raw: string): Parsed<PreviewSettings | null> {
  const s = raw.trim();
  if (PREVIEWS_OFF_WORDS.includes(s.toLowerCase())) return { value: null, warnings: [] };
  const m = PREVIEW.exec(s);
  if (m === null) {
    return { value: null, warnings: [`x-previews ${quote(raw)} is not {W}x{H}, {SECONDS} or False; previews disabled`] };
  }
  const [width, height, intervalSeconds] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!inRange(width, MAX_DIMENSION) || !inRange(height, MAX_DIMENSION) || !inRange(intervalSeconds, MAX_PREVIEW_INTERVAL)) {
    return {
      value: null,
      warnings: [`x-previews ${quote(raw)} is out of range (size 1..${MAX_DIMENSION}, seconds 1..${MAX_PREVIEW_INTERVAL}); previews disabled`],
    };
  }
  return { value: { width, height, intervalSeconds }, warnings: [] };
}

/** Parses one rung `{W}x{H}[-{FPS}][~{KBPS}]` (already trimmed), or returns a reason it is not one. */
export function parseRung(part: string): Rung | string {
  const m = RUNG.exec(part);
  if (m === null) return 'is not ORIGINAL or {W}x{H}[-{FPS}][~{KBPS}]';
  const width = Number(m[1]);
  const height = Number(m[2]);
  const fps = m[3] === undefined ? -1 : Number(m[3]);
  const kbps = m[4] === undefined ? -1 : Number(m[4]);
  if (!inRange(width, MAX_DIMENSION) || !inRange(height, MAX_DIMENSION)) return `has a size outside 1..${MAX_DIMENSION}`;
  if (fps !== -1 && !inRange(fps, MAX_FPS)) return `has a frame rate outside 1..${MAX_FPS}`;
  if (kbps !== -1 && !inRange(kbps, MAX_KBPS)) return `has a bitrate outside 1..${MAX_KBPS} kbit/s`;
  return { width, height, fps, kbps };
}

/** Parses an `x-resolutions` value. Never empty: no usable part → ORIGINAL. */
export function parseResolutions(raw: string): Parsed<ResolutionRequest> {
  const warnings: string[] = [];
  let original = false;
  const rungs: Rung[] = [];
  for (const piece of raw.split(',')) {
    const part = piece.trim();
    if (part === '') continue;
    if (part.toUpperCase() === 'ORIGINAL') {
      original = true;
      continue;
    }
    const rung = parseRung(part);
    if (typeof rung === 'string') warnings.push(`x-resolutions part ${quote(part)} ${rung}; ignored`);
    else rungs.push(rung);
  }
  if (!original && rungs.length === 0) {
    if (raw.trim() !== '') warnings.push(`x-resolutions ${quote(raw)} has no usable part; using ORIGINAL`);
    original = true;
  }
  return { value: { original, rungs }, warnings };
}

/**
 * The settings from the three response headers; absent or blank headers take the defaults.
 * Warnings about the defaults themselves are included (start-up validation should have caught them).
 */
export function parseStreamSettings(headers: SettingsHeaders, defaults: SettingsDefaults): ParsedSettings {
  const warnings: string[] = [];
  const take = <T>(p: Parsed<T>): T => {
    warnings.push(...p.warnings);
    return p.value;
  };
  const record = isBlank(headers.record) ? defaults.record : take(parseRecord(headers.record));
  const previews = take(parsePreviews(isBlank(headers.previews) ? defaults.previews : headers.previews));
  const resolutions = take(parseResolutions(isBlank(headers.resolutions) ? defaults.resolutions : headers.resolutions));
  return { settings: { resolutions, record, previews }, warnings };
}

/** The id of one rung as used in headers and folder names: `WxH[-fps][~kbps]` (parts ≤ 0 omitted). */
export function renderRung(rung: Rung): string {
  return `${rung.width}x${rung.height}${rung.fps > 0 ? `-${rung.fps}` : ''}${rung.kbps > 0 ? `~${rung.kbps}` : ''}`;
}

/** The canonical `x-resolutions` / ENCODE-START `Resolutions` string: ORIGINAL first, comma-joined, no spaces. */
export function renderResolutions(request: ResolutionRequest): string {
  const parts = request.rungs.map(renderRung);
  if (request.original || parts.length === 0) parts.unshift('ORIGINAL');
  return parts.join(',');
}

/** The ENCODE-START `Previews` value: `WxH,SECONDS` or `False`. */
export function renderPreviews(previews: PreviewSettings | null): string {
  return previews === null ? 'False' : `${previews.width}x${previews.height},${previews.intervalSeconds}`;
}

/**
 * Start-up check of `DEFAULT_RESOLUTIONS` and `DEFAULT_PREVIEWS`: every problem, prefixed with the
 * variable name. Empty list = valid. Stricter than header parsing: any ignored part is a problem.
 */
export function validateSettingsDefaults(defaults: Pick<SettingsDefaults, 'resolutions' | 'previews'>): string[] {
  const problems: string[] = [];
  if (defaults.resolutions.trim() === '') {
    problems.push('DEFAULT_RESOLUTIONS must not be empty (use ORIGINAL)');
  } else {
    for (const w of parseResolutions(defaults.resolutions).warnings) problems.push(`DEFAULT_RESOLUTIONS: ${asProblem(w, 'x-resolutions')}`);
  }
  if (defaults.previews.trim() === '') {
    problems.push('DEFAULT_PREVIEWS must not be empty (use False)');
  } else {
    for (const w of parsePreviews(defaults.previews).warnings) problems.push(`DEFAULT_PREVIEWS: ${asProblem(w, 'x-previews')}`);
  }
  return problems;
}

/** `x-previews "a" is not …; previews disabled` → `"a" is not …` (the consequence does not apply at start-up). */
function asProblem(warning: string, header: string): string {
  return warning.slice(header.length + 1).replace(/; [^;]*$/, '');
}
