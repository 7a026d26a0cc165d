/**
 * Reactor admission benchmark: the time `coordinator.publish()` takes to accept a publish when its
 * workflow's `rtmp_receive` has `reactor=` (one POST to a local reactor answering 200 with one
 * workflow, which is created, then removed when the stream ends) against the same publish without
 * a reactor, same run, same process. The reactor runs in a child process (its own event loop).
 * Reports p50 / p95 of both and the added time per publish.
 *
 *   npx tsc -p tsconfig.test.json && node dist-test/bench/reactors.js [--publishes 300]
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/config';
import { silentLogger } from '../src/logging/logger';
import { startCastline, type Castline } from '../src/main';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const n = i === -1 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
}

/** Reactor mode (the forked child): 200 with one routed workflow named for the stream. */
function runReactor(): void {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const name = (JSON.parse(body) as { stream_name: string }).stream_name;
      res.end(`workflow out_${name} routed_by_reactor {\n    rtmp_watch rtmp_app=w_${name} stream_key=*\n}\n`);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
  process.on('message', (msg: unknown) => {
    if (msg === 'stop') server.close(() => process.exit(0));
  });
}

async function timePublishes(castline: Castline, app: string, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let k = 0; k < count; k++) {
    const key = `${app}-k${k}`;
    const start = performance.now();
    const decision = await castline.coordinator.publish({
      channel: app, key, userIp: '127.0.0.1', ingest: 'RTMP', serverId: 2,
      source: { type: 'RTMP', uri: `rtmp://127.0.0.1:1/${app}/${key}` },
      disconnect: () => undefined,
    });
    times.push(performance.now() - start);
    if (!decision.accepted) throw new Error(`publish refused: ${decision.message}`);
    castline.coordinator.publisherGone(decision.streamId);
    while (castline.coordinator.livePublisher(app) !== null) await new Promise((r) => setTimeout(r, 1));
  }
  return times.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

async function main(): Promise<void> {
  const publishes = arg('publishes', 300);
  const child: ChildProcess = fork(__filename, ['--reactor'], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-bench-reactors-'));
  const file = path.join(root, 'castline.config');
  fs.writeFileSync(file, `reactor r executor=simple_http {\n    url http://127.0.0.1:${port}/\n}\nworkflow plain {\n    rtmp_receive rtmp_app=plain stream_key=*\n}\nworkflow asked {\n    rtmp_receive rtmp_app=asked stream_key=* reactor=r\n    forward_to_workflow reactor=r\n}\n`);
  const config = loadConfig({ dotenvPath: null, cwd: root, env: { CASTLINE_CONFIG: file, HTTP_PORT: '0', RTMP_PORT: '0', BIND_ADDRESS: '127.0.0.1' } });
  const castline = await startCastline(config, silentLogger);
  try {
    await timePublishes(castline, 'plain', 20); // warm-up
    await timePublishes(castline, 'asked', 20);
    const plain = await timePublishes(castline, 'plain', publishes);
    const asked = await timePublishes(castline, 'asked', publishes);
    const row = (name: string, t: number[]) => `${name.padEnd(28)} p50 ${pct(t, 50).toFixed(3)} ms   p95 ${pct(t, 95).toFixed(3)} ms`;
    console.log(`${publishes} publishes each (coordinator.publish → accepted, no media)`);
    console.log(row('no reactor', plain));
    console.log(row('reactor (200, 1 workflow)', asked));
    console.log(`added by the reactor: p50 ${(pct(asked, 50) - pct(plain, 50)).toFixed(3)} ms; ratio p50 ${(pct(asked, 50) / pct(plain, 50)).toFixed(1)}×`);
  } finally {
    await castline.close();
    child.send('stop');
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv.includes('--reactor')) runReactor();
else void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
