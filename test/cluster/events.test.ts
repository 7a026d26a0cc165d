/**
 * Cluster events: every node's events go to one queue in Redis (AOF) and exactly one node delivers
 * it under a lease. Kill -9 the delivering node with events pending → another takes over within
 * seconds and delivers them all, in each stream's order, with their original x-event-id. Redis
 * killed and restarted → events kept on the nodes meanwhile, and those in Redis survive (AOF).
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Redis from 'ioredis';
import { AppServer } from '../helpers/app-server';
import { startRedis, type TestRedis } from '../helpers/redis';
import { sleep, waitUntil } from '../helpers/wait';
import { killWsPublishers, publishWs } from '../helpers/ws-publisher';
import { startNode, stopCluster, type TestNode } from './nodes';

describe('cluster: events delivered from Redis by one node at a time (real Redis, real processes)', function () {
  this.timeout(120_000);
  let cwd: string;
  let redis: TestRedis;
  let client: Redis;
  let app: AppServer;
  const nodes: TestNode[] = [];
  const nodeId = (n: TestNode) => fs.readFileSync(path.join(cwd, `state-${n.name}`, 'node-id'), 'utf8').trim();
  const queued = async () => (await client.xrange('castline:events', '-', '+')).map(([, f]) => JSON.parse(f[1]) as { id: string; streamId: string; type: string });

  before(async () => {
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-cluster-events-'));
    redis = await startRedis();
    client = redis.client();
    app = await new AppServer({ settings: { 'x-record': 'true' } }).start();
    const env = {
      REDIS_URL: redis.url, KEY_VERIFICATION_URL: `${app.url}/verify`, EVENT_CALLBACK_URL: `${app.url}/events`,
      EVENT_CALLBACK_RETRY_BASE: '0.05', EVENT_CALLBACK_RETRY_MAX: '0.3',
    };
    nodes.push(...(await Promise.all(['a', 'b', 'c'].map((name) => startNode(cwd, name, env)))));
  });
  afterEach(() => killWsPublishers());
  after(() => stopCluster({ nodes, redis, app, cwd }));

  it('kill -9 of the delivering node with events pending: another node delivers them all, in order, same ids', async () => {
    const leaseHolder = await waitUntil(() => client.get('castline:events:lease'), 'a node takes the lease', 5000);
    const holder = nodes.find((n) => nodeId(n) === leaseHolder)!;
    const [ingest] = nodes.filter((n) => n !== holder);
    app.eventStatus = 500; // the application refuses events
    const pub = publishWs(`ws://127.0.0.1:${ingest.http}/evented/good-key/publish`, 'flv', 30);
    await pub.opened;
    await waitUntil(async () => (await queued()).some((e) => e.type === 'stream-available'), 'events queued in Redis', 20_000);
    await sleep(2500); // a recording segment or two: more events queue behind the refused first one
    pub.stop();
    const pending = (await waitUntil(async () => {
      const q = await queued();
      return q.some((e) => e.type === 'stream-closed') ? q : null;
    }, 'stream-closed queued', 20_000))!;
    expect(pending.length).to.be.at.least(3);
    // Only the lease holder attempts: every attempt so far is of the queue's first event.
    expect(new Set(app.eventAttempts.map((e) => e.headers['x-event-id']))).to.deep.equal(new Set([pending[0].id]));

    const killedAt = Date.now();
    await holder.kill();
    app.eventStatus = null;
    await waitUntil(() => pending.every((e) => app.delivered().some((h) => h['x-event-id'] === e.id)), 'every pending event delivered', 15_000, 20);
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).to.be.below(5000); // TTL 1.5 s + a refresh period + delivery
    const newHolder = await client.get('castline:events:lease');
    expect(newHolder).to.not.equal(leaseHolder);
    expect(nodes.filter((n) => n !== holder).map(nodeId)).to.include(newHolder);

    // In order, each once: the stream's deliveries are the queue's order.
    const deliveredIds = app.delivered().map((h) => String(h['x-event-id']));
    expect(deliveredIds).to.deep.equal(pending.map((e) => e.id));
    expect(app.delivered().at(-1)).to.include({ 'x-event-type': 'stream-closed', 'x-close-reason': 'publisher-disconnected' });
    await waitUntil(async () => (await client.xlen('castline:events')) === 0, 'queue emptied', 5000);
    nodes.splice(nodes.indexOf(holder), 1);
  });

  it('Redis killed and restarted: events in Redis survive (AOF), events made meanwhile wait on their node', async () => {
    const [node] = nodes;
    app.eventStatus = 500;
    const pub = publishWs(`ws://127.0.0.1:${node.http}/through-outage/good-key/publish`, 'flv', 30);
    await pub.opened;
    const streamId = String((await waitUntil(async () => (await queued()).find((e) => e.type === 'stream-available'), 'queued', 20_000))!.streamId);
    const inRedis = await queued();
    await redis.kill();
    pub.stop(); // its stream-closed is made while Redis is away: kept in the node's own outbox
    await sleep(1500);
    await redis.start();
    app.eventStatus = null;
    await waitUntil(() => app.deliveredFor(streamId).some((h) => h['x-event-type'] === 'stream-closed'), 'stream-closed delivered after Redis came back', 20_000);
    const delivered = app.deliveredFor(streamId).map((h) => String(h['x-event-id']));
    for (const e of inRedis) expect(delivered, 'queued before the Redis crash').to.include(e.id);
    expect(new Set(delivered).size).to.equal(delivered.length);
    expect(app.deliveredFor(streamId).at(-1)).to.include({ 'x-close-reason': 'publisher-disconnected' });
  });
});
