/**
 * Does a Prometheus scraper cost the hot path anything? Commands API throughput (`GET
 * /commands/capacity`, Bearer auth) of a whole castline (startCastline, every route mounted), without
 * and with a scraper fetching `/metrics` once a second — same process, same run, rounds
 * interleaved (off, on, off, on, …), same load tool as bench/api.ts (wrk if installed, else
 * autocannon). The scraper is a separate process, so only the server's side of a scrape lands in
 * castline's process. Also: the server-side cost of one scrape (registry.metrics(), in-process).
 *
 *   npx tsc -p tsconfig.test.json && node dist-test/bench/metrics-scrape.js [seconds=5] [connections=50] [rounds=3]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { startTestCastline } from '../test/helpers/castline';

const seconds = Number(process.argv[2] ?? 5);
const connections = Number(process.argv[3] ?? 50);
const roundCount = Number(process.argv[4] ?? 3);
const TOKEN = 'bench-token';
const hasWrk = spawnSync('wrk', ['--version']).error === undefined;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}`))));
  });
}

async function load(url: string): Promise<number> {
  if (hasWrk) {
    const out = await run('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '-H', `Authorization: Bearer ${TOKEN}`, url]);
    const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
    if (m === null || /Non-2xx/.test(out)) throw new Error(`unexpected wrk output: ${out}`);
    return Number(m[1]);
  }
  const out = await run(process.execPath, [require.resolve('autocannon/autocannon.js'), '-j', '-c', String(connections), '-d', String(seconds), '-H', `Authorization=Bearer ${TOKEN}`, url]);
  const result = JSON.parse(out) as { requests: { average: number }; non2xx: number };
  if (result.non2xx > 0) throw new Error(`autocannon saw ${result.non2xx} non-2xx answers`);
  return result.requests.average;
}

/** A scraper process: GET /metrics every second, printing each scrape's duration (ms) and size. */
function startScraper(url: string): { child: ChildProcess; samples: Array<{ ms: number; bytes: number }> } {
  const code = `
    const url = ${JSON.stringify(url)}, auth = { authorization: 'Bearer ${TOKEN}' };
    setInterval(async () => {
      const t = performance.now();
      const res = await fetch(url, { headers: auth });
      const body = await res.text();
      if (res.status !== 200) { console.error('scrape', res.status); process.exit(1); }
      console.log(JSON.stringify({ ms: performance.now() - t, bytes: body.length }));
    }, 1000);`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const samples: Array<{ ms: number; bytes: number }> = [];
  child.stdout!.on('data', (d: Buffer) => d.toString().trim().split('\n').forEach((l) => samples.push(JSON.parse(l) as { ms: number; bytes: number })));
  return { child, samples };
}

async function main(): Promise<void> {
  const castline = await startTestCastline({ COMMANDS_API_AUTH: 'Bearer', COMMANDS_API_AUTH_TOKEN: TOKEN, RTMP_ENABLED: 'false', LOG_LEVEL: 'silent' });
  const base = `http://127.0.0.1:${castline.httpPort}`;
  const rounds: Array<{ without: number; with: number }> = [];
  const scrapes: Array<{ ms: number; bytes: number }> = [];
  for (let i = 0; i < roundCount; i++) {
    const without = await load(`${base}/commands/capacity`);
    const scraper = startScraper(`${base}/metrics`);
    const withScraper = await load(`${base}/commands/capacity`);
    scraper.child.kill();
    scrapes.push(...scraper.samples);
    rounds.push({ without: Math.round(without), with: Math.round(withScraper) });
  }
  // Server-side cost of one scrape, measured in-process with nothing else running.
  const n = 200;
  const t = performance.now();
  for (let i = 0; i < n; i++) await castline.metrics.scrape();
  const scrapeMs = (performance.now() - t) / n;
  const sum = (k: 'without' | 'with') => rounds.reduce((s, r) => s + r[k], 0);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  console.log(JSON.stringify({
    tool: hasWrk ? 'wrk' : 'autocannon', seconds, connections, rounds,
    ratio: +(sum('with') / sum('without')).toFixed(3),
    scrapesDuringLoad: scrapes.length, scrapeUnderLoadMsMedian: +median(scrapes.map((s) => s.ms)).toFixed(1), expositionBytes: scrapes[0]?.bytes,
    serverScrapeMsIdle: +scrapeMs.toFixed(3),
  }, null, 2));
  await castline.dispose();
}

void main();
