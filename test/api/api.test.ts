import { expect } from 'chai';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { commandRoutes } from '../../src/api/commands';
import { fileRoutes, resolveOutputPath } from '../../src/api/files';
import { healthRoutes } from '../../src/api/health';
import { mountRoutes } from '../../src/api/http';
import type { IncomingAuth } from '../../src/config/config';
import { Coordinator } from '../../src/coordinator/coordinator';
import { silentLogger } from '../../src/logging/logger';
import { uWS, uwsBuild, uwsIsNative } from '../../src/net/uws';
import { FakeEncoder } from '../fakes/encoder';
import { defaultWorkflowOptions } from '../fakes/workflows';
import { listen } from '../helpers/listen';
import { waitUntil } from '../helpers/wait';

const SETTINGS = { resolutions: { original: true, rungs: [] }, record: false, previews: null };

async function startApi(auth: IncomingAuth, root: string) {
  const coordinator = new Coordinator({
    verifier: { verify: async () => ({ accepted: true, settings: SETTINGS }) },
    events: { streamStarted() {}, available() {}, streamClosed() {} },
    policy: { maxRestarts: 0, restartBaseMs: 10, stopTimeoutMs: 500 },
    idMaxLength: 128,
    logger: silentLogger,
    ...defaultWorkflowOptions(),
  });
  coordinator.addEncoder(new FakeEncoder(3, 8));
  coordinator.addIngestServer(1, () => ({ id: 1, ip: '127.0.0.1', port: 1935, ssl: false, serverType: 'RTMP' }));
  const app = uWS.App();
  const routes = [
    ...healthRoutes({ status: () => 'ok', streams: () => coordinator.sessionCount() }, uwsBuild),
    ...commandRoutes(coordinator),
    ...fileRoutes(root),
  ];
  mountRoutes(app, routes, { auth, maxBodyBytes: 1024, logger: silentLogger, closing: () => true });
  const server = await listen(app);
  const url = `http://127.0.0.1:${server.port}`;
  const disconnects: string[] = [];
  const publish = (channel: string) =>
    coordinator.publish({
      channel, key: 'k', userIp: '127.0.0.1', ingest: 'RTMP', serverId: 1,
      source: { type: 'RTMP', uri: `rtmp://127.0.0.1:1935/${channel}/k` },
      disconnect: (reason) => disconnects.push(`${channel}:${reason}`),
    });
  return {
    url, coordinator, publish, disconnects, port: server.port,
    close: async () => { await coordinator.shutdown(1000); server.close(); },
  };
}

type Api = Awaited<ReturnType<typeof startApi>>;

async function call(url: string, init: RequestInit = {}) {
  const res = await fetch(url, { ...init, headers: { connection: 'close', ...(init.headers as Record<string, string>) } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : undefined };
}

describe('HTTP API (uWebSockets.js)', () => {
  let root: string;
  before(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-api-')); });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('runs on the native uWebSockets.js build, not the JavaScript fallback', () => {
    expect(uwsIsNative, uwsBuild).to.equal(true);
  });

  describe('without auth', () => {
    let api: Api;
    before(async () => { api = await startApi({ method: 'none' }, root); });
    after(async () => api.close());

    it('GET / is the health check: name, version, status, uptime', async () => {
      const r = await call(`${api.url}/`);
      expect(r.status).to.equal(200);
      expect(r.json).to.include({ name: 'castline', status: 'ok' });
      expect(r.json.version).to.match(/^\d+\.\d+\.\d+/);
      expect(r.json.uptimeSeconds).to.be.a('number');
    });

    it('GET /commands/capacity answers the spec fields, computed from live sessions', async () => {
      let r = await call(`${api.url}/commands/capacity`);
      expect(r.status).to.equal(200);
      expect(r.json).to.deep.equal({ load: 0, capacity: 8, encoderCount: 1 });
      expect(r.headers.get('content-type')).to.equal('application/json');
      const d = await api.publish('cap');
      expect(d.accepted).to.equal(true);
      r = await call(`${api.url}/commands/capacity`);
      expect(r.json).to.deep.equal({ load: 1, capacity: 8, encoderCount: 1 });
    });

    it('GET /commands/report lists active streams with their real stream id, servers and encoders', async () => {
      const d = await api.publish('rep');
      if (!d.accepted) throw new Error('refused');
      const r = await call(`${api.url}/commands/report`);
      expect(r.status).to.equal(200);
      expect(r.json.activeStreams).to.deep.include({ channel: 'rep', streamId: d.streamId, streamServer: 1, encoder: 3 });
      expect(r.json.streamingServers).to.deep.equal([{ id: 1, ip: '127.0.0.1', port: 1935, ssl: false, serverType: 'RTMP' }]);
      expect(r.json.encoders[0]).to.include({ id: 3, capacity: 8 });
    });

    it('POST /commands/close: missing channel or id → 400 JSON; unknown → 200 nothing closed; * closes the channel', async () => {
      expect((await call(`${api.url}/commands/close`, { method: 'POST' })).status).to.equal(400);
      const noId = await call(`${api.url}/commands/close`, { method: 'POST', headers: { 'x-streaming-channel': 'x' } });
      expect(noId.status).to.equal(400);
      expect(noId.json.error).to.match(/x-streaming-id/);
      const unknown = await call(`${api.url}/commands/close`, { method: 'POST', headers: { 'x-streaming-channel': 'nobody', 'x-streaming-id': '*' } });
      expect(unknown.status).to.equal(200);
      expect(unknown.json).to.deep.equal({ status: 'SUCCESS', closed: [] });
      const d = await api.publish('closeme');
      if (!d.accepted) throw new Error('refused');
      const r = await call(`${api.url}/commands/close`, { method: 'POST', headers: { 'x-streaming-channel': 'closeme', 'x-streaming-id': '*' } });
      expect(r.json).to.deep.equal({ status: 'SUCCESS', closed: [d.streamId] });
      await waitUntil(() => api.disconnects.includes('closeme:close-command'), 'publisher disconnected');
    });

    it('unknown route → 404 JSON, wrong method → 405 with Allow, oversized body → 413', async () => {
      const nf = await call(`${api.url}/nope`);
      expect(nf.status).to.equal(404);
      expect(nf.json).to.have.property('error');
      const wm = await call(`${api.url}/commands/capacity`, { method: 'DELETE' });
      expect(wm.status).to.equal(405);
      expect(wm.headers.get('allow')).to.equal('GET');
      const big = await call(`${api.url}/commands/close`, { method: 'POST', body: 'x'.repeat(5000), headers: { 'x-streaming-channel': 'a', 'x-streaming-id': '*' } });
      expect(big.status).to.equal(413);
      expect(big.json.code).to.equal('PAYLOAD_TOO_LARGE');
    });

    it('serves generated outputs read-only with HLS content types and open CORS', async () => {
      const dir = path.join(root, 'hls', 'ch', 'id1', '320x180-15');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'live.m3u8'), '#EXTM3U\n');
      fs.writeFileSync(path.join(dir, '0.ts'), Buffer.alloc(188, 0x47));
      const pl = await call(`${api.url}/hls/ch/id1/320x180-15/live.m3u8`);
      expect(pl.status).to.equal(200);
      expect(pl.text).to.equal('#EXTM3U\n');
      expect(pl.headers.get('content-type')).to.equal('application/vnd.apple.mpegurl');
      expect(pl.headers.get('access-control-allow-origin')).to.equal('*');
      const seg = await call(`${api.url}/hls/ch/id1/320x180-15/0.ts`);
      expect(seg.headers.get('content-type')).to.equal('video/mp2t');
      expect((await call(`${api.url}/hls/ch/id1/320x180-15/9.ts`)).status).to.equal(404);
    });

    it('serves no file outside the output root', async () => {
      fs.writeFileSync(path.join(root, 'secret.json'), '{}');
      // Raw request targets (fetch would normalise `..` away before sending).
      const raw = (target: string) => new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: api.port, path: target, agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      fs.mkdirSync(path.join(root, 'hls', 'ch'), { recursive: true });
      fs.writeFileSync(path.join(root, 'hls', 'ch', 'ok.json'), '{}');
      expect(await raw('/hls/ch/ok.json'), 'control: a file inside is served').to.equal(200);
      for (const p of ['/hls/../secret.json', '/hls/ch/../../secret.json', '/hls/%2e%2e/secret.json', '/hls/..%2fsecret.json', '/img-preview/../../etc/passwd', '/hls/ch/.../x.ts']) {
        expect(await raw(p), p).to.equal(404);
      }
      expect(resolveOutputPath(root, 'hls', '../secret.json')).to.equal(null);
      expect(resolveOutputPath(root, 'hls', 'a/b/c.exe')).to.equal(null);
    });

    it('survives malformed requests on raw sockets and keeps serving', async function () {
      this.timeout(20_000);
      const garbage = [
        'GARBAGE\r\n\r\n',
        'GET\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
        'POST /commands/close HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc',
        `GET /${'a'.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
        `GET / HTTP/1.1\r\n${'X-H: v\r\n'.repeat(2000)}\r\n`,
        'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
        '\x00\x01\x02\x03\xff\xfe'.repeat(100),
        'POST /commands/close HTTP/1.1\r\nHost: x\r\nx-streaming-channel: \x01\x02\r\nx-streaming-id: *\r\n\r\n',
      ];
      for (let i = 0; i < 40; i++) garbage.push(Buffer.from(Array.from({ length: 200 }, () => Math.floor(Math.random() * 256))).toString('latin1'));
      await Promise.all(garbage.map((g) => new Promise<void>((resolve) => {
        const s = net.connect(api.port, '127.0.0.1', () => s.end(Buffer.from(g, 'latin1')));
        s.on('data', () => {});
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.setTimeout(3000, () => s.destroy());
      })));
      const r = await call(`${api.url}/`);
      expect(r.status).to.equal(200);
    });
  });

  describe('with Basic auth', () => {
    let api: Api;
    before(async () => { api = await startApi({ method: 'Basic', user: 'ops', password: 'p4ss' }, root); });
    after(async () => api.close());
    const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

    it('accepts the right user and password on every command', async () => {
      for (const p of ['/commands/capacity', '/commands/report']) {
        expect((await call(`${api.url}${p}`, { headers: { authorization: basic('ops', 'p4ss') } })).status).to.equal(200);
      }
    });

    it('401 with a JSON error for a wrong password, wrong scheme, garbage or no header', async () => {
      for (const authorization of [basic('ops', 'nope'), basic('x', 'p4ss'), 'Bearer p4ss', 'Basic', 'Basic !!!', '']) {
        const r = await call(`${api.url}/commands/capacity`, { headers: authorization ? { authorization } : {} });
        expect(r.status, authorization).to.equal(401);
        expect(r.json).to.deep.equal({ error: 'invalid credentials', code: 'UNAUTHORIZED' });
      }
      expect((await call(`${api.url}/commands/close`, { method: 'POST' })).status).to.equal(401);
    });

    it('the health check needs no credentials', async () => {
      expect((await call(`${api.url}/`)).status).to.equal(200);
    });
  });

  describe('with Bearer auth', () => {
    let api: Api;
    before(async () => { api = await startApi({ method: 'Bearer', token: 't0ken' }, root); });
    after(async () => api.close());

    it('accepts the token and refuses any other', async () => {
      expect((await call(`${api.url}/commands/report`, { headers: { authorization: 'Bearer t0ken' } })).status).to.equal(200);
      expect((await call(`${api.url}/commands/report`, { headers: { authorization: 'bearer t0ken' } })).status).to.equal(200);
      expect((await call(`${api.url}/commands/report`, { headers: { authorization: 'Bearer t0ken2' } })).status).to.equal(401);
      expect((await call(`${api.url}/commands/report`, { headers: { authorization: 'Basic t0ken' } })).status).to.equal(401);
    });
  });
});
