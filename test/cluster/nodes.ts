/** castline cluster nodes for the tests: child processes on loopback sharing one Redis and one data folder. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppServer, type AppServerOptions } from '../helpers/app-server';
import { freePort, startProcess, type ServerProcess } from '../helpers/process';
import { startRedis, type TestRedis } from '../helpers/redis';
import { waitUntil } from '../helpers/wait';

export interface TestNode {
  name: string;
  proc: ServerProcess;
  http: number;
  rtmp: number;
  url: string;
  get(pathname: string): Promise<{ status: number; body: Record<string, unknown> }>;
  post(pathname: string, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }>;
  kill(): Promise<void>;
  stop(): Promise<number | null>;
}

/** Starts a node named `name` in `cwd` (state in `state-{name}`, outputs in the shared `data`); resolves once it has joined. */
export async function startNode(cwd: string, name: string, env: Record<string, string>): Promise<TestNode> {
  const [http, rtmp] = [await freePort(), await freePort()];
  const proc = startProcess(cwd, {
    HTTP_PORT: String(http), RTMP_PORT: String(rtmp), BIND_ADDRESS: '127.0.0.1', NODE_ADDRESS: '127.0.0.1',
    STATE_PATH: path.join(cwd, `state-${name}`), HLS_FILESYSTEM_PATH: path.join(cwd, 'data'),
    CLUSTER_NODE_TTL_SECONDS: '1.5', CLUSTER_SECRET: 'test-cluster-secret-0123456789', HLS_TIME_SECONDS: '1', HLS_H264_PRESET: 'ultrafast', STUDIO_ENABLED: 'false',
    ...env,
  });
  await waitUntil(() => proc.lines().some((l) => l.msg === 'HTTP listening (commands API, WS ingest, HLS files)') || proc.child.exitCode !== null, `node ${name} start`, 40_000);
  if (proc.child.exitCode !== null) throw new Error(`node ${name} exited: ${proc.output()}`);
  const url = `http://127.0.0.1:${http}`;
  const call = async (method: string, pathname: string, headers: Record<string, string> = {}) => {
    const res = await fetch(url + pathname, { method, headers });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return {
    name, proc, http, rtmp, url,
    get: (p) => call('GET', p),
    post: (p, h) => call('POST', p, h),
    kill: async () => {
      if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
      await proc.exited;
    },
    stop: async () => {
      if (proc.child.exitCode === null) proc.child.kill('SIGTERM');
      return proc.exited;
    },
  };
}

/** One cluster suite's world: a folder, a Redis, the application, and the nodes started in it. */
export interface TestCluster {
  cwd: string;
  redis: TestRedis;
  app: AppServer;
  /** What every node gets: Redis, the application's URLs, and the suite's own settings. */
  env: Record<string, string>;
  /** Every node started, for the teardown (a test that killed one itself may remove it). */
  nodes: TestNode[];
  /** Starts a node with the suite's env plus `env`; resolves once it has joined. */
  node(name: string, env?: Record<string, string>): Promise<TestNode>;
  /** Kills every node (with `kill`, default SIGKILL of the node), stops Redis and the application, removes the folder. */
  stop(kill?: (node: TestNode) => Promise<void>): Promise<void>;
}

export async function startCluster(suite: string, app: AppServerOptions = {}, env: Record<string, string> = {}): Promise<TestCluster> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), `castline-cluster-${suite}-`));
  const redis = await startRedis();
  const application = await new AppServer(app).start();
  const shared = { REDIS_URL: redis.url, KEY_VERIFICATION_URL: `${application.url}/verify`, EVENT_CALLBACK_URL: `${application.url}/events`, ...env };
  const nodes: TestNode[] = [];
  return {
    cwd, redis, app: application, env: shared, nodes,
    node: async (name, own = {}) => {
      const node = await startNode(cwd, name, { ...shared, ...own });
      nodes.push(node);
      return node;
    },
    stop: async (kill = (node) => node.kill()) => {
      for (const n of nodes) await kill(n);
      await redis.stop();
      await application.stop();
      fs.rmSync(cwd, { recursive: true, force: true });
    },
  };
}
