import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EncoderReport } from '../../src/domain/jobs';
import { ffmpegPath } from '../../src/encoding/binaries';
import { parseMediaPlaylist } from '../../src/encoding/playlist';
import { EncoderPool } from '../../src/encoding/pool';
import { collector, decodeFile, encodingConfig, job, previewFolder, probeFile, processesMentioning, settings, sleep, tempRoot } from './helpers';
import { TestMediaSource } from './media-source';

describe('encoder pool (real ffmpeg)', function () {
  this.timeout(90_000);
  let root: string;
  let pool: EncoderPool | null = null;
  let source: TestMediaSource | null = null;

  beforeEach(() => { root = tempRoot(); });
  afterEach(async () => {
    await pool?.close();
    pool = null;
    await source?.close();
    source = null;
    expect(processesMentioning(root), 'no ffmpeg left behind').to.deep.equal([]);
    fs.rmSync(root, { recursive: true, force: true });
  });

  const rel = (...p: string[]) => path.join(root, ...p);
  const avail = (reports: EncoderReport[]) => reports.filter((r): r is Extract<EncoderReport, { type: 'available' }> => r.type === 'available').map((r) => r.output);

  it('publishes a 2-rung ladder with recording and previews: files, playlists, decodable segments, ordered reports', async () => {
    pool = new EncoderPool({ storageRoot: root, encoding: encodingConfig() });
    source = await TestMediaSource.start({ seconds: 5 });
    const j = job(source.uri('ch'));
    const c = collector();
    const startedAt = Date.now();
    pool.start(j, c.report);
    await c.waitFor((r) => r.type === 'available');
    const firstOutputMs = Date.now() - startedAt;

    // While live: every read of a live playlist parses and lists only complete, existing segments.
    const base = rel('hls', 'ch', j.streamId);
    const seenListed = new Set<string>();
    let reads = 0;
    let exited = false;
    void c.exited.then(() => { exited = true; });
    while (!exited) {
      for (const rid of ['320x180-15', '160x90-15']) {
        const file = path.join(base, rid, 'live.m3u8');
        if (!fs.existsSync(file)) continue;
        const p = parseMediaPlaylist(fs.readFileSync(file, 'utf8'));
        reads++;
        for (const s of p.segments) {
          const seg = path.join(base, rid, s.uri);
          if (!fs.existsSync(seg)) continue; // deleted by the sliding window since
          seenListed.add(seg);
        }
      }
      await sleep(150);
    }
    const exit = await c.exited;
    expect(exit).to.deep.equal({ type: 'exited', clean: true });
    expect(reads).to.be.greaterThan(3);
    expect(firstOutputMs).to.be.lessThan(8000);

    // Reports: HLS-LIVE then HLS-VOD per rendition, one IMG-PREVIEW, exited last.
    const outputs = avail(c.reports);
    expect(c.reports[c.reports.length - 1]!.type).to.equal('exited');
    for (const rid of ['320x180-15', '160x90-15']) {
      const live = outputs.findIndex((o) => o.streamType === 'HLS-LIVE' && o.resolution === rid);
      const vod = outputs.findIndex((o) => o.streamType === 'HLS-VOD' && o.resolution === rid);
      expect(live, rid).to.be.greaterThan(-1);
      expect(vod).to.be.greaterThan(live);
      expect(outputs[live]!.indexFile).to.equal(`hls/ch/${j.streamId}/${rid}/live.m3u8`);
      expect(outputs[vod]).to.deep.equal({ streamType: 'HLS-VOD', resolution: rid, indexFile: `hls/ch/${j.streamId}/${rid}/vod-0.m3u8` });
    }
    expect(outputs.filter((o) => o.streamType === 'IMG-PREVIEW')).to.deep.equal([
      { streamType: 'IMG-PREVIEW', resolution: '160x90-1', indexFile: `img-preview/ch/${j.streamId}/160x90-1/index.json` },
    ]);
    expect(outputs.length).to.equal(5);

    for (const [rid, w, h] of [['320x180-15', 320, 180], ['160x90-15', 160, 90]] as const) {
      const dir = path.join(base, rid);
      const live = parseMediaPlaylist(fs.readFileSync(path.join(dir, 'live.m3u8'), 'utf8'));
      expect(live.ended).to.equal(true);
      expect(live.segments.length).to.be.within(1, 3);
      const vod = parseMediaPlaylist(fs.readFileSync(path.join(dir, 'vod-0.m3u8'), 'utf8'));
      expect(vod.ended).to.equal(true);
      expect(vod.playlistType).to.equal('VOD');
      expect(vod.segments.map((s) => s.uri)).to.deep.equal(vod.segments.map((_, i) => `${i}.ts`));
      expect(vod.segments.length).to.be.greaterThan(2);
      expect(vod.targetDuration).to.equal(Math.ceil(Math.max(...vod.segments.map((s) => s.duration)) - 1e-6));
      // Live window = the tail of the recording.
      expect(live.segments.map((s) => s.uri)).to.deep.equal(vod.segments.slice(-live.segments.length).map((s) => s.uri));
      expect(live.mediaSequence).to.equal(vod.segments.length - live.segments.length);
      const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts'));
      expect(files.length).to.equal(vod.segments.length); // recording keeps every segment
      for (const s of vod.segments) {
        const file = path.join(dir, s.uri);
        const info = probeFile(file);
        expect(info).to.deep.equal({ width: w, height: h, codecs: ['h264', 'aac'] });
        decodeFile(ffmpegPath, file);
      }
      expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp'))).to.deep.equal([]);
    }
    expect(seenListed.size).to.be.greaterThan(2);

    const master = fs.readFileSync(path.join(base, 'master.m3u8'), 'utf8');
    expect(master).to.match(/#EXT-X-STREAM-INF:BANDWIDTH=\d+,RESOLUTION=320x180,FRAME-RATE=15.000,CODECS="avc1.42c01e,mp4a.40.2"\n320x180-15\/live.m3u8/);
    expect(master).to.contain('RESOLUTION=160x90');

    const pdir = rel('img-preview', 'ch', j.streamId, '160x90-1');
    const index = JSON.parse(fs.readFileSync(path.join(pdir, 'index.json'), 'utf8')) as { index_start: number; count: number; pattern: string };
    expect(index.index_start).to.equal(0);
    expect(index.pattern).to.equal('%d.jpg');
    expect(index.count).to.be.greaterThan(1);
    for (let i = 0; i < index.count; i++) expect(probeFile(path.join(pdir, `${i}.jpg`))).to.include({ width: 160, height: 90 });
    // Every image is counted, the last one too.
    expect(previewFolder(pdir).numbers).to.deep.equal(Array.from({ length: index.count }, (_, i) => i));
    expect(fs.existsSync(rel('.staging', 'ch', j.streamId))).to.equal(false);
  });

  it('without recording: no VOD, old segments deleted (about two windows kept)', async () => {
    pool = new EncoderPool({ storageRoot: root, encoding: encodingConfig({ hlsLivePlaylistSize: 2 }) });
    source = await TestMediaSource.start({ seconds: 7 });
    const j = job(source.uri('ch'), { settings: settings({ record: false, previews: null, resolutions: { original: false, rungs: [{ width: 160, height: 90, fps: -1, kbps: 150 }] } }) });
    const c = collector();
    pool.start(j, c.report);
    expect(await c.exited).to.deep.equal({ type: 'exited', clean: true });
    const dir = rel('hls', 'ch', j.streamId, '160x90-15~150');
    expect(avail(c.reports).map((o) => o.streamType)).to.deep.equal(['HLS-LIVE']);
    const live = parseMediaPlaylist(fs.readFileSync(path.join(dir, 'live.m3u8'), 'utf8'));
    expect(live.mediaSequence).to.be.greaterThan(2);
    const kept = fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => parseInt(f, 10)).sort((a, b) => a - b);
    expect(kept.length).to.be.at.most(4);
    expect(kept[kept.length - 1]).to.equal(live.mediaSequence + live.segments.length - 1);
    expect(fs.readdirSync(dir).some((f) => f.startsWith('vod-'))).to.equal(false);
  });

  it('ffmpeg killed mid-stream: restarted, numbering continues after an #EXT-X-DISCONTINUITY (segments and preview images)', async () => {
    const restarts: string[] = [];
    pool = new EncoderPool({ storageRoot: root, encoding: encodingConfig(), restartBackoffMs: 200, onRestart: (reason) => restarts.push(reason) });
    source = await TestMediaSource.start({ seconds: 8 });
    const j = job(source.uri('ch'));
    const c = collector();
    pool.start(j, c.report);
    await c.waitFor((r) => r.type === 'available' && r.output.streamType === 'HLS-LIVE');
    await c.waitFor((r) => r.type === 'available' && r.output.streamType === 'IMG-PREVIEW');
    await sleep(1500);
    const pdir = rel('img-preview', 'ch', j.streamId, '160x90-1');
    const countAtKill = previewFolder(pdir).count;
    const pids = pool.childPids;
    expect(pids.length).to.equal(1);
    const killedAt = Date.now();
    process.kill(pids[0]!, 'SIGKILL');
    expect(await c.exited).to.deep.equal({ type: 'exited', clean: true });
    expect(source.connections).to.equal(2);
    for (const rid of ['320x180-15', '160x90-15']) {
      const vod = parseMediaPlaylist(fs.readFileSync(rel('hls', 'ch', j.streamId, rid, 'vod-0.m3u8'), 'utf8'));
      expect(vod.ended).to.equal(true);
      expect(vod.segments.map((s) => s.uri)).to.deep.equal(vod.segments.map((_, i) => `${i}.ts`));
      expect(vod.segments.filter((s) => s.discontinuity).length).to.equal(1);
      const live = fs.readFileSync(rel('hls', 'ch', j.streamId, rid, 'live.m3u8'), 'utf8');
      expect(live).to.contain('#EXT-X-ENDLIST');
    }
    // The images numbered on after the restart: none overwritten, none skipped, every one counted.
    const previews = previewFolder(pdir);
    expect(previews.count).to.be.greaterThan(countAtKill);
    expect(previews.numbers).to.deep.equal(Array.from({ length: previews.count }, (_, i) => i));
    for (let n = 0; n < countAtKill; n++) expect(fs.statSync(path.join(pdir, `${n}.jpg`)).mtimeMs, `${n}.jpg kept`).to.be.at.most(killedAt);
    // Each output is announced once, not again after the restart.
    expect(avail(c.reports).length).to.equal(5);
    expect(restarts, 'restarts reported (metrics)').to.deep.equal(['ffmpeg-crashed']);
  });

  it('worker thread killed: its ffmpeg is killed, playlists finalized, WORKER_DIED; a restart (attempt 1) continues', async () => {
    const restarts: string[] = [];
    pool = new EncoderPool({ storageRoot: root, encoding: encodingConfig(), maxThreads: 1, onRestart: (reason) => restarts.push(reason) });
    source = await TestMediaSource.start({ seconds: 9 });
    const j = job(source.uri('ch'), { settings: settings({ previews: null, resolutions: { original: false, rungs: [{ width: 160, height: 90, fps: 15, kbps: -1 }] } }) });
    const c = collector();
    pool.start(j, c.report);
    await c.waitFor((r) => r.type === 'available' && r.output.streamType === 'HLS-LIVE');
    await sleep(1200);
    const pids = pool.childPids;
    expect(pids.length).to.equal(1);
    await pool.threads[0]!.terminate();
    const exit = await c.exited;
    expect(exit.clean).to.equal(false);
    expect(exit.error?.code).to.equal('WORKER_DIED');
    await sleep(300);
    // Gone, or a zombie: its parent thread's event loop, which would reap it, died with the worker.
    const status = fs.existsSync(`/proc/${pids[0]}/status`) ? fs.readFileSync(`/proc/${pids[0]}/status`, 'utf8') : 'State:\tX';
    expect(status, 'ffmpeg of the dead worker is gone').to.match(/State:\s+[ZX]/);
    const livePath = rel('hls', 'ch', j.streamId, '160x90-15', 'live.m3u8');
    expect(parseMediaPlaylist(fs.readFileSync(livePath, 'utf8')).ended).to.equal(true);
    const before = parseMediaPlaylist(fs.readFileSync(rel('hls', 'ch', j.streamId, '160x90-15', 'vod-0.m3u8'), 'utf8')).segments.length;

    // The stream actor may restart it: numbering continues with a discontinuity, ENDLIST again only at the end.
    const c2 = collector();
    pool.start({ ...j, attempt: 1 }, c2.report);
    await sleep(2500);
    expect(parseMediaPlaylist(fs.readFileSync(livePath, 'utf8')).ended).to.equal(false);
    expect(await c2.exited).to.deep.equal({ type: 'exited', clean: true });
    const vod = parseMediaPlaylist(fs.readFileSync(rel('hls', 'ch', j.streamId, '160x90-15', 'vod-0.m3u8'), 'utf8'));
    expect(vod.segments.length).to.be.greaterThan(before);
    expect(vod.segments[before]!.discontinuity).to.equal(true);
    expect(vod.segments.map((s) => s.uri)).to.deep.equal(vod.segments.map((_, i) => `${i}.ts`));
    // Reported once, as a worker death: resuming the dead worker's outputs is not an ffmpeg crash.
    expect(restarts, 'restarts reported (metrics)').to.deep.equal(['worker-died']);
  });

  it('refuses beyond capacity with CAPACITY_FULL, and after close with SHUTTING_DOWN', async () => {
    pool = new EncoderPool({ storageRoot: root, encoding: encodingConfig({ capacity: 1 }) });
    source = await TestMediaSource.start({ seconds: 3 });
    const a = collector();
    const b = collector();
    pool.start(job(source.uri('ch')), a.report);
    pool.start(job(source.uri('ch')), b.report);
    expect(await b.exited).to.deep.include({ type: 'exited', clean: false });
    expect((await b.exited).error?.code).to.equal('CAPACITY_FULL');
    expect(pool.active).to.equal(1);
    await pool.close();
    expect((await a.exited).clean).to.equal(true);
    const d = collector();
    pool.start(job(source.uri('ch')), d.report);
    expect((await d.exited).error?.code).to.equal('SHUTTING_DOWN');
  });

  it('stop(): graceful end with ENDLIST and exited clean last', async () => {
    pool = new EncoderPool({ storageRoot: root, encoding: encodingConfig() });
    source = await TestMediaSource.start({ seconds: 30 });
    const j = job(source.uri('ch'), { settings: settings({ record: false, previews: null }) });
    const c = collector();
    const handle = pool.start(j, c.report);
    await c.waitFor((r) => r.type === 'available');
    const t0 = Date.now();
    handle.stop();
    handle.stop();
    expect(await c.exited).to.deep.equal({ type: 'exited', clean: true });
    expect(Date.now() - t0).to.be.lessThan(5000);
    expect(fs.readFileSync(rel('hls', 'ch', j.streamId, '320x180-15', 'live.m3u8'), 'utf8')).to.contain('#EXT-X-ENDLIST');
  });

  it('close() while streams run: stops them, ENDLIST written, no ffmpeg left', async () => {
    pool = new EncoderPool({ storageRoot: root, encoding: encodingConfig() });
    source = await TestMediaSource.start({ seconds: 30 });
    const c1 = collector();
    const c2 = collector();
    const j1 = job(source.uri('ch'), { settings: settings({ previews: null }) });
    pool.start(j1, c1.report);
    pool.start(job(source.uri('ch2'), { channel: 'ch2', settings: settings({ previews: null }) }), c2.report);
    await c1.waitFor((r) => r.type === 'available');
    await c2.waitFor((r) => r.type === 'available');
    await pool.close();
    expect((await c1.exited).clean).to.equal(true);
    expect((await c2.exited).clean).to.equal(true);
    expect(processesMentioning(root)).to.deep.equal([]);
    expect(parseMediaPlaylist(fs.readFileSync(rel('hls', 'ch', j1.streamId, '160x90-15', 'vod-0.m3u8'), 'utf8')).ended).to.equal(true);
  });

  it('stalled input (socket open, no data) ends with INPUT_STALLED', async () => {
    pool = new EncoderPool({ storageRoot: root, encoding: encodingConfig({ stallTimeoutSeconds: 2 }) });
    source = await TestMediaSource.start({ seconds: 30, kind: 'stall' });
    const c = collector();
    pool.start(job(source.uri('ch'), { settings: settings({ previews: null, record: false }) }), c.report);
    const exit = await c.exited;
    expect(exit.error?.code).to.equal('INPUT_STALLED');
  });

  it('bad sources close with INVALID_MEDIA without affecting another stream', async () => {
    pool = new EncoderPool({ storageRoot: root, encoding: encodingConfig() });
    source = await TestMediaSource.start({ seconds: 4, kind: 'garbage' });
    const audioOnly = await TestMediaSource.start({ seconds: 4, kind: 'audio-only' });
    const good = await TestMediaSource.start({ seconds: 4 });
    try {
      const g = collector();
      const a = collector();
      const ok = collector();
      pool.start(job(good.uri('ok'), { channel: 'ok', settings: settings({ previews: null, record: false }) }), ok.report);
      pool.start(job(source.uri('g'), { channel: 'g' }), g.report);
      pool.start(job(audioOnly.uri('a'), { channel: 'a' }), a.report);
      expect((await g.exited).error?.code).to.equal('INVALID_MEDIA');
      const ae = await a.exited;
      expect(ae.error?.code).to.equal('INVALID_MEDIA');
      expect(ae.error?.message).to.match(/no video/);
      expect(await ok.exited).to.deep.equal({ type: 'exited', clean: true });
      expect(avail(ok.reports).length).to.equal(2);
    } finally {
      await audioOnly.close();
      await good.close();
    }
  });

  it('browser input (WebM VP8/Opus): ORIGINAL and rungs encoded to H.264/AAC', async () => {
    pool = new EncoderPool({ storageRoot: root, encoding: encodingConfig() });
    source = await TestMediaSource.start({ seconds: 4, kind: 'webm' });
    const j = job(source.uri('ch'), { settings: settings({ previews: null, resolutions: { original: true, rungs: [{ width: 160, height: 90, fps: -1, kbps: -1 }] } }) });
    const c = collector();
    pool.start(j, c.report);
    expect(await c.exited).to.deep.equal({ type: 'exited', clean: true });
    const ids = avail(c.reports).filter((o) => o.streamType === 'HLS-LIVE').map((o) => o.resolution).sort();
    expect(ids).to.deep.equal(['160x90-15', '320x180-15']);
    const dir = rel('hls', 'ch', j.streamId, '160x90-15');
    const vod = parseMediaPlaylist(fs.readFileSync(path.join(dir, 'vod-0.m3u8'), 'utf8'));
    expect(probeFile(path.join(dir, vod.segments[0]!.uri)).codecs).to.deep.equal(['h264', 'aac']);
  });

  it('ORIGINAL from H.264/AAC is copied in copy mode and listed in the master playlist', async () => {
    pool = new EncoderPool({ storageRoot: root, encoding: encodingConfig() });
    source = await TestMediaSource.start({ seconds: 4 });
    const j = job(source.uri('ch'), { settings: settings({ previews: null, record: false, resolutions: { original: true, rungs: [] } }) });
    const c = collector();
    pool.start(j, c.report);
    expect(await c.exited).to.deep.equal({ type: 'exited', clean: true });
    const master = fs.readFileSync(rel('hls', 'ch', j.streamId, 'master.m3u8'), 'utf8');
    expect(master).to.match(/RESOLUTION=320x180,FRAME-RATE=15.000,CODECS="avc1.42c0[0-9a-f]{2},mp4a.40.2"\n320x180-15\/live.m3u8/);
    const live = parseMediaPlaylist(fs.readFileSync(rel('hls', 'ch', j.streamId, '320x180-15', 'live.m3u8'), 'utf8'));
    expect(probeFile(rel('hls', 'ch', j.streamId, '320x180-15', live.segments[0]!.uri))).to.deep.equal({ width: 320, height: 180, codecs: ['h264', 'aac'] });
  });
});
