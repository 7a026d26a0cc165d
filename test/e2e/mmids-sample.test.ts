/**
 * mmids' own sample `mmids.config` (test/fixtures/mmids/mmids.config: settings, one reactor, ten
 * workflows; its paths pointed at real files) runs as castline's CASTLINE_CONFIG: the ten
 * workflows are listed `Running`; its settings are used (ffmpeg_path, the PFX certificate,
 * http_api_port overridden by the environment); `transcode1` plays the transcoded 1024x768 stream
 * to a viewer of its own app (media follows the step order); `basic_read_watch` takes a publish
 * over RTMPS and plays it over RTMPS; HTTPS commands and a WSS publish use the same certificate.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { ffmpegPath } from '../../src/encoding/binaries';
import { decodeFile, probeFile, processesMentioning } from '../encoding/helpers';
import { startTestCastline, type TestCastline } from '../helpers/castline';
import { makeTestCertificate, type TestCertificate } from '../helpers/tls-cert';
import { waitUntil } from '../helpers/wait';
import { publishWs } from '../helpers/ws-publisher';
import { killAll, play, publish } from '../ingest/rtmp/rtmp-ffmpeg';

const FIXTURE = path.resolve(__dirname, '../../../test/fixtures/mmids/mmids.config');
const SAMPLE_WORKFLOWS = ['basic_read_watch', 'transcode1', 'transcode_test', 'multi_streaming', 'pull_test', 'forwarded_input', 'forwarded_output', 'reactor_receive', 'reactor_watch', 'reactor_forwarder'];

/** GET/PUT over HTTPS, trusting the test certificate. */
function httpsRequest(port: number, method: string, p: string, ca: Buffer, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path: p, ca, servername: 'localhost', agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe("end to end: mmids' sample mmids.config, RTMPS and HTTPS/WSS", function () {
  this.timeout(180_000);
  let dir: string;
  let cert: TestCertificate;
  let castline: TestCastline;
  const get = (p: string) => httpsRequest(castline.httpPort, 'GET', p, cert.cert);
  const stepsActive = async (workflow: string) => {
    const details = JSON.parse((await get(`/workflows/${workflow}`)).text) as { streams: Array<{ steps: Array<{ status: string }> }> };
    return details.streams.length === 1 && details.streams[0].steps.length > 0 && details.streams[0].steps.every((s) => s.status === 'Active');
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-mmids-'));
    fs.copyFileSync(FIXTURE, path.join(dir, 'mmids.config'));
    fs.symlinkSync(ffmpegPath, path.join(dir, 'ffmpeg'));
    cert = makeTestCertificate(dir, 'abcd', 'cert.pfx');
    castline = await startTestCastline({ CASTLINE_CONFIG: path.join(dir, 'mmids.config'), RTMPS_PORT: '0' });
  });
  afterEach(() => killAll());
  after(async () => {
    await castline?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts with its settings and lists its ten workflows, each Running', async () => {
    expect(castline.config.ffmpegPath).to.equal(path.join(dir, 'ffmpeg'));
    expect(castline.config.tls).to.deep.include({ kind: 'pfx', path: path.join(dir, 'cert.pfx') });
    expect(castline.config.httpPort, 'HTTP_PORT in the environment wins over http_api_port').to.equal(0);
    expect(castline.tls).to.equal(true);
    const list = await get('/workflows');
    expect(list.status).to.equal(200);
    expect((JSON.parse(list.text) as Array<{ name: string }>).map((w) => w.name)).to.have.members(SAMPLE_WORKFLOWS);
    for (const name of SAMPLE_WORKFLOWS) {
      const details = JSON.parse((await get(`/workflows/${name}`)).text) as { status: string; active_steps: Array<{ step_type: string }> };
      expect(details.status, name).to.equal('Running');
    }
    const transcode = JSON.parse((await get('/workflows/transcode1')).text) as { active_steps: Array<{ step_type: string }> };
    expect(transcode.active_steps.map((s) => s.step_type)).to.deep.equal(['rtmp_receive', 'basic_transcode', 'rtmp_watch']);
    // The report says the WS ingest is TLS now.
    const report = JSON.parse((await get('/commands/report')).text) as { streamingServers: Array<{ serverType: string; ssl: boolean }> };
    expect(report.streamingServers.find((s) => s.serverType === 'WS')).to.include({ ssl: true });
  });

  it('transcode1: a viewer of the same app sees the transcoded 1024x768 stream, not the source', async () => {
    const base = `rtmp://127.0.0.1:${castline.rtmpPort}/transcode1/cam1`;
    const publisher = publish(base, 8);
    await waitUntil(() => castline.coordinator.livePublisher('transcode1'), 'transcode1 live', 15_000);
    const recorded = path.join(dir, 'transcode1.flv');
    await waitUntil(async () => stepsActive('transcode1'), 'the transcode and watch steps running', 15_000);
    // The steps run the ffmpeg_path of the settings (the link next to the config), not the bundled path.
    expect(processesMentioning(path.join(dir, 'ffmpeg')).length).to.be.at.least(2);
    const viewer = play(base, recorded);
    await publisher.exited;
    await viewer.exited;
    expect(probeFile(recorded)).to.include({ width: 1024, height: 768 });
    decodeFile(ffmpegPath, recorded);
  });

  it('basic_read_watch: publish over RTMPS, watch over RTMPS; plain RTMP on that app is refused', async () => {
    const rtmps = castline.rtmpListeners()['rtmps:0'];
    expect(rtmps, 'the rtmps listener of the sample').to.be.a('number').and.above(0);
    const refused = publish(`rtmp://127.0.0.1:${castline.rtmpPort}/basic_read/plain`, 4);
    expect((await refused.exited).code).not.to.equal(0);

    const publisher = publish(`rtmps://127.0.0.1:${rtmps}/basic_read/tls1`, 8);
    await waitUntil(() => castline.coordinator.livePublisher('basic_read'), 'basic_read live over RTMPS', 15_000);
    const recorded = path.join(dir, 'rtmps.flv');
    await waitUntil(async () => stepsActive('basic_read_watch'), 'the rtmp_watch step running', 15_000);
    const viewer = play(`rtmps://127.0.0.1:${rtmps}/basic_watch/tls1`, recorded);
    await publisher.exited;
    await viewer.exited;
    expect(fs.existsSync(recorded), viewer.stderr()).to.equal(true);
    expect(probeFile(recorded)).to.include({ width: 320, height: 180 });
    decodeFile(ffmpegPath, recorded);
  });

  it('HTTPS commands API and a WSS publish (with the default workflow added over HTTPS)', async () => {
    const put = await httpsRequest(castline.httpPort, 'PUT', '/workflows', cert.cert, 'workflow web {\n    ws_receive channel=*\n    hls_ladder\n}\n');
    expect(put.status, put.text).to.equal(200);
    const ws = publishWs(`wss://localhost:${castline.httpPort}/webcam/key1/publish`, 'flv', 5, { ca: cert.cert });
    await ws.opened;
    await waitUntil(() => castline.coordinator.livePublisher('webcam'), 'webcam live over WSS', 15_000);
    const report = JSON.parse((await get('/commands/report')).text) as { activeStreams: Array<{ channel: string }> };
    expect(report.activeStreams.map((s) => s.channel)).to.include('webcam');
    const live = path.join(castline.dataDir, 'hls', 'webcam');
    await waitUntil(() => fs.existsSync(live) && fs.readdirSync(live, { recursive: true }).some((f) => String(f).endsWith('.m3u8')), 'HLS from the WSS publish', 30_000);
    ws.stop();
    // Plain HTTP on the HTTPS port gets no answer.
    await fetch(`http://127.0.0.1:${castline.httpPort}/workflows`).then(
      () => expect.fail('plain HTTP answered on the HTTPS port'),
      (err: Error) => expect(err.message).to.match(/fetch failed/),
    );
  });
});
