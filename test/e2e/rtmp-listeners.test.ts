/**
 * `port=` on rtmp_receive / rtmp_watch (mmids): a step's RTMP listener starts when a workflow needs
 * it, is shared by every step naming the same port, and stops when no step uses it any more.
 * A publish reaches only the workflows of the listener it arrived on.
 */
import { expect } from 'chai';
import * as net from 'node:net';
import { startTestCastline, type TestCastline } from '../helpers/castline';
import { freePort } from '../helpers/process';
import { waitUntil } from '../helpers/wait';
import { killAll, publish } from '../ingest/rtmp/rtmp-ffmpeg';

const connects = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });

describe('end to end: RTMP listeners of port= steps', function () {
  this.timeout(60_000);
  let castline: TestCastline;
  const api = async (method: string, p: string, body?: string) => {
    const res = await fetch(`http://127.0.0.1:${castline.httpPort}${p}`, { method, body, headers: { connection: 'close' } });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  before(async () => {
    castline = await startTestCastline();
  });
  afterEach(() => killAll());
  after(() => castline?.dispose());

  it('two steps on one port share a listener, a third port starts another; unused listeners stop', async () => {
    const [x, y] = [await freePort(), await freePort()];
    expect((await api('PUT', '/workflows', `workflow pa {\n    rtmp_receive rtmp_app=pa stream_key=* port=${x}\n    hls_ladder\n}\n`)).status).to.equal(200);
    expect((await api('PUT', '/workflows', `workflow pw {\n    rtmp_watch rtmp_app=pw stream_key=* port=${x}\n}\n`)).status).to.equal(200);
    await waitUntil(() => castline.rtmpListeners()[`rtmp:${x}`] === x, `listener on ${x}`, 5000);
    expect(Object.keys(castline.rtmpListeners())).to.have.length(2); // the default one and x
    expect((await api('PUT', '/workflows', `workflow pc {\n    rtmp_receive rtmp_app=pc stream_key=* port=${y}\n}\n`)).status).to.equal(200);
    await waitUntil(() => castline.rtmpListeners()[`rtmp:${y}`] === y, `listener on ${y}`, 5000);

    // A publish on x reaches pa; the same app on y matches no workflow there and is refused.
    const onY = publish(`rtmp://127.0.0.1:${y}/pa/k1`, 4);
    expect((await onY.exited).code).not.to.equal(0);
    const onX = publish(`rtmp://127.0.0.1:${x}/pa/k1`, 3);
    await waitUntil(() => castline.coordinator.livePublisher('pa'), 'pa live through port x', 15_000);
    expect((await api('GET', '/workflows/pa')).json.streams).to.have.length(1);
    await onX.exited;

    expect((await api('DELETE', '/workflows/pa')).status).to.equal(200);
    await new Promise((r) => setTimeout(r, 200));
    expect(await connects(x), 'still used by pw').to.equal(true);
    expect((await api('DELETE', '/workflows/pw')).status).to.equal(200);
    await waitUntil(async () => !(await connects(x)), `listener on ${x} stopped`, 5000);
    expect(castline.rtmpListeners()).not.to.have.property(`rtmp:${x}`);
    expect(await connects(y)).to.equal(true);
  });

  it('an rtmps step without a certificate is refused with the settings to set', async () => {
    const res = await api('PUT', '/workflows', 'workflow sec {\n    rtmp_receive rtmp_app=sec stream_key=* rtmps\n}\n');
    expect(res.status).to.equal(400);
    expect(res.json.error).to.match(/rtmps needs a certificate: set tls_cert_path \+ tls_cert_password \(TLS_CERT_PATH\) or TLS_CERT_FILE \+ TLS_KEY_FILE/);
  });
});
