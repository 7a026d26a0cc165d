import { expect } from 'chai';
import { Coordinator } from '../../src/coordinator/coordinator';
import type { StreamEventSink } from '../../src/coordinator/coordinator.types';
import { isValidStreamId } from '../../src/domain/names';
import type { OutputAvailable } from '../../src/domain/outputs';
import type { StreamSettings } from '../../src/domain/settings';
import type { VerificationOutcome, CloseReason, PublishDecision, PublishRequest } from '../../src/domain/stream';
import { silentLogger } from '../../src/logging/logger';
import { FakeEncoder } from '../fakes/encoder';
import { defaultWorkflowOptions } from '../fakes/workflows';
import { sleep, waitUntil } from '../helpers/wait';

const SETTINGS: StreamSettings = { resolutions: { original: true, rungs: [] }, record: false, previews: null };
const LIVE: OutputAvailable = { streamType: 'HLS-LIVE', resolution: '320x180-15', indexFile: 'hls/c/x/320x180-15/live.m3u8' };

type Recorded =
  | { type: 'started'; channel: string; streamId: string }
  | { type: 'available'; channel: string; streamId: string; output: OutputAvailable }
  | { type: 'closed'; channel: string; streamId: string; reason: CloseReason };

class RecordingSink implements StreamEventSink {
  readonly events: Recorded[] = [];
  streamStarted(channel: string, streamId: string) { this.events.push({ type: 'started', channel, streamId }); }
  available(channel: string, streamId: string, output: OutputAvailable) { this.events.push({ type: 'available', channel, streamId, output }); }
  streamClosed(channel: string, streamId: string, reason: CloseReason) { this.events.push({ type: 'closed', channel, streamId, reason }); }
  of(streamId: string) { return this.events.filter((e) => e.streamId === streamId); }
}

interface Harness {
  coordinator: Coordinator;
  sink: RecordingSink;
  encoder: FakeEncoder;
  disconnects: Array<{ channel: string; reason: CloseReason }>;
  verify: (req: { channel: string; key: string; userIp: string }) => Promise<VerificationOutcome>;
  publish: (channel: string, key?: string) => Promise<PublishDecision>;
}

function harness(opts: { capacity?: number; maxRestarts?: number; stopTimeoutMs?: number } = {}): Harness {
  const sink = new RecordingSink();
  const encoder = new FakeEncoder(1, opts.capacity ?? -1);
  const disconnects: Harness['disconnects'] = [];
  const h: Partial<Harness> = { sink, encoder, disconnects };
  h.verify = async (req) => (req.key.startsWith('good') ? { accepted: true, settings: SETTINGS } : { accepted: false, reason: 'HTTP 403' });
  const coordinator = new Coordinator({
    verifier: { verify: (req) => h.verify!(req) },
    events: sink,
    policy: { maxRestarts: opts.maxRestarts ?? 2, restartBaseMs: 20, stopTimeoutMs: opts.stopTimeoutMs ?? 2_000 },
    idMaxLength: 128,
    logger: silentLogger,
    ...defaultWorkflowOptions(),
  });
  coordinator.addEncoder(encoder);
  h.coordinator = coordinator;
  h.publish = (channel, key = 'good-key') => {
    const request: PublishRequest = {
      channel,
      key,
      userIp: '203.0.113.7',
      ingest: 'RTMP',
      serverId: 7,
      source: { type: 'RTMP', uri: `rtmp://127.0.0.1:1935/${channel}/${key}` },
      disconnect: (reason) => disconnects.push({ channel, reason }),
    };
    return coordinator.publish(request);
  };
  return h as Harness;
}

const accepted = (d: PublishDecision): string => {
  if (!d.accepted) throw new Error(`expected accepted, got ${d.code}: ${d.message}`);
  return d.streamId;
};

describe('coordinator and stream lifecycle', () => {
  let h: Harness;
  afterEach(async () => h && (await h.coordinator.shutdown(1000)));

  it('an accepted publish gets a 32-hex time-ordered id, starts one encode job and reports its outputs in order, stream-closed last', async () => {
    h = harness();
    const id = accepted(await h.publish('ch1'));
    expect(isValidStreamId(id), id).to.equal(true);
    await waitUntil(() => h.encoder.jobsOf(id).length === 1, 'encode job');
    const [job] = h.encoder.jobsOf(id);
    expect(job.job).to.deep.include({ channel: 'ch1', streamId: id, attempt: 0, settings: SETTINGS });
    job.report({ type: 'available', output: LIVE });
    job.report({ type: 'available', output: { ...LIVE, streamType: 'HLS-VOD' } });
    h.coordinator.publisherGone(id);
    await waitUntil(() => h.sink.of(id).some((e) => e.type === 'closed'), 'closed');
    expect(h.sink.of(id).map((e) => e.type)).to.deep.equal(['started', 'available', 'available', 'closed']);
    expect(h.sink.of(id).at(-1)).to.deep.include({ reason: 'publisher-disconnected' });
    expect(job.stops).to.equal(1);
    await waitUntil(() => h.coordinator.sessionCount() === 0, 'session removed');
  });

  it('ids sort by creation time', async () => {
    h = harness();
    const a = accepted(await h.publish('a'));
    await sleep(2);
    const b = accepted(await h.publish('b'));
    expect(a < b).to.equal(true);
  });

  it('a refused key gets KEY_REFUSED with the reason, starts nothing and sends no event', async () => {
    h = harness();
    const d = await h.publish('ch1', 'bad-key');
    expect(d).to.deep.equal({ accepted: false, code: 'KEY_REFUSED', message: 'HTTP 403' });
    expect(h.encoder.jobs).to.have.length(0);
    await sleep(20);
    expect(h.sink.events).to.deep.equal([]);
    expect(h.coordinator.sessionCount()).to.equal(0);
  });

  it('a verifier that throws refuses the key', async () => {
    h = harness();
    h.verify = async () => { throw new Error('boom'); };
    const d = await h.publish('ch1');
    expect(d).to.deep.include({ accepted: false, code: 'KEY_REFUSED' });
  });

  it('invalid channel or key characters and lengths are refused with INVALID_ID before verification', async () => {
    h = harness();
    let verified = 0;
    h.verify = async () => { verified++; return { accepted: true, settings: SETTINGS }; };
    for (const [ch, key] of [['a/b', 'good'], ['ok', 'bad key'], ['', 'good'], ['x'.repeat(129), 'good'], ['ch', '../x']]) {
      expect(await h.publish(ch, key)).to.deep.include({ accepted: false, code: 'INVALID_ID' });
    }
    expect(verified).to.equal(0);
  });

  it('one publisher per channel: a second publish on a live or verifying channel is refused', async () => {
    h = harness();
    let release!: () => void;
    h.verify = () => new Promise((r) => { release = () => r({ accepted: true, settings: SETTINGS }); });
    const first = h.publish('ch1');
    expect(await h.publish('ch1')).to.deep.include({ accepted: false, code: 'CHANNEL_BUSY' });
    release();
    accepted(await first);
    h.verify = async () => ({ accepted: true, settings: SETTINGS });
    expect(await h.publish('ch1')).to.deep.include({ accepted: false, code: 'CHANNEL_BUSY' });
    expect(isValidStreamId(accepted(await h.publish('ch2'))), 'ch2 id').to.equal(true);
  });

  it('a quick reconnect gets a new id while the old session still flushes, and the old session\'s teardown never touches it', async () => {
    h = harness();
    h.encoder.onStop = () => {}; // the old encoder is slow to flush
    const old = accepted(await h.publish('ch1'));
    h.coordinator.publisherGone(old);
    const fresh = accepted(await h.publish('ch1'));
    expect(fresh).not.to.equal(old);
    await waitUntil(() => h.encoder.jobsOf(fresh).length === 1, 'new job');
    // The old session's late reports: its encoder finally exits, its publisher-gone repeats.
    h.encoder.jobsOf(old)[0].report({ type: 'available', output: LIVE });
    h.encoder.jobsOf(old)[0].report({ type: 'exited', clean: true });
    h.coordinator.publisherGone(old);
    await waitUntil(() => h.sink.of(old).some((e) => e.type === 'closed'), 'old closed');
    expect(h.coordinator.livePublisher('ch1')).to.deep.equal({ streamId: fresh, key: 'good-key' });
    expect(h.encoder.jobsOf(fresh)[0].stops).to.equal(0);
    expect(h.disconnects).to.deep.equal([]);
    expect(h.sink.of(fresh).map((e) => e.type)).to.deep.equal(['started']);
  });

  it('capacity full refuses a publish before it goes live, and frees up when a stream ends', async () => {
    h = harness({ capacity: 1 });
    const a = accepted(await h.publish('a'));
    expect(await h.publish('b')).to.deep.include({ accepted: false, code: 'CAPACITY_FULL' });
    expect(h.coordinator.capacity()).to.deep.equal({ load: 1, capacity: 1, encoderCount: 1 });
    h.coordinator.publisherGone(a);
    await waitUntil(() => h.coordinator.capacity().load === 0, 'load released');
    accepted(await h.publish('b'));
  });

  it('close with * closes every session of the channel, with an id only that one, unknown ones do nothing', async () => {
    h = harness();
    const a = accepted(await h.publish('a'));
    const b = accepted(await h.publish('b'));
    h.coordinator.close('a', 'ffffffffffffffffffffffffffffffff');
    h.coordinator.close('nope', '*');
    await sleep(20);
    expect(h.disconnects).to.deep.equal([]);
    h.coordinator.close('a', a);
    await waitUntil(() => h.sink.of(a).some((e) => e.type === 'closed'), 'a closed');
    expect(h.sink.of(a).at(-1)).to.deep.include({ reason: 'close-command' });
    expect(h.disconnects).to.deep.equal([{ channel: 'a', reason: 'close-command' }]);
    h.coordinator.close('b', '*');
    await waitUntil(() => h.sink.of(b).some((e) => e.type === 'closed'), 'b closed');
  });

  it('a dead encoder worker while live restarts the job with the next attempt; reports of the old attempt are ignored', async () => {
    h = harness({ maxRestarts: 2 });
    const id = accepted(await h.publish('ch1'));
    const first = h.encoder.jobsOf(id)[0];
    first.report({ type: 'exited', clean: false, error: { code: 'WORKER_DIED', message: 'worker thread exited' } });
    await waitUntil(() => h.encoder.jobsOf(id).length === 2, 'restart');
    const second = h.encoder.jobsOf(id)[1];
    expect(second.job.attempt).to.equal(1);
    first.report({ type: 'available', output: LIVE }); // stale: ignored
    second.report({ type: 'available', output: LIVE });
    expect(h.sink.of(id).filter((e) => e.type === 'available')).to.have.length(1);
    expect(h.sink.of(id).some((e) => e.type === 'closed')).to.equal(false);
  });

  it('after the last allowed restart the stream closes with encoder-failed and the publisher is disconnected', async () => {
    h = harness({ maxRestarts: 1 });
    const id = accepted(await h.publish('ch1'));
    h.encoder.jobsOf(id)[0].report({ type: 'exited', clean: false, error: { code: 'WORKER_DIED', message: 'x' } });
    await waitUntil(() => h.encoder.jobsOf(id).length === 2, 'restart');
    h.encoder.jobsOf(id)[1].report({ type: 'exited', clean: false, error: { code: 'WORKER_DIED', message: 'x' } });
    await waitUntil(() => h.sink.of(id).some((e) => e.type === 'closed'), 'closed');
    expect(h.sink.of(id).at(-1)).to.deep.include({ reason: 'encoder-failed' });
    expect(h.disconnects).to.deep.equal([{ channel: 'ch1', reason: 'encoder-failed' }]);
  });

  it('an encoder whose in-job ffmpeg restarts are used up closes the stream with encoder-failed, without another job', async () => {
    h = harness();
    const id = accepted(await h.publish('ch1'));
    h.encoder.jobsOf(id)[0].report({ type: 'exited', clean: false, error: { code: 'ENCODER_CRASHED', message: 'ffmpeg exited 1 three times' } });
    await waitUntil(() => h.sink.of(id).some((e) => e.type === 'closed'), 'closed');
    expect(h.sink.of(id).at(-1)).to.deep.include({ reason: 'encoder-failed' });
    expect(h.encoder.jobsOf(id)).to.have.length(1);
  });

  it('bad media closes the stream with invalid-media at once, without a restart', async () => {
    h = harness();
    const id = accepted(await h.publish('ch1'));
    h.encoder.jobsOf(id)[0].report({ type: 'exited', clean: false, error: { code: 'INVALID_MEDIA', message: 'no video stream' } });
    await waitUntil(() => h.sink.of(id).some((e) => e.type === 'closed'), 'closed');
    expect(h.sink.of(id).at(-1)).to.deep.include({ reason: 'invalid-media' });
    expect(h.encoder.jobsOf(id)).to.have.length(1);
  });

  it('an encoder that never finishes flushing is given up after the stop timeout', async () => {
    h = harness({ stopTimeoutMs: 100 });
    h.encoder.onStop = () => {};
    const id = accepted(await h.publish('ch1'));
    h.coordinator.publisherGone(id);
    await waitUntil(() => h.sink.of(id).some((e) => e.type === 'closed'), 'closed', 2000);
  });

  it('a verifying session is not an active stream; a publisher that left during verification and is reported gone on acceptance closes with no output', async () => {
    h = harness();
    let release!: () => void;
    h.verify = () => new Promise((r) => { release = () => r({ accepted: true, settings: SETTINGS }); });
    const pending = h.publish('ch1');
    await sleep(5);
    expect(h.coordinator.report().activeStreams).to.deep.equal([]);
    expect(h.coordinator.capacity().load).to.equal(0);
    // The ingest learns the id from the decision; a publisher that left meanwhile is reported then.
    release();
    const id = accepted(await pending);
    h.coordinator.publisherGone(id);
    await waitUntil(() => h.coordinator.sessionCount() === 0, 'removed');
    expect(h.sink.of(id).map((e) => e.type === 'closed' ? `closed:${e.reason}` : e.type)).to.deep.equal(['started', 'closed:publisher-disconnected']);
  });

  it('report and capacity are computed from the live sessions', async () => {
    h = harness({ capacity: 8 });
    h.coordinator.addIngestServer(7, () => ({ id: 7, ip: '127.0.0.1', port: 1935, ssl: false, serverType: 'RTMP' }));
    const a = accepted(await h.publish('a'));
    await h.publish('b', 'bad');
    const report = h.coordinator.report();
    expect(report).to.deep.equal({
      activeStreams: [{ channel: 'a', streamId: a, streamServer: 7, encoder: 1 }],
      streamingServers: [{ id: 7, ip: '127.0.0.1', port: 1935, ssl: false, serverType: 'RTMP' }],
      encoders: [{ id: 1, capacity: 8, load: 1 }],
    });
    expect(h.coordinator.capacity()).to.deep.equal({ load: 1, capacity: 8, encoderCount: 1 });
  });

  it('shutdown closes every live session with reason shutdown and refuses new publishes', async () => {
    h = harness();
    const a = accepted(await h.publish('a'));
    const b = accepted(await h.publish('b'));
    await h.coordinator.shutdown(2000);
    for (const id of [a, b]) expect(h.sink.of(id).at(-1)).to.deep.include({ type: 'closed', reason: 'shutdown' });
    expect(h.disconnects.map((d) => d.reason)).to.deep.equal(['shutdown', 'shutdown']);
    expect(await h.publish('c')).to.deep.include({ accepted: false, code: 'SHUTTING_DOWN' });
  });
});
