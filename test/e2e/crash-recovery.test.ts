/**
 * Durable events across a crash: castline is SIGKILLed while a stream is live and the application
 * is refusing events; after a restart on the same state folder, every event is delivered and the
 * stream that was live gets its stream-closed (server-restart). Nothing lost; duplicates only
 * within at-least-once (same x-event-id).
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppServer } from '../helpers/app-server';
import { freePort, startProcess, type ServerProcess } from '../helpers/process';
import { waitUntil } from '../helpers/wait';
import { killAll, publish } from '../ingest/rtmp/rtmp-ffmpeg';

describe('end to end: crash and restart with events pending', function () {
  this.timeout(90_000);
  let cwd: string;
  let app: AppServer;
  const procs: ServerProcess[] = [];
  before(async () => {
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-crash-'));
    app = await new AppServer({ settings: { 'x-resolutions': '160x90-15', 'x-record': 'true' } }).start();
  });
  after(async () => {
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
});
