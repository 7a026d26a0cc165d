/**
 * The WS ingest URL `/{CHANNEL}/{KEY}/{KIND}` (docs/spec/cluster-protocols.md §1): parsing and validation.
 * Pure; the query string is not part of `url` (uWS strips it) and is ignored.
 */
import { isValidName } from '../../domain/names';

export const INGEST_KINDS = ['publish', 'receive', 'receive-clear-cache', 'probe'] as const;
export type IngestKind = (typeof INGEST_KINDS)[number];

export interface IngestPath {
  channel: string;
  key: string;
  kind: IngestKind;
}

export type IngestPathResult = { ok: true; path: IngestPath } | { ok: false; reason: string };


function isKind(value: string): value is IngestKind {
  return (INGEST_KINDS as readonly string[]).includes(value);
}

/** Parses a request path (without query). Exactly three non-empty segments are accepted. */
export function parseIngestPath(url: string, idMaxLength: number): IngestPathResult {
  const parts = url.split('/');
  if (parts.length !== 4 || parts[0] !== '') return { ok: false, reason: 'Not found' };
  const [, channel, key, kind] = parts as [string, string, string, string];
  if (!isValidName(channel, idMaxLength)) return { ok: false, reason: 'Invalid channel' };
  if (!isValidName(key, idMaxLength)) return { ok: false, reason: 'Invalid key' };
  if (!isKind(kind)) return { ok: false, reason: 'Invalid connection kind' };
  return { ok: true, path: { channel, key, kind } };
}
