/** castline cluster nodes for the tests: child processes on loopback sharing one Redis and one data folder. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, startProcess, type ServerProcess } from '../helpers/process';
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

/** Ends a cluster suite: its nodes killed, its Redis and application stopped, its folder removed. */
export async function stopCluster(parts: { nodes: readonly TestNode[]; redis: { stop(): Promise<void> }; app: { stop(): Promise<void> }; cwd: string }): Promise<void> {
  for (const n of parts.nodes) await n.kill();
  await parts.redis.stop();
  await parts.app.stop();
  fs.rmSync(parts.cwd, { recursive: true, force: true });
}
