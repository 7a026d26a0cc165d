/**
 * Low-Latency HLS across nodes, with real processes on one Redis and one shared storage, for both
 * kinds of stream castline packages in memory (the node packaging it, "holder", and one that does
 * not, "other"):
 * - a passthrough (ORIGINAL) stream, packaged by the ingest node (ingest, encoder, api) its RTMP
 *   publisher is connected to; the other node is api only;
 * - an encoded rung (320x180-15), packaged by an encoder-only node, which pulls the stream from the
 *   ingest node (ingest, api) the publisher is connected to; that ingest node does not hold it.
 * The other node answers the stream's LL playlist and parts `307` to the holder with path and query
 * intact (the held request is answered there), serves init.mp4 and the segments itself from the
 * shared disk (the same bytes the holder serves from memory), and 404s an unknown stream id; the
 * master playlist comes from either node and leads a player to the holder; once the publisher stops,
 * a player polling through the other node gets the holder's ended LL playlist (`#EXT-X-ENDLIST`).
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ffmpegPath } from '../../src/encoding/binaries';
import { decodeFile, readableSegment } from '../encoding/helpers';
import { waitUntil } from '../helpers/wait';
import { killAll, publishObsLike, type Child } from '../ingest/rtmp/rtmp-ffmpeg';
import { startCluster, type TestCluster, type TestNode } from './nodes';
import { partLine, preloadHint } from '../helpers/ll-hls';

interface Layout {
  /** What the suite is about. */
  title: string;
  channel: string;
  /** The application's `x-resolutions`: one rung. */
  resolutions: string;
  /** `NODE_ROLES` of the node packaging the rung and of the one that does not. */
  roles: { holder: string; other: string };
  /** Which of the two the publisher connects to. */
  publishTo: 'holder' | 'other';
  /** The holder's log line saying it packages the stream. */
  packaging: string;
}

const layouts: Layout[] = [
  { title: 'a passthrough stream held by its ingest node', channel: 'llcluster', resolutions: 'ORIGINAL', roles: { holder: 'ingest,encoder,api', other: 'api' }, publishTo: 'holder', packaging: 'packaging the stream itself (passthrough, no ffmpeg)' },
  { title: 'an encoded rung held by the encoder node that pulls the stream', channel: 'llencoded', resolutions: '320x180-15', roles: { holder: 'encoder', other: 'ingest,api' }, publishTo: 'other', packaging: 'encoding a stream of another node' },
];

/** `res` is the 307 of a node that does not hold the stream, to `location`. */
function expectRedirect(res: Response, location: string): void {
  expect(res.status).to.equal(307);
  expect(res.headers.get('location')).to.equal(location);
  expect(res.headers.get('cache-control')).to.equal('no-cache');
  expect(res.headers.get('access-control-allow-origin')).to.equal('*');
}

/** The body of a 200 answer. */
async function bytes(res: Response): Promise<Buffer> {
  expect(res.status, res.url).to.equal(200);
  return Buffer.from(await res.arrayBuffer());
}

for (const layout of layouts) {
  describe(`cluster: LL-HLS held in memory on one node is reachable through any node (307): ${layout.title}`, function () {
    this.timeout(120_000);
    let cluster: TestCluster;
    let holder: TestNode;
    let other: TestNode;
    /** `/hls/{channel}/{streamId}/{rendition}/live.m3u8` of the stream. */
    let livePath = '';
    /** `/hls/{channel}/{streamId}/{rendition}` */
    let folder = '';
    let publisher: Child;

    before(async () => {
      cluster = await startCluster('llhls', { settings: { 'x-resolutions': layout.resolutions } });
      [holder, other] = await Promise.all([cluster.node('holder', { NODE_ROLES: layout.roles.holder }), cluster.node('other', { NODE_ROLES: layout.roles.other })]);
      const ingest = layout.publishTo === 'holder' ? holder : other;
      publisher = publishObsLike(`rtmp://127.0.0.1:${ingest.rtmp}/${layout.channel}/good-key`, 60);
      const live = (await waitUntil(() => cluster.app.delivered().find((h) => h['x-event-type'] === 'stream-available' && h['x-stream-type'] === 'HLS-LIVE'), 'stream-available', 30_000))!;
      livePath = `/${String(live['x-index-file'])}`;
      folder = path.posix.dirname(livePath);
      expect(livePath).to.match(new RegExp(`^/hls/${layout.channel}/[^/]+/[^/]+/live\\.m3u8$`));
      expect(holder.proc.lines().some((l) => l.msg === layout.packaging), `${holder.name} packages the stream`).to.equal(true);
      expect(other.proc.lines().some((l) => l.msg === layout.packaging), `${other.name} does not`).to.equal(false);
    });
    after(async () => {
      await killAll();
      await cluster?.stop();
    });

    it('a blocking playlist request to the other node is redirected to the holder with its query; following it is held, then lists the part; a part redirects too', async () => {
      await waitUntil(async () => (await fetch(other.url + livePath, { redirect: 'manual' })).status === 307, `${other.name} redirects (once ${holder.name}'s record lists the stream)`, 10_000, 100);
      // A part at least two after the one being written (segments have 3 parts or more): a request for it is held.
      const next = { msn: preloadHint(await (await fetch(holder.url + livePath)).text()).msn + 1, part: 1 };
      const query = `?_HLS_msn=${next.msn}&_HLS_part=${next.part}`;
      const res = await fetch(other.url + livePath + query, { redirect: 'manual' });
      expectRedirect(res, holder.url + livePath + query);

      const unblocked = await (await fetch(holder.url + livePath)).text();
      expect(unblocked, 'the part is not written yet').to.not.match(partLine(next));
      const followed = await fetch(res.headers.get('location')!);
      expect(followed.status).to.equal(200);
      const text = await followed.text();
      expect(text).to.contain('#EXT-X-PART:');
      expect(text).to.match(partLine(next));

      // A player given the other node's URL gets there on its own (fetch follows the redirect), parts too.
      const viaOther = await fetch(other.url + livePath);
      expect(viaOther.status).to.equal(200);
      expect(viaOther.url).to.equal(holder.url + livePath);
      const partPath = `${folder}/${next.msn}.${next.part}.m4s`;
      expectRedirect(await fetch(other.url + partPath, { redirect: 'manual' }), holder.url + partPath);
      expect((await bytes(await fetch(other.url + partPath))).equals(await bytes(await fetch(holder.url + partPath)))).to.equal(true);
    });

    it('init.mp4 and a complete segment come from the shared disk on the other node, the bytes the holder serves; an unknown stream id is 404', async () => {
      const dir = path.join(cluster.cwd, 'data', folder);
      // A segment the holder's LL playlist lists as complete, once it is on the shared disk.
      const segment = (await waitUntil(async () => {
        const listed = (await (await fetch(holder.url + livePath)).text()).split('\n').filter((l) => /^\d+\.m4s$/.test(l));
        return listed.find((s) => fs.existsSync(path.join(dir, s)));
      }, 'a complete segment listed and on disk', 15_000, 100))!;
      for (const file of ['init.mp4', segment]) {
        const fromOther = await fetch(`${other.url}${folder}/${file}`, { redirect: 'manual' });
        const served = await bytes(fromOther);
        expect(served.equals(await bytes(await fetch(`${holder.url}${folder}/${file}`))), `${file}: the holder's bytes`).to.equal(true);
        expect(served.equals(fs.readFileSync(path.join(dir, file))), `${file}: the disk's bytes`).to.equal(true);
      }
      decodeFile(ffmpegPath, readableSegment(dir, segment));

      const unknown = livePath.replace(new RegExp(`^/hls/${layout.channel}/[^/]+/`), `/hls/${layout.channel}/no-such-stream/`);
      const missing = await fetch(other.url + unknown, { redirect: 'manual' });
      expect(missing.status).to.equal(404);
      expect(await missing.json()).to.have.property('error');
    });

    it('the master playlist comes from either node, and its rung leads a player from the other node to the holder', async () => {
      const masterPath = `${path.posix.dirname(folder)}/master.m3u8`;
      const rung = path.posix.basename(folder);
      const fromOther = (await waitUntil(async () => {
        const r = await fetch(other.url + masterPath);
        return r.status === 200 ? r.text() : null;
      }, 'the master playlist', 15_000, 100))!;
      expect(fromOther).to.contain(`${rung}/live.m3u8`);
      expect(await (await fetch(holder.url + masterPath)).text()).to.equal(fromOther);

      const uri = fromOther.split('\n').find((l) => l.endsWith('live.m3u8'))!;
      const media = await fetch(new URL(uri, other.url + masterPath));
      expect(media.status).to.equal(200);
      expect(media.url).to.equal(holder.url + livePath);
      expect(await media.text()).to.contain('#EXT-X-PART-INF:PART-TARGET=');
    });

    it('(last: ends the stream) once the publisher stops, a player polling through the other node gets the ended LL playlist from the holder', async () => {
      publisher.proc.kill('SIGINT');
      await waitUntil(() => cluster.app.delivered().some((h) => h['x-event-type'] === 'stream-closed'), 'stream-closed', 20_000);
      const ended = (await waitUntil(async () => {
        const res = await fetch(other.url + livePath);
        expect(res.status).to.equal(200);
        const text = await res.text();
        return text.includes('#EXT-X-ENDLIST') ? { url: res.url, text } : null;
      }, 'the ended playlist through the other node', 20_000, 200))!;
      // The holder keeps the ended stream in memory for a while (and still lists it): the redirect stands.
      expect(ended.url).to.equal(holder.url + livePath);
      expect(ended.text).to.contain('#EXT-X-PART:');
    });
  });
}
