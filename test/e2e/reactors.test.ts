/**
 * Reactors end to end: castline asks a real local HTTP reactor about each stream name (POST
 * `{"stream_name"}`), creates the workflows it answers (the `routed_by_reactor` ones receive the
 * media through `forward_to_workflow reactor=`), refuses on 404, retries a 500, re-asks under
 * `update_interval`, removes the reactor's workflows when the stream ends, and never lets a
 * hanging reactor hold up other publishes.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ffmpegPath } from '../../src/encoding/binaries';
import { parseMediaPlaylist } from '../../src/encoding/playlist';
import { decodeFile } from '../encoding/helpers';
import { AppServer } from '../helpers/app-server';
import { startTestCastline, type TestCastline } from '../helpers/castline';
import { ReactorServer } from '../helpers/reactor-server';
import { waitUntil } from '../helpers/wait';
import { execFileSync } from 'node:child_process';
import { probeFile } from '../encoding/helpers';
import { killAll, play, publish } from '../ingest/rtmp/rtmp-ffmpeg';

const hlsWorkflow = (name: string, dir: string, routed = true) => `workflow ${name}${routed ? ' routed_by_reactor' : ''} {\n    ffmpeg_hls path=${dir} duration=1\n}\n`;

describe('end to end: reactors (simple_http)', function () {
  this.timeout(120_000);
  let reactor: ReactorServer;
  let app: AppServer;
  let castline: TestCastline;
  let dir: string;
  const api = async (method: string, p: string) => {
    const res = await fetch(`http://127.0.0.1:${castline.httpPort}${p}`, { method, headers: { connection: 'close' } });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const names = async () => ((await api('GET', '/workflows')).json as unknown as Array<{ name: string }>).map((w) => w.name);
  const url = (app: string, key: string) => `rtmp://127.0.0.1:${castline.rtmpPort}/${app}/${key}`;
  const playlist = (p: string, name: string) => path.join(castline.dataDir, p, `${name}.m3u8`);
  const segments = (file: string) => (fs.existsSync(file) ? parseMediaPlaylist(fs.readFileSync(file, 'utf8')).segments.length : 0);

  before(async () => {
    reactor = await new ReactorServer().start();
    app = await new AppServer().start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-reactor-'));
    const config = path.join(dir, 'castline.config');
    fs.writeFileSync(config, `reactor test executor=simple_http {
    url ${reactor.url}?source=test
}
reactor live executor=simple_http update_interval=1 {
    url ${reactor.url}
}
workflow by_reactor {
    rtmp_receive rtmp_app=* stream_key=* reactor=test
    forward_to_workflow reactor=test
}
workflow watchers {
    rtmp_watch rtmp_app=rwatch stream_key=* reactor=test
}
workflow updating {
    rtmp_receive rtmp_app=updating stream_key=* reactor=live
    workflow_forwarder reactor=live
}
`);
    castline = await startTestCastline({
      CASTLINE_CONFIG: config, EVENT_CALLBACK_URL: `${app.url}/events`,
      REACTOR_TIMEOUT_SECONDS: '1', REACTOR_RETRY_DELAY_SECONDS: '0.3',
    });
  });
  afterEach(() => killAll());
  after(async () => {
    await castline?.dispose();
    await reactor?.stop();
    await app?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('200: creates the answered workflows, routes the media to the routed one, marks them reactor-managed, removes them when the stream ends', async () => {
    reactor.answer = (name) => (name === 'good1' ? { status: 200, body: hlsWorkflow('good1_out', 'r/good1') + hlsWorkflow('good1_side', 'r/side', false) } : { status: 404 });
    const publisher = publish(url('a1', 'good1'), 5);
    await waitUntil(() => castline.coordinator.livePublisher('a1'), 'a1 live', 15_000);
    expect(reactor.requests[0]).to.deep.include({ streamName: 'good1', contentType: 'application/json' });
    expect(await names()).to.include.members(['good1_out', 'good1_side', 'by_reactor']);
    const details = await api('GET', '/workflows/good1_out');
    expect(details.json).to.include({ reactor_managed: true, reactor: 'test', status: 'Running' });
    expect((await api('GET', '/workflows/by_reactor')).json).to.include({ reactor_managed: false });
    const out = playlist('r/good1', 'a1');
    await waitUntil(() => segments(out) >= 2, 'routed workflow output', 20_000);
    expect(fs.existsSync(path.join(castline.dataDir, 'r/side')), 'the unrouted workflow gets no media').to.equal(false);
    await publisher.exited;
    await waitUntil(async () => !(await names()).includes('good1_out'), 'reactor workflows removed', 15_000);
    expect(await names()).not.to.include('good1_side');
    for (const seg of parseMediaPlaylist(fs.readFileSync(out, 'utf8')).segments) decodeFile(ffmpegPath, path.join(path.dirname(out), seg.uri));
  });

  it('404: the publish is refused; 500 then 200: retried and accepted', async () => {
    reactor.answer = (name, attempt) => (name === 'flaky' ? (attempt === 1 ? { status: 500 } : { status: 200, body: hlsWorkflow('flaky_out', 'r/flaky') }) : { status: 404 });
    const denied = publish(url('a2', 'deny'), 5);
    const exit = await denied.exited;
    expect(exit.code).not.to.equal(0);
    expect(reactor.asked('deny')).to.equal(1); // 404 is an answer: not retried
    expect(castline.coordinator.livePublisher('a2')).to.equal(null);

    const flaky = publish(url('a3', 'flaky'), 4);
    await waitUntil(() => castline.coordinator.livePublisher('a3'), 'a3 live after a retry', 15_000);
    expect(reactor.asked('flaky')).to.equal(2);
    const [first, second] = reactor.requests.filter((r) => r.streamName === 'flaky');
    expect(second.at - first.at).to.be.at.least(250); // REACTOR_RETRY_DELAY_SECONDS
    await waitUntil(() => segments(playlist('r/flaky', 'a3')) >= 1, 'flaky output', 20_000);
    await flaky.exited;
  });

  it('an unparsable answer is retried 3 times, then refused', async () => {
    reactor.answer = () => ({ status: 200, body: 'workflow broken {\n' });
    const p = publish(url('a4', 'garbled'), 5);
    await p.exited;
    expect(reactor.asked('garbled')).to.equal(3);
    expect(castline.coordinator.livePublisher('a4')).to.equal(null);
  });

  it('a hanging reactor (timeout) does not hold up other publishes', async () => {
    reactor.answer = (name) => (name === 'slow' ? 'hang' : { status: 200, body: '' });
    const slow = publish(url('a5', 'slow'), 8);
    await waitUntil(() => reactor.asked('slow') >= 1, 'slow asked', 10_000);
    const fast = publish(url('a6', 'fast'), 3);
    await waitUntil(() => castline.coordinator.livePublisher('a6'), 'fast live', 10_000);
    expect(slow.running(), 'the slow one is still waiting for its reactor').to.equal(true);
    const exit = await slow.exited;
    expect(exit.code).not.to.equal(0);
    expect(reactor.asked('slow')).to.equal(3); // three timed-out attempts
    expect(castline.coordinator.livePublisher('a5')).to.equal(null);
    await fast.exited;
  });

  it('rtmp_watch reactor=: a player makes the reactor be asked (404: refused; 200: its workflows feed the player), released when the player leaves', async () => {
    const source = path.join(dir, 'w1.flv');
    execFileSync(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=15', '-f', 'lavfi', '-i', 'sine', '-t', '6',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-c:a', 'aac', '-f', 'flv', source]);
    reactor.answer = (name) => (name === 'w1'
      ? { status: 200, body: `workflow w1_src {\n    ffmpeg_pull location=${source} stream_name=w1src\n    rtmp_watch rtmp_app=rwatch stream_key=w1\n}\n` }
      : { status: 404 });
    const refused = play(url('rwatch', 'nope'), path.join(dir, 'nope.flv'));
    expect((await refused.exited).code).not.to.equal(0);
    expect(reactor.asked('nope')).to.equal(1);

    const recorded = path.join(dir, 'w1-watched.flv');
    const viewer = play(url('rwatch', 'w1'), recorded);
    await waitUntil(async () => (await names()).includes('w1_src'), 'the reactor workflow created for the player', 10_000);
    expect((await api('GET', '/workflows/w1_src')).json).to.include({ reactor_managed: true });
    await viewer.exited;
    expect(probeFile(recorded)).to.include({ width: 320, height: 180 });
    decodeFile(ffmpegPath, recorded);
    await waitUntil(async () => !(await names()).includes('w1_src'), 'w1_src released after the player left', 10_000);
  });

  it('PUT with a reactor block (applied) and settings (ignored, warning in the answer); unknown arguments ignored with warnings', async () => {
    reactor.answer = (name) => (name === 'viaput' ? { status: 200, body: '' } : { status: 404 });
    const body = `settings {\n    http_api_port 9011\n}\nreactor fromput executor=simple_http {\n    url ${reactor.url}?via=put\n}\n`
      + 'workflow putflow colour=red {\n    rtmp_receive rtmp_app=putapp stream_key=* reactor=fromput flavour=x\n}\n';
    const res = await fetch(`http://127.0.0.1:${castline.httpPort}/workflows`, { method: 'PUT', body, headers: { 'content-type': 'application/vnd.mmids.workflow', connection: 'close' } });
    const json = (await res.json()) as { warnings: string[] };
    expect(res.status).to.equal(200);
    expect(json.warnings).to.have.length(3);
    expect(json.warnings.join('\n')).to.match(/setting 'http_api_port' ignored/).and.match(/unknown workflow argument 'colour' ignored/).and.match(/unknown argument 'flavour' ignored/);
    const p = publish(url('putapp', 'viaput'), 3);
    await waitUntil(() => castline.coordinator.livePublisher('putapp'), 'putapp live (reactor from the PUT body said 200)', 15_000);
    expect(reactor.asked('viaput')).to.equal(1);
    await p.exited;
    expect((await api('DELETE', '/workflows/putflow')).status).to.equal(200);
  });

  it('update_interval: a changed answer updates the workflows, a 404 ends the stream', async () => {
    reactor.answer = (name, attempt) => {
      if (name !== 'upd') return { status: 404 };
      if (attempt <= 2) return { status: 200, body: hlsWorkflow('upd_out', 'u/one') };
      if (attempt <= 5) return { status: 200, body: hlsWorkflow('upd_out', 'u/two') };
      return { status: 404 };
    };
    const publisher = publish(url('updating', 'upd'), 40);
    await waitUntil(() => castline.coordinator.livePublisher('updating'), 'updating live', 15_000);
    const streamId = castline.coordinator.livePublisher('updating')!.streamId;
    await waitUntil(() => segments(playlist('u/one', 'updating')) >= 1, 'first answer output', 20_000);
    await waitUntil(() => segments(playlist('u/two', 'updating')) >= 1, 'changed answer output', 20_000);
    const steps = (await api('GET', '/workflows/upd_out')).json.active_steps as Array<{ parameters: Record<string, string> }>;
    expect(steps[0].parameters.path).to.equal('u/two');
    const exit = await publisher.exited;
    expect(exit.code).not.to.equal(0);
    await waitUntil(() => app.deliveredFor(streamId).some((h) => h['x-event-type'] === 'stream-closed'), 'stream-closed', 15_000);
    expect(app.deliveredFor(streamId).at(-1)).to.include({ 'x-close-reason': 'workflow-removed' });
    await waitUntil(async () => !(await names()).includes('upd_out'), 'upd_out removed', 10_000);
  });
});
