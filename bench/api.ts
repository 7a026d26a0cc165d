/**
 * Commands API throughput: `GET /commands/capacity` with Bearer auth through castline's route table
 * and coordinator, against a bare uWebSockets.js handler returning the same bytes — same process,
 * same run, same load tool (wrk if installed — `apt-get install wrk` — else autocannon).
 *
 *   npm run pretest && node dist-test/bench/api.js [seconds=5] [connections=50]
 */
import { spawn, spawnSync } from 'node:child_process';
import { commandRoutes } from '../src/api/commands';
import { mountRoutes } from '../src/api/http';
import { Coordinator } from '../src/coordinator/coordinator';
import { silentLogger } from '../src/logging/logger';
import { uWS, uwsIsNative } from '../src/net/uws';
import { defaultWorkflowOptions } from '../test/fakes/workflows';
import { listen } from '../test/helpers/listen';

const seconds = Number(process.argv[2] ?? 5);
const connections = Number(process.argv[3] ?? 50);
const TOKEN = 'bench-token';

/** Runs a command without blocking this process's event loop (the servers under test live here). */
function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}`))));
  });
}

const hasWrk = spawnSync('wrk', ['--version']).error === undefined;

async function load(url: string): Promise<number> {
  if (hasWrk) {
    const out = await run('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '-H', `Authorization: Bearer ${TOKEN}`, url]);
    const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
    if (m === null) throw new Error(`unexpected wrk output: ${out}`);
    if (/Non-2xx/.test(out)) throw new Error(`wrk saw errors: ${out}`);
    return Number(m[1]);
  }
  const out = await run(process.execPath, [require.resolve('autocannon/autocannon.js'), '-j', '-c', String(connections), '-d', String(seconds), '-H', `Authorization=Bearer ${TOKEN}`, url]);
  return (JSON.parse(out) as { requests: { average: number } }).requests.average;
}

async function main() {
  if (!uwsIsNative) throw new Error('uWebSockets.js native build not loaded');
  const coordinator = new Coordinator({
    verifier: { verify: async () => ({ accepted: false, reason: 'bench' }) },
    events: { streamStarted() {}, available() {}, streamClosed() {} },
    policy: { maxRestarts: 0, restartBaseMs: 10, stopTimeoutMs: 100 },
    idMaxLength: 128,
    logger: silentLogger,
    ...defaultWorkflowOptions(),
  });
  coordinator.addEncoder({ id: 1, capacity: 8, start: () => ({ stop() {} }) });

  const castline = uWS.App();
  mountRoutes(castline, commandRoutes(coordinator), { auth: { method: 'Bearer', token: TOKEN }, maxBodyBytes: 1 << 20, logger: silentLogger, closing: () => false });
  const bare = uWS.App();
  const bytes = JSON.stringify(coordinator.capacity());
  bare.get('/commands/capacity', (res) => {
    res.cork(() => res.writeStatus('200 OK').writeHeader('Cache-Control', 'no-cache').writeHeader('Content-Type', 'application/json').end(bytes));
  });
  const a = await listen(castline);
  const b = await listen(bare);
  const tool = hasWrk ? 'wrk' : 'autocannon';
  const rounds: Array<{ castline: number; bare: number }> = [];
  for (let i = 0; i < 2; i++) {
    const bareRps = await load(`http://127.0.0.1:${b.port}/commands/capacity`);
    const castlineRps = await load(`http://127.0.0.1:${a.port}/commands/capacity`);
    rounds.push({ bare: bareRps, castline: castlineRps });
  }
  const sum = (k: 'castline' | 'bare') => rounds.reduce((n, r) => n + r[k], 0);
  const result = { tool, seconds, connections, rounds, ratio: +(sum('castline') / sum('bare')).toFixed(3) };
  console.log(JSON.stringify(result, null, 2));
  a.close();
  b.close();
  await coordinator.shutdown(100);
}

void main();
