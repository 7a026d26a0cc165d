/**
 * Request targets that are not origin-form (`GET http://host/x HTTP/1.1`, `GET * …`, `GET x …`),
 * over raw sockets (issue 13, item 6). The pinned uWebSockets.js build (20.30) does not parse them:
 * its request-line parser only accepts `METHOD /…` and otherwise waits for more bytes, so no
 * handler of castline ever sees such a request and none can answer it. What castline guarantees is
 * what this test pins down: the connection is closed by the server's HTTP idle timeout (~10 s,
 * not left open), nothing else is held up meanwhile, and the server goes on serving.
 * (A uWS release whose parser accepts absolute-form would let `mountRoutes` answer 400 instead.)
 */
import { expect } from 'chai';
import { startTestCastline, type TestCastline } from '../helpers/castline';
import { rawRequest } from '../helpers/raw-http';

describe('HTTP: request targets that are not origin-form (raw sockets)', function () {
  this.timeout(30_000);
  let castline: TestCastline;
  before(async () => {
    castline = await startTestCastline({ RTMP_ENABLED: 'false' });
  });
  after(async () => castline?.dispose());

  it('absolute-form, asterisk-form and relative targets: closed by the server within its idle timeout, while other requests are served', async () => {
    const started = Date.now();
    const odd = ['GET http://127.0.0.1/ HTTP/1.1', 'GET http://127.0.0.1/hls/x/y.m3u8 HTTP/1.1', 'OPTIONS * HTTP/1.1', 'GET x HTTP/1.1']
      .map((line) => rawRequest(castline.httpPort, `${line}\r\nHost: 127.0.0.1\r\n\r\n`, 15_000));
    const normal = await rawRequest(castline.httpPort, '/');
    expect(normal.status, 'served while the odd ones wait').to.equal(200);
    expect(Date.now() - started).to.be.below(2000);
    for (const answer of await Promise.all(odd)) {
      expect(answer.closedByServer, 'closed by the server, not left open').to.equal(true);
      expect(answer.status === 0 || answer.status === 400, `no answer or 400, got ${answer.text.slice(0, 40)}`).to.equal(true);
    }
    expect(Date.now() - started, 'within the idle timeout').to.be.below(14_000);
    expect((await rawRequest(castline.httpPort, '/')).status).to.equal(200);
  });
});
