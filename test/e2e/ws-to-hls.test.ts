/**
 * Publishing over WebSocket, end to end through the real server: an ffmpeg FLV pipe and a
 * browser-like WebM (VP8/Opus, MediaRecorder-style slices) become HLS; refusals, close commands and
 * quick reconnects have their defined outcomes. HLS_SEGMENT_FORMAT=mpegts here (ffmpeg cuts .ts); a
 * WS WebM publish packaged by castline (fmp4) is in test/e2e/encoded-cmaf.test.ts.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ffmpegPath } from '../../src/encoding/binaries';
import { parseMediaPlaylist } from '../../src/encoding/playlist';
import { decodeFile, probeFile } from '../encoding/helpers';
import { AppServer } from '../helpers/app-server';
import { startTestCastline, type TestCastline } from '../helpers/castline';
import { waitUntil } from '../helpers/wait';
import { killWsPublishers, publishWs } from '../helpers/ws-publisher';

describe('end to end: WebSocket publish → HLS', function () {
  this.timeout(90_000);
  let app: AppServer;
  let castline: TestCastline;
  const wsUrl = (p: string) => `ws://127.0.0.1:${castline.httpPort}${p}`;
  const closedEvent = (streamId: string) => app.deliveredFor(streamId).find((h) => h['x-event-type'] === 'stream-closed');

  before(async () => {
    app = await new AppServer({ settings: { 'x-resolutions': '320x180-15,160x90-15', 'x-record': 'true', 'x-previews': '160x90,1' } }).start();
    castline = await startTestCastline({ KEY_VERIFICATION_URL: `${app.url}/verify`, EVENT_CALLBACK_URL: `${app.url}/events`, HLS_SEGMENT_FORMAT: 'mpegts' });
  });
  after(async () => {
    await killWsPublishers();
    await castline?.dispose();
    await app?.stop();
  });

  for (const kind of ['flv', 'webm'] as const) {
    it(`${kind === 'flv' ? 'an ffmpeg FLV pipe' : 'browser-like WebM VP8/Opus chunks'} becomes a decodable H.264/AAC ladder with recording, previews and ordered events`, async () => {
      const channel = `ws-${kind}`;
      const pub = publishWs(wsUrl(`/${channel}/good-${kind}/publish`), kind, 6);
      await pub.opened;
      await pub.closed;
      await waitUntil(() => app.delivered().some((h) => h['x-streaming-channel'] === channel && h['x-event-type'] === 'stream-closed'), 'stream-closed', 30_000);
      const events = app.delivered().filter((h) => h['x-streaming-channel'] === channel);
      const streamId = String(events[0]['x-streaming-id']);
      expect(events.at(-1)).to.include({ 'x-event-type': 'stream-closed', 'x-close-reason': 'publisher-disconnected' });
      expect(events.filter((h) => h['x-event-type'] === 'stream-available').map((h) => `${h['x-stream-type']} ${h['x-resolution']}`)).to.have.members([
        'HLS-LIVE 320x180-15', 'HLS-LIVE 160x90-15', 'HLS-VOD 320x180-15', 'HLS-VOD 160x90-15', 'IMG-PREVIEW 160x90-1',
      ]);
      const dir = path.join(castline.dataDir, 'hls', channel, streamId, '320x180-15');
      const vod = parseMediaPlaylist(fs.readFileSync(path.join(dir, 'vod-0.m3u8'), 'utf8'));
      expect(vod.ended).to.equal(true);
      expect(vod.segments.length).to.be.greaterThan(3);
      for (const seg of vod.segments) decodeFile(ffmpegPath, path.join(dir, seg.uri));
      const probe = probeFile(path.join(dir, '0.ts'));
      expect(probe).to.include({ width: 320, height: 180 });
      expect(probe.codecs).to.deep.equal(['h264', 'aac']);
    });
  }

  it('a refused key gets 403 before the upgrade: no session, no events', async () => {
    const before = app.eventAttempts.length;
    const pub = publishWs(wsUrl('/ws-refused/bad-key/publish'), 'flv', 3);
    const err = await pub.opened.then(() => null, (e: { status?: number }) => e);
    expect(err?.status).to.equal(403);
    expect(castline.coordinator.sessionCount()).to.equal(0);
    expect(app.eventAttempts.length).to.equal(before);
  });

  it('bad channel, key or kind → 404 before the upgrade', async () => {
    for (const p of ['/bad.channel/good-k/publish', '/ch/bad key/publish', '/ch/good-k/watch', '/only/two']) {
      const err = await publishWs(wsUrl(p), 'flv', 1).opened.then(() => null, (e: { status?: number }) => e);
      expect(err?.status, p).to.equal(404);
    }
  });

  it('POST /commands/close disconnects the WS publisher with an ERROR: message and closes the stream (close-command)', async () => {
    const pub = publishWs(wsUrl('/ws-close/good-close/publish'), 'flv', 30);
    await pub.opened;
    await waitUntil(() => castline.coordinator.report().activeStreams.some((s) => s.channel === 'ws-close'), 'live', 10_000);
    const res = await fetch(`http://127.0.0.1:${castline.httpPort}/commands/close`, {
      method: 'POST', headers: { 'x-streaming-channel': 'ws-close', 'x-streaming-id': '*', connection: 'close' },
    });
    const body = (await res.json()) as { closed: string[] };
    expect(res.status).to.equal(200);
    expect(body.closed).to.have.length(1);
    await pub.closed;
    expect(pub.texts.some((t) => t.startsWith('ERROR:'))).to.equal(true);
    await waitUntil(() => closedEvent(body.closed[0]), 'stream-closed', 20_000);
    expect(closedEvent(body.closed[0])).to.include({ 'x-close-reason': 'close-command' });
  });

  it('a quick reconnect on the same channel gets a new stream id and is not killed by the old session\'s teardown', async () => {
    const first = publishWs(wsUrl('/ws-re/good-re/publish'), 'flv', 30);
    await first.opened;
    await waitUntil(() => castline.coordinator.livePublisher('ws-re'), 'first live', 10_000);
    const oldId = castline.coordinator.livePublisher('ws-re')!.streamId;
    first.stop();
    await first.closed;
    await waitUntil(() => castline.coordinator.livePublisher('ws-re') === null, 'channel free', 5_000);
    const second = publishWs(wsUrl('/ws-re/good-re/publish'), 'flv', 8);
    await second.opened;
    await waitUntil(() => castline.coordinator.livePublisher('ws-re'), 'second live', 10_000);
    const newId = castline.coordinator.livePublisher('ws-re')!.streamId;
    expect(newId).not.to.equal(oldId);
    await waitUntil(() => closedEvent(oldId), 'old stream closed', 20_000);
    // The old session has fully closed; the new publisher is still live and encoding.
    expect(castline.coordinator.livePublisher('ws-re')?.streamId).to.equal(newId);
    expect(second.ws.readyState).to.equal(second.ws.OPEN);
    await second.closed;
    await waitUntil(() => closedEvent(newId), 'new stream closed', 20_000);
    expect(closedEvent(newId)).to.include({ 'x-close-reason': 'publisher-disconnected' });
    expect(app.deliveredFor(newId).some((h) => h['x-stream-type'] === 'HLS-LIVE')).to.equal(true);
  });
});
