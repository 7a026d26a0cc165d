/**
 * RTMP passthrough packaged by castline itself (HLS_SEGMENT_FORMAT=fmp4, the default): an
 * OBS-like H.264 (B-frames) + AAC 48 kHz source published with real ffmpeg is turned into CMAF
 * segments without any ffmpeg process for the stream; every timestamp of the source survives.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ffmpegPath } from '../../src/encoding/binaries';
import { parseMediaPlaylist } from '../../src/encoding/playlist';
import { processesMentioning } from '../encoding/helpers';
import { AppServer } from '../helpers/app-server';
import { startTestCastline, type TestCastline } from '../helpers/castline';
import { sleep, waitUntil } from '../helpers/wait';
import { killAll, publishFile, publishObsLike } from '../ingest/rtmp/rtmp-ffmpeg';
import { decodeFrames, makeFlv, tempDir, type DecodedFrame } from '../packaging/media';

const videoPts = (frames: DecodedFrame[]) => frames.filter((f) => f.stream === 0).map((f) => Math.round(f.pts * 1000));
const audioPts = (frames: DecodedFrame[]) => frames.filter((f) => f.stream === 1).map((f) => f.pts);

/** What castline recorded decodes to the source's frames at the source's times, audio at the same offset. */
function expectSameTimestamps(recording: string, source: string): void {
  const ours = decodeFrames(recording);
  const theirs = decodeFrames(source);
  expect(videoPts(ours)).to.deep.equal(videoPts(theirs));
  const a = audioPts(ours);
  const b = audioPts(theirs);
  expect(a.length).to.equal(b.length);
  expect(a[0]! - videoPts(ours)[0]! / 1000).to.be.closeTo(b[0]! - videoPts(theirs)[0]! / 1000, 0.001);
  expect(a.at(-1)!).to.be.closeTo(b.at(-1)!, 0.002);
}

describe('end to end: RTMP passthrough packaged without ffmpeg (CMAF + LL-HLS)', function () {
  this.timeout(90_000);
  let app: AppServer;
  let castline: TestCastline;
  let media: string;
  let source: string;

  before(async () => {
    media = tempDir('passthrough-src');
    source = makeFlv(media, { seconds: 6, fps: 30, gop: 30, bframes: 2, sampleRate: 48000 });
    app = await new AppServer({ settings: { 'x-resolutions': 'ORIGINAL', 'x-record': 'true' } }).start();
    castline = await startTestCastline({ KEY_VERIFICATION_URL: `${app.url}/verify`, EVENT_CALLBACK_URL: `${app.url}/events` });
  });
  after(async () => {
    await killAll();
    await castline?.dispose();
    await app?.stop();
    fs.rmSync(media, { recursive: true, force: true });
  });

  it('publishes init.mp4 + {n}.m4s + playlists with no ffmpeg for the stream, and keeps every timestamp and the A/V offset', async () => {
    const url = `rtmp://127.0.0.1:${castline.rtmpPort}/ptch/good-key`;
    const publisher = publishFile(url, source);
    await waitUntil(() => app.delivered().some((h) => h['x-event-type'] === 'stream-available'), 'first stream-available', 20_000);
    // While live: the only process naming the stream's RTMP URL is the publisher itself.
    expect(processesMentioning(`127.0.0.1:${castline.rtmpPort}/ptch`).filter((l) => !l.includes(source))).to.deep.equal([]);
    expect((await publisher.exited).code, publisher.stderr()).to.equal(0);
    await waitUntil(() => app.delivered().some((h) => h['x-event-type'] === 'stream-closed'), 'stream-closed', 30_000);

    const events = app.delivered();
    const streamId = String(events[0]!['x-streaming-id']);
    const available = events.filter((h) => h['x-event-type'] === 'stream-available').map((h) => `${h['x-stream-type']} ${h['x-index-file']}`);
    expect(available).to.deep.equal([`HLS-LIVE hls/ptch/${streamId}/320x180-30/live.m3u8`, `HLS-VOD hls/ptch/${streamId}/320x180-30/vod-0.m3u8`]);
    expect(events.at(-1)).to.include({ 'x-event-type': 'stream-closed', 'x-close-reason': 'publisher-disconnected' });

    const dir = path.join(castline.dataDir, 'hls', 'ptch', streamId, '320x180-30');
    const vod = parseMediaPlaylist(fs.readFileSync(path.join(dir, 'vod-0.m3u8'), 'utf8'));
    expect(vod.ended).to.equal(true);
    expect(vod.segments.map((s) => s.uri)).to.deep.equal(vod.segments.map((_, i) => `${i}.m4s`));
    for (const s of vod.segments.slice(0, -1)) expect(s.duration).to.be.closeTo(1, 0.001);
    expect(fs.readFileSync(path.join(dir, 'live.m3u8'), 'utf8')).to.contain('#EXT-X-MAP:URI="init.mp4"');
    const master = fs.readFileSync(path.join(castline.dataDir, 'hls', 'ptch', streamId, 'master.m3u8'), 'utf8');
    expect(master).to.match(/CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);

    expectSameTimestamps(path.join(dir, 'vod-0.m3u8'), source);
  });

  it('an OBS-like 1080p60 source (B-frames, 2 s keyframes, AAC 48 kHz): every frame time and the A/V offset kept, no ffmpeg', async function () {
    this.timeout(120_000);
    const hd = makeFlv(media, { name: 'obs-1080p60.flv', seconds: 3, width: 1920, height: 1080, fps: 60, gop: 120, bframes: 2, sampleRate: 48000 });
    const publisher = publishFile(`rtmp://127.0.0.1:${castline.rtmpPort}/pthd/good-key`, hd);
    const live = (await waitUntil(() => app.delivered().find((h) => h['x-streaming-channel'] === 'pthd' && h['x-stream-type'] === 'HLS-LIVE'), 'HLS-LIVE', 20_000))!;
    expect(String(live['x-index-file'])).to.match(/\/1920x1080-60\/live\.m3u8$/);
    expect(processesMentioning(`127.0.0.1:${castline.rtmpPort}/pthd`).filter((l) => !l.includes(hd))).to.deep.equal([]);
    expect((await publisher.exited).code, publisher.stderr()).to.equal(0);
    const streamId = String(live['x-streaming-id']);
    await waitUntil(() => app.delivered().some((h) => h['x-event-type'] === 'stream-closed' && h['x-streaming-id'] === streamId), 'stream-closed', 30_000);
    expectSameTimestamps(path.join(castline.dataDir, path.dirname(String(live['x-index-file'])), 'vod-0.m3u8'), hd);
  });

  it('POST /commands/close ends a passthrough stream: publisher disconnected, last segment flushed, ENDLIST, close-command', async () => {
    const publisher = publishObsLike(`rtmp://127.0.0.1:${castline.rtmpPort}/ptclose/good-key`, 60);
    const live = (await waitUntil(() => app.delivered().find((h) => h['x-streaming-channel'] === 'ptclose' && h['x-stream-type'] === 'HLS-LIVE'), 'HLS-LIVE', 20_000))!;
    await sleep(1500);
    const res = await fetch(`http://127.0.0.1:${castline.httpPort}/commands/close`, { method: 'POST', headers: { 'x-streaming-channel': 'ptclose', 'x-streaming-id': '*' } });
    expect(res.status).to.equal(200);
    const closed = await waitUntil(() => app.delivered().find((h) => h['x-streaming-channel'] === 'ptclose' && h['x-event-type'] === 'stream-closed'), 'stream-closed', 20_000);
    expect(closed).to.include({ 'x-close-reason': 'close-command' });
    await waitUntil(() => !publisher.running(), 'the publisher disconnected', 10_000);
    const playlist = fs.readFileSync(path.join(castline.dataDir, String(live['x-index-file'])), 'utf8');
    expect(parseMediaPlaylist(playlist).ended).to.equal(true);
    // The LL playlist in memory is ended too (no preload hint, ENDLIST).
    const ll = await (await fetch(`http://127.0.0.1:${castline.httpPort}/${String(live['x-index-file'])}`)).text();
    expect(ll).to.contain('#EXT-X-ENDLIST');
    expect(ll).to.not.contain('PRELOAD-HINT');
  });

  it('a source it cannot pass through (Sorenson H.263 video) goes to ffmpeg: encoded, then packaged by castline (.m4s)', async () => {
    const other = path.join(media, 'h263.flv');
    execFileSync(ffmpegPath, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=15:duration=4', '-c:v', 'flv1', '-g', '15', '-f', 'flv', other]);
    const publisher = publishFile(`rtmp://127.0.0.1:${castline.rtmpPort}/h263/good-key`, other);
    expect((await publisher.exited).code, publisher.stderr()).to.equal(0);
    const closed = await waitUntil(() => app.delivered().find((h) => h['x-streaming-channel'] === 'h263' && h['x-event-type'] === 'stream-closed'), 'stream-closed', 40_000);
    expect(closed).to.include({ 'x-close-reason': 'publisher-disconnected' });
    const live = app.delivered().find((h) => h['x-streaming-channel'] === 'h263' && h['x-stream-type'] === 'HLS-LIVE')!;
    const playlist = parseMediaPlaylist(fs.readFileSync(path.join(castline.dataDir, String(live['x-index-file'])), 'utf8'));
    expect(playlist.segments.length).to.be.greaterThan(0);
    expect(playlist.segments.every((s) => s.uri.endsWith('.m4s'))).to.equal(true);
  });
});
