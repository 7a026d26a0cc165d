/**
 * Placement across encoder nodes, with real processes: an ingest node and two encoder nodes on one
 * Redis. Four encoded streams spread two and two (report and capacity show it), each encoder node
 * pulls its streams from the ingest node with the cluster token and writes to the shared storage,
 * the outputs reach the stream's actor on the ingest node (its events), a fifth stream finds no
 * room, and the reservations are freed when the streams end. Outsiders cannot pull.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import WebSocket from 'ws';
import { ffmpegPath } from '../../src/encoding/binaries';
import { decodeFile, readableSegment } from '../encoding/helpers';
import { waitUntil } from '../helpers/wait';
import { killWsPublishers, publishWs } from '../helpers/ws-publisher';
import { killAll, play, publish, type Child } from '../ingest/rtmp/rtmp-ffmpeg';
import { startCluster, type TestCluster, type TestNode } from './nodes';

interface Report {
  activeStreams: Array<{ channel: string; streamId: string; streamServer: number; encoder: number }>;
  encoders: Array<{ id: number; capacity: number; load: number }>;
}

describe('cluster: placement on encoder nodes (real Redis, real processes)', function () {
  this.timeout(150_000);
  let cluster: TestCluster;
  let ingest: TestNode;
  let encoders: TestNode[];
  const report = async () => (await ingest.get('/commands/report')).body as unknown as Report;

  before(async () => {
    cluster = await startCluster('placement', { settings: { 'x-resolutions': '160x90-15' } }, { ENCODER_CAPACITY: '2' });
    ingest = await cluster.node('ingest', { NODE_ROLES: 'ingest,api' });
    encoders = await Promise.all([cluster.node('enc1', { NODE_ROLES: 'encoder' }), cluster.node('enc2', { NODE_ROLES: 'encoder' })]);
  });
  afterEach(async () => {
    await killWsPublishers();
    await killAll();
  });
  after(() => cluster.stop());

  it('spreads 4 encoded streams over 2 encoder nodes, outputs come back to the ingest node, reservations freed at the end', async () => {
    expect((await ingest.get('/commands/capacity')).body).to.deep.equal({ load: 0, capacity: 4, encoderCount: 2 });
    const publishers: Child[] = [];
    for (let i = 0; i < 4; i++) publishers.push(publish(`rtmp://127.0.0.1:${ingest.rtmp}/placed-${i}/good-key`, 60));
    const r = (await waitUntil(async () => {
      const now = await report();
      return now.activeStreams.length === 4 && now.encoders.every((e) => e.load === 2) ? now : null;
    }, 'four streams placed two and two', 30_000, 100))!;
    const byEncoder = new Map<number, number>();
    for (const s of r.activeStreams) byEncoder.set(s.encoder, (byEncoder.get(s.encoder) ?? 0) + 1);
    expect([...byEncoder.values()]).to.deep.equal([2, 2]);
    expect([...byEncoder.keys()].sort()).to.deep.equal(r.encoders.map((e) => e.id).sort());
    expect((await ingest.get('/commands/capacity')).body).to.deep.equal({ load: 4, capacity: 4, encoderCount: 2 });

    // Each encoder node encodes its two (the logs say so) and the outputs reach the stream's actor
    // on the ingest node: its HLS-LIVE events, for playlists on the shared storage.
    for (const e of encoders) {
      await waitUntil(() => e.proc.lines().filter((l) => l.msg === 'encoding a stream of another node').length === 2, `${e.name} encodes two`, 10_000);
    }
    for (const s of r.activeStreams) {
      const live = (await waitUntil(() => cluster.app.deliveredFor(s.streamId).find((h) => h['x-stream-type'] === 'HLS-LIVE'), `HLS-LIVE of ${s.channel}`, 30_000))!;
      const playlist = path.join(cluster.cwd, 'data', String(live['x-index-file']));
      const segment = (await waitUntil(() => fs.readFileSync(playlist, 'utf8').split('\n').find((l) => /^\d+\.(ts|m4s)$/.test(l)), 'a segment', 10_000))!;
      decodeFile(ffmpegPath, readableSegment(path.dirname(playlist), segment));
    }

    // A fifth: no encoder node has room.
    const fifth = publish(`rtmp://127.0.0.1:${ingest.rtmp}/placed-4/good-key`, 20);
    await fifth.exited;
    expect(cluster.app.verifications.filter((v) => v.headers['x-streaming-channel'] === 'placed-4')).to.have.length(1);
    expect((await report()).activeStreams.map((s) => s.channel)).to.not.include('placed-4');
    expect(ingest.proc.lines().some((l) => l.msg === 'publish refused' && l.ch === 'placed-4' && l.code === 'CAPACITY_FULL')).to.equal(true);

    for (const p of publishers) p.proc.kill('SIGINT');
    await waitUntil(async () => (await report()).encoders.every((e) => e.load === 0), 'reservations freed', 30_000, 100);
    for (const s of r.activeStreams) {
      await waitUntil(() => cluster.app.deliveredFor(s.streamId).some((h) => h['x-event-type'] === 'stream-closed'), 'stream-closed', 20_000);
      const playlist = path.join(cluster.cwd, 'data', String(cluster.app.deliveredFor(s.streamId).find((h) => h['x-stream-type'] === 'HLS-LIVE')!['x-index-file']));
      expect(fs.readFileSync(playlist, 'utf8')).to.include('#EXT-X-ENDLIST');
    }
    expect(await cluster.redis.client().hlen('castline:placements')).to.equal(0);
  });

  it('outsiders cannot pull: WS receive and RTMP play need the cluster token', async () => {
    const ws = publishWs(`ws://127.0.0.1:${ingest.http}/guarded/good-key/publish`, 'flv', 30);
    publish(`rtmp://127.0.0.1:${ingest.rtmp}/guarded-rtmp/good-key`, 30);
    await ws.opened;
    await waitUntil(async () => (await report()).activeStreams.length === 2, 'both live', 20_000);
    const status = await new Promise<number>((resolve) => {
      const receiver = new WebSocket(`ws://127.0.0.1:${ingest.http}/guarded/good-key/receive`);
      receiver.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      receiver.once('open', () => resolve(101));
    });
    expect(status).to.equal(403);
    const wrong = await new Promise<number>((resolve) => {
      const receiver = new WebSocket(`ws://127.0.0.1:${ingest.http}/guarded/good-key/receive?cluster_token=${'0'.repeat(64)}`);
      receiver.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      receiver.once('open', () => resolve(101));
    });
    expect(wrong).to.equal(403);
    const player = play(`rtmp://127.0.0.1:${ingest.rtmp}/guarded-rtmp/good-key`, path.join(cluster.cwd, 'stolen.flv'));
    const exit = await player.exited;
    expect(exit.code).to.not.equal(0);
    // The refusal's log line may reach the test's pipe after the player's exit does.
    await waitUntil(() => ingest.proc.lines().some((l) => l.msg === 'player refused' && l.reason === 'no cluster token'), 'refusal logged', 5000);
    // …while the encoder nodes, with the token, pull both.
    await waitUntil(async () => (await report()).encoders.reduce((n, e) => n + e.load, 0) === 2, 'both placed', 10_000);
  });

  it('an encoder node stopped gracefully (SIGTERM) hands its streams over: they continue on the other node, nothing closes', async () => {
    publish(`rtmp://127.0.0.1:${ingest.rtmp}/handed-over/good-key`, 60);
    const stream = (await waitUntil(async () => (await report()).activeStreams.find((s) => s.channel === 'handed-over' && s.encoder > 0), 'placed', 20_000))!;
    const live = (await waitUntil(() => cluster.app.deliveredFor(stream.streamId).find((h) => h['x-stream-type'] === 'HLS-LIVE'), 'HLS-LIVE', 30_000))!;
    const playlist = path.join(cluster.cwd, 'data', String(live['x-index-file']));
    const numbers = () => fs.readFileSync(playlist, 'utf8').split('\n').filter((l) => /^\d+\.(ts|m4s)$/.test(l)).map((l) => Number.parseInt(l, 10));
    await waitUntil(() => numbers().length >= 2, 'two segments', 20_000);
    const encodes = (n: TestNode) => n.proc.lines().filter((l) => l.msg === 'encoding a stream of another node' && l.streamId === stream.streamId);
    const leaving = encoders.find((e) => encodes(e).length > 0)!;
    const staying = encoders.find((e) => e !== leaving)!;
    expect(await leaving.stop()).to.equal(0);
    cluster.nodes.splice(cluster.nodes.indexOf(leaving), 1);
    const last = Math.max(...numbers());
    await waitUntil(() => encodes(staying).length > 0, 'taken over by the other encoder node', 15_000);
    await waitUntil(() => numbers().some((n) => n > last), 'the playlist goes on', 20_000);
    expect(numbers().find((n) => n > last)).to.equal(last + 1);
    expect(cluster.app.deliveredFor(stream.streamId).some((h) => h['x-event-type'] === 'stream-closed')).to.equal(false);
    expect((await report()).activeStreams.find((s) => s.streamId === stream.streamId)?.encoder).to.equal((await report()).encoders[0].id);
  });
});
