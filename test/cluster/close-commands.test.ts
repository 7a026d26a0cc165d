/**
 * Close commands across nodes against a real Redis: they travel in each live node's mailbox (a
 * Redis stream), so a node whose connection to Redis drops at that moment still gets them when it
 * reconnects — on pub/sub, a message sent while a subscriber is disconnected is lost.
 */
import { expect } from 'chai';
import type Redis from 'ioredis';
import type { NodeRecord } from '../../src/cluster/cluster.types';
import { ClusterCommands, isCloseMessage } from '../../src/cluster/cluster-commands';
import { KEYS } from '../../src/cluster/keys';
import { Mailbox, type MailMessage } from '../../src/cluster/mailbox';
import { connectRedis, redisClient } from '../../src/cluster/redis-connection';
import { createLogger } from '../../src/logging/logger';
import { startRedis, type TestRedis } from '../helpers/redis';
import { sleep, waitUntil } from '../helpers/wait';

describe('cluster: close commands in the mailboxes (real Redis)', function () {
  this.timeout(20_000);
  let redis: TestRedis;
  let client: Redis;
  const log = createLogger('silent');
  const open: Array<{ close(): void }> = [];
  const record = (id: string) => ({ id }) as NodeRecord;

  before(async () => {
    redis = await startRedis();
    client = redisClient(redis.url, log, 'close-commands-test'); // the nodes' own kind of connection
    await connectRedis(client, 5000);
  });
  afterEach(() => {
    for (const m of open.splice(0)) m.close();
  });
  after(async () => {
    client.disconnect();
    await redis.stop();
  });

  async function listening(nodeId: string): Promise<MailMessage[]> {
    const got: MailMessage[] = [];
    const mailbox = new Mailbox(client, nodeId, log);
    open.push(mailbox);
    await mailbox.listen((m) => got.push(m));
    return got;
  }

  it('goes to every live node; each reads it once', async () => {
    const [x, y] = [await listening('node-x'), await listening('node-y')];
    const commands = new ClusterCommands(async () => [record('node-x'), record('node-y')], client, log);
    await commands.close('ch', 'stream-1');
    await waitUntil(() => x.length === 1 && y.length === 1, 'both nodes told', 5000);
    for (const got of [x, y]) expect(got).to.deep.equal([{ type: 'close', channel: 'ch', streamId: 'stream-1', reason: 'close-command' }]);
    await sleep(300);
    expect(x).to.have.length(1);
    expect(y).to.have.length(1);
  });

  it('a mailbox the command cannot be appended to (a key of another type): the close is refused, not reported sent', async () => {
    await client.set(KEYS.mailbox('node-broken'), 'not a stream');
    const commands = new ClusterCommands(async () => [record('node-broken')], client, log);
    const outcome = await commands.close('ch', 'stream-4').then(() => 'sent', (err: { code?: string }) => err.code);
    expect(outcome).to.equal('CLUSTER_UNAVAILABLE');
  });

  it('a node whose Redis connection is cut when the command is sent reads it after reconnecting', async () => {
    const x = await listening('node-cut');
    const commands = new ClusterCommands(async () => [record('node-cut')], client, log);
    const readers = async () => (await client.client('LIST') as string).split('\n').filter((l) => / cmd=xread /.test(l)).map((l) => /\bid=(\d+)/.exec(l)![1]!);
    await waitUntil(async () => (await readers()).length > 0, 'the mailbox reader blocked in XREAD', 5000);
    for (const id of await readers()) await client.client('KILL', 'ID', id);
    await commands.close('*', 'stream-2', 'close-command');
    await waitUntil(() => x.length === 1, 'the cut-off node got the close after reconnecting', 10_000);
    expect(x[0]).to.deep.equal({ type: 'close', channel: '*', streamId: 'stream-2', reason: 'close-command' });
  });

  it('Redis away: the command is refused with CLUSTER_UNAVAILABLE (the API answers 503)', async () => {
    const commands = new ClusterCommands(async () => [record('node-z')], client, log);
    await redis.kill();
    try {
      await commands.close('ch', 'stream-3');
      expect.fail('expected CLUSTER_UNAVAILABLE');
    } catch (err) {
      expect((err as { code?: string }).code).to.equal('CLUSTER_UNAVAILABLE');
    } finally {
      await redis.start();
    }
  });

  it('a malformed close message is recognised as such', () => {
    expect(isCloseMessage({ type: 'close', channel: 'c', streamId: 's', reason: 'close-command' })).to.equal(true);
    expect(isCloseMessage({ type: 'close', channel: 'c', streamId: 's', reason: 'whatever' } as unknown as MailMessage)).to.equal(false);
    expect(isCloseMessage({ type: 'encode-stop', streamId: 's', attempt: 0 })).to.equal(false);
  });
});
