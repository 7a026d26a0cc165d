import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Outbox } from '../../src/callbacks/outbox';
import { silentLogger } from '../../src/logging/logger';
import { AppReceiver, waitFor, type ReceivedRequest } from './app-receiver';

const sid = (n: number) => n.toString(16).padStart(32, '0');
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'outbox-crash.js');
const h = (r: ReceivedRequest, name: string) => r.headers[name] as string | undefined;

describe('event outbox after SIGKILL', function () {
  this.timeout(60_000);
  const app = new AppReceiver();
  let dir = '';

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-outbox-crash-'));
    await app.start();
  });
  after(async () => {
    await app.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loses nothing, repeats only within at-least-once, and closes every live stream exactly once', async () => {
    // Before the crash the app accepts stream 1 only (so some events are delivered, and may be
    // repeated) and answers 500 to everything else.
    app.respond = (req) => (h(req, 'x-streaming-id') === sid(1) ? 200 : 500);
    const child = spawn(process.execPath, [FIXTURE], {
      env: { ...process.env, OUTBOX_STATE_PATH: dir, OUTBOX_URL: app.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    try {
      await waitFor(() => stdout.includes('persisted') || child.exitCode !== null, 20_000, 'the fixture to persist its events');
      expect(stderr).to.equal('');
      await waitFor(() => app.requests.some((r) => h(r, 'x-streaming-id') === sid(7)) && app.requests.some((r) => r.status === 500), 20_000, 'attempts in progress');
      await new Promise((r) => setTimeout(r, 150));
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).to.equal('SIGKILL');
    const beforeCrash = app.requests.length;
    expect(app.requests.some((r) => r.status === 200), 'some events delivered before the crash').to.equal(true);

    app.respond = () => 200;
    const outbox = new Outbox({
      config: { statePath: dir, eventCallback: { url: app.url, auth: { method: 'Bearer', token: 'crash' }, timeoutMs: 5000, retryBaseMs: 20, retryMaxMs: 200 } },
      logger: silentLogger,
    });
    try {
      await outbox.open();
      await outbox.idle();
    } finally {
      await outbox.close();
    }
    expect(app.requests.length).to.be.greaterThan(beforeCrash);

    const ok = app.requests.filter((r) => r.status === 200);
    for (const r of ok) expect(h(r, 'authorization')).to.equal('Bearer crash');
    // At-least-once, never two different ids for one event: (stream, what) → exactly one x-event-id.
    const idsOf = new Map<string, Set<string>>();
    for (const r of ok) {
      const what = `${h(r, 'x-streaming-id')} ${h(r, 'x-event-type') === 'stream-closed' ? 'closed' : h(r, 'x-resolution')}`;
      const ids = idsOf.get(what) ?? new Set<string>();
      ids.add(String(h(r, 'x-event-id')));
      idsOf.set(what, ids);
    }
    for (const [what, ids] of idsOf) expect(ids.size, `distinct ids for ${what}`).to.equal(1);

    // First delivery of each event, per stream, in order: available 1..N then one stream-closed.
    const seen = new Set<string>();
    const first = ok.filter((r) => !seen.has(String(h(r, 'x-event-id'))) && seen.add(String(h(r, 'x-event-id'))) !== undefined);
    for (let s = 1; s <= 7; s++) {
      const events = first.filter((r) => h(r, 'x-streaming-id') === sid(s));
      const closes = events.filter((r) => h(r, 'x-event-type') === 'stream-closed');
      expect(closes, `stream ${s} closes`).to.have.length(1);
      expect(events[events.length - 1], `stream ${s}: stream-closed comes last`).to.equal(closes[0]);
      expect(h(closes[0], 'x-close-reason'), `stream ${s} close reason`).to.equal(s <= 2 ? 'publisher-disconnected' : 'server-restart');
      const resolutions = events.slice(0, -1).map((r) => h(r, 'x-resolution'));
      const expected = Array.from({ length: s === 7 ? resolutions.length : 5 }, (_, i) => `640x360-${i + 1}`);
      expect(resolutions, `stream ${s} availables`).to.deep.equal(expected);
      if (s === 7) expect(resolutions.length, 'stream 7 events persisted before the kill').to.be.greaterThan(0);
    }
  });
});
