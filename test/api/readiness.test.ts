/**
 * `/readyz` logic with the real outbox: the event store is a readiness dependency. A store whose
 * writes fail (a full or broken disk, simulated below the Outbox) makes the node not ready until a
 * write succeeds again; a closed outbox is not ready either.
 */
import { expect } from 'chai';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiRequest, ApiResponse } from '../../src/api/api.types';
import { probeRoutes, type ReadinessCheck } from '../../src/api/health';
import { MemoryOutboxStore } from '../../src/callbacks/memory-outbox-store';
import { Outbox } from '../../src/callbacks/outbox';
import type { StoredEvent } from '../../src/callbacks/outbox-store';
import { silentLogger } from '../../src/logging/logger';
import { waitUntil } from '../helpers/wait';

class BreakableStore extends MemoryOutboxStore {
  broken = false;
  override async addEvent(stored: StoredEvent): Promise<void> {
    if (this.broken) throw new Error('ENOSPC: no space left on device');
    return super.addEvent(stored);
  }
}

const request = { method: 'GET', path: '/readyz', headers: {}, body: Buffer.alloc(0), ip: '127.0.0.1', params: {} } as ApiRequest;

function readyz(checks: ReadinessCheck[]): ApiResponse {
  const route = probeRoutes(checks).find((r) => r.pattern === '/readyz')!;
  return route.handler(request) as ApiResponse;
}

describe('readiness (/readyz) with the event outbox', () => {
  let app: http.Server;
  let url = '';
  before(async () => {
    app = http.createServer((_req, res) => res.writeHead(200).end());
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(app.address() as AddressInfo).port}/events`;
  });
  after(() => new Promise<void>((r) => app.close(() => r())));

  const config = () => ({
    statePath: '/nonexistent',
    eventCallback: { url, auth: { method: 'none' as const }, timeoutMs: 2000, retryMaxMs: 100, retryBaseMs: 10 },
  });

  it('503 naming the event store while its writes fail, 200 again once one succeeds; 503 once closed', async () => {
    const store = new BreakableStore();
    const outbox = new Outbox({ config: config(), logger: silentLogger, store });
    const checks = [{ name: 'event-store', problem: () => outbox.storeProblem() }];
    expect(readyz(checks).status, 'before open').to.equal(503);
    await outbox.open();
    expect(readyz(checks)).to.deep.include({ status: 200, body: { status: 'ready', checks: { 'event-store': 'ok' } } });

    store.broken = true;
    outbox.available('ch', 'id1', { streamType: 'HLS-LIVE', resolution: '320x180-15', indexFile: 'hls/ch/id1/320x180-15/live.m3u8' });
    await outbox.persisted();
    const down = readyz(checks);
    expect(down.status).to.equal(503);
    expect(down.body).to.deep.include({ status: 'not-ready', code: 'NOT_READY' });
    expect((down.body as { error: string }).error).to.match(/event-store: could not persist event: ENOSPC/);

    store.broken = false;
    outbox.available('ch', 'id1', { streamType: 'HLS-LIVE', resolution: '160x90-15', indexFile: 'hls/ch/id1/160x90-15/live.m3u8' });
    await outbox.persisted();
    await waitUntil(() => outbox.pendingCount() === 0, 'events delivered');
    expect(readyz(checks).status).to.equal(200);

    await outbox.close();
    expect((readyz(checks).body as { checks: Record<string, string> }).checks['event-store']).to.equal('event store closed');
  });

  it('without EVENT_CALLBACK_URL no store is used: always ready on that count', async () => {
    const outbox = new Outbox({ config: { ...config(), eventCallback: { ...config().eventCallback, url: '' } }, logger: silentLogger, store: new BreakableStore() });
    await outbox.open();
    expect(outbox.storeProblem()).to.equal(null);
    await outbox.close();
  });

  it('every failing check is named; the others say ok', () => {
    const r = readyz([{ name: 'lifecycle', problem: () => 'starting' }, { name: 'event-store', problem: () => null }, { name: 'redis', problem: () => 'connection refused' }]);
    expect(r.status).to.equal(503);
    expect(r.body).to.deep.equal({
      status: 'not-ready', code: 'NOT_READY', error: 'not ready (lifecycle: starting; redis: connection refused)',
      checks: { lifecycle: 'starting', 'event-store': 'ok', redis: 'connection refused' },
    });
  });
});
