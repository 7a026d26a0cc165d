/**
 * In-process readers of a WS publish (`subscribeBytes`, castline's own packager): real uWS server,
 * real `ws` clients, fake coordinator. The reader may come while the key is being verified; it gets
 * every byte from the first; `releaseHeld` stops the cache as `receive-clear-cache` does; a publish
 * that never opens ends it.
 */
import { expect } from 'chai';
import type { PublishDecision } from '../../../src/domain/stream';
import type { WsBytesListener } from '../../../src/ingest/ws/ws-ingest.types';
import { accept, deferredDecider } from '../../fakes/publish-sink';
import { msg, serverPerTest, sleep, testConfig, until } from './ws-helpers';

/** Records what a reader gets (copies: the chunks are only valid during the call). */
function reader(): WsBytesListener & { chunks: Buffer[]; ended: boolean; seqs(): number[] } {
  const r = {
    chunks: [] as Buffer[],
    ended: false,
    chunk(data: Uint8Array) {
      r.chunks.push(Buffer.from(data));
    },
    end() {
      r.ended = true;
    },
    seqs: () => r.chunks.map((c) => c.readUInt32BE(0)),
  };
  return r;
}

describe('ws ingest: in-process readers', function () {
  this.timeout(30_000);
  const suite = serverPerTest(testConfig({ gopCacheBytes: 10_000, wsMaxMessageBytes: 64 * 1024 }, 16));
  const client = (path: string, options = {}) => suite.client(path, options);

  it('subscribed while the key is verified: every byte from the first; releaseHeld empties the cache; unsubscribe stops it', async () => {
    const local = reader();
    let streamId = '';
    suite.srv.coordinator.decide = (request) => {
      const decision = accept(request) as Extract<PublishDecision, { accepted: true }>;
      streamId = decision.streamId;
      // The stream's job starts before the ingest hears the decision, as the coordinator does it.
      expect(suite.srv.ingest.subscribeBytes('loc', streamId, local)).to.not.equal(null);
      return decision;
    };
    const pub = client('/loc/k/publish');
    await pub.opened;
    for (let i = 0; i < 30; i++) pub.send(msg(i));
    await pub.flush();
    await until(() => local.chunks.length === 30, 5000, 'the local reader');
    expect(local.seqs()).to.deep.equal(Array.from({ length: 30 }, (_, i) => i));
    expect(suite.srv.ingest.stats().receivers).to.equal(1);

    // Before the release a late receiver gets the held chunks; after it, only the header and live ones.
    const second = reader();
    const sub2 = suite.srv.ingest.subscribeBytes('loc', streamId, second)!;
    expect(second.seqs()).to.deep.equal([0, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    sub2.releaseHeld();
    const third = reader();
    const sub3 = suite.srv.ingest.subscribeBytes('loc', streamId, third)!;
    expect(third.seqs()).to.deep.equal([0]);
    sub2.unsubscribe();
    pub.send(msg(30));
    await pub.flush();
    await until(() => local.chunks.length === 31 && third.chunks.length === 2, 5000, 'live chunk');
    expect(second.chunks).to.have.length(10);

    pub.ws.close(1000);
    await until(() => local.ended && third.ended, 5000, 'end on the publisher leaving');
    expect(second.ended).to.equal(false);
    sub3.unsubscribe();
  });

  it('no such publish → null; a publish that never opens (client gone during verification) ends the waiting reader', async () => {
    expect(suite.srv.ingest.subscribeBytes('none', 'x', reader())).to.equal(null);
    const pub = client('/live/k/publish');
    await pub.opened;
    expect(suite.srv.ingest.subscribeBytes('live', 'another-stream', reader())).to.equal(null);

    const deferred = deferredDecider();
    suite.srv.coordinator.decide = deferred.decide;
    const gone = client('/gone/k/publish');
    await until(() => deferred.pending() === 1, 5000, 'verification under way');
    const local = reader();
    const decision = accept() as Extract<PublishDecision, { accepted: true }>;
    expect(suite.srv.ingest.subscribeBytes('gone', decision.streamId, local)).to.not.equal(null);
    gone.ws.terminate();
    await sleep(100);
    deferred.release(decision);
    await until(() => local.ended, 5000, 'the waiting reader ended');
    expect(local.chunks).to.have.length(0);
  });
});
