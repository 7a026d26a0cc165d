/**
 * Soak: castline under steady churn for SOAK_MINUTES (default 15), outside the default suite
 * (`npm run soak`). The castline process runs on its own; this driver runs:
 * - 20 publishers looping (publish ~20 s, leave, come back 1-3 s later): 12 over RTMP, 8 over
 *   WebSocket; channels 0-4 get an encoded ladder (96x54-10), the rest ORIGINAL (copy);
 * - a WS receiver on every WS publish, and 6 HLS viewers fetching live playlists and segments;
 * - the key-verification application, always up, and the event application, which goes down for
 *   15 s of every 60 (events are retried).
 * Publishers copy a pre-made 160x90 10 fps clip (`-re -c copy`) so their own CPU stays small.
 *
 * Every minute it prints castline's RSS, heap, open fds, threads and running ffmpeg children. At
 * the end the publishers stop and it waits for castline to settle, then fails (exit 1) if, from the
 * first minute's sample (warm) to the settled end: RSS grew more than 96 MiB, heap more than
 * 48 MiB, fds more than 32, threads more than 8; or an ffmpeg is left; or a session is left; or a
 * stream that became available did not get exactly one stream-closed.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import { ffmpegPath } from '../src/encoding/binaries';
import { AppServer } from '../test/helpers/app-server';
import { freePort } from '../test/helpers/process';

const MINUTES = Number(process.env.SOAK_MINUTES ?? '15');
const BOUNDS = { rssMiB: 96, heapMiB: 48, fds: 32, threads: 8 };
const PUBLISHERS = 20;
const RTMP_PUBLISHERS = 12;
const ENCODED = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample { minute: number; rssMiB: number; heapMiB: number; fds: number; threads: number; ffmpeg: number; streams: number }

function procStatus(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : -1;
}

/** ffmpeg/ffprobe processes whose parent is `pid`. */
function ffmpegChildren(pid: number): number {
  let n = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (ppid === pid && /^ff(mpeg|probe)/.test(comm)) n++;
    } catch {
      /* gone */
    }
  }
  return n;
}

function makeClip(dir: string): string {
  const clip = path.join(dir, 'clip.flv');
  execFileSync(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=10', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=22050',
    '-t', '10', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '32k', '-f', 'flv', clip]);
  return clip;
}

class Load {
  stopped = false;
  readonly children = new Set<ChildProcess>();
  sessions = 0;
  refused = 0;
  hlsFetches = 0;
  hlsErrors = 0;
  received = 0;
  constructor(private readonly clip: string, private readonly http: number, private readonly rtmp: number, private readonly events: AppServer) {}

  private ffmpeg(args: string[], stdout: 'ignore' | 'pipe'): ChildProcess {
    const child = spawn(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '1', '-i', this.clip, '-c', 'copy', ...args], { stdio: ['ignore', stdout, 'ignore'] });
    this.children.add(child);
    child.on('close', () => this.children.delete(child));
    return child;
  }

  async publisher(i: number): Promise<void> {
    while (!this.stopped) {
      const channel = `soak${i}`;
      const key = `good-${i}`;
      const done = i < RTMP_PUBLISHERS ? this.rtmpSession(channel, key) : this.wsSession(channel, key);
      await done;
      this.sessions++;
      await sleep(1000 + Math.random() * 2000);
    }
  }

  private rtmpSession(channel: string, key: string): Promise<void> {
    const child = this.ffmpeg(['-t', String(15 + Math.random() * 10), '-f', 'flv', `rtmp://127.0.0.1:${this.rtmp}/${channel}/${key}`], 'ignore');
    return new Promise((resolve) => child.on('close', (code) => { if (code !== 0) this.refused++; resolve(); }));
  }

  private wsSession(channel: string, key: string): Promise<void> {
    return new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${this.http}/${channel}/${key}/publish`);
      let child: ChildProcess | null = null;
      let receiver: WebSocket | null = null;
      const finish = () => {
        child?.kill('SIGKILL');
        receiver?.close();
        if (ws.readyState === WebSocket.OPEN) ws.close(1000);
        resolve();
      };
      ws.on('unexpected-response', () => { this.refused++; finish(); });
      ws.on('error', finish);
      ws.on('close', finish);
      ws.on('open', () => {
        child = this.ffmpeg(['-t', String(15 + Math.random() * 10), '-f', 'flv', 'pipe:1'], 'pipe');
        child.stdout!.on('data', (chunk: Buffer) => ws.readyState === WebSocket.OPEN && ws.send(chunk));
        child.on('close', finish);
        setTimeout(() => {
          if (this.stopped || ws.readyState !== WebSocket.OPEN) return;
          receiver = new WebSocket(`ws://127.0.0.1:${this.http}/${channel}/${key}/receive`);
          receiver.on('message', (data: Buffer, binary: boolean) => { if (binary) this.received += data.length; });
          receiver.on('error', () => undefined);
        }, 1500);
      });
    });
  }

  async viewer(): Promise<void> {
    while (!this.stopped) {
      await sleep(2000);
      const lives = this.events.delivered().filter((h) => h['x-stream-type'] === 'HLS-LIVE').slice(-20);
      const pick = lives[Math.floor(Math.random() * lives.length)];
      if (pick === undefined) continue;
      const base = `http://127.0.0.1:${this.http}/${String(pick['x-index-file'])}`;
      try {
        const res = await fetch(base);
        this.hlsFetches++;
        const text = await res.text();
        const last = text.split('\n').filter((l) => l.endsWith('.ts')).at(-1);
        if (last) await (await fetch(new URL(last, base))).arrayBuffer();
      } catch {
        this.hlsErrors++;
      }
    }
  }
}

/** The event application: up 45 s, down 15 s, until the load stops; always up when it returns. */
async function bounceEvents(app: AppServer, port: number, load: Load): Promise<void> {
  const wait = async (ms: number) => {
    for (const end = Date.now() + ms; Date.now() < end && !load.stopped;) await sleep(250);
  };
  while (!load.stopped) {
    await wait(45_000);
    if (load.stopped) return;
    await app.stop();
    await sleep(15_000);
    await app.start(port);
  }
}

function sample(pid: number, minute: number, heap: () => { heap: number; streams: number }): Sample {
  const h = heap();
  return {
    minute,
    rssMiB: Math.round(procStatus(pid, 'VmRSS') / 1024),
    heapMiB: Math.round(h.heap / 1048576),
    fds: fs.readdirSync(`/proc/${pid}/fd`).length,
    threads: procStatus(pid, 'Threads'),
    ffmpeg: ffmpegChildren(pid),
    streams: h.streams,
  };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-soak-'));
  const clip = makeClip(dir);
  const verify = await new AppServer({ settings: {} }).start();
  const eventPort = await freePort();
  const events = await new AppServer().start(eventPort);
  const [http, rtmp] = [await freePort(), await freePort()];
  const server = spawn(process.execPath, [path.join(__dirname, 'soak-server.js')], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', HTTP_PORT: String(http), RTMP_PORT: String(rtmp), BIND_ADDRESS: '127.0.0.1',
      KEY_VERIFICATION_URL: `${verify.url}/verify`, EVENT_CALLBACK_URL: `http://127.0.0.1:${eventPort}/events`,
      EVENT_CALLBACK_RETRY_MAX: '2', ENCODER_CAPACITY: '40', HLS_H264_PRESET: 'ultrafast', HLS_TIME_SECONDS: '2',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let heap = { heap: 0, streams: 0 };
  let out = '';
  server.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const line of out.split('\n').slice(0, -1)) if (line.startsWith('{"soakHeap"')) { const j = JSON.parse(line); heap = { heap: j.soakHeap, streams: j.streams }; }
    out = out.slice(out.lastIndexOf('\n') + 1);
  });
  await sleep(3000);
  // Channels 0..ENCODED-1 get an encoded rung; the rest ORIGINAL (copied).
  verify.settingsFor = (headers) => (Number(String(headers['x-streaming-channel']).replace('soak', '')) < ENCODED ? { 'x-resolutions': '96x54-10' } : { 'x-resolutions': 'ORIGINAL' });

  const load = new Load(clip, http, rtmp, events);
  const pid = server.pid!;
  console.log(`soak: ${MINUTES} min, castline pid ${pid}, ${PUBLISHERS} publishers (${RTMP_PUBLISHERS} RTMP, ${PUBLISHERS - RTMP_PUBLISHERS} WS, ${ENCODED} encoded), 6 HLS viewers, event app down 15 s of every 60`);
  const tasks = [...Array.from({ length: PUBLISHERS }, (_, i) => load.publisher(i)), ...Array.from({ length: 6 }, () => load.viewer()), bounceEvents(events, eventPort, load)];
  const samples: Sample[] = [];
  for (let minute = 1; minute <= MINUTES; minute++) {
    await sleep(60_000);
    const s = sample(pid, minute, () => heap);
    samples.push(s);
    console.log(JSON.stringify({ ...s, sessions: load.sessions, refused: load.refused, hlsFetches: load.hlsFetches, hlsErrors: load.hlsErrors, receivedMiB: Math.round(load.received / 1048576) }));
  }
  load.stopped = true;
  for (const c of load.children) c.kill('SIGKILL');
  await Promise.race([Promise.all(tasks), sleep(40_000)]);
  await sleep(25_000); // sessions end, encoders flush, events drain
  const end = sample(pid, MINUTES + 1, () => heap);
  console.log(JSON.stringify({ settled: true, ...end }));
  const problems = verdict(samples[0] ?? end, end, events);
  server.kill('SIGTERM');
  await new Promise((r) => server.on('exit', r));
  await verify.stop();
  await events.stop().catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(problems.length === 0 ? 'soak: PASS' : `soak: FAIL\n  ${problems.join('\n  ')}`);
  process.exit(problems.length === 0 ? 0 : 1);
}

function verdict(first: Sample, end: Sample, events: AppServer): string[] {
  const problems: string[] = [];
  const grow = (what: string, a: number, b: number, bound: number) => { if (b - a > bound) problems.push(`${what} grew ${b - a} (from ${a} to ${b}), bound ${bound}`); };
  grow('RSS MiB', first.rssMiB, end.rssMiB, BOUNDS.rssMiB);
  grow('heap MiB', first.heapMiB, end.heapMiB, BOUNDS.heapMiB);
  grow('fds', first.fds, end.fds, BOUNDS.fds);
  grow('threads', first.threads, end.threads, BOUNDS.threads);
  if (end.ffmpeg > 0) problems.push(`${end.ffmpeg} ffmpeg left running`);
  if (end.streams > 0) problems.push(`${end.streams} sessions left`);
  const closes = new Map<string, number>();
  for (const h of events.delivered()) {
    const id = String(h['x-streaming-id']);
    if (!closes.has(id)) closes.set(id, 0);
    if (h['x-event-type'] === 'stream-closed') closes.set(id, closes.get(id)! + 1);
  }
  const bad = [...closes].filter(([, n]) => n !== 1);
  if (bad.length > 0) problems.push(`${bad.length} of ${closes.size} streams without exactly one stream-closed (e.g. ${bad[0][0]}: ${bad[0][1]})`);
  console.log(`soak: ${closes.size} streams announced, ${events.delivered().length} events delivered`);
  return problems;
}

void main();
