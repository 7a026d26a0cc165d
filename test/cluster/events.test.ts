/**
 * Cluster events: every node's events go to one queue in Redis (AOF) and exactly one node delivers
 * it under a lease. Kill -9 the delivering node with events pending → another takes over within
 * seconds and delivers them all, in each stream's order, with their original x-event-id. Redis
 * killed and restarted → events kept on the nodes meanwhile, and those in Redis survive (AOF).
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type Redis from 'ioredis';
import { sleep, waitUntil } from '../helpers/wait';
import { killWsPublishers, publishWs } from '../helpers/ws-publisher';
import { startCluster, type TestCluster, type TestNode } from './nodes';

describe('cluster: events delivered from Redis by one node at a time (real Redis, real processes)', function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let client: Redis;
  const nodeId = (n: TestNode) => fs.readFileSync(path.join(cluster.cwd, `state-${n.name}`, 'node-id'), 'utf8').trim();
  const queued = async () => (await client.xrange('castline:events', '-', '+')).map(([, f]) => JSON.parse(f[1]) as { id: string; streamId: string; type: string });

  before(async () => {
    cluster = await startCluster('events', { settings: { 'x-record': 'true' } }, { EVENT_CALLBACK_RETRY_BASE: '0.05', EVENT_CALLBACK_RETRY_MAX: '0.3' });
    client = cluster.redis.client();
    await Promise.all(['a', 'b', 'c'].map((name) => cluster.node(name)));
  });
  afterEach(() => killWsPublishers());
  after(() => cluster.stop());

  it('kill -9 of the delivering node with events pending: another node delivers them all, in order, same ids', async () => {
    const leaseHolder = await waitUntil(() => client.get('castline:events:lease'), 'a node takes the lease', 5000);
    const holder = cluster.nodes.find((n) => nodeId(n) === leaseHolder)!;
    const [ingest] = cluster.nodes.filter((n) => n !== holder);
    cluster.app.eventStatus = 500; // the application refuses events
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
    expect(new Set(cluster.app.eventAttempts.map((e) => e.headers['x-event-id']))).to.deep.equal(new Set([pending[0].id]));

    const killedAt = Date.now();
    await holder.kill();
    cluster.app.eventStatus = null;
    await waitUntil(() => pending.every((e) => cluster.app.delivered().some((h) => h['x-event-id'] === e.id)), 'every pending event delivered', 15_000, 20);
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).to.be.below(5000); // TTL 1.5 s + a refresh period + delivery
    const newHolder = await client.get('castline:events:lease');
    expect(newHolder).to.not.equal(leaseHolder);
    expect(cluster.nodes.filter((n) => n !== holder).map(nodeId)).to.include(newHolder);

    // In order, each once: the stream's deliveries are the queue's order.
    const deliveredIds = cluster.app.delivered().map((h) => String(h['x-event-id']));
    expect(deliveredIds).to.deep.equal(pending.map((e) => e.id));
    expect(cluster.app.delivered().at(-1)).to.include({ 'x-event-type': 'stream-closed', 'x-close-reason': 'publisher-disconnected' });
    await waitUntil(async () => (await client.xlen('castline:events')) === 0, 'queue emptied', 5000);
    cluster.nodes.splice(cluster.nodes.indexOf(holder), 1);
  });

  it('Redis killed and restarted: events in Redis survive (AOF), events made meanwhile wait on their node', async () => {
    const [node] = cluster.nodes;
    cluster.app.eventStatus = 500;
    const pub = publishWs(`ws://127.0.0.1:${node.http}/through-outage/good-key/publish`, 'flv', 30);
    await pub.opened;
    const streamId = String((await waitUntil(async () => (await queued()).find((e) => e.type === 'stream-available'), 'queued', 20_000))!.streamId);
    const inRedis = await queued();
    await cluster.redis.kill();
    pub.stop(); // its stream-closed is made while Redis is away: kept in the node's own outbox
    await sleep(1500);
    await cluster.redis.start();
    cluster.app.eventStatus = null;
    await waitUntil(() => cluster.app.deliveredFor(streamId).some((h) => h['x-event-type'] === 'stream-closed'), 'stream-closed delivered after Redis came back', 20_000);
    const delivered = cluster.app.deliveredFor(streamId).map((h) => String(h['x-event-id']));
    for (const e of inRedis) expect(delivered, 'queued before the Redis crash').to.include(e.id);
    expect(new Set(delivered).size).to.equal(delivered.length);
    expect(cluster.app.deliveredFor(streamId).at(-1)).to.include({ 'x-close-reason': 'publisher-disconnected' });
  });
});
