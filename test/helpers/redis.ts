/**
 * A real Redis for the cluster tests: Debian's redis-server on a free port, AOF on, in a temp
 * folder; killed after. No redis-server installed: the test FAILS naming the package (never skips).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { freePort } from './process';
import { waitUntil } from './wait';

export interface TestRedis {
  url: string;
  port: number;
  /** Stops the server (SIGKILL: a crash); `start()` brings it back on the same port and data (AOF). */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** A client for assertions (closed by `stop`). */
  client(): Redis;
  stop(): Promise<void>;
}

export function requireRedisServer(): string {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.error !== undefined || found.status !== 0) {
    throw new Error('redis-server is not installed: the cluster tests need Debian\'s redis-server (apt-get install -y redis-server; .ci/run installs it)');
  }
  return found.stdout.trim();
}

export async function startRedis(): Promise<TestRedis> {
  requireRedisServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-redis-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  const clients: Redis[] = [];
  const ping = async () => {
    const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  };
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
    await waitUntil(ping, `redis-server on port ${port}`, 10_000, 50);
  };
  const kill = async () => {
    const c = child;
    if (c === null || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    kill,
    start,
    client: () => {
      const c = new Redis(port, '127.0.0.1');
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    },
    stop: async () => {
      for (const c of clients) c.disconnect();
      await kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
