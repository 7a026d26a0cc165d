/**
 * A publish over RTMP, end to end through the real server: key verification by a real local
 * application, the encoder pool running ffmpeg, files on disk, events delivered to the
 * application — with real ffmpeg publishing. HLS_SEGMENT_FORMAT=mpegts: ffmpeg cuts the .ts segments
 * (the fmp4 default, packaged by castline, is test/e2e/encoded-cmaf.test.ts).
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
import { killAll, publish } from '../ingest/rtmp/rtmp-ffmpeg';

describe('end to end: RTMP publish → HLS ladder, recording, previews, events', function () {
  this.timeout(90_000);
  let app: AppServer;
  let castline: TestCastline;

  before(async () => {
    app = await new AppServer({ settings: { 'x-resolutions': '320x180-15, 160x90-15', 'x-record': 'true', 'x-previews': '160x90, 1' } }).start();
    castline = await startTestCastline({ KEY_VERIFICATION_URL: `${app.url}/verify`, EVENT_CALLBACK_URL: `${app.url}/events`, ENCODER_CAPACITY: '1', HLS_SEGMENT_FORMAT: 'mpegts' });
  });
  after(async () => {
    await killAll();
    await castline?.dispose();
    await app?.stop();
  });

  let streamId = '';

  it('turns a 320x180 RTMP publish into a 2-rung ladder, a recording and previews, and tells the application in order', async () => {
    const publisher = publish(`rtmp://127.0.0.1:${castline.rtmpPort}/ch1/good-key`, 6);
    const exit = await publisher.exited;
    expect(exit.code, publisher.stderr()).to.equal(0);
    await waitUntil(() => app.delivered().some((h) => h['x-event-type'] === 'stream-closed'), 'stream-closed event', 30_000);

    // Key verification: exactly the spec's request.
    expect(app.verifications).to.have.length(1);
    const v = app.verifications[0];
    expect(v.headers).to.include({ 'x-streaming-channel': 'ch1', 'x-streaming-key': 'good-key', 'x-user-ip': '127.0.0.1' });
    expect(v.body).to.equal('');

    const events = app.delivered();
    streamId = String(events[0]['x-streaming-id']);
    expect(streamId).to.match(/^[0-9a-f]{32}$/);
    expect(events.every((h) => h['x-streaming-channel'] === 'ch1' && h['x-streaming-id'] === streamId)).to.equal(true);
    expect(events.at(-1)).to.include({ 'x-event-type': 'stream-closed', 'x-close-reason': 'publisher-disconnected' });
    const available = events.filter((h) => h['x-event-type'] === 'stream-available').map((h) => `${h['x-stream-type']} ${h['x-resolution']} ${h['x-index-file']}`);
    expect(available).to.have.members([
      `HLS-LIVE 320x180-15 hls/ch1/${streamId}/320x180-15/live.m3u8`,
      `HLS-LIVE 160x90-15 hls/ch1/${streamId}/160x90-15/live.m3u8`,
      `HLS-VOD 320x180-15 hls/ch1/${streamId}/320x180-15/vod-0.m3u8`,
      `HLS-VOD 160x90-15 hls/ch1/${streamId}/160x90-15/vod-0.m3u8`,
      `IMG-PREVIEW 160x90-1 img-preview/ch1/${streamId}/160x90-1/index.json`,
    ]);
    expect(new Set(events.map((h) => h['x-event-id'])).size).to.equal(events.length);
  });

  it('writes every file of the layout; every listed segment is complete and decodes; playlists are final', () => {
    const base = path.join(castline.dataDir, 'hls', 'ch1', streamId);
    for (const [rendition, width, height] of [['320x180-15', 320, 180], ['160x90-15', 160, 90]] as const) {
      const dir = path.join(base, rendition);
      const live = parseMediaPlaylist(fs.readFileSync(path.join(dir, 'live.m3u8'), 'utf8'));
      const vod = parseMediaPlaylist(fs.readFileSync(path.join(dir, 'vod-0.m3u8'), 'utf8'));
      expect(live.ended, `${rendition} live ENDLIST`).to.equal(true);
      expect(vod.ended, `${rendition} vod ENDLIST`).to.equal(true);
      expect(vod.segments.length, 'VOD lists the whole stream').to.be.greaterThan(3);
      expect(vod.segments.map((s) => s.uri)).to.deep.equal(vod.segments.map((_, i) => `${i}.ts`));
      const longest = Math.max(...vod.segments.map((s) => s.duration));
      expect(vod.targetDuration).to.equal(Math.ceil(longest));
      for (const seg of vod.segments) {
        const file = path.join(dir, seg.uri);
        expect(fs.existsSync(file), file).to.equal(true);
        decodeFile(ffmpegPath, file);
      }
      const first = probeFile(path.join(dir, '0.ts'));
      expect(first).to.include({ width, height });
    }
    const master = fs.readFileSync(path.join(base, 'master.m3u8'), 'utf8');
    expect(master).to.match(/RESOLUTION=320x180/).and.to.match(/RESOLUTION=160x90/).and.to.match(/CODECS="avc1\./);
    const previews = path.join(castline.dataDir, 'img-preview', 'ch1', streamId, '160x90-1');
    const index = JSON.parse(fs.readFileSync(path.join(previews, 'index.json'), 'utf8')) as { index_start: number; count: number; pattern: string };
    expect(index).to.include({ index_start: 0, pattern: '%d.jpg' });
    expect(index.count).to.be.greaterThan(2);
    for (let i = 0; i < index.count; i++) expect(fs.existsSync(path.join(previews, `${i}.jpg`)), `${i}.jpg`).to.equal(true);
    expect(probeFile(path.join(previews, '0.jpg'))).to.include({ width: 160, height: 90 });
  });

  it('serves the playlists and segments over HTTP', async () => {
    const url = `http://127.0.0.1:${castline.httpPort}/hls/ch1/${streamId}/320x180-15`;
    const pl = await fetch(`${url}/live.m3u8`, { headers: { connection: 'close' } });
    expect(pl.status).to.equal(200);
    expect(await pl.text()).to.match(/^#EXTM3U/);
    const seg = await fetch(`${url}/0.ts`, { headers: { connection: 'close' } });
    expect(seg.status).to.equal(200);
    expect((await seg.arrayBuffer()).byteLength).to.be.greaterThan(188);
  });

  it('a refused key disconnects the publisher: no files, no events', async () => {
    const before = app.eventAttempts.length;
    const publisher = publish(`rtmp://127.0.0.1:${castline.rtmpPort}/ch2/bad-key`, 5);
    const exit = await publisher.exited;
    expect(exit.code).not.to.equal(0);
    expect(fs.existsSync(path.join(castline.dataDir, 'hls', 'ch2'))).to.equal(false);
    expect(app.eventAttempts.length).to.equal(before);
  });

  it('capacity full refuses the next publish before it goes live, and the first keeps streaming', async () => {
    const first = publish(`rtmp://127.0.0.1:${castline.rtmpPort}/cap-a/good-a`, 8);
    await waitUntil(() => castline.coordinator.capacity().load === 1, 'first live', 10_000);
    const second = publish(`rtmp://127.0.0.1:${castline.rtmpPort}/cap-b/good-b`, 5);
    const refused = await second.exited;
    expect(refused.code).not.to.equal(0);
    expect(first.running()).to.equal(true);
    const report = castline.coordinator.report();
    expect(report.activeStreams.map((s) => s.channel)).to.deep.equal(['cap-a']);
    expect((await first.exited).code).to.equal(0);
  });
});
