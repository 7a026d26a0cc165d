import { expect } from 'chai';
import { eventHeaders, headerProblem } from '../../src/callbacks/event-headers';
import type { OutboxEvent } from '../../src/callbacks/outbox.types';

const base = { id: 'ev-1', channel: 'ch', streamId: '0123456789abcdef0123456789abcdef', createdAt: 0 };

describe('event-headers', () => {
  const table: Array<[string, OutboxEvent, string | null, Record<string, string>]> = [
    [
      'stream-available HLS-LIVE, no auth',
      { ...base, type: 'stream-available', output: { streamType: 'HLS-LIVE', resolution: '1280x720-30~2500', indexFile: 'hls/ch/id/1280x720-30~2500/live.m3u8' } },
      null,
      {
        'x-streaming-channel': 'ch', 'x-streaming-id': base.streamId, 'x-event-type': 'stream-available', 'x-event-id': 'ev-1',
        'x-stream-type': 'HLS-LIVE', 'x-resolution': '1280x720-30~2500', 'x-index-file': 'hls/ch/id/1280x720-30~2500/live.m3u8',
      },
    ],
    [
      'stream-available HLS-VOD with a start time, Bearer',
      { ...base, type: 'stream-available', output: { streamType: 'HLS-VOD', resolution: '640x360-30', indexFile: 'hls/ch/id/640x360-30/vod-1.m3u8', startTime: 172800.5 } },
      'Bearer t',
      {
        'x-streaming-channel': 'ch', 'x-streaming-id': base.streamId, 'x-event-type': 'stream-available', 'x-event-id': 'ev-1',
        'x-stream-type': 'HLS-VOD', 'x-resolution': '640x360-30', 'x-index-file': 'hls/ch/id/640x360-30/vod-1.m3u8', 'x-start-time': '172800.5',
        authorization: 'Bearer t',
      },
    ],
    [
      'stream-available IMG-PREVIEW, start time 0 is sent, NaN is not',
      { ...base, type: 'stream-available', output: { streamType: 'IMG-PREVIEW', resolution: '256x144-5', indexFile: 'img-preview/ch/id/256x144-5/index.json', startTime: 0 } },
      null,
      {
        'x-streaming-channel': 'ch', 'x-streaming-id': base.streamId, 'x-event-type': 'stream-available', 'x-event-id': 'ev-1',
        'x-stream-type': 'IMG-PREVIEW', 'x-resolution': '256x144-5', 'x-index-file': 'img-preview/ch/id/256x144-5/index.json', 'x-start-time': '0',
      },
    ],
    [
      'stream-available, non-finite start time omitted',
      { ...base, type: 'stream-available', output: { streamType: 'HLS-VOD', resolution: '640x360-30', indexFile: 'x', startTime: Number.NaN } },
      null,
      { 'x-streaming-channel': 'ch', 'x-streaming-id': base.streamId, 'x-event-type': 'stream-available', 'x-event-id': 'ev-1', 'x-stream-type': 'HLS-VOD', 'x-resolution': '640x360-30', 'x-index-file': 'x' },
    ],
    [
      'stream-closed with reason, Basic',
      { ...base, type: 'stream-closed', reason: 'server-restart' },
      'Basic dTpw',
      { 'x-streaming-channel': 'ch', 'x-streaming-id': base.streamId, 'x-event-type': 'stream-closed', 'x-event-id': 'ev-1', 'x-close-reason': 'server-restart', authorization: 'Basic dTpw' },
    ],
  ];
  for (const [name, event, auth, expected] of table) {
    it(name, () => {
      const headers = eventHeaders(event, auth);
      expect(headers).to.deep.equal(expected);
      expect(headerProblem(headers)).to.equal(null);
    });
  }

  const problems: Array<[Record<string, string>, boolean]> = [
    [{ 'x-index-file': 'ok/path.m3u8' }, false],
    [{ 'x-index-file': 'bad\r\nx-injected: 1' }, true],
    [{ 'x-resolution': 'a\nb' }, true],
    [{ 'bad name': 'v' }, true],
  ];
  for (const [headers, bad] of problems) {
    it(`headerProblem(${JSON.stringify(headers)}) ${bad ? 'reports' : 'accepts'}`, () => {
      expect(headerProblem(headers) !== null).to.equal(bad);
    });
  }
});
