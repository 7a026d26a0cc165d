/**
 * RTMP URL conventions (docs/spec/cluster-protocols.md §1): `rtmp://{HOST}:{PORT}/{CHANNEL}/{KEY}`, so the
 * RTMP app is the channel and the stream name is the key. Both must match `^[A-Za-z0-9_-]+$` and be
 * at most `idMaxLength` characters. node-media-server itself refuses other characters but still
 * fires its events with empty app/name, so an empty value is invalid here too.
 */
import { isValidName } from '../../domain/names';

export type StreamPathResult =
  | { ok: true; channel: string; key: string }
  | { ok: false; reason: string };

/** Reads channel and key from an NMS session's app and stream name. */
export function parseStreamPath(app: string, name: string, maxLength: number): StreamPathResult {
  if (!isValidName(app, maxLength)) return { ok: false, reason: `invalid channel (${describe(app, maxLength)})` };
  if (!isValidName(name, maxLength)) return { ok: false, reason: `invalid key (${describe(name, maxLength)})` };
  return { ok: true, channel: app, key: name };
}

function describe(value: string, maxLength: number): string {
  if (value.length === 0) return 'empty';
  if (value.length > maxLength) return `longer than ${maxLength} characters`;
  return 'only A-Z a-z 0-9 _ - are allowed';
}
