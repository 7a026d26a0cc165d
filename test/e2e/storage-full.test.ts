/**
 * A full and a read-only output root (issue 13), for real: HLS_FILESYSTEM_PATH is a 2 MiB tmpfs
 * (mounted by the test: it needs root and fails loudly without it), filled with a file; real ffmpeg
 * publishes over RTMP and WebSocket; a real application receives the events.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import { AppServer } from '../helpers/app-server';
import { startTestCastline, type TestCastline } from '../helpers/castline';
import { captureLog, type CapturedLog } from '../helpers/log-capture';
import { waitUntil } from '../helpers/wait';
import { killAll, publish } from '../ingest/rtmp/rtmp-ffmpeg';

/** Mounts a tmpfs of `size`; throws with the reason when this machine does not allow it. */
function mountTmpfs(dir: string, size: string): void {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`this test needs to mount a tmpfs (root, mount(8)); it cannot run here: ${(err as { stderr?: Buffer }).stderr?.toString().trim() ?? String(err)}`);
  }
}

/** The HTTP status a WS publish upgrade is answered with (101 = accepted), and the body. */
function wsPublish(port: number, channel: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/${channel}/good-key/publish`);
    ws.on('open', () => {
      ws.close();
      resolve({ status: 101, body: '' });
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', () => undefined);
  });
}

// Both segment paths: `fmp4` (RTMP passthrough packaged by castline, written by StreamOutputs) and
// `mpegts` (ffmpeg cuts the segments; its stderr tells the fault).
for (const format of ['fmp4', 'mpegts'] as const) describe(`end to end: output storage full or read-only (${format})`, function () {
  this.timeout(90_000);
  let mount: string;
  let app: AppServer;
  let castline: TestCastline;
  let log: CapturedLog;
  const filler = () => path.join(mount, 'filler.bin');

  before(async () => {
    mount = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-tmpfs-'));
    mountTmpfs(mount, '2m');
    app = await new AppServer({ settings: { 'x-record': 'true' } }).start(); // recorded segments are kept: the disk fills
    log = captureLog();
    castline = await startTestCastline({
      HLS_FILESYSTEM_PATH: mount, STORAGE_MIN_FREE_MB: '0.1', ENCODER_MAX_RESTARTS: '3', HLS_SEGMENT_FORMAT: format,
      KEY_VERIFICATION_URL: `${app.url}/verify`, EVENT_CALLBACK_URL: `${app.url}/events`,
    }, log.logger);
  });
  after(async () => {
    await killAll();
    await castline?.dispose();
    await app?.stop();
    try {
      execFileSync('umount', [mount]);
    } catch {
      /* not mounted */
    }
    fs.rmSync(mount, { recursive: true, force: true });
  });

  const closed = (channel: string) => waitUntil(() => app.delivered().find((h) => h['x-streaming-channel'] === channel && h['x-event-type'] === 'stream-closed'), `stream-closed of ${channel}`, 40_000);

  it('disk full while live: stream-closed storage-full, once, without restarts; path and free space logged; the server keeps serving', async () => {
    // Leave ~400 KiB: above STORAGE_MIN_FREE_MB (0.1 MiB) so the publish is accepted, gone within seconds.
    fs.writeFileSync(filler(), Buffer.alloc(2 * 1024 * 1024 - 400 * 1024));
    const started = Date.now();
    const publisher = publish(`rtmp://127.0.0.1:${castline.rtmpPort}/full/good-key`, 60);
    const event = (await closed('full'))!;
    const elapsed = Date.now() - started;
    expect(event['x-close-reason']).to.equal('storage-full');
    await waitUntil(() => !publisher.running(), 'the publisher disconnected', 5000);
    const failures = log.find('output storage failed').filter((l) => l.ch === 'full');
    expect(failures).to.have.length(1);
    expect(failures[0].code).to.equal('STORAGE_FULL');
    expect(String(failures[0].detail)).to.match(/ENOSPC/).and.include(mount).and.match(/MiB free/);
    const closeLine = log.lines().find((l) => l.msg === 'stream closed' && l.ch === 'full')!;
    expect(closeLine).to.include({ reason: 'storage-full', restarts: 0 });
    expect(String(closeLine.detail)).to.not.match(/restart\(s\)/);
    expect(elapsed, 'no restarts with backoff were spent').to.be.below(20_000);
    expect(app.delivered().filter((h) => h['x-streaming-channel'] === 'full' && h['x-event-type'] === 'stream-closed')).to.have.length(1);
    expect((await fetch(`http://127.0.0.1:${castline.httpPort}/`)).status).to.equal(200);
  });

  it('while the root is full, new publishes are refused with STORAGE_FULL (WS 507, RTMP disconnected); accepted again once there is room', async () => {
    const free = fs.statfsSync(mount);
    expect(free.bavail * free.bsize, 'the tmpfs is (nearly) full').to.be.below(100 * 1024);
    const ws = await wsPublish(castline.httpPort, 'later');
    expect(ws.status).to.equal(507);
    expect(JSON.parse(ws.body)).to.include({ code: 'STORAGE_FULL' }).and.have.property('error').that.match(/output storage full/);
    const rtmp = publish(`rtmp://127.0.0.1:${castline.rtmpPort}/later2/good-key`, 5);
    expect((await rtmp.exited).code, 'the RTMP publisher was disconnected').to.not.equal(0);
    expect(log.find('publish refused').filter((l) => l.code === 'STORAGE_FULL').length).to.be.at.least(2);

    fs.rmSync(filler());
    expect((await wsPublish(castline.httpPort, 'roomy')).status).to.equal(101);
  });

  it('the output folder of a live stream replaced by a symlink out of the root: storage-error, nothing written outside', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-outside-'));
    try {
      const publisher = publish(`rtmp://127.0.0.1:${castline.rtmpPort}/moved/good-key`, 60);
      const live = await waitUntil(() => app.delivered().find((h) => h['x-streaming-channel'] === 'moved' && h['x-stream-type'] === 'HLS-LIVE'), 'the stream live', 20_000);
      const rendition = path.dirname(path.join(mount, String(live!['x-index-file'])));
      fs.renameSync(rendition, `${rendition}.old`);
      fs.symlinkSync(outside, rendition);
      const event = (await closed('moved'))!;
      expect(event['x-close-reason']).to.equal('storage-error');
      await waitUntil(() => !publisher.running(), 'the publisher disconnected', 5000);
      expect(fs.readdirSync(outside), 'nothing written through the symlink').to.deep.equal([]);
      // A write between the rename and the symlink finds its folder gone (ENOENT); one after it, the symlink.
      expect(String(log.find('output storage failed').find((l) => l.ch === 'moved')?.detail)).to.match(/symlink|output folder removed or replaced \(ENOENT\)/);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('read-only root: new publishes are refused with STORAGE_ERROR (WS 503); the server keeps serving', async () => {
    await waitUntil(() => castline.coordinator.sessionCount() === 0, 'every session over (no open files on the mount)', 15_000);
    execFileSync('mount', ['-o', 'remount,ro', mount]);
    try {
      const ws = await wsPublish(castline.httpPort, 'ro');
      expect(ws.status).to.equal(503);
      expect(JSON.parse(ws.body)).to.include({ code: 'STORAGE_ERROR' }).and.have.property('error').that.match(/not writable \(EROFS\)/);
      expect((await fetch(`http://127.0.0.1:${castline.httpPort}/`)).status).to.equal(200);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', mount]);
    }
  });
});
