/**
 * Workflows and files across nodes: a workflow PUT on one node is applied on every node (a publish
 * on another follows it, a node started later has it, a DELETE elsewhere closes its session), and
 * the classic HLS files on the shared storage are served by any node.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ffmpegPath } from '../../src/encoding/binaries';
import { decodeFile } from '../encoding/helpers';
import { waitUntil } from '../helpers/wait';
import { killAll, publish } from '../ingest/rtmp/rtmp-ffmpeg';
import { startCluster, type TestCluster, type TestNode } from './nodes';

describe('cluster: workflows and HLS files across nodes (real Redis, real processes)', function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let a: TestNode;
  let b: TestNode;
  const names = async (node: TestNode) => ((await node.get('/workflows')).body as unknown as Array<{ name: string }>).map((w) => w.name);
  const lobby = `workflow lobby {
    rtmp_receive rtmp_app=lobby stream_key=*
    ffmpeg_hls path=lobby-hls duration=1
}
`;

  before(async () => {
    cluster = await startCluster('wf');
    [a, b] = await Promise.all([cluster.node('a'), cluster.node('b')]);
  });
  afterEach(() => killAll());
  after(() => cluster.stop());

  it('PUT on one node: every node runs the workflow; a later node has it; DELETE on another closes its session', async () => {
    const put = await fetch(`${a.url}/workflows`, { method: 'PUT', body: lobby });
    expect(put.status).to.equal(200);
    await waitUntil(async () => (await names(b)).includes('lobby'), 'B applies the workflow', 5000, 20);
    // Published on B: B's own workflow routes it (no key verification step), its ffmpeg_hls runs.
    publish(`rtmp://127.0.0.1:${b.rtmp}/lobby/any-key`, 40);
    const playlist = path.join(cluster.cwd, 'data', 'lobby-hls', 'lobby.m3u8');
    await waitUntil(() => fs.existsSync(playlist), 'the workflow step output', 20_000);
    expect(cluster.app.verifications.some((v) => v.headers['x-streaming-channel'] === 'lobby')).to.equal(false);
    const details = (await b.get('/workflows/lobby')).body as { streams: Array<{ streamId: string }> };
    expect(details.streams).to.have.length(1);

    const c = await cluster.node('c');
    expect(await names(c)).to.include('lobby');

    const deleted = await fetch(`${c.url}/workflows/lobby`, { method: 'DELETE' });
    expect(await deleted.json()).to.deep.equal({ name: 'lobby', deleted: true });
    const streamId = details.streams[0].streamId;
    await waitUntil(() => cluster.app.deliveredFor(streamId).some((h) => h['x-event-type'] === 'stream-closed'), 'the session on B closed', 15_000);
    expect(cluster.app.deliveredFor(streamId).at(-1)).to.include({ 'x-close-reason': 'workflow-removed' });
    for (const node of [a, b, c]) expect(await names(node)).to.not.include('lobby');
    // A PUT that does not validate changes nothing anywhere.
    const bad = await fetch(`${b.url}/workflows`, { method: 'PUT', body: 'workflow broken {\n  no_such_step\n}\n' });
    expect(bad.status).to.equal(400);
    expect(await names(a)).to.not.include('broken');
  });

  it('classic HLS on the shared storage is served by any node', async () => {
    // The stream is packaged by castline (fMP4, when its encoding lands on the ingest node) or cut
    // by ffmpeg (MPEG-TS): either way any node serves the files, and they decode.
    const isSegment = (line: string) => line.endsWith('.ts') || line.endsWith('.m4s');
    publish(`rtmp://127.0.0.1:${a.rtmp}/shared-files/good-key`, 30);
    const live = (await waitUntil(() => cluster.app.eventAttempts.map((e) => e.headers).find((h) => h['x-streaming-channel'] === 'shared-files' && h['x-stream-type'] === 'HLS-LIVE'), 'HLS-LIVE', 20_000))!;
    const indexFile = String(live['x-index-file']);
    const dir = path.posix.dirname(indexFile);
    await waitUntil(() => fs.readFileSync(path.join(cluster.cwd, 'data', indexFile), 'utf8').split('\n').some(isSegment), 'a segment listed', 10_000);
    for (const node of [a, b]) {
      const res = await fetch(`${node.url}/${indexFile}`);
      expect(res.status).to.equal(200);
      const text = await res.text();
      const segment = text.split('\n').find(isSegment)!;
      const fetched = async (name: string) => {
        const got = await fetch(`${node.url}/${dir}/${name}`);
        expect(got.status, name).to.equal(200);
        return Buffer.from(await got.arrayBuffer());
      };
      const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(text)?.[1];
      const bytes = init === undefined ? await fetched(segment) : Buffer.concat([await fetched(init), await fetched(segment)]);
      const file = path.join(cluster.cwd, `${node.name}-${segment}${init === undefined ? '' : '.mp4'}`);
      fs.writeFileSync(file, bytes);
      decodeFile(ffmpegPath, file);
    }
  });
});
