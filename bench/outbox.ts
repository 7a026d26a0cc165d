/**
 * Event outbox delivery benchmark: N stream-available events spread over S streams (each stream
 * closed at the end), delivered to a local receiver (a child process answering 200 at once, HTTP
 * keep-alive), first with the durable LMDB store, then with the in-memory store, same run.
 * Reports events/s for both and their ratio.
 *
 *   npx tsc -p tsconfig.test.json && node dist-test/bench/outbox.js [--events 20000] [--streams 500] [--in-flight 32] [--rounds 2]
 *
 * Goals: ≥ 5,000 events/s durable; durable/in-memory ≥ 0.5.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Outbox } from '../src/callbacks/outbox';
import { silentLogger } from '../src/logging/logger';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const n = i === -1 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
}

/** Receiver mode (the forked child): count requests, answer 200, report the port. */
function runReceiver(): void {
  let count = 0;
  const server = http.createServer((req, res) => {
    count++;
    req.resume();
    req.on('end', () => res.end());
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
  process.on('message', (msg: unknown) => {
    if (msg === 'count') process.send?.({ count });
    if (msg === 'stop') {
      server.closeAllConnections();
      server.close(() => process.exit(0));
    }
  });
}

function ask<T>(child: ChildProcess, message: string, key: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (msg: unknown) => {
      if (typeof msg === 'object' && msg !== null && key in msg) {
        child.off('message', onMessage);
        resolve((msg as Record<string, T>)[key]);
      }
    };
    child.on('message', onMessage);
    if (message !== '') child.send(message);
  });
}

async function deliver(url: string, durable: boolean, events: number, streams: number, maxInFlight: number): Promise<number> {
  const statePath = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-bench-outbox-'));
  const outbox = new Outbox({
    config: { statePath, eventCallback: { url, auth: { method: 'Bearer', token: 'bench' }, timeoutMs: 10_000, retryBaseMs: 100, retryMaxMs: 1000 } },
    logger: silentLogger,
    options: { durable, maxInFlight },
  });
  await outbox.open();
  const sid = (n: number) => `${durable ? 'd' : 'm'}${n.toString(16).padStart(31, '0')}`;
  const availablePerStream = Math.max(1, Math.floor(events / streams) - 1);
  const started = process.hrtime.bigint();
  // Enqueue in slices across event-loop turns, as a live server would, round-robin over streams.
  let sent = 0;
  for (let i = 1; i <= availablePerStream; i++) {
    for (let s = 0; s < streams; s++) {
      if (i === 1) outbox.streamStarted('bench', sid(s));
      outbox.available('bench', sid(s), { streamType: 'HLS-LIVE', resolution: `640x360-${i}`, indexFile: `hls/bench/${sid(s)}/640x360-${i}/live.m3u8` });
      if (++sent % 500 === 0) await new Promise((r) => setImmediate(r));
    }
  }
  for (let s = 0; s < streams; s++) outbox.streamClosed('bench', sid(s), 'publisher-disconnected');
  sent += streams;
  await outbox.idle();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await outbox.close();
  fs.rmSync(statePath, { recursive: true, force: true });
  return sent / seconds;
}

async function main(): Promise<void> {
  const events = arg('events', 20_000);
  const streams = arg('streams', 500);
  const maxInFlight = arg('in-flight', 32);
  const rounds = arg('rounds', 2);
  const receiver = fork(__filename, ['--receiver'], { stdio: 'inherit' });
  const port = await ask<number>(receiver, '', 'port');
  const url = `http://127.0.0.1:${port}/events`;
  try {
    await deliver(url, false, 2000, 50, maxInFlight); // warm-up (JIT, sockets)
    const durable: number[] = [];
    const memory: number[] = [];
    for (let r = 0; r < rounds; r++) {
      durable.push(await deliver(url, true, events, streams, maxInFlight));
      memory.push(await deliver(url, false, events, streams, maxInFlight));
    }
    const best = (xs: number[]) => Math.max(...xs);
    const received = await ask<number>(receiver, 'count', 'count');
    const result = {
      events: Math.max(1, Math.floor(events / streams) - 1) * streams + streams,
      streams,
      maxInFlight,
      rounds,
      durableEventsPerSecond: durable.map(Math.round),
      memoryEventsPerSecond: memory.map(Math.round),
      bestDurable: Math.round(best(durable)),
      bestMemory: Math.round(best(memory)),
      ratio: Number((best(durable) / best(memory)).toFixed(2)),
      receiverRequests: received,
      cpus: os.cpus().length,
      node: process.version,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    const pass = result.bestDurable >= 5000 && result.ratio >= 0.5;
    process.stdout.write(`goals (≥ 5000 events/s durable, ratio ≥ 0.5): ${pass ? 'met' : 'NOT met'}\n`);
  } finally {
    receiver.send('stop');
  }
}

if (process.argv.includes('--receiver')) runReceiver();
else
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
