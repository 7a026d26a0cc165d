/**
 * Operations endpoints on a whole castline (real HTTP server, real ffmpeg publishing over RTMP, a
 * real local application): `/metrics` (auth, content, no stream keys in labels, one registry per
 * instance), `/livez` and `/readyz`, `STUDIO_ENABLED=false`, the studio overview API.
 */
import { expect } from 'chai';
import { AppServer } from '../helpers/app-server';
import { startTestCastline, type TestCastline } from '../helpers/castline';
import { sample } from '../helpers/metrics';
import { waitUntil } from '../helpers/wait';
import { killAll, publish } from '../ingest/rtmp/rtmp-ffmpeg';

async function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await fetch(url, { method, headers: { connection: 'close', ...headers }, redirect: 'manual' });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text !== '' && res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('operations: /metrics, /livez, /readyz, studio switch', function () {
  this.timeout(60_000);
  const started: TestCastline[] = [];
  const start = async (env: Record<string, string>) => {
    const c = await startTestCastline({ RTMP_ENABLED: 'false', ...env });
    started.push(c);
    return { c, url: (p: string) => `http://127.0.0.1:${c.httpPort}${p}` };
  };
  after(async () => {
    for (const c of started) await c.dispose();
  });

  it('/metrics takes the commands API credentials: none → 401, wrong → 401, right → 200 Prometheus text', async () => {
    const { url } = await start({ COMMANDS_API_AUTH: 'Basic', COMMANDS_API_AUTH_USER: 'ops', COMMANDS_API_AUTH_PASSWORD: 'p4ss' });
    const none = await get(url('/metrics'));
    expect(none.status).to.equal(401);
    expect(none.json).to.deep.equal({ error: 'invalid credentials', code: 'UNAUTHORIZED' });
    expect((await get(url('/metrics'), { authorization: basic('ops', 'nope') })).status).to.equal(401);
    expect((await get(url('/metrics'), { authorization: 'Bearer p4ss' })).status).to.equal(401);
    const ok = await get(url('/metrics'), { authorization: basic('ops', 'p4ss') });
    expect(ok.status).to.equal(200);
    expect(ok.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    for (const name of ['process_cpu_user_seconds_total', 'nodejs_eventloop_lag_seconds', 'castline_encoder_capacity', 'castline_events_pending', 'castline_hls_viewers']) {
      expect(ok.text, name).to.match(new RegExp(`^${name} `, 'm'));
    }
    expect(sample(ok.text, 'castline_streams', { state: 'available' })).to.equal(0);
    expect((await get(url('/metrics'), {}, 'POST')).status).to.equal(405);
  });

  it('METRICS_AUTH_TOKEN protects /metrics on its own: the commands credentials are not enough', async () => {
    const { url } = await start({ COMMANDS_API_AUTH: 'Bearer', COMMANDS_API_AUTH_TOKEN: 'commands', METRICS_AUTH_TOKEN: 'scraper' });
    const none = await get(url('/metrics'));
    expect(none.status).to.equal(401);
    expect(none.headers.get('www-authenticate')).to.match(/^Bearer/);
    expect(none.json).to.include({ code: 'UNAUTHORIZED' });
    expect((await get(url('/metrics'), { authorization: 'Bearer commands' })).status).to.equal(401);
    expect((await get(url('/metrics'), { authorization: 'Bearer scraperx' })).status).to.equal(401);
    expect((await get(url('/metrics'), { authorization: 'Basic c2NyYXBlcg==' })).status).to.equal(401);
    expect((await get(url('/metrics'), { authorization: 'Bearer scraper' })).status).to.equal(200);
    // The commands API still takes its own token.
    expect((await get(url('/commands/capacity'), { authorization: 'Bearer commands' })).status).to.equal(200);
  });

  it('/livez is 200 while the process runs; /readyz is 200 with every check ok; neither needs credentials', async () => {
    const { url } = await start({ COMMANDS_API_AUTH: 'Bearer', COMMANDS_API_AUTH_TOKEN: 't', EVENT_CALLBACK_URL: 'http://127.0.0.1:9/events' });
    const live = await get(url('/livez'));
    expect(live.status).to.equal(200);
    expect(live.json).to.include({ status: 'alive' });
    const ready = await get(url('/readyz'));
    expect(ready.status).to.equal(200);
    expect(ready.json).to.deep.equal({ status: 'ready', checks: { lifecycle: 'ok', 'event-store': 'ok' } });
    // HEAD (load balancers use it) answers like GET without the body; it used to abort the process.
    const head = await get(url('/readyz'), {}, 'HEAD');
    expect(head.status).to.equal(200);
    expect(head.text).to.equal('');
    expect(head.headers.get('content-length')).to.equal(String(Buffer.byteLength(ready.text)));
    expect((await get(url('/'), {}, 'HEAD')).status).to.equal(200);
    expect((await get(url('/livez'), {}, 'DELETE')).status).to.equal(405);
    // GET / is unchanged.
    expect((await get(url('/'))).json).to.include({ name: 'castline', status: 'ok' });
  });

  it('STUDIO_ENABLED=false: /studio/, its assets and its API are 404 with a JSON error; metrics stay', async () => {
    const { url } = await start({ STUDIO_ENABLED: 'false' });
    for (const p of ['/studio', '/studio/', '/studio/assets/studio.js', '/studio/assets/hls.min.js', '/studio/api/overview']) {
      const r = await get(url(p));
      expect(r.status, p).to.equal(404);
      expect(r.json, p).to.include({ code: 'NOT_FOUND' });
    }
    expect((await get(url('/metrics'))).status).to.equal(200);
  });

  it('the studio: /studio redirects to /studio/, assets are served locally, unknown ones are 404, the overview needs credentials', async () => {
    const { url } = await start({ COMMANDS_API_AUTH: 'Bearer', COMMANDS_API_AUTH_TOKEN: 'tok', HLS_TIME_SECONDS: '3' });
    const redirect = await get(url('/studio'));
    expect(redirect.status).to.equal(308);
    expect(redirect.headers.get('location')).to.equal('/studio/');
    const page = await get(url('/studio/'));
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-type')).to.match(/^text\/html/);
    expect(page.text).to.include('data-segment-seconds="3"');
    expect(page.text, 'no CDN: every script is local').not.to.match(/<script[^>]+src="(https?:)?\/\//);
    const hls = await get(url('/studio/assets/hls.min.js'));
    expect(hls.status).to.equal(200);
    expect(hls.text.length).to.be.greaterThan(100_000);
    for (const p of ['/studio/assets/../../package.json', '/studio/assets/nope.js', '/studio/assets/index.htm']) {
      expect((await get(url(p))).status, p).to.equal(404);
    }
    expect((await get(url('/studio/api/overview'))).status).to.equal(401);
    expect((await get(url('/studio/api/overview'), { authorization: 'Bearer wrong' })).status).to.equal(401);
    const overview = await get(url('/studio/api/overview'), { authorization: 'Bearer tok' });
    expect(overview.status).to.equal(200);
    expect(overview.json).to.deep.equal({ encoder: { load: 0, capacity: 4 }, streams: [], events: [] });
  });
});

describe('operations: metrics of a real RTMP publish (ffmpeg, key verification, events)', function () {
  this.timeout(90_000);
  let app: AppServer;
  let castline: TestCastline;
  let other: TestCastline;
  const url = (p: string) => `http://127.0.0.1:${castline.httpPort}${p}`;
  const scrape = async () => (await get(url('/metrics'))).text;

  before(async () => {
    app = await new AppServer({ settings: { 'x-resolutions': '160x90-15', 'x-previews': 'False' } }).start();
    castline = await startTestCastline({ KEY_VERIFICATION_URL: `${app.url}/verify`, EVENT_CALLBACK_URL: `${app.url}/events` });
    other = await startTestCastline({ RTMP_ENABLED: 'false' });
  });
  after(async () => {
    await killAll();
    await castline?.dispose();
    await other?.dispose();
    await app?.stop();
  });

  it('counts publishes by outcome, ingest bytes, stream states, key verifications, HLS bytes and viewers; never a key or channel', async () => {
    const refused = publish(`rtmp://127.0.0.1:${castline.rtmpPort}/metrics-ch/bad-key-123`, 3);
    await refused.exited;
    const publisher = publish(`rtmp://127.0.0.1:${castline.rtmpPort}/metrics-ch/good-secret-key`, 6);
    await waitUntil(() => app.delivered().some((h) => h['x-stream-type'] === 'HLS-LIVE'), 'HLS-LIVE', 30_000);
    const live = app.delivered().find((h) => h['x-stream-type'] === 'HLS-LIVE')!;
    const playlist = await get(url(`/${String(live['x-index-file'])}`), { 'user-agent': 'viewer-a' });
    expect(playlist.status).to.equal(200);
    const again = [await get(url(`/${String(live['x-index-file'])}`), { 'user-agent': 'viewer-b' }), await get(url(`/${String(live['x-index-file'])}`), { 'user-agent': 'viewer-b' })];
    const served = [playlist, ...again].reduce((n, r) => n + Buffer.byteLength(r.text), 0);

    const during = await scrape();
    expect(sample(during, 'castline_publishes_total', { ingest: 'rtmp', outcome: 'accepted' })).to.equal(1);
    expect(sample(during, 'castline_publishes_total', { ingest: 'rtmp', outcome: 'key_refused' })).to.equal(1);
    expect(sample(during, 'castline_streams', { state: 'available' })).to.equal(1);
    expect(sample(during, 'castline_encoder_load')).to.equal(1);
    expect(sample(during, 'castline_key_verification_seconds_count', { outcome: 'accepted' })).to.equal(1);
    expect(sample(during, 'castline_key_verification_seconds_count', { outcome: 'refused' })).to.equal(1);
    expect(sample(during, 'castline_ingest_bytes_total', { ingest: 'rtmp' })).to.be.greaterThan(10_000);
    expect(sample(during, 'castline_hls_bytes_served_total')).to.equal(served);
    expect(sample(during, 'castline_hls_viewers'), 'two User-Agents from one address').to.equal(2);
    expect(during).not.to.include('good-secret-key');
    expect(during).not.to.include('bad-key-123');
    expect(during).not.to.include('metrics-ch');

    // Another instance in the same process has its own registry.
    const elsewhere = (await get(`http://127.0.0.1:${other.httpPort}/metrics`)).text;
    expect(sample(elsewhere, 'castline_publishes_total', { ingest: 'rtmp', outcome: 'accepted' })).to.equal(undefined);
    expect(sample(elsewhere, 'castline_hls_bytes_served_total')).to.equal(0);

    await publisher.exited;
    await waitUntil(() => app.delivered().some((h) => h['x-event-type'] === 'stream-closed'), 'stream-closed', 30_000);
    await waitUntil(async () => sample(await scrape(), 'castline_events_pending') === 0, 'no event pending', 10_000);
    const after = await scrape();
    expect(sample(after, 'castline_streams', { state: 'available' })).to.equal(0);
    expect(sample(after, 'castline_event_deliveries_total', { outcome: 'delivered' })).to.equal(app.delivered().length);
    expect(sample(after, 'castline_event_delivery_seconds_count')).to.equal(app.delivered().length);
  });

  it('counts failed deliveries and pending events while the application answers 500', async () => {
    app.eventStatus = 500;
    const before = sample(await scrape(), 'castline_event_deliveries_total', { outcome: 'failed' })!;
    const publisher = publish(`rtmp://127.0.0.1:${castline.rtmpPort}/metrics-ch2/good-key`, 3);
    await waitUntil(async () => (sample(await scrape(), 'castline_event_deliveries_total', { outcome: 'failed' }) ?? 0) > before, 'a failed delivery', 30_000);
    expect(sample(await scrape(), 'castline_events_pending')).to.be.at.least(1);
    await publisher.exited;
    app.eventStatus = null;
    await waitUntil(async () => sample(await scrape(), 'castline_events_pending') === 0, 'delivered after the app recovers', 30_000);
  });
});
