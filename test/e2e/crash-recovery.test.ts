/**
 * Across a crash (castline SIGKILLed while a stream is live, restarted on the same folders):
 * - durable events: the application was refusing events; after the restart every event is
 *   delivered and the stream that was live gets its stream-closed (server-restart). Nothing lost;
 *   duplicates only within at-least-once (same x-event-id);
 * - final playlists: when the application receives that stream-closed and reads the files at that
 *   very moment, live.m3u8 has ENDLIST and the recording is VOD (issue 13).
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ffmpegPath } from '../../src/encoding/binaries';
import { parseMediaPlaylist, type ParsedPlaylist } from '../../src/encoding/playlist';
import { decodeFile, readableSegment } from '../encoding/helpers';
import { AppServer } from '../helpers/app-server';
import { freePort, startProcess, type ServerProcess } from '../helpers/process';
import { waitUntil } from '../helpers/wait';
import { killAll, publish } from '../ingest/rtmp/rtmp-ffmpeg';

describe('end to end: crash (kill -9) and restart', function () {
  this.timeout(90_000);
  let cwd: string;
  let app: AppServer;
  const procs: ServerProcess[] = [];
  beforeEach(async () => {
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-crash-'));
    app = await new AppServer({ settings: { 'x-resolutions': '160x90-15', 'x-record': 'true' } }).start();
  });
  afterEach(async () => {
    await killAll();
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await app.stop();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('delivers every event after kill -9 and a restart, and closes the stream that was live', async () => {
    const [http, rtmp] = [await freePort(), await freePort()];
    const env = {
      HTTP_PORT: String(http), RTMP_PORT: String(rtmp), BIND_ADDRESS: '127.0.0.1',
      KEY_VERIFICATION_URL: `${app.url}/verify`, EVENT_CALLBACK_URL: `${app.url}/events`,
      EVENT_CALLBACK_RETRY_BASE: '0.05', EVENT_CALLBACK_RETRY_MAX: '0.3',
      HLS_TIME_SECONDS: '1', HLS_H264_PRESET: 'ultrafast',
    };
    app.eventStatus = 500; // the application is down for events
    const first = startProcess(cwd, env);
    procs.push(first);
    await waitUntil(() => first.lines().some((l) => l.msg === 'RTMP listening'), 'first start', 15_000);
    publish(`rtmp://127.0.0.1:${rtmp}/crashy/good-key`, 30);
    // The first event is being retried (500); later ones of the stream queue behind it. Wait
    // until the recording playlist exists on disk: its HLS-VOD event has been enqueued too.
    await waitUntil(() => app.eventAttempts.length >= 2, 'event retries', 20_000);
    const streamId = String(app.eventAttempts[0].headers['x-streaming-id']);
    const vod = path.join(cwd, 'data', 'hls', 'crashy', streamId, '160x90-15', 'vod-0.m3u8');
    await waitUntil(() => fs.existsSync(vod), 'recording playlist', 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    const refusedIds = new Set(app.eventAttempts.map((e) => String(e.headers['x-event-id'])));
    first.child.kill('SIGKILL');
    await first.exited;
    await killAll();

    app.eventStatus = null; // the application is back
    const second = startProcess(cwd, env);
    procs.push(second);
    await waitUntil(() => app.deliveredFor(streamId).some((h) => h['x-event-type'] === 'stream-closed'), 'stream-closed after restart', 20_000);
    await waitUntil(() => [...refusedIds].every((id) => app.delivered().some((h) => h['x-event-id'] === id)), 'every refused event delivered', 10_000);

    const delivered = app.deliveredFor(streamId);
    const types = delivered.map((h) => `${h['x-event-type']}/${h['x-stream-type'] ?? ''}`);
    expect(types).to.include.members(['stream-available/HLS-LIVE', 'stream-available/HLS-VOD']);
    expect(delivered.at(-1)).to.include({ 'x-event-type': 'stream-closed', 'x-close-reason': 'server-restart' });
    expect(delivered.filter((h) => h['x-event-type'] === 'stream-closed')).to.have.length(1);
    // stream-available events come before the stream-closed, in their original order.
    const ids = delivered.map((h) => String(h['x-event-id']));
    expect(new Set(ids).size).to.equal(ids.length);

    await waitUntil(() => second.lines().some((l) => l.msg === 'RTMP listening'), 'second start', 15_000);
    second.child.kill('SIGTERM');
    expect(await second.exited).to.equal(0);
  });

  it('live.m3u8 has ENDLIST and the recording is VOD when the application reads them on stream-closed', async () => {
    const [http, rtmp] = [await freePort(), await freePort()];
    const env = {
      HTTP_PORT: String(http), RTMP_PORT: String(rtmp), BIND_ADDRESS: '127.0.0.1',
      KEY_VERIFICATION_URL: `${app.url}/verify`, EVENT_CALLBACK_URL: `${app.url}/events`,
      EVENT_CALLBACK_RETRY_BASE: '0.05', EVENT_CALLBACK_RETRY_MAX: '0.3', HLS_TIME_SECONDS: '1', HLS_H264_PRESET: 'ultrafast',
    };
    const first = startProcess(cwd, env);
    procs.push(first);
    await waitUntil(() => first.lines().some((l) => l.msg === 'RTMP listening'), 'first start', 15_000);
    publish(`rtmp://127.0.0.1:${rtmp}/crashed/good-key`, 30);
    await waitUntil(() => app.delivered().some((h) => h['x-stream-type'] === 'HLS-VOD'), 'the recording announced', 20_000);
    const streamId = String(app.delivered()[0]['x-streaming-id']);
    const dir = path.join(cwd, 'data', 'hls', 'crashed', streamId, '160x90-15');
    const read = (file: string) => parseMediaPlaylist(fs.readFileSync(path.join(dir, file), 'utf8'));
    await waitUntil(() => read('vod-0.m3u8').segments.length >= 3, 'three recorded segments', 20_000);
    expect(read('live.m3u8').ended, 'live before the crash').to.equal(false);
    expect(read('vod-0.m3u8').playlistType).to.equal('EVENT');
    first.child.kill('SIGKILL');
    await first.exited;
    await killAll();

    // The application reads the index files the moment the stream-closed arrives.
    let atClose: { live: ParsedPlaylist; vod: ParsedPlaylist } | null = null;
    app.onEvent = (headers) => {
      if (headers['x-event-type'] === 'stream-closed' && atClose === null) atClose = { live: read('live.m3u8'), vod: read('vod-0.m3u8') };
    };
    const second = startProcess(cwd, env);
    procs.push(second);
    await waitUntil(() => app.deliveredFor(streamId).some((h) => h['x-event-type'] === 'stream-closed'), 'stream-closed after restart', 20_000);
    expect(app.deliveredFor(streamId).at(-1)).to.include({ 'x-close-reason': 'server-restart' });
    const { live, vod } = atClose!;
    expect(live.ended, 'live.m3u8 ends').to.equal(true);
    expect(vod.ended, 'vod-0.m3u8 ends').to.equal(true);
    expect(vod.playlistType).to.equal('VOD');
    expect(vod.segments.length).to.be.at.least(3);
    for (const s of vod.segments) decodeFile(ffmpegPath, readableSegment(dir, s.uri)); // every listed segment exists and decodes
    expect(second.lines().some((l) => l.msg === 'playlists of a stream cut by a crash ended')).to.equal(true);
    expect(fs.existsSync(path.join(cwd, 'data', '.staging', 'crashed', streamId)), 'staging removed').to.equal(false);

    await waitUntil(() => second.lines().some((l) => l.msg === 'RTMP listening'), 'second start', 15_000);
    second.child.kill('SIGTERM');
    expect(await second.exited).to.equal(0);
  });
});
