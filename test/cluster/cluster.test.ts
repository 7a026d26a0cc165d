/**
 * Cluster mode, step by step with real processes: nodes on one real Redis (AOF) register and
 * heartbeat; capacity and report are answered across the cluster by any node; one publisher per
 * channel cluster-wide (two ingest nodes race, one wins); close through another node; roles; a
 * node killed -9 leaves the cluster and frees its channels; Redis down → publishes refused 503,
 * `GET /` degraded, `/readyz` 503, live streams continue, and back without restart.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sleep, waitUntil } from '../helpers/wait';
import { killWsPublishers, publishWs, type WsPublisher } from '../helpers/ws-publisher';
import { killAll, publish } from '../ingest/rtmp/rtmp-ffmpeg';
import { startCluster, type TestCluster, type TestNode } from './nodes';

interface Report {
  activeStreams: Array<{ channel: string; streamId: string; streamServer: number; encoder: number }>;
  streamingServers: Array<{ id: number; ip: string; port: number; serverType: string }>;
  encoders: Array<{ id: number; capacity: number; load: number }>;
}

describe('cluster: membership, channel claims, commands across nodes (real Redis, real processes)', function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let a: TestNode;
  let b: TestNode;
  const publishers: WsPublisher[] = [];
  const wsUrl = (node: TestNode, channel: string, key = 'good-key') => `ws://127.0.0.1:${node.http}/${channel}/${key}/publish`;
  const report = async (node: TestNode) => (await node.get('/commands/report')).body as unknown as Report;
  const outcome = async (p: WsPublisher) => p.opened.then(() => 'open', (err: { status?: number }) => err.status ?? 'error');

  before(async () => {
    cluster = await startCluster('membership');
    [a, b] = await Promise.all([cluster.node('a', { ENCODER_CAPACITY: '3' }), cluster.node('b', { ENCODER_CAPACITY: '2' })]);
  });
  afterEach(async () => {
    for (const p of publishers.splice(0)) p.stop();
    await killWsPublishers();
    await killAll();
  });
  after(() => cluster.stop());

  it('every node registers: capacity and report are the whole cluster, from any node', async () => {
    for (const node of [a, b]) {
      expect((await node.get('/commands/capacity')).body).to.deep.equal({ load: 0, capacity: 5, encoderCount: 2 });
      const r = await report(node);
      expect(r.encoders.map((e) => e.capacity).sort()).to.deep.equal([2, 3]);
      expect(new Set(r.encoders.map((e) => e.id)).size).to.equal(2);
      expect(r.streamingServers).to.have.length(4);
      expect(new Set(r.streamingServers.map((s) => s.id)).size).to.equal(4);
      expect(r.streamingServers.map((s) => s.port).sort()).to.deep.equal([a.http, a.rtmp, b.http, b.rtmp].sort());
      expect(r.activeStreams).to.deep.equal([]);
    }
    // Node ids are generated once and kept: each node's state folder holds one.
    expect(fs.readFileSync(path.join(cluster.cwd, 'state-a', 'node-id'), 'utf8').trim()).to.match(/^[0-9a-f-]{36}$/);
  });

  it('one publisher per channel cluster-wide: two ingest nodes race for one channel, one wins', async () => {
    for (let round = 0; round < 4; round++) {
      const channel = `race-${round}`;
      const [pa, pb] = [publishWs(wsUrl(a, channel), 'flv', 20), publishWs(wsUrl(b, channel), 'flv', 20)];
      publishers.push(pa, pb);
      const outcomes = await Promise.all([outcome(pa), outcome(pb)]);
      expect(outcomes.filter((o) => o === 'open'), `round ${round}: ${outcomes}`).to.have.length(1);
      expect(outcomes.filter((o) => o === 403), `round ${round}: ${outcomes}`).to.have.length(1);
      pa.stop();
      pb.stop();
    }
    // The winner's channel is free again once its publisher left: the loser's node can take it.
    await sleep(300);
    const again = publishWs(wsUrl(b, 'race-0'), 'flv', 20);
    publishers.push(again);
    expect(await outcome(again)).to.equal('open');
  });

  it('a stream published on one node is in every node\'s report, and another node closes it', async () => {
    publish(`rtmp://127.0.0.1:${a.rtmp}/far-away/good-key`, 30);
    const listed = (await waitUntil(async () => (await report(b)).activeStreams.find((s) => s.channel === 'far-away'), 'stream in B\'s report', 20_000))!;
    const aRtmp = (await report(b)).streamingServers.find((s) => s.port === a.rtmp)!;
    expect(listed.streamServer).to.equal(aRtmp.id);
    expect((await b.get('/commands/capacity')).body).to.include({ load: 1 });
    // A second publisher of the same channel on the other node is refused.
    const dup = publishWs(wsUrl(b, 'far-away'), 'flv', 5);
    publishers.push(dup);
    expect(await outcome(dup)).to.equal(403);

    const closed = await b.post('/commands/close', { 'x-streaming-channel': 'far-away', 'x-streaming-id': '*' });
    expect(closed).to.deep.equal({ status: 200, body: { status: 'SUCCESS', closed: [listed.streamId] } });
    await waitUntil(() => cluster.app.deliveredFor(listed.streamId).some((h) => h['x-event-type'] === 'stream-closed'), 'stream-closed', 20_000);
    expect(cluster.app.deliveredFor(listed.streamId).at(-1)).to.include({ 'x-close-reason': 'close-command' });
    await waitUntil(async () => (await report(a)).activeStreams.length === 0, 'report empty', 10_000);
  });

  it('roles: an api-only node takes no publish and adds no encoder, but answers for the cluster', async () => {
    const c = await cluster.node('c', { NODE_ROLES: 'api' });
    expect((await c.get('/commands/capacity')).body).to.deep.equal({ load: 0, capacity: 5, encoderCount: 2 });
    expect((await report(c)).streamingServers).to.have.length(4);
    expect(c.proc.lines().some((l) => l.msg === 'RTMP listening')).to.equal(false);
    const refused = publishWs(wsUrl(c, 'nowhere'), 'flv', 5);
    publishers.push(refused);
    expect(await outcome(refused)).to.equal(404);
    // An ingest-only node adds its listeners, no encoder.
    const d = await cluster.node('d', { NODE_ROLES: 'ingest' });
    await waitUntil(async () => (await report(a)).streamingServers.length === 6, 'ingest node listed', 5000);
    expect((await a.get('/commands/capacity')).body).to.deep.equal({ load: 0, capacity: 5, encoderCount: 2 });
    expect((await d.get('/commands/capacity')).status).to.equal(404); // no api role: no commands API
    await Promise.all([c.stop(), d.stop()]);
    await waitUntil(async () => (await report(a)).streamingServers.length === 4, 'stopped nodes gone', 5000);
  });

  it('a node killed -9 leaves the cluster within its TTL and its channels are free again', async () => {
    const e = await cluster.node('e', { ENCODER_CAPACITY: '4' });
    const p = publishWs(wsUrl(e, 'orphan'), 'flv', 30);
    publishers.push(p);
    await p.opened;
    await waitUntil(async () => (await report(a)).activeStreams.some((s) => s.channel === 'orphan'), 'orphan listed', 10_000);
    const blocked = publishWs(wsUrl(a, 'orphan'), 'flv', 5);
    publishers.push(blocked);
    expect(await outcome(blocked)).to.equal(403);
    const killedAt = Date.now();
    await e.kill();
    await waitUntil(async () => (await a.get('/commands/capacity')).body.encoderCount === 2, 'node e gone', 5000, 50);
    const goneAfter = Date.now() - killedAt;
    expect(goneAfter).to.be.below(3000);
    const taken = publishWs(wsUrl(a, 'orphan'), 'flv', 10);
    publishers.push(taken);
    expect(await outcome(taken)).to.equal('open');
  });

  it('Redis down: live streams keep going, new publishes get 503, GET / degraded, /readyz 503; back without restart', async () => {
    const live = publishWs(wsUrl(a, 'steady'), 'flv', 60);
    publishers.push(live);
    await live.opened;
    const playlist: string = await waitUntil(() => {
      const dir = path.join(cluster.cwd, 'data', 'hls', 'steady');
      if (!fs.existsSync(dir)) return '';
      const renditions = fs.readdirSync(dir).flatMap((id) => fs.readdirSync(path.join(dir, id)).map((r) => path.join(dir, id, r, 'live.m3u8')));
      return renditions.find((f) => fs.existsSync(f)) ?? '';
    }, 'steady playlist', 20_000);
    await cluster.redis.kill();
    await waitUntil(async () => (await a.get('/')).body.status === 'degraded', 'degraded', 5000, 50);
    expect((await a.get('/')).status).to.equal(200);
    const ready = await a.get('/readyz');
    expect(ready.status).to.equal(503);
    expect((ready.body.checks as Record<string, string>).cluster).to.match(/Redis unavailable/);
    const refused = publishWs(wsUrl(a, 'while-down'), 'flv', 5);
    publishers.push(refused);
    expect(await outcome(refused)).to.equal(503);
    expect((await a.get('/commands/report')).status).to.equal(503);
    // The live stream keeps being packaged while Redis is away (longer than the nodes' TTL).
    const before = fs.readFileSync(playlist, 'utf8');
    await sleep(3000);
    expect(fs.readFileSync(playlist, 'utf8')).to.not.equal(before);
    expect(live.ws.readyState).to.equal(1);

    await cluster.redis.start();
    await waitUntil(async () => (await a.get('/')).body.status === 'ok', 'ok again', 10_000, 100);
    expect((await a.get('/readyz')).status).to.equal(200);
    const back = publishWs(wsUrl(a, 'while-down'), 'flv', 5);
    publishers.push(back);
    expect(await outcome(back)).to.equal('open');
    // The live stream's channel was claimed again by its node: nobody else can take it.
    const thief = publishWs(wsUrl(b, 'steady'), 'flv', 5);
    publishers.push(thief);
    expect(await outcome(thief)).to.equal(403);
  });
});
