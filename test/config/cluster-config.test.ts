import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { nodeIdentity } from '../../src/cluster/node-identity';
import { loadFrom, problemsOf as configProblems } from '../helpers/config';

const SECRET = 'a-cluster-secret-of-some-length';
const load = (env: Record<string, string>) => loadFrom({ CLUSTER_SECRET: SECRET, ...env });
const problemsOf = (env: Record<string, string>) => configProblems(load, env);

describe('config: cluster mode', () => {
  it('without REDIS_URL there is no cluster (one node, every role)', () => {
    expect(load({}).cluster).to.equal(null);
    expect(load({ NODE_ROLES: 'api' }).cluster).to.equal(null); // roles only matter in a cluster
  });

  it('REDIS_URL switches it on with the documented defaults', () => {
    const c = load({ REDIS_URL: 'redis://cache:6379/2' }).cluster!;
    expect(c.redisUrl).to.equal('redis://cache:6379/2');
    expect(c.roles).to.deep.equal(['ingest', 'encoder', 'api']);
    expect(c.nodeId).to.equal('');
    expect(c.nodeTtlMs).to.equal(5000);
    expect(c.address).to.match(/^\d+\.\d+\.\d+\.\d+$/);
    expect(c.secret).to.equal(SECRET);
  });

  it('CLUSTER_SECRET is required in cluster mode, and long enough', () => {
    expect(problemsOf({ REDIS_URL: 'redis://cache', CLUSTER_SECRET: '' }).join()).to.match(/CLUSTER_SECRET must be set/);
    expect(problemsOf({ REDIS_URL: 'redis://cache', CLUSTER_SECRET: 'short' }).join()).to.match(/at least 16 characters/);
    expect(problemsOf({ CLUSTER_SECRET: '' })).to.deep.equal([]); // not needed without REDIS_URL
  });

  it('reads roles in any case and order, NODE_ID and NODE_ADDRESS as given', () => {
    const c = load({ REDIS_URL: 'rediss://u:p@cache:6380', NODE_ROLES: ' Encoder, INGEST ', NODE_ID: 'enc-1', NODE_ADDRESS: '10.0.0.7', CLUSTER_NODE_TTL_SECONDS: '2.5' }).cluster!;
    expect(c.roles).to.deep.equal(['encoder', 'ingest']);
    expect(c).to.include({ nodeId: 'enc-1', address: '10.0.0.7', nodeTtlMs: 2500 });
  });

  it('names each bad cluster variable', () => {
    const problems = problemsOf({ REDIS_URL: 'http://cache:6379', NODE_ROLES: 'ingest,transcoder', NODE_ID: 'has space', CLUSTER_NODE_TTL_SECONDS: '0.1' });
    expect(problems.join('\n')).to.match(/REDIS_URL=.*redis:\/\//).and.match(/NODE_ROLES=.*ingest, encoder, api/).and.match(/NODE_ID=/).and.match(/CLUSTER_NODE_TTL_SECONDS=/);
    expect(problemsOf({ REDIS_URL: 'not a url' })).to.have.length(1);
    expect(problemsOf({ NODE_ROLES: ',' })).to.have.length(1);
  });

  it('NODE_ID: generated once and kept in STATE_PATH; a set one wins; a corrupt file is named', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-node-id-'));
    try {
      const first = nodeIdentity('', dir);
      expect(first).to.match(/^[0-9a-f-]{36}$/);
      expect(nodeIdentity('', dir)).to.equal(first);
      expect(nodeIdentity('fixed', dir)).to.equal('fixed');
      fs.writeFileSync(path.join(dir, 'node-id'), 'no good\n');
      expect(() => nodeIdentity('', dir)).to.throw(/node-id does not hold a node id/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
