/**
 * The LL-HLS locator on its own: which other node holds a stream, from node records as the
 * membership lists them; one read of the records per cache period however many requests miss.
 */
import { expect } from 'chai';
import type { NodeRecord } from '../../src/cluster/cluster.types';
import { baseUrl, LiveHlsLocator } from '../../src/cluster/live-hls-locator';
import { LiveHlsRegistry } from '../../src/packaging/live-hls';
import { PartStore } from '../../src/packaging/part-store';
import { sleep } from '../helpers/wait';

function node(id: string, liveHls: string[], extra: Partial<NodeRecord> = {}): NodeRecord {
  return {
    id, index: 1, roles: ['ingest', 'encoder', 'api'], address: '10.0.0.1', httpPort: 8000, rtmpPort: 1935, tls: false, version: '0', startedAt: 0,
    encoder: null, load: 0, ingestServers: [], activeStreams: [], placements: {}, liveHls, ...extra,
  };
}

describe('cluster: LL-HLS locator', () => {
  it('finds the other node holding a stream, never this one; one read per cache period, shared by concurrent misses', async () => {
    let reads = 0;
    let records = [node('self', ['ch/own']), node('other', ['ch/s1'], { address: '10.0.0.2', httpPort: 8081 })];
    const locator = new LiveHlsLocator({ nodeId: 'self', cacheMs: 200, nodes: async () => { reads++; return records; } });
    const answers = await Promise.all([locator.locate('ch', 's1'), locator.locate('ch', 'own'), locator.locate('ch', 'nope'), locator.locate('other', 's1')]);
    expect(answers).to.deep.equal(['http://10.0.0.2:8081', null, null, null]);
    expect(reads).to.equal(1);
    records = [node('self', []), node('other', [])];
    expect(await locator.locate('ch', 's1'), 'cached').to.equal('http://10.0.0.2:8081');
    await sleep(250);
    expect(await locator.locate('ch', 's1'), 'read again after the cache period').to.equal(null);
    expect(reads).to.equal(2);
  });

  it('Redis unavailable (the read fails): nobody holds anything, and it is not asked again within the period', async () => {
    let reads = 0;
    const locator = new LiveHlsLocator({ nodeId: 'self', cacheMs: 10_000, nodes: async () => { reads++; throw new Error('Connection is closed.'); } });
    expect(await locator.locate('ch', 's1')).to.equal(null);
    expect(await locator.locate('ch', 's2')).to.equal(null);
    expect(reads).to.equal(1);
  });

  it('the registry lists the streams it holds and says when the list changes (stream added; forgotten after the linger)', async () => {
    let changes = 0;
    const registry = new LiveHlsRegistry(50, () => changes++);
    const timing = { partSeconds: 0.25, segmentSeconds: 1 };
    const release = registry.add('ch', 's1', '320x180', new PartStore({ windowSegments: 2 }), timing);
    registry.add('ch', 's1', 'audio', new PartStore({ windowSegments: 2 }), timing)();
    expect(registry.keys()).to.deep.equal(['ch/s1']);
    expect(changes, 'one stream added').to.equal(1);
    await sleep(100);
    expect(registry.keys(), 'one rendition still live').to.deep.equal(['ch/s1']);
    release();
    await sleep(100);
    expect(registry.keys()).to.deep.equal([]);
    expect(changes).to.equal(2);
  });

  it('base URLs: https with TLS, IPv6 addresses in brackets', () => {
    expect(baseUrl({ address: '10.0.0.5', httpPort: 443, tls: true })).to.equal('https://10.0.0.5:443');
    expect(baseUrl({ address: 'fd00::5', httpPort: 8000, tls: false })).to.equal('http://[fd00::5]:8000');
  });
});
