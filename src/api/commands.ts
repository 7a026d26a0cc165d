/**
 * The commands API of docs/spec/coordinator-api.md: capacity, close, report. Thin: parse, call the
 * coordinator, answer JSON.
 */
import type { Capacity, Report } from '../coordinator/coordinator.types';
import type { CloseReason } from '../domain/stream';
import type { Route } from './api.types';
import { errorResponse, json } from './json';

const JSON_NO_CACHE = { 'Cache-Control': 'no-cache', 'Content-Type': 'application/json' };

/** What the commands need: the coordinator (one node), or the cluster's view (answered from Redis). */
export interface CommandTarget {
  capacity(): Capacity | Promise<Capacity>;
  report(): Report | Promise<Report>;
  close(channel: string, streamId: string, reason?: CloseReason): void | Promise<void>;
}

export function commandRoutes(target: CommandTarget): Route[] {
  // capacity() returns the same object while nothing changed: serialise it once per change.
  let last: { value: object; body: string } | null = null;
  const capacityBody = (value: Capacity) => {
    if (last?.value !== value) last = { value, body: JSON.stringify(value) };
    return last.body;
  };
  const respond = (value: Capacity) => ({ status: 200, headers: JSON_NO_CACHE, body: capacityBody(value) });
  return [
    {
      method: 'GET',
      pattern: '/commands/capacity',
      auth: true,
      headers: [],
      handler: () => {
        const value = target.capacity();
        return value instanceof Promise ? value.then(respond) : respond(value);
      },
    },
    { method: 'GET', pattern: '/commands/report', auth: true, headers: [], handler: async () => json(200, await target.report()) },
    {
      method: 'POST',
      pattern: '/commands/close',
      auth: true,
      headers: ['x-streaming-channel', 'x-streaming-id'],
      handler: async (req) => {
        const channel = (req.headers['x-streaming-channel'] ?? '').trim();
        const streamId = (req.headers['x-streaming-id'] ?? '').trim();
        if (channel === '') return errorResponse('BAD_REQUEST', 'missing x-streaming-channel header');
        if (streamId === '') return errorResponse('BAD_REQUEST', 'missing x-streaming-id header (use * for every session of the channel)');
        const closing = (await target.report()).activeStreams.filter((s) => s.channel === channel && (streamId === '*' || s.streamId === streamId))
          .map((s) => s.streamId);
        await target.close(channel, streamId);
        return json(200, { status: 'SUCCESS', closed: closing });
      },
    },
  ];
}
