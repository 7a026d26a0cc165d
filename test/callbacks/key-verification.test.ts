import { expect } from 'chai';
import { KeyVerificationClient } from '../../src/callbacks/key-verification';
import type { Config, OutgoingAuth } from '../../src/config/config';
import { silentLogger } from '../../src/logging/logger';
import { AppReceiver, closedPort } from './app-receiver';

type VerifierConfig = Pick<Config, 'keyVerification' | 'defaults'>;
const DEFAULTS = { resolutions: 'ORIGINAL', record: false, previews: 'False' };
const REQUEST = { channel: 'chan-1', key: 'secret_key', userIp: '203.0.113.7' };

function configFor(url: string, auth: OutgoingAuth = { method: 'none' }, timeoutMs = 5000, defaults = DEFAULTS): VerifierConfig {
  return { keyVerification: { url, auth, timeoutMs }, defaults };
}

describe('key-verification', () => {
  const app = new AppReceiver();
  const verifiers: KeyVerificationClient[] = [];
  const verifier = (config: VerifierConfig) => {
    const v = new KeyVerificationClient({ config, logger: silentLogger });
    verifiers.push(v);
    return v;
  };

  before(async () => {
    await app.start();
  });
  beforeEach(() => {
    app.requests.length = 0;
    app.respond = () => 200;
  });
  afterEach(() => {
    for (const v of verifiers.splice(0)) v.close();
  });
  after(async () => {
    await app.stop();
  });

  it('POSTs an empty body with the channel, key and user IP headers; 200 accepts', async () => {
    const result = await verifier(configFor(app.url)).verifyKey(REQUEST);
    expect(result).to.deep.equal({ accepted: true, settings: { resolutions: { original: true, rungs: [] }, record: false, previews: null }, warnings: [] });
    expect(app.requests).to.have.length(1);
    const [req] = app.requests;
    expect(req.method).to.equal('POST');
    expect(req.url).to.equal('/callback');
    expect(req.body).to.equal('');
    expect(req.headers['content-length']).to.equal('0');
    expect(req.headers['x-streaming-channel']).to.equal('chan-1');
    expect(req.headers['x-streaming-key']).to.equal('secret_key');
    expect(req.headers['x-user-ip']).to.equal('203.0.113.7');
    expect(req.headers['authorization']).to.equal(undefined);
  });

  const authTable: Array<[OutgoingAuth, string]> = [
    [{ method: 'Basic', user: 'app', password: 'pw' }, `Basic ${Buffer.from('app:pw').toString('base64')}`],
    [{ method: 'Bearer', token: 't0k3n' }, 'Bearer t0k3n'],
    [{ method: 'Custom', value: 'X-Sig deadbeef' }, 'X-Sig deadbeef'],
  ];
  for (const [auth, expected] of authTable) {
    it(`sends Authorization for ${auth.method}`, async () => {
      await verifier(configFor(app.url, auth)).verifyKey(REQUEST);
      expect(app.requests[0].headers['authorization']).to.equal(expected);
    });
  }

  const settingsTable: Array<[string, Record<string, string>, object, number]> = [
    ['no settings headers → defaults', {}, { resolutions: { original: true, rungs: [] }, record: false, previews: null }, 0],
    ['x-record: true', { 'x-record': 'true' }, { resolutions: { original: true, rungs: [] }, record: true, previews: null }, 0],
    ['x-record: YES', { 'x-record': 'YES' }, { resolutions: { original: true, rungs: [] }, record: true, previews: null }, 0],
    ['x-previews: 256x144, 5', { 'x-previews': '256x144, 5' }, { resolutions: { original: true, rungs: [] }, record: false, previews: { width: 256, height: 144, intervalSeconds: 5 } }, 0],
    ['x-previews: False', { 'x-previews': 'False' }, { resolutions: { original: true, rungs: [] }, record: false, previews: null }, 0],
    ['x-resolutions: ladder + ORIGINAL', { 'x-resolutions': '1280x720-30~2500, 854x480-30, original' }, { resolutions: { original: true, rungs: [{ width: 1280, height: 720, fps: 30, kbps: 2500 }, { width: 854, height: 480, fps: 30, kbps: -1 }] }, record: false, previews: null }, 0],
    ['x-resolutions with a bad part → warning', { 'x-resolutions': '640x360,junk' }, { resolutions: { original: false, rungs: [{ width: 640, height: 360, fps: -1, kbps: -1 }] }, record: false, previews: null }, 1],
    ['x-resolutions empty → defaults', { 'x-resolutions': '' }, { resolutions: { original: true, rungs: [] }, record: false, previews: null }, 0],
  ];
  for (const [name, headers, settings, warnings] of settingsTable) {
    it(`200 with ${name}`, async () => {
      app.respond = () => ({ status: 200, headers });
      const result = await verifier(configFor(app.url)).verifyKey(REQUEST);
      if (!result.accepted) throw new Error(`refused: ${result.reason}`);
      expect(result.settings).to.deep.equal(settings);
      expect(result.warnings).to.have.length(warnings);
    });
  }

  it('applies the configured defaults when the app sends no settings', async () => {
    const defaults = { resolutions: '854x480-30', record: true, previews: '160x90,10' };
    const result = await verifier(configFor(app.url, { method: 'none' }, 5000, defaults)).verifyKey(REQUEST);
    expect(result).to.deep.equal({
      accepted: true,
      settings: { resolutions: { original: false, rungs: [{ width: 854, height: 480, fps: 30, kbps: -1 }] }, record: true, previews: { width: 160, height: 90, intervalSeconds: 10 } },
      warnings: [],
    });
  });

  for (const status of [201, 204, 301, 403, 404, 500, 503]) {
    it(`status ${status} refuses, naming the status`, async () => {
      app.respond = () => ({ status, headers: { 'x-record': 'true' } });
      const result = await verifier(configFor(app.url)).verifyKey(REQUEST);
      expect(result).to.deep.equal({ accepted: false, reason: `key verification answered status ${status}` });
    });
  }

  it('refuses when the app does not answer in time', async () => {
    app.respond = () => 'hang';
    const started = Date.now();
    const result = await verifier(configFor(app.url, { method: 'none' }, 300)).verifyKey(REQUEST);
    expect(result.accepted).to.equal(false);
    if (!result.accepted) expect(result.reason).to.match(/timed out/);
    expect(Date.now() - started).to.be.within(250, 5000);
  });

  it('refuses when the connection is refused', async () => {
    const port = await closedPort();
    const result = await verifier(configFor(`http://127.0.0.1:${port}/verify`)).verifyKey(REQUEST);
    expect(result.accepted).to.equal(false);
    if (!result.accepted) expect(result.reason).to.match(/ECONNREFUSED/);
  });

  it('refuses when the caller aborts (before and during the request)', async () => {
    const v = verifier(configFor(app.url));
    const pre = new AbortController();
    pre.abort();
    expect(await v.verifyKey(REQUEST, pre.signal)).to.deep.equal({ accepted: false, reason: 'key verification aborted' });
    expect(app.requests).to.have.length(0);

    app.respond = () => 'hang';
    const during = new AbortController();
    const pending = v.verifyKey(REQUEST, during.signal);
    while (app.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    during.abort();
    expect(await pending).to.deep.equal({ accepted: false, reason: 'key verification aborted' });
  });

  it('refuses (does not throw) when a header value cannot be sent', async () => {
    const result = await verifier(configFor(app.url)).verifyKey({ ...REQUEST, key: 'bad\r\nkey' });
    expect(result.accepted).to.equal(false);
    expect(app.requests).to.have.length(0);
  });

  it('accepts every key with the defaults when no URL is configured, sending nothing', async () => {
    const result = await verifier(configFor('', { method: 'none' }, 5000, { resolutions: '640x360', record: true, previews: 'False' })).verifyKey(REQUEST);
    expect(result).to.deep.equal({ accepted: true, settings: { resolutions: { original: false, rungs: [{ width: 640, height: 360, fps: -1, kbps: -1 }] }, record: true, previews: null }, warnings: [] });
    expect(app.requests).to.have.length(0);
  });

  it('reuses a kept-alive connection for consecutive verifications', async () => {
    const v = verifier(configFor(app.url));
    await v.verifyKey(REQUEST);
    await v.verifyKey(REQUEST);
    expect(app.requests).to.have.length(2);
    expect(app.requests[1].clientPort).to.equal(app.requests[0].clientPort);
  });
});
