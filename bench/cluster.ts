/**
 * Cluster mode (issue 10), three measurements, each against a real redis-server started here:
 *
 *  latency    Publish → first `HLS-LIVE` event at the application, one encoded rung (160x90-15),
 *             HLS_TIME_SECONDS=1: a single node (no REDIS_URL) against a cluster where the ingest
 *             node A places the encoding on encoder node B (B pulls from A, outputs reported back
 *             to A's actor, events through the Redis queue). Modes interleaved run by run; the
 *             interval starts when the publishing ffmpeg is spawned. Also counts Redis commands
 *             (INFO commandstats) per node per minute while idle and per stream per minute.
 *  failover   Ingest node + two encoder nodes: a stream is live, the encoder node encoding it is
 *             killed with its ffmpeg (kill -9), time until the replacement is placed and until the
 *             first new segment appears in the same playlist. The killed node is restarted between
 *             runs. CLUSTER_NODE_TTL_SECONDS as given (default here 5, castline's default).
 *  placement  Simulation in one process: 200 registered encoder nodes (capacity 60 each), 10,000
 *             sessions placed one after the other exactly as an ingest node does (read the live
 *             nodes, then the PLACE script), then freed (UNPLACE); decision latency percentiles.
 *
 * Run: npx tsc -p tsconfig.test.json && node dist-test/bench/cluster.js [latency|failover|placement] [--runs N] [--ttl S]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Redis from 'ioredis';
import { KEYS } from '../src/cluster/keys';
import { Membership } from '../src/cluster/membership';
import { defineScripts } from '../src/cluster/scripts';
import type { NodeRecord } from '../src/cluster/cluster.types';
import { createLogger } from '../src/logging/logger';
import { startNode, type TestNode } from '../test/cluster/nodes';
import { AppServer } from '../test/helpers/app-server';
import { killTree } from '../test/helpers/process-tree';
import { startRedis, type TestRedis } from '../test/helpers/redis';
import { sleep, waitUntil } from '../test/helpers/wait';
import { killAll, publish } from '../test/ingest/rtmp/rtmp-ffmpeg';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (rank - lo);
}

async function commandCount(client: Redis): Promise<number> {
  const info = await client.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) total += Number(m[1]);
  return total;
}

async function withCluster<T>(run: (cwd: string, redis: TestRedis, app: AppServer) => Promise<T>): Promise<T> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-bench-cluster-'));
  const redis = await startRedis();
  const app = await new AppServer({ settings: { 'x-resolutions': '160x90-15' } }).start();
  try {
    return await run(cwd, redis, app);
  } finally {
    await killAll();
    await redis.stop();
    await app.stop();
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}

async function firstLive(app: AppServer, channel: string, node: TestNode): Promise<number> {
  const started = Date.now();
  publish(`rtmp://127.0.0.1:${node.rtmp}/${channel}/good-key`, 30);
  const event = await waitUntil(() => app.eventAttempts.find((e) => e.headers['x-streaming-channel'] === channel && e.headers['x-stream-type'] === 'HLS-LIVE'), `HLS-LIVE ${channel}`, 30_000, 2);
  return event!.at - started;
}

async function latency(runs: number): Promise<void> {
  await withCluster(async (cwd, redis, app) => {
    const base = { KEY_VERIFICATION_URL: `${app.url}/verify`, EVENT_CALLBACK_URL: `${app.url}/events`, CLUSTER_NODE_TTL_SECONDS: '5' };
    const single = await startNode(cwd, 'single', { ...base, STATE_PATH: path.join(cwd, 'state-single'), HLS_FILESYSTEM_PATH: path.join(cwd, 'single-data') });
    const cluster = { ...base, REDIS_URL: redis.url };
    const [a, b] = await Promise.all([startNode(cwd, 'a', { ...cluster, NODE_ROLES: 'ingest,api' }), startNode(cwd, 'b', { ...cluster, NODE_ROLES: 'encoder' })]);
    const client = redis.client();
    // Background traffic: heartbeats, lease, blocking reads of 2 idle nodes for 30 s.
    const idleFrom = await commandCount(client);
    await sleep(30_000);
    const idlePerNodeMinute = (await commandCount(client)) - idleFrom;
    const results: Record<'single' | 'cluster', number[]> = { single: [], cluster: [] };
    let streamFrom = 0;
    let streamSeconds = 0;
    for (let run = 0; run < runs; run++) {
      results.single.push(await firstLive(app, `single-${run}`, single));
      await killAll();
      const before = await commandCount(client);
      const t0 = Date.now();
      results.cluster.push(await firstLive(app, `cluster-${run}`, a));
      await sleep(5000); // the stream runs on: steady-state traffic counted too
      await killAll();
      await waitUntil(async () => (await client.hlen(KEYS.placements)) === 0, 'stream ended', 20_000);
      streamSeconds += (Date.now() - t0) / 1000;
      streamFrom += (await commandCount(client)) - before;
      console.log(`run ${run + 1}: single ${results.single.at(-1)} ms, cluster ${results.cluster.at(-1)} ms`);
    }
    const background = (idlePerNodeMinute / 2 / 0.5) * 2 * (streamSeconds / 60); // both nodes' background during the streams
    const p50 = { single: percentile(results.single, 50), cluster: percentile(results.cluster, 50) };
    console.log(`\npublish → first HLS-LIVE, ${runs} runs each: single p50 ${p50.single.toFixed(0)} ms (p95 ${percentile(results.single, 95).toFixed(0)}), cluster p50 ${p50.cluster.toFixed(0)} ms (p95 ${percentile(results.cluster, 95).toFixed(0)}); overhead p50 ${(p50.cluster - p50.single).toFixed(0)} ms`);
    console.log(`Redis commands: ${(idlePerNodeMinute / 2 / 0.5).toFixed(0)} per idle node per minute; ${((streamFrom - background) / (streamSeconds / 60) ).toFixed(0)} per stream per minute (one 160x90 rung, 1 s segments, publish to end)`);
    for (const n of [single, a, b]) await n.kill();
  });
}

async function failover(runs: number, ttl: number): Promise<void> {
  await withCluster(async (cwd, redis, app) => {
    const env = { REDIS_URL: redis.url, KEY_VERIFICATION_URL: `${app.url}/verify`, EVENT_CALLBACK_URL: `${app.url}/events`, CLUSTER_NODE_TTL_SECONDS: String(ttl), ENCODER_CAPACITY: '2' };
    const ingest = await startNode(cwd, 'ingest', { ...env, NODE_ROLES: 'ingest,api' });
    const encoders = new Map<string, TestNode>();
    for (const name of ['enc1', 'enc2']) encoders.set(name, await startNode(cwd, name, { ...env, NODE_ROLES: 'encoder' }));
    const placed: number[] = [];
    const segment: number[] = [];
    for (let run = 0; run < runs; run++) {
      const channel = `failover-${run}`;
      publish(`rtmp://127.0.0.1:${ingest.rtmp}/${channel}/good-key`, 120);
      const live = (await waitUntil(() => app.eventAttempts.find((e) => e.headers['x-streaming-channel'] === channel && e.headers['x-stream-type'] === 'HLS-LIVE'), 'HLS-LIVE', 30_000))!;
      const streamId = String(live.headers['x-streaming-id']);
      const playlist = path.join(cwd, 'data', String(live.headers['x-index-file']));
      const numbers = () => fs.readFileSync(playlist, 'utf8').split('\n').filter((l) => l.endsWith('.ts')).map((l) => Number(l.slice(0, -3)));
      await waitUntil(() => numbers().length >= 2, 'two segments', 20_000);
      const [name, victim] = [...encoders].find(([, n]) => n.proc.lines().some((l) => l.msg === 'encoding a stream of another node' && l.streamId === streamId))!;
      const other = [...encoders.values()].find((n) => n !== victim)!;
      const killedAt = Date.now();
      killTree(victim.proc.child.pid!);
      await victim.proc.exited;
      const last = Math.max(...numbers());
      await waitUntil(() => other.proc.lines().some((l) => l.msg === 'encoding a stream of another node' && l.streamId === streamId), 're-placed', 30_000, 10);
      placed.push(Date.now() - killedAt);
      await waitUntil(() => numbers().some((n) => n > last), 'new segment', 30_000, 10);
      segment.push(Date.now() - killedAt);
      console.log(`run ${run + 1}: re-placed after ${placed.at(-1)} ms, first new segment after ${segment.at(-1)} ms`);
      await killAll();
      encoders.set(name, await startNode(cwd, name, { ...env, NODE_ROLES: 'encoder' }));
      await waitUntil(async () => ((await ingest.get('/commands/capacity')).body.encoderCount as number) === 2 && (await redis.client().hlen(KEYS.placements)) === 0, 'two encoders, nothing placed', 30_000);
    }
    console.log(`\nfailover, ${runs} runs, CLUSTER_NODE_TTL_SECONDS=${ttl}: re-placed p50 ${percentile(placed, 50).toFixed(0)} ms (max ${Math.max(...placed)}); first new segment p50 ${percentile(segment, 50).toFixed(0)} ms (max ${Math.max(...segment)})`);
    for (const n of [ingest, ...encoders.values()]) killTree(n.proc.child.pid!);
  });
}

async function placement(): Promise<void> {
  const redis = await startRedis();
  try {
    const client = redis.client();
    const scripts = defineScripts(client);
    const nodeCount = 200;
    const sessions = 10_000;
    const record = (i: number): NodeRecord => ({
      id: `sim-${i}`, index: i + 1, roles: ['encoder'], address: `10.0.${Math.floor(i / 250)}.${i % 250}`, httpPort: 8080, rtmpPort: 1935, tls: false, version: '0.1.0',
      startedAt: Date.now(), encoder: { id: i + 1, capacity: 60, load: 0 }, load: 0, ingestServers: [], activeStreams: [], placements: {}, liveHls: [],
    });
    for (let i = 0; i < nodeCount; i++) await client.multi().set(KEYS.node(`sim-${i}`), JSON.stringify(record(i)), 'PX', 600_000).sadd(KEYS.nodes, `sim-${i}`).exec();
    const membership = new Membership({ redis: client, nodeId: 'reader', ttlMs: 600_000, record: () => record(0), onBeat: async () => undefined, logger: createLogger('silent') });
    const decide: number[] = [];
    const before = await commandCount(client);
    const started = Date.now();
    for (let s = 0; s < sessions; s++) {
      const t = process.hrtime.bigint();
      const nodes = (await membership.liveNodes()).filter((n) => n.encoder !== null);
      const chosen = await scripts.place(KEYS.encoderLoad, KEYS.placements, `stream-${s}`, ...nodes.flatMap((n) => [n.id, n.encoder!.capacity]));
      decide.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (chosen === null) throw new Error(`no room for session ${s}`);
    }
    const placeMs = Date.now() - started;
    const placeCommands = (await commandCount(client)) - before;
    const loads = Object.values(await client.hgetall(KEYS.encoderLoad)).map(Number);
    const t = Date.now();
    for (let s = 0; s < sessions; s++) await scripts.unplace(KEYS.encoderLoad, KEYS.placements, `stream-${s}`, (await client.hget(KEYS.placements, `stream-${s}`))!);
    const unplaceMs = Date.now() - t;
    const memory = (await client.info('memory')).match(/used_memory:(\d+)/)![1];
    console.log(`placement: ${nodeCount} encoder nodes, ${sessions} sessions placed in ${placeMs} ms; decision p50 ${percentile(decide, 50).toFixed(2)} ms, p99 ${percentile(decide, 99).toFixed(2)} ms, max ${Math.max(...decide).toFixed(2)} ms; ${(placeCommands / sessions).toFixed(1)} Redis commands per placement; loads min ${Math.min(...loads)} max ${Math.max(...loads)}; freeing all: ${unplaceMs} ms; Redis used_memory ${(Number(memory) / 1024 / 1024).toFixed(1)} MiB`);
  } finally {
    await redis.stop();
  }
}

async function main(): Promise<void> {
  const which = args[0] ?? 'placement';
  if (which === 'latency') await latency(option('--runs', 5));
  else if (which === 'failover') await failover(option('--runs', 5), option('--ttl', 5));
  else if (which === 'placement') await placement();
  else throw new Error('usage: cluster.js latency|failover|placement [--runs N] [--ttl S]');
  process.exit(0);
}

void main();
