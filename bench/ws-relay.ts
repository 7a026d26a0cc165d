/**
 * WS relay benchmark: N publishers at B Mbit/s, each with one receiver, on loopback, through
 * castline's WS ingest (uWS) and through the same relay built on the `ws` package, in the same
 * run with the same load generator (bench/ws-relay-load.ts, in child processes so the server
 * process is measured alone). B ramps up; a step passes when every byte arrives in order and the
 * p99 relay latency is < 50 ms. Then memory per idle publisher and per held stream (castline).
 *
 *   npx tsc -p tsconfig.test.json && node --expose-gc dist-test/bench/ws-relay.js \
 *     [--publishers 200] [--rates 1,2,3,5,7.5,10,15,20] [--message-bytes 32768] [--step-seconds 3] \
 *     [--load-processes 2] [--idle 1000] [--hold-bytes 1048576]
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { newStreamId } from '../src/coordinator/stream-id';
import type { PublishDecision } from '../src/domain/stream';
import type { PublishSink } from '../src/ingest/ingest.types';
import { registerWsIngest } from '../src/ingest/ws/ws-ingest';
import { silentLogger } from '../src/logging/logger';
import { uWS } from '../src/net/uws';
import type { LoadCommand, LoadReply } from './ws-relay-load';

interface Options {
  publishers: number;
  rates: number[];
  messageBytes: number;
  stepSeconds: number;
  loadProcesses: number;
  idle: number;
  holdBytes: number;
  receiverKind: 'receive' | 'receive-clear-cache';
  gopCacheBytes: number;
  servers: string[];
}

function options(): Options {
  const arg = (name: string, def: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1]! : def;
  };
  return {
    publishers: Number(arg('publishers', '200')),
    rates: arg('rates', '1,2,3,5,7.5,10,15,20').split(',').map(Number),
    messageBytes: Number(arg('message-bytes', '32768')),
    stepSeconds: Number(arg('step-seconds', '3')),
    loadProcesses: Number(arg('load-processes', '2')),
    idle: Number(arg('idle', '1000')),
    holdBytes: Number(arg('hold-bytes', String(1024 * 1024))),
    receiverKind: arg('receiver-kind', 'receive-clear-cache') === 'receive' ? 'receive' : 'receive-clear-cache',
    gopCacheBytes: Number(arg('gop-mb', '16')) * 1024 * 1024,
    servers: arg('servers', 'castline,ws').split(','),
  };
}

interface Server {
  name: string;
  port: number;
  close(): Promise<void>;
}

/** Accepts every key: the bench measures the relay, not key verification. */
class AcceptAll implements PublishSink {
  private readonly live = new Map<string, string>();
  async publish(r: { channel: string; key: string }): Promise<PublishDecision> {
    this.live.set(r.channel, r.key);
    return { accepted: true, streamId: newStreamId(), settings: { resolutions: { original: true, rungs: [] }, record: false, previews: null } };
  }
  publisherGone(): void {}
  livePublisher(channel: string) {
    const key = this.live.get(channel);
    return key === undefined ? null : { streamId: '', key };
  }
}

function startCastline(opts: Options): Promise<Server & { stats: () => { heldBytes: number } }> {
  const app = uWS.App();
  let port = 0;
  const ingest = registerWsIngest(app, {
    sink: new AcceptAll(),
    config: {
      idMaxLength: 128,
      ingest: {
        maxIpConcurrentConnections: 4,
        concurrentLimitWhitelist: '',
        gopCacheBytes: opts.gopCacheBytes,
        wsMaxMessageBytes: 8 * 1024 * 1024,
        wsHeartbeatSeconds: 20,
        wsIdleTimeoutSeconds: 600,
      },
    },
    logger: silentLogger,
    serverId: 1,
    advertised: () => ({ host: '127.0.0.1', port, ssl: false }),
  });
  return new Promise((resolve) =>
    app.listen('127.0.0.1', 0, (ls) => {
      if (ls === false) throw new Error('listen failed');
      port = uWS.us_socket_local_port(ls);
      resolve({
        name: 'castline (uWS)',
        port,
        stats: () => ingest.stats(),
        close: async () => {
          await ingest.close();
          uWS.us_listen_socket_close(ls);
        },
      });
    }),
  );
}

/** The same relay on the `ws` package: /{ch}/{key}/publish fans out to /{ch}/{key}/receive. */
function startWsRelay(): Promise<Server> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 8 * 1024 * 1024, perMessageDeflate: false });
  const receivers = new Map<string, Set<WebSocket>>();
  wss.on('connection', (ws, req) => {
    const [, channel = '', , kind = ''] = (req.url ?? '').split('/');
    if (kind === 'publish') {
      ws.on('message', (data, isBinary) => {
        if (!isBinary) return;
        for (const r of receivers.get(channel) ?? []) r.send(data, { binary: true });
      });
    } else {
      let set = receivers.get(channel);
      if (set === undefined) receivers.set(channel, (set = new Set()));
      set.add(ws);
      ws.on('close', () => set!.delete(ws));
    }
    ws.on('error', () => undefined);
  });
  return new Promise((resolve) =>
    wss.on('listening', () =>
      resolve({
        name: 'ws package',
        port: (wss.address() as { port: number }).port,
        close: () =>
          new Promise((r) => {
            for (const c of wss.clients) c.terminate();
            wss.close(() => r());
          }),
      }),
    ),
  );
}

class Load {
  private readonly children: ChildProcess[] = [];
  constructor(count: number) {
    for (let i = 0; i < count; i++) this.children.push(fork(path.join(__dirname, 'ws-relay-load.js'), [], { stdio: 'inherit' }));
  }
  private ask<T extends LoadReply['type']>(child: ChildProcess, cmd: LoadCommand, type: T): Promise<Extract<LoadReply, { type: T }>> {
    return new Promise((resolve) => {
      const on = (m: LoadReply) => {
        if (m.type !== type) return;
        child.off('message', on);
        resolve(m as Extract<LoadReply, { type: T }>);
      };
      child.on('message', on);
      child.send(cmd);
    });
  }
  all<T extends LoadReply['type']>(cmds: LoadCommand[] | LoadCommand, type: T): Promise<Array<Extract<LoadReply, { type: T }>>> {
    return Promise.all(this.children.map((c, i) => this.ask(c, Array.isArray(cmds) ? cmds[i]! : cmds, type)));
  }
  get size(): number {
    return this.children.length;
  }
  stop(): void {
    for (const c of this.children) c.kill();
  }
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const mem = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const p99 = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const sorted = Float64Array.from(xs).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
};
const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;

interface StepResult {
  mbpsPerPublisher: number;
  aggregateMbps: number;
  deliveredMbps: number;
  p99ms: number;
  p50ms: number;
  lost: number;
  errors: number;
  backlogged: number;
  pass: boolean;
}

async function ramp(server: Server, opts: Options, load: Load): Promise<StepResult[]> {
  const streams = Array.from({ length: opts.publishers }, (_, i) => ({ channel: `bench${i}`, key: 'k' }));
  const per = Math.ceil(streams.length / load.size);
  const ready = await load.all(
    Array.from({ length: load.size }, (_, i) => ({ type: 'setup' as const, port: server.port, receiverKind: opts.receiverKind, streams: streams.slice(i * per, (i + 1) * per), messageBytes: opts.messageBytes })),
    'ready',
  );
  const connected = ready.reduce((s, r) => s + r.connected, 0);
  if (connected !== opts.publishers) throw new Error(`${server.name}: only ${connected}/${opts.publishers} streams connected`);
  const results: StepResult[] = [];
  for (const mbps of opts.rates) {
    const replies = await load.all({ type: 'step', mbps, seconds: opts.stepSeconds }, 'step');
    const lat = replies.flatMap((r) => r.latencies);
    const sent = replies.reduce((s, r) => s + r.sentMessages, 0);
    const received = replies.reduce((s, r) => s + r.receivedMessages, 0);
    const errors = replies.reduce((s, r) => s + r.errors, 0);
    const backlogged = replies.reduce((s, r) => s + r.backlogged, 0);
    const sentBytes = replies.reduce((s, r) => s + r.sentBytes, 0);
    const sortedP50 = Float64Array.from(lat).sort()[Math.floor(lat.length / 2)] ?? NaN;
    const result: StepResult = {
      mbpsPerPublisher: mbps,
      aggregateMbps: mbps * opts.publishers,
      deliveredMbps: (sentBytes * 8) / 1e6 / opts.stepSeconds,
      p99ms: p99(lat),
      p50ms: sortedP50,
      lost: sent - received,
      errors,
      backlogged,
      pass: false,
    };
    // pass: nothing lost or out of order, p99 < 50 ms, and the offered rate was actually sent
    result.pass = result.lost === 0 && errors === 0 && result.p99ms < 50 && backlogged === 0 && result.deliveredMbps >= 0.95 * result.aggregateMbps;
    results.push(result);
    console.log(
      `  ${server.name.padEnd(15)} ${String(mbps).padStart(5)} Mbit/s x ${opts.publishers} = ${result.aggregateMbps.toFixed(0).padStart(5)} Mbit/s offered, ` +
        `${result.deliveredMbps.toFixed(0).padStart(5)} sent; p50 ${result.p50ms.toFixed(1)} ms p99 ${result.p99ms.toFixed(1)} ms; ` +
        `lost ${result.lost} errors ${errors} backlogged ${backlogged} → ${result.pass ? 'PASS' : 'FAIL'}`,
    );
    if (!result.pass) break;
    await sleep(300);
  }
  return results;
}

/** On a fresh server: memory per idle publisher connection, then per stream holding `holdBytes`. */
async function memory(server: Server & { stats?: () => { heldBytes: number } }, opts: Options, load: Load): Promise<void> {
  await sleep(200);
  const base = mem();
  const per = Math.ceil(opts.idle / load.size);
  const idle = await load.all(Array.from({ length: load.size }, (_, i) => ({ type: 'idle' as const, port: server.port, count: per, channelPrefix: `idle${i}x` })), 'idle');
  await sleep(300);
  const withIdle = mem();
  const n = idle.reduce((s, r) => s + r.connected, 0);
  console.log(
    `  ${server.name}: ${n} idle publishers: rss +${kb((withIdle.rss - base.rss) / n)}, heap +${kb((withIdle.heap - base.heap) / n)}, ` +
      `external +${kb((withIdle.external - base.external) / n)} per connection`,
  );
  if (server.stats !== undefined) {
    const streams = Math.min(200, n);
    const perProcess = Math.ceil(streams / load.size);
    await load.all({ type: 'hold', bytes: opts.holdBytes, streams: perProcess, messageBytes: opts.messageBytes }, 'hold');
    await sleep(300);
    const after = mem();
    const held = server.stats().heldBytes;
    const s = perProcess * load.size;
    console.log(
      `  ${server.name}: ${s} streams holding ${kb(held / s)} each: rss +${kb((after.rss - withIdle.rss) / s)}, ` +
        `heap +${kb((after.heap - withIdle.heap) / s)}, external +${kb((after.external - withIdle.external) / s)} per stream`,
    );
  }
  await load.all({ type: 'close-idle' }, 'close-idle');
  await sleep(300);
}

async function main(): Promise<void> {
  const opts = options();
  console.log(`ws relay bench: ${opts.publishers} publishers + ${opts.publishers} ${opts.receiverKind} receivers, GOP cache ${opts.gopCacheBytes / 1048576} MiB, ${opts.messageBytes}-byte messages, ${opts.stepSeconds} s steps, ${opts.loadProcesses} load processes`);
  const summary: Array<{ name: string; best: StepResult | undefined }> = [];
  const starters: Record<string, (o: Options) => Promise<Server>> = { castline: startCastline, ws: startWsRelay };
  for (const start of opts.servers.map((name) => starters[name]!)) {
    const load = new Load(opts.loadProcesses);
    const server = await start(opts);
    try {
      if (opts.idle > 0) await memory(server, opts, load);
      const results = await ramp(server, opts, load);
      summary.push({ name: server.name, best: [...results].reverse().find((r) => r.pass) });
      await load.all({ type: 'teardown' }, 'teardown');
    } finally {
      load.stop();
      await server.close();
    }
    await sleep(500);
  }
  const [c, w] = summary;
  console.log('\nhighest passing aggregate rate (every byte in order, p99 < 50 ms):');
  for (const s of summary) console.log(`  ${s.name.padEnd(15)} ${s.best ? `${s.best.aggregateMbps.toFixed(0)} Mbit/s (p99 ${s.best.p99ms.toFixed(1)} ms)` : 'none'}`);
  if (c?.best && w?.best) console.log(`  ratio castline / ws: ${(c.best.aggregateMbps / w.best.aggregateMbps).toFixed(2)}x`);
  else if (c?.best && w !== undefined) console.log('  ratio: ws passed no step');
}

void main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
