/**
 * Symlinks out of the output root (issue 13): nothing outside HLS_FILESYSTEM_PATH is served or
 * written, whatever symlinks an operator (or an attacker with write access to the data folder)
 * put inside it. Requests go over raw sockets (fetch normalises paths); writes go through the real
 * FileStorage and a real stream published with ffmpeg.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StepReport } from '../../src/domain/jobs';
import { ffmpegPath } from '../../src/encoding/binaries';
import { parseMediaPlaylist } from '../../src/encoding/playlist';
import { EncoderPool } from '../../src/encoding/pool';
import { FileStorage, StoragePathError } from '../../src/storage/filesystem';
import { decodeFile, encodingConfig, probeFile } from '../encoding/helpers';
import { startTestCastline, type TestCastline } from '../helpers/castline';
import { rawRequest } from '../helpers/raw-http';
import { waitUntil } from '../helpers/wait';
import { killAll, publish } from '../ingest/rtmp/rtmp-ffmpeg';

async function rejectsWith(promise: Promise<unknown>, type: new (...args: never[]) => Error): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(type);
    return err as Error;
  }
  throw new Error(`expected a ${type.name}`);
}

describe('symlinks out of the output root', function () {
  this.timeout(60_000);
  let castline: TestCastline;
  let outside: string;
  let data: string;
  const get = (target: string) => rawRequest(castline.httpPort, target);

  before(async () => {
    castline = await startTestCastline();
    data = castline.dataDir;
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-outside-'));
    fs.writeFileSync(path.join(outside, 'secret.m3u8'), '#EXTM3U\n#SECRET\n');
    fs.writeFileSync(path.join(outside, 'x.ts'), 'SECRET-SEGMENT');
    fs.writeFileSync(path.join(outside, 'passwd.json'), '{"secret":true}');
    fs.mkdirSync(path.join(data, 'hls', 'inside'), { recursive: true });
    fs.mkdirSync(path.join(data, 'img-preview'), { recursive: true });
    fs.writeFileSync(path.join(data, 'hls', 'inside', 'ok.m3u8'), '#EXTM3U\n#OK\n');
  });
  after(async () => {
    await killAll();
    await castline?.dispose();
    fs.rmSync(outside, { recursive: true, force: true });
  });

  it('a symlinked folder pointing outside is not served (404), one pointing inside is', async () => {
    fs.symlinkSync(outside, path.join(data, 'hls', 'out'));
    fs.symlinkSync(outside, path.join(data, 'img-preview', 'out'));
    fs.symlinkSync(path.join(data, 'hls', 'inside'), path.join(data, 'hls', 'alias'));
    for (const target of ['/hls/out/secret.m3u8', '/hls/out/x.ts', '/img-preview/out/passwd.json']) {
      const answer = await get(target);
      expect(answer.status, target).to.equal(404);
      expect(answer.text, target).to.not.include('SECRET').and.not.include('"secret"');
      expect(JSON.parse(answer.body)).to.have.property('error');
    }
    expect((await get('/hls/inside/ok.m3u8')).status, 'control: a real file').to.equal(200);
    const alias = await get('/hls/alias/ok.m3u8');
    expect(alias.status, 'a symlink that stays inside').to.equal(200);
    expect(alias.body).to.equal('#EXTM3U\n#OK\n');
  });

  it('a symlinked file pointing outside is not served (404)', async () => {
    fs.symlinkSync(path.join(outside, 'secret.m3u8'), path.join(data, 'hls', 'inside', 'leak.m3u8'));
    fs.symlinkSync(path.join(outside, 'x.ts'), path.join(data, 'hls', 'inside', '0.ts'));
    for (const target of ['/hls/inside/leak.m3u8', '/hls/inside/0.ts']) {
      const answer = await get(target);
      expect(answer.status, target).to.equal(404);
      expect(answer.text).to.not.include('SECRET');
    }
  });

  it('storage writes, folders and removals refuse a path through a symlinked folder; a symlinked file name is replaced, not followed', async () => {
    const storage = new FileStorage(data);
    fs.symlinkSync(outside, path.join(data, 'hls', 'ch-link'));
    await rejectsWith(storage.writeAtomic('hls/ch-link/id/r/live.m3u8', '#EXTM3U\n'), StoragePathError);
    expect(() => storage.writeAtomicSync('hls/ch-link/live.m3u8', '#EXTM3U\n')).to.throw(StoragePathError);
    await rejectsWith(storage.ensureDir('hls/ch-link/new/deeper'), StoragePathError);
    await rejectsWith(storage.removeTree('hls/ch-link/anything'), StoragePathError);
    await rejectsWith(storage.remove('hls/ch-link/x.ts'), StoragePathError);
    expect(fs.readdirSync(outside).sort()).to.deep.equal(['passwd.json', 'secret.m3u8', 'x.ts']);

    fs.symlinkSync(path.join(outside, 'x.ts'), path.join(data, 'hls', 'inside', 'victim.ts'));
    await storage.writeAtomic('hls/inside/victim.ts', 'NEW');
    expect(fs.lstatSync(path.join(data, 'hls', 'inside', 'victim.ts')).isSymbolicLink()).to.equal(false);
    expect(fs.readFileSync(path.join(outside, 'x.ts'), 'utf8')).to.equal('SECRET-SEGMENT');
  });

  it('ffmpeg_hls path= through a symlinked folder: START_FAILED, nothing written outside', async () => {
    fs.symlinkSync(outside, path.join(data, 'archive'));
    fs.writeFileSync(path.join(outside, 'cam.m3u8'), '#EXTM3U\n#EXT-X-TARGETDURATION:1\n');
    const pool = new EncoderPool({ storageRoot: data, encoding: encodingConfig() });
    try {
      const exited = await new Promise<StepReport>((resolve) => {
        pool.startStep({
          label: 'wf/ffmpeg_hls/x', input: 'ws://127.0.0.1:1/ch/k', attempt: 0,
          step: { type: 'ffmpeg_hls', directory: path.join(data, 'archive', 'cams'), root: data, name: 'cam', durationSeconds: 1, count: 0 },
        }, (r) => r.type === 'exited' && resolve(r));
      });
      expect(exited).to.deep.include({ type: 'exited', clean: false });
      expect(exited.type === 'exited' && exited.error?.code).to.equal('START_FAILED');
      expect(exited.type === 'exited' && exited.error?.message).to.match(/symlink/);
    } finally {
      await pool.close();
    }
    expect(fs.readdirSync(outside).sort()).to.deep.equal(['cam.m3u8', 'passwd.json', 'secret.m3u8', 'x.ts']);
    expect(fs.readFileSync(path.join(outside, 'cam.m3u8'), 'utf8')).to.not.include('ENDLIST');
  });

  // The same for both segment formats: `.ts` cut by ffmpeg (moved in), `.m4s` packaged by castline (written atomically).
  for (const format of ['fmp4', 'mpegts'] as const) {
    it(`a symlink created while a stream is live is neither served nor written through (${format})`, async () => {
      if (format === 'mpegts') {
        // One RTMP ingest per process: the mpegts castline replaces the default one (after() disposes it).
        await castline.dispose();
        castline = await startTestCastline({ HLS_SEGMENT_FORMAT: 'mpegts' });
      }
      await symlinkWhileLive(castline, format === 'fmp4' ? 'm4s' : 'ts');
    });
  }

  async function symlinkWhileLive(server: TestCastline, ext: 'ts' | 'm4s'): Promise<void> {
    const root = server.dataDir;
    const fetchRaw = (target: string) => rawRequest(server.httpPort, target);
    const publisher = publish(`rtmp://127.0.0.1:${server.rtmpPort}/live1/k`, 8);
    const streamDir = await waitUntil(() => {
      const ch = path.join(root, 'hls', 'live1');
      const ids = fs.existsSync(ch) ? fs.readdirSync(ch) : [];
      return ids.length === 1 ? path.join(ch, ids[0]) : '';
    }, 'the stream folder', 15_000);
    const streamId = path.basename(streamDir);
    const live = await waitUntil(() => {
      const rend = fs.existsSync(streamDir) ? fs.readdirSync(streamDir).find((f) => !f.endsWith('.m3u8') && f !== 'leak') : undefined;
      return rend && fs.existsSync(path.join(streamDir, rend, 'live.m3u8')) ? path.join(streamDir, rend, 'live.m3u8') : '';
    }, 'the first live playlist', 15_000);
    const rendDir = path.dirname(live);
    const rend = path.basename(rendDir);
    const last = parseMediaPlaylist(fs.readFileSync(live, 'utf8')).segments.at(-1)!;
    expect(last.uri.endsWith(`.${ext}`), last.uri).to.equal(true);
    const planted = Number(last.uri.replace(`.${ext}`, '')) + 3;

    // While live: a folder link and a file link to the outside, and a link on a segment's future name.
    fs.symlinkSync(outside, path.join(streamDir, 'leak'));
    fs.symlinkSync(path.join(outside, 'secret.m3u8'), path.join(rendDir, 'evil.m3u8'));
    fs.symlinkSync(path.join(outside, 'x.ts'), path.join(rendDir, `${planted}.${ext}`));
    for (const target of [`/hls/live1/${streamId}/leak/secret.m3u8`, `/hls/live1/${streamId}/${rend}/evil.m3u8`, `/hls/live1/${streamId}/${rend}/${planted}.${ext}`]) {
      expect((await fetchRaw(target)).status, target).to.equal(404);
    }
    expect((await fetchRaw(`/hls/live1/${streamId}/${rend}/live.m3u8`)).status).to.equal(200);

    expect((await publisher.exited).code, publisher.stderr()).to.equal(0);
    await waitUntil(() => fs.readFileSync(live, 'utf8').includes('#EXT-X-ENDLIST'), 'the ended playlist', 20_000);
    expect(fs.readFileSync(path.join(outside, 'x.ts'), 'utf8'), 'the outside file is untouched').to.equal('SECRET-SEGMENT');
    const segment = path.join(rendDir, `${planted}.${ext}`);
    expect(fs.lstatSync(segment).isSymbolicLink(), 'the link was replaced by the segment').to.equal(false);
    const served = await fetchRaw(`/hls/live1/${streamId}/${rend}/${planted}.${ext}`);
    expect(served.status).to.equal(200);
    // An fMP4 segment decodes after its CMAF header.
    const decodable = ext === 'ts' ? segment : path.join(outside, 'decodable.mp4');
    if (ext === 'm4s') fs.writeFileSync(decodable, Buffer.concat([fs.readFileSync(path.join(rendDir, 'init.mp4')), fs.readFileSync(segment)]));
    decodeFile(ffmpegPath, decodable); // throws on a decode error
    expect(probeFile(decodable).codecs).to.include('h264');
    if (ext === 'm4s') fs.rmSync(decodable);
    fs.rmSync(path.join(streamDir, 'leak'));
  }
});
