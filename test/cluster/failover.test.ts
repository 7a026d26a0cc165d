/**
 * Failover with real processes on one Redis: an encoder node killed -9 (with its ffmpeg, as when a
 * machine dies) → its stream is placed on the other encoder node within 10 s and continues the
 * same playlist (next segment number after a discontinuity); with no encoder left the stream closes
 * `encoder-failed`. An ingest node killed -9 → a survivor closes its stream `node-lost`, the
 * encoder's reservation is freed and the channel can be published again elsewhere.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ffmpegPath } from '../../src/encoding/binaries';
import { decodeFile, readableSegment } from '../encoding/helpers';
import { killTree } from '../helpers/process-tree';
import { waitUntil } from '../helpers/wait';
import { killAll, publish } from '../ingest/rtmp/rtmp-ffmpeg';
import { startCluster, type TestCluster, type TestNode } from './nodes';

interface Report {
  activeStreams: Array<{ channel: string; streamId: string; encoder: number }>;
  encoders: Array<{ id: number; capacity: number; load: number }>;
}

/** kill -9 of a node and every process it started: a machine dying. */
async function killMachine(node: TestNode): Promise<void> {
  killTree(node.proc.child.pid!);
  await node.proc.exited;
}

/** Segment numbers a playlist lists (`{n}.m4s`, packaged by castline by default; `{n}.ts` with mpegts). */
const segmentsOf = (text: string) => text.split('\n').filter((l) => /^\d+\.(ts|m4s)$/.test(l)).map((l) => Number.parseInt(l, 10));

describe('cluster: failover (real Redis, real processes, kill -9)', function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  let ingest: TestNode;
  let ingest2: TestNode;
  let encoders: TestNode[];
  const report = async () => (await ingest.get('/commands/report')).body as unknown as Report;
  const encodes = (n: TestNode, attempt: number) => n.proc.lines().filter((l) => l.msg === 'encoding a stream of another node' && l.attempt === attempt);

  before(async () => {
    cluster = await startCluster('failover', { settings: { 'x-resolutions': '160x90-15' } }, { ENCODER_CAPACITY: '2' });
    [ingest, ingest2] = await Promise.all([cluster.node('ingest', { NODE_ROLES: 'ingest,api' }), cluster.node('ingest2', { NODE_ROLES: 'ingest' })]);
    encoders = await Promise.all([cluster.node('enc1', { NODE_ROLES: 'encoder' }), cluster.node('enc2', { NODE_ROLES: 'encoder' })]);
  });
  afterEach(() => killAll());
  after(async () => {
    await cluster.stop(killMachine);
  });

  it('ingest node killed -9: a survivor closes its stream node-lost, frees the encoder and the channel', async () => {
    publish(`rtmp://127.0.0.1:${ingest2.rtmp}/orphaned/good-key`, 60);
    const stream = (await waitUntil(async () => (await report()).activeStreams.find((s) => s.channel === 'orphaned'), 'live', 20_000))!;
    await waitUntil(() => cluster.app.deliveredFor(stream.streamId).some((h) => h['x-stream-type'] === 'HLS-LIVE'), 'HLS-LIVE', 30_000);
    expect((await report()).encoders.reduce((n, e) => n + e.load, 0)).to.equal(1);
    const killedAt = Date.now();
    await killMachine(ingest2);
    cluster.nodes.splice(cluster.nodes.indexOf(ingest2), 1);
    await waitUntil(() => cluster.app.deliveredFor(stream.streamId).some((h) => h['x-event-type'] === 'stream-closed'), 'stream-closed by a survivor', 15_000, 50);
    expect(Date.now() - killedAt).to.be.below(8000);
    expect(cluster.app.deliveredFor(stream.streamId).at(-1)).to.include({ 'x-event-type': 'stream-closed', 'x-close-reason': 'node-lost' });
    await waitUntil(async () => (await report()).encoders.every((e) => e.load === 0), 'reservation freed', 10_000);
    // The channel is free again: published on the other ingest node.
    publish(`rtmp://127.0.0.1:${ingest.rtmp}/orphaned/good-key`, 10);
    await waitUntil(async () => (await report()).activeStreams.some((s) => s.channel === 'orphaned' && s.streamId !== stream.streamId), 'republished elsewhere', 20_000);
    await killAll();
    await waitUntil(async () => (await report()).activeStreams.length === 0 && (await report()).encoders.every((e) => e.load === 0), 'all ended', 30_000);
  });

  it('encoder node killed -9: the stream continues on the other one (same playlist, next number, discontinuity); none left → encoder-failed', async () => {
    publish(`rtmp://127.0.0.1:${ingest.rtmp}/resilient/good-key`, 90);
    const stream = (await waitUntil(async () => (await report()).activeStreams.find((s) => s.channel === 'resilient' && s.encoder > 0), 'placed', 20_000))!;
    const live = (await waitUntil(() => cluster.app.deliveredFor(stream.streamId).find((h) => h['x-stream-type'] === 'HLS-LIVE'), 'HLS-LIVE', 30_000))!;
    const playlist = path.join(cluster.cwd, 'data', String(live['x-index-file']));
    await waitUntil(() => segmentsOf(fs.readFileSync(playlist, 'utf8')).length >= 2, 'two segments', 20_000);
    const first = encoders.find((e) => encodes(e, 0).some((l) => l.streamId === stream.streamId))!;
    const second = encoders.find((e) => e !== first)!;
    const before = segmentsOf(fs.readFileSync(playlist, 'utf8'));
    const killedAt = Date.now();
    await killMachine(first);
    cluster.nodes.splice(cluster.nodes.indexOf(first), 1);
    const lastBefore = Math.max(...segmentsOf(fs.readFileSync(playlist, 'utf8')));
    await waitUntil(() => encodes(second, 1).some((l) => l.streamId === stream.streamId), 're-placed on the other encoder node', 10_000, 50);
    const replacedMs = Date.now() - killedAt;
    expect(replacedMs).to.be.below(10_000);
    const after = (await waitUntil(() => {
      const text = fs.readFileSync(playlist, 'utf8');
      return segmentsOf(text).some((n) => n > lastBefore) ? text : null;
    }, 'a new segment from the replacement', 20_000))!;
    // The same playlist continues: numbers go on from the last one, after a discontinuity.
    const numbers = segmentsOf(after);
    const firstNew = numbers.find((n) => n > lastBefore)!;
    expect(firstNew).to.equal(lastBefore + 1);
    expect(numbers.filter((n) => n <= lastBefore)).to.deep.equal(before.filter((n) => numbers.includes(n)).concat(numbers.filter((n) => n <= lastBefore && !before.includes(n))));
    const lines = after.split('\n');
    const uri = lines.find((l) => Number.parseInt(l, 10) === firstNew && /^\d+\.(ts|m4s)$/.test(l))!;
    expect(lines[lines.indexOf(uri) - 2]).to.equal('#EXT-X-DISCONTINUITY');
    decodeFile(ffmpegPath, readableSegment(path.dirname(playlist), uri));
    expect((await report()).activeStreams.find((s) => s.streamId === stream.streamId)).to.not.equal(undefined);
    expect(cluster.app.deliveredFor(stream.streamId).filter((h) => h['x-stream-type'] === 'HLS-LIVE')).to.have.length(1);

    // The last encoder node dies too: nowhere to go → encoder-failed.
    await killMachine(second);
    cluster.nodes.splice(cluster.nodes.indexOf(second), 1);
    await waitUntil(() => cluster.app.deliveredFor(stream.streamId).some((h) => h['x-event-type'] === 'stream-closed'), 'stream-closed', 20_000);
    expect(cluster.app.deliveredFor(stream.streamId).at(-1)).to.include({ 'x-close-reason': 'encoder-failed' });
  });
});
