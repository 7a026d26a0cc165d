/**
 * RtmpIngest end to end: the real embedded node-media-server, real ffmpeg publishers and players
 * over RTMP, ffprobe on what a player recorded. Only the coordinator is a fake (the authority the
 * ingest asks), and it behaves as the contract says.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import Context from 'node-media-server/src/core/context.js';
import type { NmsSession } from '../../../src/ingest/rtmp/embedded-nms';
import { RtmpIngest } from '../../../src/ingest/rtmp/rtmp-ingest';
import { silentLogger } from '../../../src/logging/logger';
import { accept, deferredDecider, FakePublishSink, refuse } from '../../fakes/publish-sink';
import { killAll, play, probe, publish, sleep, within } from './rtmp-ffmpeg';
import { pipelinedPublish } from './rtmp-raw-client';

describe('RtmpIngest (node-media-server + real ffmpeg)', function () {
  this.timeout(60_000);
  let dir: string;
  let coordinator: FakePublishSink;
  let ingest: RtmpIngest;
  const url = (channel: string, key: string) => `rtmp://127.0.0.1:${ingest.port}/${channel}/${key}`;
  const out = (name: string) => path.join(dir, name);

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-rtmp-'));
    coordinator = new FakePublishSink(accept);
    ingest = new RtmpIngest({
      sink: coordinator,
      config: { rtmpPort: 0, bindAddress: '127.0.0.1', idMaxLength: 16, statePath: path.join(dir, 'state') },
      logger: silentLogger,
      serverId: 7,
      commandTimeoutMs: 1500,
    });
    await ingest.start();
  });

  afterEach(async () => {
    await killAll();
    await ingest.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('accepts a publish, lets a player record it, and ends the player when the publisher ends', async () => {
    const started = Date.now();
    const publisher = publish(url('ch1', 'key1'), 4);
    const { request, decision, askedAt } = await within(10_000, 'the decision', coordinator.decision(1));
    expect(request).to.include({ channel: 'ch1', key: 'key1', userIp: '127.0.0.1', ingest: 'RTMP', serverId: 7 });
    expect(request.source).to.deep.equal({ type: 'RTMP', uri: `rtmp://127.0.0.1:${ingest.port}/ch1/key1` });
    expect(decision.accepted).to.equal(true);
    if (!decision.accepted) return;
    expect(askedAt - started).to.be.below(5000);

    // The encoder pulls exactly the source URI it was given.
    const player = play(request.source.uri, out('p1.flv'));
    const pub = await within(15_000, 'the publisher to finish', publisher.exited);
    expect(pub.code, publisher.stderr()).to.equal(0);

    const gone = await within(3000, 'publisherGone', coordinator.goneOf(decision.streamId));
    expect(gone.at - pub.at, 'publisherGone delay').to.be.below(1000);
    const played = await within(5000, 'the player to end by itself', player.exited);
    expect(played.code, player.stderr()).to.equal(0);
    expect(played.at - pub.at, 'player EOF delay').to.be.below(3000);

    const got = await probe(out('p1.flv'));
    expect(got, 'recorded file').to.not.equal(null);
    expect(got!.codecTypes).to.include.members(['video', 'audio']);
    expect(got!.duration).to.be.above(1);
    expect(ingest.publisherList()).to.deep.equal([]);
  });

  it('uses no media before the key is accepted: a waiting player gets nothing until then', async () => {
    const decider = deferredDecider();
    coordinator.decide = decider.decide;
    const publisher = publish(url('ch2', 'key2'), 5);
    await within(10_000, 'the publish request', new Promise((r) => coordinator.events.once('publish', r)));
    const player = play(url('ch2', 'key2'), out('p2.flv'));
    await sleep(1500);
    expect(ingest.publisherList().map((p) => p.state)).to.deep.equal(['verifying']);
    expect(ingest.publisherList()[0].players, 'player held').to.equal(1);
    expect(await probe(out('p2.flv')), 'player output while verifying').to.equal(null);
    expect(player.running()).to.equal(true);
    expect(publisher.running()).to.equal(true);

    decider.release(accept());
    await within(15_000, 'the publisher', publisher.exited);
    const played = await within(5000, 'the player', player.exited);
    expect(played.code, player.stderr()).to.equal(0);
    const got = await probe(out('p2.flv'));
    expect(got?.codecTypes).to.include('video');
    // The media held back during verification was delivered, not lost: about the full 5 s.
    expect(got!.duration).to.be.above(3);
  });

  it('refuses a key: the publisher is cut off quickly and no player ever gets its media', async () => {
    const decider = deferredDecider();
    coordinator.decide = decider.decide;
    const publisher = publish(url('ch3', 'bad'), 5);
    await within(10_000, 'the publish request', new Promise((r) => coordinator.events.once('publish', r)));
    const waiting = play(url('ch3', 'bad'), out('held.flv'));
    await sleep(800);
    const refusedAt = Date.now();
    decider.release({ accepted: false, code: 'KEY_REFUSED', message: 'no' });
    const pub = await within(5000, 'the refused publisher to exit', publisher.exited);
    expect(pub.code).to.not.equal(0);
    expect(pub.at - refusedAt).to.be.below(2000);
    const held = await within(5000, 'the held player to be closed', waiting.exited);
    expect(held.code).to.not.equal(0);
    expect(await probe(out('held.flv'))).to.equal(null);

    const late = play(url('ch3', 'bad'), out('late.flv'));
    const lateExit = await within(5000, 'a late player to be refused', late.exited);
    expect(lateExit.code).to.not.equal(0);
    expect(await probe(out('late.flv'))).to.equal(null);
    expect(coordinator.gone).to.deep.equal([]);
    expect(Context.broadcasts.has('/ch3/bad'), 'no broadcast left behind').to.equal(false);
  });

  it('holds media pipelined with the publish command until accepted, intact, and drops it when refused', async () => {
    // What NMS hands every new player first: metadata, audio and video sequence headers.
    type Caches = { rtmpMetaData: Buffer | null; rtmpAudioHeader: Buffer | null; rtmpVideoHeader: Buffer | null };
    const caches = (p: string) => Context.broadcasts.get(p) as unknown as Caches | undefined;
    const decider = deferredDecider();
    coordinator.decide = decider.decide;

    const accepted = pipelinedPublish(ingest.port, 'chP', 'keyP');
    await within(5000, 'the publish request', new Promise((r) => coordinator.events.once('publish', r)));
    await sleep(300);
    expect(caches('/chP/keyP')).to.include({ rtmpMetaData: null, rtmpAudioHeader: null, rtmpVideoHeader: null });
    decider.release(accept());
    await coordinator.decision(1);
    const c = caches('/chP/keyP')!;
    expect(c.rtmpMetaData?.includes('onMetaData'), 'metadata intact').to.equal(true);
    expect(c.rtmpAudioHeader?.subarray(-4)).to.deep.equal(Buffer.from([0xaf, 0x00, 0x12, 0x10]));
    expect(c.rtmpVideoHeader?.subarray(-3)).to.deep.equal(Buffer.from([0x02, 0x68, 0xce]));
    accepted.destroy();

    const refused = pipelinedPublish(ingest.port, 'chQ', 'keyQ');
    await within(5000, 'the publish request', new Promise((r) => coordinator.events.once('publish', r)));
    await sleep(300);
    decider.release({ accepted: false, code: 'KEY_REFUSED', message: 'no' });
    await within(3000, 'the refused client to be closed', new Promise((r) => (refused.destroyed ? r(null) : refused.once('close', r))));
    expect(caches('/chQ/keyQ')?.rtmpVideoHeader ?? null).to.equal(null);
    expect(Context.broadcasts.has('/chQ/keyQ'), 'no broadcast left behind').to.equal(false);
  });

  it('does not treat an accepted publish from the same IP as a "resume" of a refused one', async () => {
    let calls = 0;
    coordinator.decide = (r) => (++calls === 1 ? refuse(r) : accept(r));
    const donePublish: string[] = [];
    const onDone = (s: NmsSession) => donePublish.push(s.id);
    Context.eventEmitter.on('donePublish', onDone);
    try {
      const first = publish(url('ch4', 'key4'), 3);
      await within(5000, 'the refused publisher', first.exited);
      expect(coordinator.decided[0].decision.accepted).to.equal(false);
      const secondStart = Date.now();
      const second = publish(url('ch4', 'key4'), 3);
      const { decision } = await within(10_000, 'the second decision', coordinator.decision(2));
      expect(decision.accepted).to.equal(true);
      const broadcast = Context.broadcasts.get('/ch4/key4');
      const session = broadcast?.publisher;
      expect(session, 'the accepted session publishes').to.not.equal(null);
      // A resume copies the old session's createTime and stats over.
      expect(session!.createTime).to.be.at.least(secondStart);
      const player = play(url('ch4', 'key4'), out('p4.flv'));
      await within(10_000, 'the second publisher', second.exited);
      await within(5000, 'the player', player.exited);
      const got = await probe(out('p4.flv'));
      expect(got?.codecTypes).to.include('video');
      expect(got!.startTime, 'timeline not offset by a resume').to.be.below(3);
      // Only the accepted session may ever produce a donePublish; never the refused one.
      await sleep(200);
      expect(donePublish).to.deep.equal([session!.id]);
    } finally {
      Context.eventEmitter.off('donePublish', onDone);
    }
  });

  it('disconnect() cuts only its own publisher; a stale disconnect after a reconnect is harmless', async () => {
    const a = publish(url('chA', 'keyA'), 20);
    const b = publish(url('chB', 'keyB'), 20);
    await within(10_000, 'both decisions', coordinator.decision(2));
    const reqA = coordinator.requests.find((r) => r.channel === 'chA')!;
    const decA = coordinator.decided.find((d) => d.request === reqA)!.decision;
    if (!decA.accepted) throw new Error('chA not accepted');
    const cutAt = Date.now();
    reqA.disconnect('close-command');
    reqA.disconnect('close-command'); // idempotent
    const aExit = await within(5000, 'publisher A to be cut', a.exited);
    expect(aExit.at - cutAt).to.be.below(2000);
    const gone = await within(3000, 'publisherGone(A)', coordinator.goneOf(decA.streamId));
    expect(gone.at - cutAt).to.be.below(1000);
    await sleep(1000);
    expect(b.running(), 'publisher B unaffected').to.equal(true);

    // Quick reconnect on chA: a new session and stream; the old request's disconnect() does nothing to it.
    const a2 = publish(url('chA', 'keyA'), 4);
    const third = await within(10_000, 'the reconnect decision', coordinator.decision(3));
    expect(third.decision.accepted).to.equal(true);
    if (!third.decision.accepted) return;
    expect(third.decision.streamId).to.not.equal(decA.streamId);
    reqA.disconnect('close-command');
    const player = play(url('chA', 'keyA'), out('a2.flv'));
    const a2Exit = await within(15_000, 'the reconnected publisher', a2.exited);
    expect(a2Exit.code, a2.stderr()).to.equal(0);
    await within(5000, 'the player', player.exited);
    expect((await probe(out('a2.flv')))?.codecTypes).to.include('video');
    expect(coordinator.gone.map((g) => g.streamId)).to.include(third.decision.streamId);
    expect(b.running(), 'publisher B still unaffected').to.equal(true);
  });

  it('reconnect right after the publisher ends gets a new session and stream', async () => {
    const first = publish(url('chR', 'keyR'), 2);
    const d1 = await within(10_000, 'first decision', coordinator.decision(1));
    await within(10_000, 'first publisher', first.exited);
    const secondStart = Date.now();
    const second = publish(url('chR', 'keyR'), 3);
    const d2 = await within(10_000, 'second decision', coordinator.decision(2));
    expect(d1.decision.accepted && d2.decision.accepted).to.equal(true);
    if (!d1.decision.accepted || !d2.decision.accepted) return;
    expect(d2.decision.streamId).to.not.equal(d1.decision.streamId);
    expect(coordinator.gone.map((g) => g.streamId)).to.include(d1.decision.streamId);
    // Not NMS's 30 s "resume" of the same client: fresh session stats, timeline from zero.
    expect(Context.broadcasts.get('/chR/keyR')?.publisher?.createTime).to.be.at.least(secondStart);
    const player = play(url('chR', 'keyR'), out('r.flv'));
    await within(10_000, 'second publisher', second.exited);
    await within(5000, 'player', player.exited);
    const got = await probe(out('r.flv'));
    expect(got?.codecTypes).to.include('video');
    expect(got!.startTime, 'timeline not offset by a resume').to.be.below(1);
  });

  it('gives bad input a defined outcome while another publisher keeps working', async () => {
    const good = publish(url('good', 'goodkey'), 8);
    const { decision } = await within(10_000, 'the good decision', coordinator.decision(1));
    if (!decision.accepted) throw new Error('not accepted');
    const goodPlayer = play(url('good', 'goodkey'), out('good.flv'));

    // No publisher on the channel: a player is refused at once.
    const orphan = play(url('nobody', 'k'), out('orphan.flv'));
    // Wrong key for a live channel.
    const wrongKey = play(url('good', 'other'), out('wrong.flv'));
    // Invalid channel characters (NMS's own check), and a key over idMaxLength (16 here).
    const badChars = publish(url('bad.ch', 'key'), 5);
    const tooLong = publish(url('fine', 'k'.repeat(17)), 5);
    // A second publisher on the live channel, with another key and with the same key.
    const busyOther = publish(url('good', 'otherkey'), 5);
    const busySame = publish(url('good', 'goodkey'), 5);
    for (const [name, child] of Object.entries({ orphan, wrongKey, badChars, tooLong, busyOther, busySame })) {
      const exit = await within(8000, `${name} to be refused`, child.exited);
      expect(exit.code, name).to.not.equal(0);
    }
    expect(await probe(out('orphan.flv'))).to.equal(null);
    expect(await probe(out('wrong.flv'))).to.equal(null);
    expect(coordinator.requests.map((r) => `${r.channel}/${r.key}`), 'only the good publish was verified').to.deep.equal(['good/goodkey']);

    // Garbage on the RTMP port, and a `connect` command without tcUrl (NMS throws on it).
    await rawSession(ingest.port, Buffer.concat([Buffer.from([3]), Buffer.alloc(3072, 7), Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.alloc(4000, 0xff)]));
    await rawSession(ingest.port, Buffer.concat([Buffer.from([3]), Buffer.alloc(3072), connectWithoutTcUrl()]));

    const goodExit = await within(15_000, 'the good publisher', good.exited);
    expect(goodExit.code, good.stderr()).to.equal(0);
    await within(5000, 'publisherGone', coordinator.goneOf(decision.streamId));
    await within(5000, 'the good player', goodPlayer.exited);
    const got = await probe(out('good.flv'));
    expect(got?.codecTypes).to.include.members(['video', 'audio']);
    expect(got!.duration).to.be.above(5);
  });

  it('close() ends live publishers, reports them gone, and is idempotent', async () => {
    const publisher = publish(url('chC', 'keyC'), 20);
    const { decision } = await within(10_000, 'the decision', coordinator.decision(1));
    if (!decision.accepted) throw new Error('not accepted');
    await Promise.all([ingest.close(), ingest.close()]);
    expect(coordinator.gone.map((g) => g.streamId)).to.deep.equal([decision.streamId]);
    await within(5000, 'the publisher to notice', publisher.exited);
    await ingest.close();
    await expectRefused(() => ingest.start(), /closed/);
  });

  it('refuses a second RtmpIngest in the same process (node-media-server state is process-wide)', async () => {
    const second = new RtmpIngest({
      sink: coordinator,
      config: { rtmpPort: 0, bindAddress: '127.0.0.1', idMaxLength: 16, statePath: path.join(dir, 'state2') },
      logger: silentLogger,
      serverId: 8,
    });
    await expectRefused(() => second.start(), /one RTMP ingest per process/);
    await second.close();
  });

  it('reports its server info', () => {
    expect(ingest.serverInfo()).to.deep.equal({ id: 7, ip: '127.0.0.1', port: ingest.port, ssl: false, serverType: 'RTMP' });
    expect(ingest.port).to.be.above(0);
  });
});

describe('RtmpIngest start-up on an occupied port', function () {
  this.timeout(20_000);
  it('rejects with EADDRINUSE instead of exiting, and a later start works', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-rtmp-'));
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    const make = (rtmpPort: number) => new RtmpIngest({
      sink: new FakePublishSink(accept),
      config: { rtmpPort, bindAddress: '127.0.0.1', idMaxLength: 128, statePath: dir },
      logger: silentLogger,
      serverId: 1,
    });
    try {
      const ingest = make(taken);
      await expectRefused(() => ingest.start(), /EADDRINUSE/);
      await ingest.close();
      const next = make(0);
      await next.start();
      expect(next.port).to.be.above(0).and.not.equal(taken);
      await next.close();
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function expectRefused(fn: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await fn();
  } catch (err) {
    expect((err as Error).message).to.match(pattern);
    return;
  }
  expect.fail(`expected a rejection matching ${pattern}`);
}

/** Sends bytes on a raw TCP connection and resolves when the server closed it (fails after 5 s). */
function rawSession(port: number, bytes: Buffer): Promise<void> {
  return within(5000, 'the server to close a garbage connection', new Promise<void>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  }));
}

/** An RTMP chunk (fmt 0, csid 3, type 0x14 AMF0 command): `connect`, 1, { app: "x" } — no tcUrl. */
function connectWithoutTcUrl(): Buffer {
  const str = (s: string) => Buffer.concat([Buffer.from([0x02, 0, s.length]), Buffer.from(s)]);
  const amf = Buffer.concat([
    str('connect'),
    Buffer.from([0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]),
    Buffer.from([0x03, 0, 3]), Buffer.from('app'), str('x'), Buffer.from([0, 0, 0x09]),
  ]);
  const header = Buffer.alloc(12);
  header[0] = 0x03;
  header.writeUIntBE(amf.length, 4, 3);
  header[7] = 0x14;
  return Buffer.concat([header, amf]);
}
