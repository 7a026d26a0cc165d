/**
 * Low-Latency HLS across nodes, with real processes on one Redis and one shared storage: node A
 * (ingest, encoder, api) packages an RTMP passthrough stream in memory; node B (api only, so the
 * encoding can only be placed on A) answers its LL playlist and parts `307` to A with the query
 * intact, serves the segments already on the shared disk itself, and 404s an unknown stream id.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitUntil } from '../helpers/wait';
import { killAll, publishObsLike } from '../ingest/rtmp/rtmp-ffmpeg';
import { startCluster, type TestCluster, type TestNode } from './nodes';
import { partLine, preloadHint } from '../helpers/ll-hls';

describe('cluster: LL-HLS held in memory on one node is reachable through any node (307)', function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let a: TestNode;
  let b: TestNode;
  /** `/hls/{channel}/{streamId}/{rendition}/live.m3u8` of the stream published to A. */
  let livePath = '';

  before(async () => {
    cluster = await startCluster('llhls', { settings: { 'x-resolutions': 'ORIGINAL' } });
    [a, b] = await Promise.all([cluster.node('a', { NODE_ROLES: 'ingest,encoder,api' }), cluster.node('b', { NODE_ROLES: 'api' })]);
    publishObsLike(`rtmp://127.0.0.1:${a.rtmp}/llcluster/good-key`, 60);
    const live = (await waitUntil(() => cluster.app.delivered().find((h) => h['x-event-type'] === 'stream-available'), 'stream-available', 30_000))!;
    livePath = `/${String(live['x-index-file'])}`;
    expect(livePath).to.match(/^\/hls\/llcluster\/[^/]+\/[^/]+\/live\.m3u8$/);
    expect(a.proc.lines().some((l) => l.msg === 'packaging the stream itself (passthrough, no ffmpeg)')).to.equal(true);
  });
  after(async () => {
    await killAll();
    await cluster?.stop();
  });

  it('a blocking playlist request to B is redirected to A with its query; following it gives the LL playlist', async () => {
    const before = await (await fetch(a.url + livePath)).text();
    const next = preloadHint(before);
    expect(before, 'the hinted part is not listed yet').to.not.match(partLine(next));
    const query = `?_HLS_msn=${next.msn}&_HLS_part=${next.part}`;
    const res = (await waitUntil(async () => {
      const r = await fetch(b.url + livePath + query, { redirect: 'manual' });
      return r.status === 307 ? r : null;
    }, 'B redirects (once A\'s record lists the stream)', 10_000, 100))!;
    expect(res.headers.get('location')).to.equal(a.url + livePath + query);
    expect(res.headers.get('cache-control')).to.equal('no-cache');
    expect(res.headers.get('access-control-allow-origin')).to.equal('*');

    const followed = await fetch(res.headers.get('location')!);
    expect(followed.status).to.equal(200);
    const text = await followed.text();
    expect(text).to.contain('#EXT-X-PART:');
    expect(text).to.match(partLine(next));

    // A player given B's URL gets there on its own (fetch follows the redirect), parts too.
    const viaB = await fetch(b.url + livePath);
    expect(viaB.status).to.equal(200);
    expect(viaB.url).to.equal(a.url + livePath);
    const partPath = livePath.replace('live.m3u8', `${next.msn}.${next.part}.m4s`);
    const part = await fetch(b.url + partPath, { redirect: 'manual' });
    expect(part.status).to.equal(307);
    expect(part.headers.get('location')).to.equal(a.url + partPath);
  });

  it('a segment already on the shared disk is served by B itself; an unknown stream id is 404 as before', async () => {
    const dir = path.join(cluster.cwd, 'data', path.dirname(livePath));
    const segment = (await waitUntil(() => fs.readdirSync(dir).find((f) => /^\d+\.m4s$/.test(f)), 'a segment on disk', 15_000))!;
    const res = await fetch(`${b.url}${path.posix.dirname(livePath)}/${segment}`, { redirect: 'manual' });
    expect(res.status).to.equal(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(fs.readFileSync(path.join(dir, segment)))).to.equal(true);
    const init = await fetch(`${b.url}${path.posix.dirname(livePath)}/init.mp4`, { redirect: 'manual' });
    expect(init.status).to.equal(200);

    const unknown = livePath.replace(/^\/hls\/llcluster\/[^/]+\//, '/hls/llcluster/no-such-stream/');
    const missing = await fetch(b.url + unknown, { redirect: 'manual' });
    expect(missing.status).to.equal(404);
    expect(await missing.json()).to.have.property('error');
  });
});
