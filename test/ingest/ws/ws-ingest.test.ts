/** WS ingest protocol, end to end: real uWS server, real `ws` clients, fake coordinator. */
import { expect } from 'chai';
import type { PublishDecision } from '../../../src/domain/stream';
import { Client, expectRejected, msg, serverPerTest, sleep, startServer, testConfig, until, type TestServer } from './ws-helpers';

describe('ws ingest: protocol', function () {
  this.timeout(30_000);
  const suite = serverPerTest(testConfig({ gopCacheBytes: 10_000, wsMaxMessageBytes: 64 * 1024 }, 16));
  const client = (path: string, options = {}) => suite.client(path, options);

  it('leaves plain HTTP requests to the app routes', async () => {
    const root = await fetch(`http://127.0.0.1:${suite.srv.port}/`, { headers: { connection: 'close' } });
    expect(root.status).to.equal(200);
    expect(await root.text()).to.equal('castline');
    const plain = await fetch(`http://127.0.0.1:${suite.srv.port}/ch/key/publish`, { headers: { connection: 'close' } });
    expect(plain.status).to.equal(404);
    expect(await plain.text()).to.equal('api fallback');
    expect(suite.srv.coordinator.requests).to.have.length(0);
  });

  it('refuses bad channel, key, kind and shape with 404 JSON before the upgrade', async () => {
    for (const path of ['/bad.ch/k/publish', `/${'c'.repeat(17)}/k/publish`, '/c/k$/receive', `/c/${'k'.repeat(17)}/probe`, '/c/k/play', '/c/k/publish/x', '/c/k']) {
      const r = await expectRejected(suite.srv.url(path));
      expect(r.status, path).to.equal(404);
      expect(r.json.error, path).to.be.a('string').and.not.empty;
    }
    expect(suite.srv.coordinator.requests).to.have.length(0);
  });

  it('publishes: waiting, late, clear-cache and probe receivers get what the protocol promises', async () => {
    const early = client('/live/secret/receive');
    await early.opened;
    const pub = client('/live/secret/publish');
    await pub.opened;
    const req = suite.srv.coordinator.requests[0]!;
    expect(req).to.include({ channel: 'live', key: 'secret', userIp: '127.0.0.1', ingest: 'WS', serverId: 7 });
    expect(req.source).to.deep.equal({ type: 'WS', uri: `ws://127.0.0.1:${suite.srv.port}/live/secret` });
    const streamId = suite.srv.coordinator.live.get('live')!.streamId;

    for (let i = 0; i < 30; i++) pub.send(msg(i)); // header + 29 chunks; cache holds ~10 kB
    await pub.flush();
    await until(() => early.binary.length === 30, 5000, 'early receiver');

    const late = client('/live/secret/receive');
    await until(() => late.binary.length > 0, 5000, 'late replay');
    await sleep(50);
    const lateSeqs = late.binary.map((b) => b.readUInt32BE(0));
    expect(lateSeqs[0]).to.equal(0); // header kept
    expect(lateSeqs.slice(1)).to.deep.equal([21, 22, 23, 24, 25, 26, 27, 28, 29]); // newest within 10 kB (header counted)

    const encoder = client('/live/secret/receive-clear-cache');
    await until(() => encoder.binary.length === 10, 5000, 'encoder replay');
    const probe = client('/live/secret/probe');
    const probeClose = await probe.closed;
    expect(probeClose.code).to.equal(1000);
    expect(probe.binary.map((b) => b.readUInt32BE(0))).to.deep.equal([0]);

    const after = client('/live/secret/receive');
    await after.opened;
    await until(() => after.binary.length === 1, 5000, 'header after clear');
    pub.send(msg(30));
    await until(() => after.binary.length === 2 && encoder.binary.length === 11 && early.binary.length === 31, 5000, 'live chunk');
    expect(after.binary.map((b) => b.readUInt32BE(0))).to.deep.equal([0, 30]);
    expect(Buffer.concat(early.binary).equals(Buffer.concat(Array.from({ length: 31 }, (_, i) => msg(i))))).to.equal(true);

    pub.ws.close(1000);
    for (const r of [early, late, encoder, after]) expect((await r.closed).code).to.equal(1000);
    await suite.srv.coordinator.goneOf(streamId);
    await until(() => suite.srv.ingest.stats().connections === 0, 5000, 'all closed');
  });

  it('a refused key gets 403 and no media reaches a waiting receiver', async () => {
    suite.srv.coordinator.decide = (r) => suite.srv.coordinator.refuse('KEY_REFUSED', `key refused for ${r.channel}`);
    const waiting = client('/ch/bad/receive');
    await waiting.opened;
    const r = await expectRejected(suite.srv.url('/ch/bad/publish'));
    expect(r.status).to.equal(403);
    expect(r.json).to.deep.equal({ error: 'key refused for ch', code: 'KEY_REFUSED' });
    await sleep(200);
    expect(waiting.binary).to.have.length(0);
    expect(waiting.isClosed).to.equal(false);
    expect(suite.srv.ingest.stats()).to.include({ publishers: 0, waitingReceivers: 1 });
  });

  it('maps every refusal code to its HTTP status', async () => {
    const expected: Array<[PublishDecision, number]> = [
      [{ accepted: false, code: 'CHANNEL_BUSY', message: 'x' }, 403],
      [{ accepted: false, code: 'CAPACITY_FULL', message: 'x' }, 403],
      [{ accepted: false, code: 'INVALID_ID', message: 'x' }, 404],
      [{ accepted: false, code: 'SHUTTING_DOWN', message: 'x' }, 503],
    ];
    for (const [decision, status] of expected) {
      suite.srv.coordinator.decide = () => decision;
      expect((await expectRejected(suite.srv.url('/c/k/publish'))).status).to.equal(status);
    }
    suite.srv.coordinator.decide = () => Promise.reject(new Error('coordinator bug'));
    expect((await expectRejected(suite.srv.url('/c/k/publish'))).status).to.equal(500);
  });

  it('refuses a second publisher on a live channel (403) without asking the coordinator', async () => {
    const pub = client('/ch/k/publish');
    await pub.opened;
    const r = await expectRejected(suite.srv.url('/ch/k/publish'));
    expect(r.status).to.equal(403);
    expect(r.json.code).to.equal('CHANNEL_BUSY');
    expect(suite.srv.coordinator.requests).to.have.length(1);
    // a channel live elsewhere in the cluster: the coordinator says busy
    suite.srv.coordinator.decide = (req) => (req.channel === 'other' ? suite.srv.coordinator.refuse('CHANNEL_BUSY') : suite.srv.coordinator.accept(req));
    expect((await expectRejected(suite.srv.url('/other/k/publish'))).status).to.equal(403);
  });

  it('receivers with the wrong key: 403 while live, ERROR when the publisher arrives', async () => {
    const waitingBad = client('/ch/wrong/receive');
    const waitingGood = client('/ch/right/receive');
    await Promise.all([waitingBad.opened, waitingGood.opened]);
    const pub = client('/ch/right/publish');
    await pub.opened;
    const closed = await waitingBad.closed;
    expect(waitingBad.texts).to.deep.equal(['ERROR: Invalid streaming key']);
    expect(closed.code).to.equal(1008);
    const r = await expectRejected(suite.srv.url('/ch/wrong/probe'));
    expect(r.status).to.equal(403);
    pub.send(msg(1));
    await until(() => waitingGood.binary.length === 1, 5000, 'good receiver');
    expect(waitingBad.binary).to.have.length(0);
  });

  it('a probe waiting for the publisher gets the first chunk and is closed', async () => {
    const probe = client('/ch/k/probe');
    await probe.opened;
    const pub = client('/ch/k/publish');
    await pub.opened;
    pub.send(msg(0));
    pub.send(msg(1));
    expect((await probe.closed).code).to.equal(1000);
    expect(probe.binary.map((b) => b.readUInt32BE(0))).to.deep.equal([0]);
  });

  it('oversized message: ERROR then close 1009; publisherGone reported', async () => {
    const pub = client('/ch/k/publish');
    await pub.opened;
    const streamId = suite.srv.coordinator.live.get('ch')!.streamId;
    pub.send(Buffer.alloc(64 * 1024 + 1));
    const closed = await pub.closed;
    expect(pub.texts).to.deep.equal([`ERROR: Message too large (65537 bytes, limit 65536)`]);
    expect(closed.code).to.equal(1009);
    await suite.srv.coordinator.goneOf(streamId);
    // beyond twice the limit uWS drops the TCP connection without a word (1006)
    const pub2 = client('/ch/k/publish');
    await pub2.opened;
    pub2.send(Buffer.alloc(3 * 64 * 1024));
    expect((await pub2.closed).code).to.equal(1006);
  });

  it('binary from a receiver: ERROR then close; text other than h is ignored', async () => {
    const pub = client('/ch/k/publish');
    const rec = client('/ch/k/receive');
    await Promise.all([pub.opened, rec.opened]);
    pub.send('hello, not a heartbeat');
    rec.send('h');
    rec.send(Buffer.from('media?'));
    await rec.closed;
    expect(rec.texts).to.deep.equal(['ERROR: Receivers may not send media']);
    expect(pub.isClosed).to.equal(false);
  });

  it('relays garbage bytes untouched (the encoder judges media)', async () => {
    const pub = client('/ch/k/publish');
    const rec = client('/ch/k/receive');
    await Promise.all([pub.opened, rec.opened]);
    const garbage = Array.from({ length: 20 }, (_, i) => Buffer.from(Array.from({ length: 100 + i }, () => Math.floor(Math.random() * 256))));
    for (const g of garbage) pub.send(g);
    await until(() => rec.binary.length === 20, 5000, 'garbage relayed');
    expect(rec.bytes.equals(Buffer.concat(garbage))).to.equal(true);
  });

  it('coordinator disconnect(): ERROR with the reason, close, publisherGone', async () => {
    const pub = client('/ch/k/publish');
    const rec = client('/ch/k/receive');
    await Promise.all([pub.opened, rec.opened]);
    const entry = suite.srv.coordinator.live.get('ch')!;
    entry.request.disconnect('close-command');
    entry.request.disconnect('close-command'); // idempotent
    const closed = await pub.closed;
    expect(pub.texts).to.deep.equal(['ERROR: Stream closed (close-command)']);
    expect(closed.code).to.equal(1000);
    expect((await rec.closed).code).to.equal(1000);
    await suite.srv.coordinator.goneOf(entry.streamId);
    expect(suite.srv.coordinator.goneIds().filter((id) => id === entry.streamId)).to.have.length(1);
  });

  it('a client aborting during key verification does not leak the session', async () => {
    let release: () => void = () => undefined;
    const decided = new Promise<void>((r) => (release = r));
    let streamId = '';
    suite.srv.coordinator.decide = async (req) => {
      await decided;
      const d = suite.srv.coordinator.accept(req);
      if (d.accepted) streamId = d.streamId;
      return d;
    };
    const pub = client('/ch/k/publish');
    await until(() => suite.srv.coordinator.requests.length === 1, 5000, 'publish request');
    expect(suite.srv.ingest.stats().pendingPublishes).to.equal(1);
    pub.ws.terminate();
    await sleep(100);
    release();
    await until(() => streamId !== '' && suite.srv.coordinator.goneIds().includes(streamId), 5000, 'publisherGone after abort');
    expect(suite.srv.coordinator.live.size).to.equal(0);
    suite.srv.coordinator.decide = (req) => suite.srv.coordinator.accept(req);
    const again = client('/ch/k/publish');
    await again.opened;
  });

  it('close(): answers pending publishes 503, ends sockets with 1001, refuses new ones; idempotent', async () => {
    suite.srv.coordinator.decide = () => new Promise<PublishDecision>(() => undefined); // never decides
    const pendingPub = new Client(suite.srv.url('/a/k/publish'));
    suite.srv.coordinator.decide = (req) => (req.channel === 'a' ? new Promise<PublishDecision>(() => undefined) : suite.srv.coordinator.accept(req));
    const pub = client('/b/k/publish');
    const rec = client('/b/k/receive');
    await Promise.all([pub.opened, rec.opened]);
    await until(() => suite.srv.ingest.stats().pendingPublishes === 1, 5000, 'pending');
    await suite.srv.ingest.close();
    await suite.srv.ingest.close();
    expect((await pendingPub.rejected).status).to.equal(503);
    expect((await pub.closed).code).to.equal(1001);
    expect((await rec.closed).code).to.equal(1001);
    expect((await expectRejected(suite.srv.url('/c/k/receive'))).status).to.equal(503);
  });

  it('per-publisher isolation: bad input elsewhere never disturbs a live stream', async () => {
    const pub = client('/good/k/publish');
    const rec = client('/good/k/receive');
    await Promise.all([pub.opened, rec.opened]);
    let seq = 0;
    const timer = setInterval(() => pub.send(msg(seq++, 2000)), 5);
    try {
      await expectRejected(suite.srv.url('/bad$/k/publish'));
      await expectRejected(suite.srv.url('/good/wrongkey/receive'));
      await expectRejected(suite.srv.url('/good/k/publish'));
      const big = client('/x/k/publish');
      await big.opened;
      big.send(Buffer.alloc(100_000));
      await big.closed;
      const r = client('/good/k/receive');
      await r.opened;
      r.send(Buffer.from('nope'));
      await r.closed;
      const g = client('/y/k/publish');
      await g.opened;
      g.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
      g.ws.terminate();
      await sleep(200);
    } finally {
      clearInterval(timer);
    }
    await pub.flush();
    await until(() => rec.binary.length === seq, 5000, 'all chunks');
    expect(rec.binary.map((b) => b.readUInt32BE(0))).to.deep.equal(Array.from({ length: seq }, (_, i) => i));
    expect(rec.isClosed).to.equal(false);
    expect(seq).to.be.greaterThan(20);
  });
});

describe('ws ingest: slow receivers', function () {
  this.timeout(60_000);

  it('drops a receiver that stops reading; the publisher and a fast receiver are unaffected', async () => {
    const srv = await startServer(testConfig({ gopCacheBytes: 64 * 1024, wsMaxMessageBytes: 64 * 1024 }));
    try {
      const pub = new Client(srv.url('/ch/k/publish'));
      const fast = new Client(srv.url('/ch/k/receive'));
      const slow = new Client(srv.url('/ch/k/receive'));
      await Promise.all([pub.opened, fast.opened, slow.opened]);
      (slow.ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
      const total = 600; // 36 MB: more than the kernel's loopback buffers plus the 192 kB bound
      for (let i = 0; i < total; i++) {
        pub.send(msg(i, 60_000));
        if (i % 50 === 0) await pub.flush();
      }
      await pub.flush();
      await until(() => fast.binary.length === total, 30_000, 'fast receiver');
      await until(() => srv.ingest.stats().receivers === 1, 10_000, 'slow receiver dropped');
      expect(pub.isClosed).to.equal(false);
      expect(fast.binary.every((b, i) => b.readUInt32BE(0) === i)).to.equal(true);
      for (const c of [pub, fast, slow]) c.ws.terminate();
    } finally {
      await srv.close();
    }
  });
});

describe('ws ingest: heartbeat and idle peers', function () {
  this.timeout(30_000);
  let srv: TestServer;
  before(async () => {
    srv = await startServer(testConfig({ wsHeartbeatSeconds: 0.2, wsIdleTimeoutSeconds: 1 }));
  });
  after(() => srv.close());

  it('sends h to every peer, closes the silent ones, keeps the ones that send h', async () => {
    const silent = new Client(srv.url('/ch/k/receive'), { autoPong: false });
    const chatty = new Client(srv.url('/ch/k/publish'));
    await Promise.all([silent.opened, chatty.opened]);
    const beat = setInterval(() => chatty.send('h'), 300);
    try {
      const closed = await silent.closed;
      expect(closed.code).to.equal(1008);
      expect(silent.texts).to.include('h');
      expect(silent.texts[silent.texts.length - 1]).to.equal('ERROR: Idle timeout');
      await sleep(1500);
      expect(chatty.isClosed).to.equal(false);
      expect(chatty.texts.filter((t) => t === 'h').length).to.be.greaterThan(5);
    } finally {
      clearInterval(beat);
      chatty.ws.terminate();
    }
  });
});

describe('ws ingest: per-IP limit over real sockets', function () {
  this.timeout(30_000);

  it('answers 429 past MAX_IP_CONCURRENT_CONNECTIONS (loopback exemption off), frees slots on close', async () => {
    const srv = await startServer(testConfig({ maxIpConcurrentConnections: 2 }), { exemptLoopback: false });
    try {
      const a = new Client(srv.url('/ch/k/publish'));
      const b = new Client(srv.url('/ch/k/receive'));
      await Promise.all([a.opened, b.opened]);
      const r = await expectRejected(srv.url('/ch/k/probe'));
      expect(r.status).to.equal(429);
      expect(r.json.code).to.equal('TOO_MANY_CONNECTIONS');
      b.ws.close();
      await b.closed;
      await sleep(50);
      const c = new Client(srv.url('/ch/k/receive'));
      await c.opened;
      a.ws.terminate();
      c.ws.terminate();
    } finally {
      await srv.close();
    }
  });

  it('the whitelist exempts an address', async () => {
    const srv = await startServer(testConfig({ maxIpConcurrentConnections: 1, concurrentLimitWhitelist: '10.0.0.0/8, 127.0.0.1' }), { exemptLoopback: false });
    try {
      const clients = [0, 1, 2].map(() => new Client(srv.url('/ch/k/receive')));
      await Promise.all(clients.map((c) => c.opened));
      for (const c of clients) c.ws.terminate();
    } finally {
      await srv.close();
    }
  });

  it('loopback is exempt by default', async () => {
    const srv = await startServer(testConfig({ maxIpConcurrentConnections: 1 }));
    try {
      const clients = [0, 1, 2].map(() => new Client(srv.url('/ch/k/receive')));
      await Promise.all(clients.map((c) => c.opened));
      for (const c of clients) c.ws.terminate();
    } finally {
      await srv.close();
    }
  });
});
