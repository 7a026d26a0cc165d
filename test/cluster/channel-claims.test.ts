/** Channel claims against a real Redis: the Lua scripts' outcomes, one by one. */
import { expect } from 'chai';
import Redis from 'ioredis';
import { RedisChannelClaims } from '../../src/cluster/channel-claims';
import { KEYS } from '../../src/cluster/keys';
import { defineScripts } from '../../src/cluster/scripts';
import { createLogger } from '../../src/logging/logger';
import { startRedis, type TestRedis } from '../helpers/redis';
import { sleep, waitUntil } from '../helpers/wait';

describe('cluster: channel claims (real Redis)', function () {
  this.timeout(20_000);
  let redis: TestRedis;
  let client: Redis;
  const log = createLogger('silent');
  const claimsOf = (node: string, ttlMs = 500) => new RedisChannelClaims(client, defineScripts(client), node, ttlMs, log);

  before(async () => {
    redis = await startRedis();
    client = redis.client();
  });
  after(() => redis.stop());

  it('one session takes a channel; another is told busy; a used stream id is told id-taken', async () => {
    const [x, y] = [claimsOf('node-x'), claimsOf('node-y')];
    expect(await x.take('ch', 'id-1')).to.equal('taken');
    expect(await y.take('ch', 'id-2')).to.equal('busy');
    expect(await x.take('ch', 'id-3')).to.equal('busy'); // the same node's second session too
    expect(await y.take('other', 'id-1')).to.equal('id-taken');
    expect(await x.holder('ch')).to.deep.equal({ nodeId: 'node-x', streamId: 'id-1' });
    expect(await client.ttl(KEYS.streamId('id-1'))).to.be.above(80_000);
  });

  it('release frees only the session\'s own claim', async () => {
    const [x, y] = [claimsOf('node-x'), claimsOf('node-y')];
    expect(await x.take('rel', 'r-1')).to.equal('taken');
    y.release('rel', 'r-1'); // not y's: nothing happens
    x.release('rel', 'other-id');
    await sleep(50);
    expect(await x.holder('rel')).to.deep.equal({ nodeId: 'node-x', streamId: 'r-1' });
    x.release('rel', 'r-1');
    await waitUntil(async () => (await x.holder('rel')) === null, 'released');
    expect(await y.take('rel', 'r-2')).to.equal('taken');
  });

  it('claims expire without refresh, are kept by refresh, re-taken when free and reported lost when taken', async () => {
    const [x, y] = [claimsOf('node-x', 300), claimsOf('node-y', 300)];
    expect(await x.take('kept', 'k-1')).to.equal('taken');
    expect(await x.take('gone', 'g-1')).to.equal('taken');
    for (let i = 0; i < 4; i++) {
      await sleep(150);
      expect(await x.refresh()).to.deep.equal([]);
    }
    expect(await x.holder('kept')).to.not.equal(null); // 600 ms > TTL: refreshed
    await client.del(KEYS.channel('kept')); // lost meanwhile but free: taken again by the refresh
    await sleep(400); // no refresh: both expire
    expect(await y.take('gone', 'g-2')).to.equal('taken');
    expect(await x.refresh()).to.deep.equal([{ channel: 'gone', streamId: 'g-1' }]);
    expect(await x.holder('kept')).to.deep.equal({ nodeId: 'node-x', streamId: 'k-1' });
    expect(await x.refresh()).to.deep.equal([]); // a lost claim is no longer refreshed
    expect(await y.holder('gone')).to.deep.equal({ nodeId: 'node-y', streamId: 'g-2' });
  });

  it('Redis away: take answers unavailable (the publish is refused), not an exception', async () => {
    const offline = new Redis(redis.port, '127.0.0.1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    offline.on('error', () => undefined);
    const claims = new RedisChannelClaims(offline, defineScripts(offline), 'node-z', 500, log);
    expect(await claims.take('nope', 'n-1')).to.equal('unavailable');
    offline.disconnect();
  });
});
