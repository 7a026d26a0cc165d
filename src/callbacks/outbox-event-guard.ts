/**
 * Runtime check of records read back from the outbox store (written by this or an older version,
 * possibly damaged): only well-formed events are re-sent.
 */
import { STREAM_TYPES } from '../domain/outputs';
import { CLOSE_REASONS } from '../domain/stream';
import type { LiveMarker, OutboxEvent } from './outbox.types';

const isOneOf = <T extends string>(list: readonly T[], v: unknown): v is T => typeof v === 'string' && (list as readonly string[]).includes(v);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isText = (v: unknown): v is string => typeof v === 'string' && v !== '';

export function isOutboxEvent(value: unknown): value is OutboxEvent {
  if (!isObject(value) || !isText(value.id) || !isText(value.channel) || !isText(value.streamId) || typeof value.createdAt !== 'number') return false;
  if (value.type === 'stream-closed') return isOneOf(CLOSE_REASONS, value.reason);
  if (value.type !== 'stream-available' || !isObject(value.output)) return false;
  const o = value.output;
  return (
    isOneOf(STREAM_TYPES, o.streamType) && isText(o.resolution) && isText(o.indexFile) &&
    (o.startTime === undefined || typeof o.startTime === 'number')
  );
}

export function isLiveMarker(value: unknown): value is LiveMarker {
  return isObject(value) && isText(value.channel) && isText(value.streamId) && typeof value.since === 'number';
}
