/**
 * RTMP connection limits (issue 13) on the real embedded node-media-server, with raw TCP clients:
 * per address (MAX_IP_CONCURRENT_CONNECTIONS, with the WS ingest's exemptions) and the bound on
 * connections still in their handshake (RTMP_MAX_PENDING_HANDSHAKES). Every client is on loopback,
 * so the loopback exemption is switched off (or replaced by the whitelist) to make it count.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RtmpConnectionLimitOptions } from '../../../src/ingest/rtmp/connection-limit';
import { RtmpIngest } from '../../../src/ingest/rtmp/rtmp-ingest';
import { silentLogger } from '../../../src/logging/logger';
import { accept, FakePublishSink } from '../../fakes/publish-sink';
import { within } from './rtmp-ffmpeg';
import { pipelinedPublish } from './rtmp-raw-client';

interface Client {
  socket: net.Socket;
  /** Resolves when the server closed the connection. */
  closed: Promise<void>;
  isClosed(): boolean;
}

/** An idle client: connects and sends nothing (a half-open handshake, a port scan). */
function idle(port: number): Promise<Client> {
  return track(net.connect(port, '127.0.0.1'));
}

function track(socket: net.Socket): Promise<Client> {
  let closed = false;
  const whenClosed = new Promise<void>((resolve) => socket.on('close', () => { closed = true; resolve(); }));
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  return new Promise((resolve) => {
    const ready = () => resolve({ socket, closed: whenClosed, isClosed: () => closed });
    if (socket.readyState === 'open') ready();
    else socket.once('connect', ready);
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RTMP connection limits (raw sockets, real node-media-server)', function () {
  this.timeout(30_000);
  let dir: string;
  let coordinator: FakePublishSink;
  let ingest: RtmpIngest | null = null;
  const clients: Client[] = [];

  async function start(limits: RtmpConnectionLimitOptions): Promise<number> {
    coordinator = new FakePublishSink(accept);
    ingest = new RtmpIngest({
      sink: coordinator,
      config: { rtmpPort: 0, bindAddress: '127.0.0.1', idMaxLength: 32, statePath: path.join(dir, 'state') },
      logger: silentLogger, serverId: 1, commandTimeoutMs: 10_000, limits,
    });
    await ingest.start();
    return ingest.port;
  }
  const open = async (port: number, n: number) => {
    const opened = await Promise.all(Array.from({ length: n }, () => idle(port)));
    clients.push(...opened);
    return opened;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-rtmp-limit-'));
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await ingest?.close();
    ingest = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('MAX_IP_CONCURRENT_CONNECTIONS per address: the next connection is closed at once; a slot freed is usable again', async () => {
    const port = await start({ maxPerIp: 2, whitelist: '', exemptLoopback: false, maxPending: 100 });
    const [a, b] = await open(port, 2);
    const [c] = await open(port, 1);
    await within(2000, 'the third connection to be closed by the server', c.closed);
    await pause(300);
    expect(a.isClosed() || b.isClosed(), 'the first two stay open').to.equal(false);

    a.socket.destroy();
    await a.closed;
    await pause(100);
    const publisher = await track(pipelinedPublish(port, 'ch', 'key'));
    clients.push(publisher);
    const { request } = await within(5000, 'the publish request of a freed slot', coordinator.decision(1));
    expect(request).to.include({ channel: 'ch', key: 'key', userIp: '127.0.0.1' });
    expect(publisher.isClosed()).to.equal(false);
  });

  it('CONCURRENT_LIMIT_WHITELIST exempts an address; loopback is exempt by default', async () => {
    let port = await start({ maxPerIp: 1, whitelist: '10.0.0.0/8, 127.0.0.1', exemptLoopback: false, maxPending: 100 });
    let many = await open(port, 4);
    await pause(500);
    expect(many.filter((c) => c.isClosed()), 'whitelisted').to.deep.equal([]);
    for (const c of clients.splice(0)) c.socket.destroy();
    await ingest!.close();

    port = await start({ maxPerIp: 1, whitelist: '', maxPending: 1 });
    many = await open(port, 4);
    await pause(500);
    expect(many.filter((c) => c.isClosed()), 'loopback, default exemption').to.deep.equal([]);
  });

  it('RTMP_MAX_PENDING_HANDSHAKES: connections beyond it are closed; a connection that publishes leaves the pending set', async () => {
    const port = await start({ maxPerIp: 100, whitelist: '', exemptLoopback: false, maxPending: 3 });
    await open(port, 2);
    const publisher = await track(pipelinedPublish(port, 'ch2', 'key'));
    clients.push(publisher);
    await within(5000, 'the publish request', coordinator.decision(1));
    // Pending now: the two idle ones. One more fits, the next does not.
    const [third] = await open(port, 1);
    const [fourth] = await open(port, 1);
    await within(2000, 'the connection beyond the pending bound to be closed', fourth.closed);
    await pause(300);
    expect(third.isClosed()).to.equal(false);
    expect(publisher.isClosed(), 'the publisher is not disturbed').to.equal(false);
  });
});
