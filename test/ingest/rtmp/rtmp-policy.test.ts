/** The RTMP ingest's pure pieces: path parsing, key comparison, the packet gate, the player policy. */
import { expect } from 'chai';
import { PacketGate } from '../../../src/ingest/rtmp/packet-gate';
import { decidePlayer } from '../../../src/ingest/rtmp/player-policy';
import { parseStreamPath } from '../../../src/ingest/rtmp/stream-path';

describe('RTMP stream path', () => {
  it('reads app as channel and stream name as key', () => {
    expect(parseStreamPath('ch-1', 'Key_2', 128)).to.deep.equal({ ok: true, channel: 'ch-1', key: 'Key_2' });
  });
  it('refuses empty names (NMS fires events with "" for names it found invalid)', () => {
    expect(parseStreamPath('', 'k', 128)).to.deep.include({ ok: false });
    expect(parseStreamPath('c', '', 128)).to.deep.include({ ok: false });
  });
  it('refuses characters outside A-Z a-z 0-9 _ -', () => {
    for (const bad of ['a.b', 'a/b', 'a b', 'ä', 'a%20', 'a?x=1', 'a:b']) {
      expect(parseStreamPath(bad, 'k', 128).ok, bad).to.equal(false);
      expect(parseStreamPath('c', bad, 128).ok, bad).to.equal(false);
    }
  });
  it('enforces idMaxLength on both', () => {
    expect(parseStreamPath('c'.repeat(16), 'k'.repeat(16), 16).ok).to.equal(true);
    const long = parseStreamPath('c', 'k'.repeat(17), 16);
    expect(long.ok).to.equal(false);
    if (!long.ok) expect(long.reason).to.match(/key.*longer than 16/);
    expect(parseStreamPath('c'.repeat(17), 'k', 16).ok).to.equal(false);
  });
});

describe('PacketGate', () => {
  it('holds packets until opened, then delivers them in order and everything after', () => {
    const out: number[] = [];
    const gate = new PacketGate<number>((p) => out.push(p), 10);
    expect(gate.push(1)).to.equal('held');
    expect(gate.push(2)).to.equal('held');
    expect(out).to.deep.equal([]);
    expect(gate.open()).to.equal(2);
    expect(out).to.deep.equal([1, 2]);
    expect(gate.push(3)).to.equal('delivered');
    expect(out).to.deep.equal([1, 2, 3]);
    expect(gate.open()).to.equal(0);
  });
  it('drops everything once shut, including what it held', () => {
    const out: number[] = [];
    const gate = new PacketGate<number>((p) => out.push(p), 10);
    gate.push(1);
    expect(gate.shut()).to.equal(1);
    expect(gate.push(2)).to.equal('dropped');
    expect(gate.open()).to.equal(0);
    expect(out).to.deep.equal([]);
    expect(gate.state).to.equal('shut');
  });
  it('overflows (and shuts) past maxHeld', () => {
    const gate = new PacketGate<number>(() => undefined, 2);
    gate.push(1);
    gate.push(2);
    expect(gate.push(3)).to.equal('overflow');
    expect(gate.state).to.equal('shut');
    expect(gate.heldCount).to.equal(0);
  });
});

describe('RTMP player policy', () => {
  const live = { streamId: 's1', key: 'k1' };
  it('refuses when the channel has no publisher (no waiting for one that never connected)', () => {
    expect(decidePlayer({ playerKey: 'k1', publisher: null, coordinatorLive: null }).action).to.equal('refuse');
    expect(decidePlayer({ playerKey: 'k1', publisher: { state: 'ended' }, coordinatorLive: live }).action).to.equal('refuse');
  });
  it('holds a player with the right key while the publisher is verified, refuses a wrong key at once', () => {
    expect(decidePlayer({ playerKey: 'k1', publisher: { state: 'verifying', key: 'k1' }, coordinatorLive: null })).to.deep.equal({ action: 'hold' });
    expect(decidePlayer({ playerKey: 'k2', publisher: { state: 'verifying', key: 'k1' }, coordinatorLive: null }).action).to.equal('refuse');
  });
  it('allows the live publisher\'s key only, as the coordinator knows it', () => {
    expect(decidePlayer({ playerKey: 'k1', publisher: { state: 'live', streamId: 's1' }, coordinatorLive: live })).to.deep.equal({ action: 'allow' });
    expect(decidePlayer({ playerKey: 'k2', publisher: { state: 'live', streamId: 's1' }, coordinatorLive: live }).action).to.equal('refuse');
  });
  it('refuses when the coordinator does not know this stream as live (closed, or another session)', () => {
    expect(decidePlayer({ playerKey: 'k1', publisher: { state: 'live', streamId: 's1' }, coordinatorLive: null }).action).to.equal('refuse');
    expect(decidePlayer({ playerKey: 'k1', publisher: { state: 'live', streamId: 's1' }, coordinatorLive: { streamId: 's0', key: 'k1' } }).action).to.equal('refuse');
  });
});
