/**
 * The request headers of one event callback (docs/spec/coordinator-api.md "Event callbacks"),
 * plus castline's `x-event-id` and `x-close-reason`. Pure.
 */
import { validateHeaderName, validateHeaderValue } from 'node:http';
import type { OutboxEvent } from './outbox.types';

/** Every header of the POST for `event`, names lower-case. `authorization` null = none. */
export function eventHeaders(event: OutboxEvent, authorization: string | null): Record<string, string> {
  const headers: Record<string, string> = {
    'x-streaming-channel': event.channel,
    'x-streaming-id': event.streamId,
    'x-event-type': event.type,
    'x-event-id': event.id,
  };
  if (event.type === 'stream-available') {
    headers['x-stream-type'] = event.output.streamType;
    headers['x-resolution'] = event.output.resolution;
    headers['x-index-file'] = event.output.indexFile;
    const start = event.output.startTime;
    if (start !== undefined && Number.isFinite(start)) headers['x-start-time'] = String(start);
  } else {
    headers['x-close-reason'] = event.reason;
  }
  if (authorization !== null) headers['authorization'] = authorization;
  return headers;
}

/** Why these headers cannot be sent (a CR/LF or other forbidden character), or null if they can. */
export function headerProblem(headers: Record<string, string>): string | null {
  for (const [name, value] of Object.entries(headers)) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch (err) {
      return `${name}: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  return null;
}
