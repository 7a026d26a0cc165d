import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Outbox, type OutboxOptions } from '../../src/callbacks/outbox';
import type { Config, OutgoingAuth } from '../../src/config/config';
import type { OutputAvailable } from '../../src/domain/outputs';
import { silentLogger } from '../../src/logging/logger';
import { AppReceiver, closedPort, waitFor, type ReceivedRequest } from './app-receiver';

type OutboxConfig = Pick<Config, 'eventCallback' | 'statePath'>;

const live = (i: number): OutputAvailable => ({ streamType: 'HLS-LIVE', resolution: `640x360-${i}`, indexFile: `hls/ch/s/640x360-${i}/live.m3u8` });
const sid = (n: number) => n.toString(16).padStart(32, '0');

/** Delivered = answered 2xx; the first delivery of each event id, in arrival order. */
function delivered(requests: ReceivedRequest[]): ReceivedRequest[] {
  const seen = new Set<string>();
  return requests.filter((r) => {
    const id = String(r.headers['x-event-id']);
    if (r.status < 200 || r.status >= 300 || seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
const h = (r: ReceivedRequest, name: string) => r.headers[name] as string | undefined;

describe('event outbox', function () {
  this.timeout(30_000);
  const app = new AppReceiver();
  const outboxes: Outbox[] = [];
  const dirs: string[] = [];

  const stateDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-outbox-'));
    dirs.push(dir);
    return dir;
  };
  const configFor = (url: string, statePath: string, auth: OutgoingAuth = { method: 'none' }, timeoutMs = 2000): OutboxConfig => ({
    statePath,
    eventCallback: { url, auth, timeoutMs, retryBaseMs: 20, retryMaxMs: 200 },
  });
  const outboxFor = (config: OutboxConfig, options?: OutboxOptions) => {
    const outbox = new Outbox({ config, logger: silentLogger, options });
    outboxes.push(outbox);
    return outbox;
  };

  before(async () => {
    await app.start();
  });
  beforeEach(() => {
    app.requests.length = 0;
    app.respond = () => 200;
  });
  afterEach(async () => {
    await Promise.all(outboxes.splice(0).map((o) => o.close()));
  });
  after(async () => {
    await app.stop();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('headers', () => {
    const authTable: Array<[OutgoingAuth, string | undefined]> = [
      [{ method: 'none' }, undefined],
      [{ method: 'Basic', user: 'events', password: 's3cret' }, `Basic ${Buffer.from('events:s3cret').toString('base64')}`],
      [{ method: 'Bearer', token: 'abc.def' }, 'Bearer abc.def'],
      [{ method: 'Custom', value: 'HMAC xyz' }, 'HMAC xyz'],
    ];
    for (const [auth, authorization] of authTable) {
      it(`sends both event types with the exact headers (auth ${auth.method})`, async () => {
        const outbox = outboxFor(configFor(app.url, stateDir(), auth));
        await outbox.open();
        outbox.streamStarted('chan', sid(1));
        outbox.available('chan', sid(1), { streamType: 'HLS-VOD', resolution: '1280x720-30~2500', indexFile: 'hls/chan/x/1280x720-30~2500/vod-1.m3u8', startTime: 3600 });
        outbox.available('chan', sid(1), { streamType: 'IMG-PREVIEW', resolution: '256x144-5', indexFile: 'img-preview/chan/x/256x144-5/index.json' });
        outbox.streamClosed('chan', sid(1), 'publisher-disconnected');
        await outbox.idle();
        expect(app.requests).to.have.length(3);
        const [vod, preview, closed] = app.requests;
        for (const r of app.requests) {
          expect(r.method).to.equal('POST');
          expect(r.body).to.equal('');
          expect(h(r, 'content-length')).to.equal('0');
          expect(h(r, 'x-event-id')).to.match(/^[0-9a-f-]{36}$/);
          expect(h(r, 'authorization')).to.equal(authorization);
        }
        const pick = (r: ReceivedRequest) =>
          Object.fromEntries(Object.entries(r.headers).filter(([k]) => k.startsWith('x-') && k !== 'x-event-id'));
        expect(pick(vod)).to.deep.equal({
          'x-streaming-channel': 'chan', 'x-streaming-id': sid(1), 'x-event-type': 'stream-available',
          'x-stream-type': 'HLS-VOD', 'x-resolution': '1280x720-30~2500', 'x-index-file': 'hls/chan/x/1280x720-30~2500/vod-1.m3u8', 'x-start-time': '3600',
        });
        expect(pick(preview)).to.deep.equal({
          'x-streaming-channel': 'chan', 'x-streaming-id': sid(1), 'x-event-type': 'stream-available',
          'x-stream-type': 'IMG-PREVIEW', 'x-resolution': '256x144-5', 'x-index-file': 'img-preview/chan/x/256x144-5/index.json',
        });
        expect(pick(closed)).to.deep.equal({
          'x-streaming-channel': 'chan', 'x-streaming-id': sid(1), 'x-event-type': 'stream-closed', 'x-close-reason': 'publisher-disconnected',
        });
        expect(new Set(app.requests.map((r) => h(r, 'x-event-id'))).size).to.equal(3);
      });
    }
  });

  it('retries 500, 500 then 200: delivered once, with the same x-event-id on every attempt', async () => {
    app.respond = (_req, i) => (i < 2 ? 500 : 200);
    const outbox = outboxFor(configFor(app.url, stateDir()));
    await outbox.open();
    outbox.available('ch', sid(1), live(1));
    await outbox.idle();
    expect(app.requests.map((r) => r.status)).to.deep.equal([500, 500, 200]);
    expect(new Set(app.requests.map((r) => h(r, 'x-event-id'))).size).to.equal(1);
    expect(outbox.pendingCount()).to.equal(0);
    await new Promise((r) => setTimeout(r, 300)); // nothing more is sent
    expect(app.requests).to.have.length(3);
  });

  it('counts any 2xx as delivered and retries 3xx/4xx', async () => {
    const statuses = [404, 302, 204];
    app.respond = (_req, i) => statuses[i] ?? 200;
    const outbox = outboxFor(configFor(app.url, stateDir()));
    await outbox.open();
    outbox.available('ch', sid(1), live(1));
    await outbox.idle();
    expect(app.requests.map((r) => r.status)).to.deep.equal([404, 302, 204]);
  });

  it('retries an attempt that times out', async () => {
    app.respond = (_req, i) => (i === 0 ? 'hang' : 200);
    const outbox = outboxFor(configFor(app.url, stateDir(), { method: 'none' }, 200));
    await outbox.open();
    outbox.available('ch', sid(1), live(1));
    await outbox.idle();
    expect(app.requests).to.have.length(2);
    expect(h(app.requests[0], 'x-event-id')).to.equal(h(app.requests[1], 'x-event-id'));
  });

  it('delivers everything once a receiver that was down comes up', async () => {
    const port = await closedPort();
    const late = new AppReceiver();
    const outbox = outboxFor(configFor(`http://127.0.0.1:${port}/callback`, stateDir()));
    await outbox.open();
    for (let s = 1; s <= 3; s++) {
      outbox.streamStarted('ch', sid(s));
      outbox.available('ch', sid(s), live(1));
      outbox.streamClosed('ch', sid(s), 'publisher-disconnected');
    }
    await new Promise((r) => setTimeout(r, 400)); // several refused attempts
    expect(outbox.pendingCount()).to.equal(6);
    try {
      await late.start(port);
      await outbox.idle();
      const got = delivered(late.requests);
      expect(got).to.have.length(6);
      for (let s = 1; s <= 3; s++) {
        expect(got.filter((r) => h(r, 'x-streaming-id') === sid(s)).map((r) => h(r, 'x-event-type'))).to.deep.equal(['stream-available', 'stream-closed']);
      }
    } finally {
      await late.stop();
    }
  });

  it('keeps each stream in order under random failures', async () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    app.respond = () => (random() < 0.4 ? 503 : 200);
    const outbox = outboxFor(configFor(app.url, stateDir()), { maxInFlight: 4 });
    await outbox.open();
    const streams = 6;
    const perStream = 8;
    for (let i = 1; i <= perStream; i++) for (let s = 1; s <= streams; s++) outbox.available('ch', sid(s), live(i));
    for (let s = 1; s <= streams; s++) outbox.streamClosed('ch', sid(s), 'close-command');
    await outbox.idle();
    expect(app.requests.filter((r) => r.status === 503).length, 'some attempts failed').to.be.greaterThan(5);
    const got = delivered(app.requests);
    expect(got).to.have.length(streams * (perStream + 1));
    for (let s = 1; s <= streams; s++) {
      const seq = got.filter((r) => h(r, 'x-streaming-id') === sid(s)).map((r) => h(r, 'x-resolution') ?? h(r, 'x-event-type'));
      expect(seq).to.deep.equal([...Array.from({ length: perStream }, (_, i) => `640x360-${i + 1}`), 'stream-closed']);
    }
    // No event of a stream was attempted while an earlier one of the same stream was undelivered.
    for (let s = 1; s <= streams; s++) {
      const attempts = app.requests.filter((r) => h(r, 'x-streaming-id') === sid(s));
      let level = 0;
      for (const a of attempts) {
        const i = a.headers['x-event-type'] === 'stream-closed' ? perStream + 1 : Number(h(a, 'x-resolution')?.split('-')[1]);
        expect(i, 'attempt of a later event before the earlier one was delivered').to.be.oneOf([level, level + 1]);
        if (a.status === 200) level = i;
      }
    }
  });

  it('does not hold other streams back behind a failing one', async () => {
    app.respond = (req) => (h(req, 'x-streaming-id') === sid(1) ? 500 : 200);
    const outbox = outboxFor(configFor(app.url, stateDir()), { maxInFlight: 2 });
    await outbox.open();
    for (let i = 1; i <= 3; i++) outbox.available('ch', sid(1), live(i));
    for (let s = 2; s <= 20; s++) outbox.available('ch', sid(s), live(1));
    await waitFor(() => delivered(app.requests).length === 19, 10_000, 'the 19 healthy streams');
    // The app has answered the 19th; the outbox settles it a moment later (a race under load).
    await waitFor(() => outbox.pendingCount() === 3, 5000, "only the failing stream's 3 events pending");
    expect(app.requests.filter((r) => h(r, 'x-streaming-id') === sid(1)).every((r) => h(r, 'x-resolution') === '640x360-1')).to.equal(true);
    app.respond = () => 200;
    await outbox.idle();
    expect(delivered(app.requests).filter((r) => h(r, 'x-streaming-id') === sid(1)).map((r) => h(r, 'x-resolution'))).to.deep.equal(['640x360-1', '640x360-2', '640x360-3']);
  });

  it('bounds the requests in flight', async () => {
    app.respond = () => 'hang';
    const outbox = outboxFor(configFor(app.url, stateDir(), { method: 'none' }, 20_000), { maxInFlight: 3 });
    await outbox.open();
    for (let s = 1; s <= 10; s++) outbox.available('ch', sid(s), live(1));
    await waitFor(() => app.requests.length === 3, 5000, '3 requests');
    await new Promise((r) => setTimeout(r, 200));
    expect(app.requests).to.have.length(3);
  });

  it('survives a restart: undelivered events are sent by the next outbox, live streams get server-restart', async () => {
    const dir = stateDir();
    const port = await closedPort();
    const first = outboxFor(configFor(`http://127.0.0.1:${port}/callback`, dir));
    await first.open();
    first.streamStarted('ch', sid(1)); // still live at the stop
    first.available('ch', sid(1), live(1));
    first.streamStarted('ch', sid(2)); // closed normally, close not delivered
    first.available('ch', sid(2), live(1));
    first.streamClosed('ch', sid(2), 'publisher-disconnected');
    first.streamStarted('ch', sid(3)); // started and closed in the same turn
    first.streamClosed('ch', sid(3), 'close-command');
    await first.persisted();
    await first.close();

    const second = outboxFor(configFor(app.url, dir));
    await second.open();
    await second.idle();
    const got = delivered(app.requests).map((r) => [h(r, 'x-streaming-id'), h(r, 'x-event-type'), h(r, 'x-close-reason') ?? h(r, 'x-resolution')]);
    expect(got.filter((g) => g[0] === sid(1))).to.deep.equal([[sid(1), 'stream-available', '640x360-1'], [sid(1), 'stream-closed', 'server-restart']]);
    expect(got.filter((g) => g[0] === sid(2))).to.deep.equal([[sid(2), 'stream-available', '640x360-1'], [sid(2), 'stream-closed', 'publisher-disconnected']]);
    expect(got.filter((g) => g[0] === sid(3))).to.deep.equal([[sid(3), 'stream-closed', 'close-command']]);
    await second.close();

    app.requests.length = 0;
    const third = outboxFor(configFor(app.url, dir));
    await third.open();
    await third.idle();
    expect(app.requests, 'nothing is left after delivery').to.have.length(0);
  });

  it('drops stream-available after stream-closed, and a repeated stream-closed', async () => {
    const outbox = outboxFor(configFor(app.url, stateDir()));
    await outbox.open();
    outbox.available('ch', sid(1), live(1));
    outbox.streamClosed('ch', sid(1), 'publisher-disconnected');
    outbox.available('ch', sid(1), live(2));
    outbox.streamClosed('ch', sid(1), 'shutdown');
    await outbox.idle();
    expect(app.requests.map((r) => h(r, 'x-resolution') ?? h(r, 'x-close-reason'))).to.deep.equal(['640x360-1', 'publisher-disconnected']);
  });

  it('drops (does not crash on) an event with a header value that cannot be sent', async () => {
    const outbox = outboxFor(configFor(app.url, stateDir()));
    await outbox.open();
    outbox.available('ch', sid(1), { streamType: 'HLS-LIVE', resolution: '640x360-30', indexFile: 'bad\r\nx-evil: 1' });
    outbox.available('ch', sid(1), live(2));
    await outbox.idle();
    expect(app.requests.map((r) => h(r, 'x-resolution'))).to.deep.equal(['640x360-2']);
  });

  it('takes events before open() and sends them once open', async () => {
    const outbox = outboxFor(configFor(app.url, stateDir()));
    outbox.streamStarted('ch', sid(1));
    outbox.available('ch', sid(1), live(1));
    expect(outbox.pendingCount()).to.equal(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(app.requests).to.have.length(0);
    await outbox.open();
    await outbox.idle();
    expect(app.requests).to.have.length(1);
  });

  it('without a URL drops events, stores nothing and is idle at once', async () => {
    const dir = path.join(stateDir(), 'never');
    const outbox = outboxFor(configFor('', dir));
    await outbox.open();
    outbox.streamStarted('ch', sid(1));
    outbox.available('ch', sid(1), live(1));
    outbox.streamClosed('ch', sid(1), 'shutdown');
    expect(outbox.pendingCount()).to.equal(0);
    await outbox.idle();
    await outbox.close();
    expect(fs.existsSync(dir)).to.equal(false);
  });

  it('runs the same way on the in-memory store', async () => {
    app.respond = (_req, i) => (i === 0 ? 500 : 200);
    const outbox = outboxFor(configFor(app.url, path.join(stateDir(), 'unused')), { durable: false });
    await outbox.open();
    outbox.streamStarted('ch', sid(1));
    outbox.available('ch', sid(1), live(1));
    outbox.streamClosed('ch', sid(1), 'shutdown');
    await outbox.idle();
    expect(delivered(app.requests).map((r) => h(r, 'x-event-type'))).to.deep.equal(['stream-available', 'stream-closed']);
  });

  it('close() is idempotent, resolves idle() waiters and abandons attempts in flight', async () => {
    app.respond = () => 'hang';
    const outbox = outboxFor(configFor(app.url, stateDir(), { method: 'none' }, 20_000));
    await outbox.open();
    outbox.available('ch', sid(1), live(1));
    const idle = outbox.idle();
    await waitFor(() => app.requests.length === 1, 5000, 'the attempt');
    await Promise.all([outbox.close(), outbox.close()]);
    await idle;
    expect(outbox.pendingCount()).to.equal(1);
    outbox.available('ch', sid(2), live(1)); // after close: logged, dropped, no throw
    expect(outbox.pendingCount()).to.equal(1);
  });
});
