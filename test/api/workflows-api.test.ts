/**
 * The workflows operator API over a real socket: every route and status, auth on changes, a bad
 * PUT leaving the running workflow untouched, and the config file at start-up.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig, ConfigError } from '../../src/config/config';
import { startTestCastline, type TestCastline } from '../helpers/castline';

describe('workflows API', function () {
  this.timeout(30_000);
  let castline: TestCastline;
  const base = () => `http://127.0.0.1:${castline.httpPort}`;
  const call = async (method: string, p: string, body?: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base()}${p}`, { method, body, headers: { connection: 'close', authorization: 'Bearer ops', ...headers } });
    const text = await res.text();
    return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
  };
  before(async () => {
    castline = await startTestCastline({ COMMANDS_API_AUTH: 'Bearer', COMMANDS_API_AUTH_TOKEN: 'ops' });
  });
  after(async () => castline?.dispose());

  it('GET /workflows lists the built-in default workflow', async () => {
    expect(await call('GET', '/workflows')).to.deep.equal({ status: 200, json: [{ name: 'live' }] });
  });

  it('GET /workflows/live shows its steps, statuses and live streams', async () => {
    const r = await call('GET', '/workflows/live');
    expect(r.status).to.equal(200);
    expect(r.json.status).to.equal('Running');
    expect(r.json.pending_steps).to.deep.equal([]);
    expect(r.json.streams).to.deep.equal([]);
    expect(r.json.active_steps.map((s: { step_type: string }) => s.step_type)).to.deep.equal(['rtmp_receive', 'ws_receive', 'verify_key', 'hls_ladder']);
    expect(r.json.active_steps[0]).to.deep.include({ parameters: { rtmp_app: '*', stream_key: '*' }, status: 'Active' });
    expect(r.json.active_steps[0].step_id).to.match(/^[0-9a-f]{16}$/);
  });

  it('GET /workflows/{unknown} → 404 JSON', async () => {
    const r = await call('GET', '/workflows/nope');
    expect(r.status).to.equal(404);
    expect(r.json.error).to.match(/no workflow named nope/);
  });

  it('PUT creates a workflow (text/plain, the mmids type, or no Content-Type) and GET shows it', async () => {
    const body = 'workflow studio {\n  rtmp_receive rtmp_app=studio stream_key=*\n  ffmpeg_hls path=studio\n}\n';
    const r = await call('PUT', '/workflows', body, { 'content-type': 'application/vnd.mmids.workflow' });
    expect(r.status).to.equal(200);
    expect(r.json).to.include({ name: 'studio', created: true });
    const again = await call('PUT', '/workflows', body, { 'content-type': 'text/plain; charset=utf-8' });
    expect(again.json).to.include({ name: 'studio', created: false });
    expect((await call('GET', '/workflows')).json).to.deep.equal([{ name: 'live' }, { name: 'studio' }]);
  });

  it('a bad PUT → 400 naming the line and column, and the running workflow is untouched', async () => {
    const before = (await call('GET', '/workflows/studio')).json;
    const cases: Array<[string, RegExp, number]> = [
      ['workflow studio {\n  rtmp_receive rtmp_app=studio stream_key=*\n  ffmpeg_hlss path=x\n}\n', /unknown step type 'ffmpeg_hlss'/, 3],
      ['workflow studio {\n  rtmp_receive rtmp_app=studio\n}\n', /'stream_key' is required/, 2],
      ['workflow studio {\n  rtmp_receive rtmp_app=studio stream_key=*\n', /never closed/, 1],
      ['workflow other {\n  rtmp_receive rtmp_app=studio stream_key=*\n}\n', /conflicts with workflow studio/, 2],
      ['workflow a {\n}\nworkflow b {\n}\n', /exactly one workflow/, 3],
    ];
    for (const [body, message, line] of cases) {
      const r = await call('PUT', '/workflows', body);
      expect(r.status, body).to.equal(400);
      expect(r.json.error).to.match(message);
      expect(r.json.line, body).to.equal(line);
    }
    expect((await call('PUT', '/workflows', '', {})).status).to.equal(400);
    expect((await call('PUT', '/workflows', 'workflow x {\n}\n', { 'content-type': 'application/json' })).status).to.equal(400);
    const invalidUtf8 = await fetch(`${base()}/workflows`, { method: 'PUT', body: Buffer.from([0x77, 0xff, 0xfe]), headers: { authorization: 'Bearer ops', connection: 'close' } });
    expect(invalidUtf8.status).to.equal(400);
    expect((await call('GET', '/workflows/studio')).json).to.deep.equal(before);
    expect((await call('GET', '/workflows')).json).to.deep.equal([{ name: 'live' }, { name: 'studio' }]);
  });

  it('PUT and DELETE need the commands credentials; GETs do not', async () => {
    expect((await call('PUT', '/workflows', 'workflow z {\n}\n', { authorization: 'Bearer wrong' })).status).to.equal(401);
    expect((await call('DELETE', '/workflows/studio', undefined, { authorization: '' })).status).to.equal(401);
    expect((await call('GET', '/workflows', undefined, { authorization: '' })).status).to.equal(200);
  });

  it('DELETE stops a workflow (200), also when it is already absent; wrong methods → 405', async () => {
    expect(await call('DELETE', '/workflows/studio')).to.deep.equal({ status: 200, json: { name: 'studio', deleted: true } });
    expect(await call('DELETE', '/workflows/studio')).to.deep.equal({ status: 200, json: { name: 'studio', deleted: false } });
    expect((await call('GET', '/workflows/studio')).status).to.equal(404);
    expect((await call('POST', '/workflows')).status).to.equal(405);
    expect((await call('PATCH', '/workflows/live')).status).to.equal(405);
  });

  it('workflows changed over the API survive a restart', async () => {
    await call('PUT', '/workflows', 'workflow keep {\n  ws_receive channel=keep\n}\n');
    await call('DELETE', '/workflows/live');
    const state = path.join(castline.root, 'state');
    const restarted = await startTestCastline({ STATE_PATH: state, RTMP_ENABLED: 'false' });
    try {
      const res = await fetch(`http://127.0.0.1:${restarted.httpPort}/workflows`, { headers: { connection: 'close' } });
      expect(await res.json()).to.deep.equal([{ name: 'keep' }]);
    } finally {
      await restarted.dispose();
    }
  });
});

describe('config file (CASTLINE_CONFIG)', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-conf-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('./castline.config is read when present: settings (lower-case names; the environment wins) and workflows', () => {
    fs.writeFileSync(path.join(dir, 'castline.config'), 'settings {\n  http_port 9090\n  rtmp_port 1940  # comment\n}\n\nworkflow studio {\n  rtmp_receive rtmp_app=studio stream_key=*\n}\n');
    const c = loadConfig({ cwd: dir, dotenvPath: null, env: { RTMP_PORT: '1950' } });
    expect(c.httpPort).to.equal(9090);
    expect(c.rtmpPort).to.equal(1950);
    expect(c.configFile?.workflows.map((w) => w.name)).to.deep.equal(['studio']);
  });

  const problems = (text: string) => {
    const file = path.join(dir, 'my.config');
    fs.writeFileSync(file, text);
    try {
      loadConfig({ cwd: dir, dotenvPath: null, env: { CASTLINE_CONFIG: file } });
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };

  it('errors name the file, line and column and stop start-up', () => {
    expect(problems('settings {\n  http_prot 1\n}\n')[0]).to.match(/my\.config: line 2, column 3: unknown setting 'http_prot'/);
    expect(problems('workflow x {\n  hls_ladder\n')[0]).to.match(/my\.config: line 1, column \d+: .*never closed/);
    expect(problems('settings {\n  http_port eighty\n}\n')[0]).to.equal('HTTP_PORT="eighty" must be a whole number from 0 to 65535');
  });

  it('a missing CASTLINE_CONFIG file is an error naming the variable', () => {
    expect(() => loadConfig({ cwd: dir, dotenvPath: null, env: { CASTLINE_CONFIG: 'nope.config' } })).to.throw(ConfigError, /CASTLINE_CONFIG="nope.config" cannot be read: ENOENT/);
  });
});
