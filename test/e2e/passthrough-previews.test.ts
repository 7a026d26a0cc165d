/**
 * An RTMP passthrough stream with previews (`x-resolutions: ORIGINAL`, `x-previews`): packaged
 * in-process (CMAF, LL-HLS) while one small ffmpeg that decodes keyframes only writes the preview
 * images; that ffmpeg is supervised (killed with SIGKILL → restarted, the stream goes on) and
 * gone when the stream ends.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ffmpegPath } from '../../src/encoding/binaries';
import { parseMediaPlaylist } from '../../src/encoding/playlist';
import { processesMentioning } from '../encoding/helpers';
import { AppServer } from '../helpers/app-server';
import { startTestCastline, type TestCastline } from '../helpers/castline';
import { waitUntil } from '../helpers/wait';
import { killAll, publishObsLike } from '../ingest/rtmp/rtmp-ffmpeg';

describe('end to end: passthrough + previews from a keyframe-only ffmpeg', function () {
  this.timeout(90_000);
  let app: AppServer;
  let castline: TestCastline;

  before(async () => {
    app = await new AppServer({ settings: { 'x-resolutions': 'ORIGINAL', 'x-record': 'true', 'x-previews': '160x90, 1' } }).start();
    castline = await startTestCastline({ KEY_VERIFICATION_URL: `${app.url}/verify`, EVENT_CALLBACK_URL: `${app.url}/events` });
  });
  after(async () => {
    await killAll();
    await castline?.dispose();
    await app?.stop();
  });

  it('packages in-process, one -skip_frame ffmpeg writes the images; SIGKILLed it is restarted and the stream goes on; none is left at the end', async () => {
    const publisher = publishObsLike(`rtmp://127.0.0.1:${castline.rtmpPort}/ptprev/good-key`, 12, '320x180', 15);
    const events = () => app.delivered().filter((h) => h['x-streaming-channel'] === 'ptprev');
    const preview = (await waitUntil(() => events().find((h) => h['x-stream-type'] === 'IMG-PREVIEW'), 'IMG-PREVIEW', 20_000))!;
    expect(preview).to.include({ 'x-resolution': '160x90-1' });
    const streamId = String(preview['x-streaming-id']);
    const indexFile = path.join(castline.dataDir, String(preview['x-index-file']));
    const previewCount = () => (JSON.parse(fs.readFileSync(indexFile, 'utf8')) as { count: number }).count;

    // The only ffmpeg of castline: the preview one, keyframes only; the stream itself has none.
    const first = processesMentioning(castline.dataDir);
    expect(first).to.have.length(1);
    expect(first[0]).to.contain('-skip_frame nokey').and.contain(`img-preview/ptprev/${streamId}/160x90-1`);
    expect(processesMentioning(`127.0.0.1:${castline.rtmpPort}/ptprev`).filter((l) => !l.includes('lavfi'))).to.deep.equal([]);
    const live = events().find((h) => h['x-stream-type'] === 'HLS-LIVE')!;
    expect(fs.readFileSync(path.join(castline.dataDir, String(live['x-index-file'])), 'utf8')).to.contain('#EXT-X-MAP:URI="init.mp4"');

    const pid = Number(first[0]!.split(' ')[0]);
    process.kill(pid, 'SIGKILL');
    const countAtKill = previewCount();
    const second = await waitUntil(() => {
      const now = processesMentioning(castline.dataDir);
      return now.length === 1 && Number(now[0]!.split(' ')[0]) !== pid ? now[0] : undefined;
    }, 'a new preview ffmpeg', 10_000);
    expect(second).to.contain('-skip_frame nokey');
    const metrics = await (await fetch(`http://127.0.0.1:${castline.httpPort}/metrics`)).text();
    expect(metrics).to.match(/castline_ffmpeg_restarts_total\{reason="ffmpeg-crashed"\} 1\b/);
    await waitUntil(() => previewCount() >= countAtKill + 2, 'previews after the restart', 15_000);

    expect((await publisher.exited).code, publisher.stderr()).to.equal(0);
    const closed = await waitUntil(() => events().find((h) => h['x-event-type'] === 'stream-closed'), 'stream-closed', 30_000);
    expect(closed).to.include({ 'x-close-reason': 'publisher-disconnected' });
    expect(processesMentioning(castline.dataDir)).to.deep.equal([]);

    // The stream went on through the restart: one recording without gaps, every segment a .m4s.
    const vodEvent = events().find((h) => h['x-stream-type'] === 'HLS-VOD')!;
    const vod = parseMediaPlaylist(fs.readFileSync(path.join(castline.dataDir, String(vodEvent['x-index-file'])), 'utf8'));
    expect(vod.ended).to.equal(true);
    expect(vod.segments.every((s) => s.uri.endsWith('.m4s'))).to.equal(true);
    expect(vod.segments.reduce((sum, s) => sum + s.duration, 0)).to.be.closeTo(12, 0.8);

    // index.json counts exactly the images there; each is a 160x90 JPEG.
    const dir = path.dirname(indexFile);
    const count = previewCount();
    // 12 s at one image a second, less the slots lost while it was down (kill, 1 s backoff, restart).
    expect(count).to.be.within(5, 13);
    const images = fs.readdirSync(dir).filter((f) => f.endsWith('.jpg'));
    expect(images.sort()).to.deep.equal(Array.from({ length: count }, (_, i) => `${i}.jpg`).sort());
    const info = (file: string) => {
      const out = spawnSync(ffmpegPath, ['-hide_banner', '-i', path.join(dir, file), '-f', 'null', '-'], { encoding: 'utf8' });
      expect(out.status, out.stderr).to.equal(0);
      return out.stderr;
    };
    for (const file of ['0.jpg', `${count - 1}.jpg`]) expect(info(file)).to.match(/Video: mjpeg.*160x90/);
  });
});
