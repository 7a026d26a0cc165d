/**
 * Runtime check of records read back from the outbox store (written by this or an older version,
 * possibly damaged): only well-formed events are re-sent.
 */
import type { LiveMarker, OutboxEvent } from './outbox.types';

const STREAM_TYPES = ['HLS-LIVE', 'HLS-VOD', 'IMG-PREVIEW'];
const CLOSE_REASONS = ['publisher-disconnected', 'close-command', 'shutdown', 'server-restart', 'encoder-failed', 'input-stalled', 'invalid-media', 'workflow-removed', 'storage-full', 'storage-error'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isText = (v: unknown): v is string => typeof v === 'string' && v !== '';

export function isOutboxEvent(value: unknown): value is OutboxEvent {
  if (!isObject(value) || !isText(value.id) || !isText(value.channel) || !isText(value.streamId) || typeof value.createdAt !== 'number') return false;
  if (value.type === 'stream-closed') return typeof value.reason === 'string' && CLOSE_REASONS.includes(value.reason);
  if (value.type !== 'stream-available' || !isObject(value.output)) return false;
  const o = value.output;
  return (
    typeof o.streamType === 'string' && STREAM_TYPES.includes(o.streamType) && isText(o.resolution) && isText(o.indexFile) &&
    (o.startTime === undefined || typeof o.startTime === 'number')
  );
}

export function isLiveMarker(value: unknown): value is LiveMarker {
  return isObject(value) && isText(value.channel) && isText(value.streamId) && typeof value.since === 'number';
}
