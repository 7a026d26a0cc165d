/**
 * Test-only media sources, outside the thing under test: a tiny WS server following the
 * cluster-protocols §1 receive semantics. Each receiver connection gets a live ffmpeg-generated
 * stream (FLV H.264/AAC test pattern, WebM VP8/Opus like a browser, or bad bytes) until the
 * publish "session" is over; after that, receivers are refused (publisher gone).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ffmpegPath } from '../../src/encoding/binaries';

export type SourceKind = 'flv' | 'webm' | 'garbage' | 'audio-only' | 'stall';

export interface SourceOptions {
  kind?: SourceKind;
  /** Wall-clock length of the publish session, seconds. */
  seconds: number;
  width?: number;
  height?: number;
  fps?: number;
}

export class TestMediaSource {
  private readonly wss: WebSocketServer;
  private readonly children = new Set<ChildProcess>();
  private readonly sockets = new Set<WebSocket>();
  private startedAt = 0;
  connections = 0;
  paths: string[] = [];

  private constructor(private readonly options: SourceOptions) {
    this.wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      verifyClient: (_info, cb) => {
        const remaining = this.remainingSeconds();
        if (remaining <= 0.3) cb(false, 404, 'no publisher');
        else cb(true);
      },
    });
    this.wss.on('connection', (ws, req) => this.serve(ws, req.url ?? ''));
  }

  static async start(options: SourceOptions): Promise<TestMediaSource> {
    const source = new TestMediaSource(options);
    await new Promise<void>((resolve) => { if (source.wss.address()) resolve(); else source.wss.once('listening', () => resolve()); });
    return source;
  }

  /** `ws://127.0.0.1:PORT/{channel}/{key}` as the coordinator would pass it. */
  uri(channel: string, key = 'k'): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/${channel}/${key}`;
  }

  private remainingSeconds(): number {
    if (this.startedAt === 0) return this.options.seconds;
    return this.options.seconds - (Date.now() - this.startedAt) / 1000;
  }

  private serve(ws: WebSocket, url: string): void {
    this.connections++;
    this.paths.push(url);
    if (this.startedAt === 0) this.startedAt = Date.now();
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('error', () => undefined);
    const kind = this.options.kind ?? 'flv';
    if (kind === 'garbage') {
      const timer = setInterval(() => ws.send(Buffer.alloc(8192, 0x5a)), 50);
      setTimeout(() => { clearInterval(timer); ws.close(); }, this.options.seconds * 1000);
      ws.on('close', () => clearInterval(timer));
      return;
    }
    const child = spawn(ffmpegPath, this.publisherArgs(kind, Math.max(0.5, this.remainingSeconds())), { stdio: ['ignore', 'pipe', 'ignore'] });
    this.children.add(child);
    let sent = 0;
    child.stdout!.on('data', (chunk: Buffer) => {
      if (ws.readyState !== ws.OPEN) return;
      // 'stall': the header and a little media, then silence with the socket kept open.
      if (kind === 'stall' && sent > 60_000) return;
      sent += chunk.length;
      ws.send(chunk);
    });
    child.on('close', () => {
      this.children.delete(child);
      if (kind !== 'stall' && ws.readyState === ws.OPEN) ws.close();
    });
    ws.on('close', () => child.kill('SIGKILL'));
  }

  private publisherArgs(kind: SourceKind, seconds: number): string[] {
    const w = this.options.width ?? 320;
    const h = this.options.height ?? 180;
    const fps = this.options.fps ?? 15;
    const video = ['-re', '-f', 'lavfi', '-i', `testsrc=size=${w}x${h}:rate=${fps}`];
    const audio = ['-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'];
    const common = ['-hide_banner', '-loglevel', 'error'];
    const duration = ['-t', seconds.toFixed(2)];
    switch (kind) {
      case 'audio-only':
        return [...common, ...audio, ...duration, '-c:a', 'aac', '-f', 'flv', 'pipe:1'];
      case 'webm':
        return [...common, ...video, ...audio, ...duration, '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-c:a', 'libopus', '-f', 'webm', '-live', '1', 'pipe:1'];
      default:
        return [...common, ...video, ...audio, ...duration, '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(fps), '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', 'pipe:1'];
    }
  }

  async close(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL');
    for (const s of this.sockets) s.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}

/** A TCP port free right now (for ffmpeg `-listen 1` servers). */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Waits until something LISTENs on 127.0.0.1:port (read from /proc/net/tcp, so no connection is
 * made: an ffmpeg `-listen 1` server accepts exactly one).
 */
export async function waitListening(port: number, timeoutMs = 10_000): Promise<void> {
  const fs = await import('node:fs');
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const table = fs.readFileSync('/proc/net/tcp', 'utf8');
    if (table.split('\n').some((l) => { const f = l.trim().split(/\s+/); return f[1]?.endsWith(`:${hex}`) && f[3] === '0A'; })) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on port ${port}`);
}

/** ffmpeg as an RTMP server accepting ONE publisher, copying what it receives into `file` (FLV). */
export class RtmpSink {
  readonly exited: Promise<number | null>;
  private constructor(readonly url: string, readonly file: string, private readonly child: ChildProcess) {
    this.exited = new Promise((r) => child.on('close', (code) => r(code)));
  }

  static async start(file: string, key: string): Promise<RtmpSink> {
    const port = await freePort();
    const url = `rtmp://127.0.0.1:${port}/app/${key}`;
    const child = spawn(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-listen', '1', '-f', 'flv', '-i', url, '-c', 'copy', '-y', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.resume();
    const sink = new RtmpSink(url, file, child);
    await waitListening(port);
    return sink;
  }

  close(): void {
    this.child.kill('SIGKILL');
  }
}

/** ffmpeg as an RTMP server serving ONE player a live test pattern (H.264/AAC) for `seconds`. */
export class RtmpTestSource {
  readonly exited: Promise<number | null>;
  private constructor(readonly url: string, private readonly child: ChildProcess) {
    this.exited = new Promise((r) => child.on('close', (code) => r(code)));
  }

  static async start(seconds: number, key: string, size = '320x180'): Promise<RtmpTestSource> {
    const port = await freePort();
    const url = `rtmp://127.0.0.1:${port}/live/${key}`;
    const child = spawn(ffmpegPath, [
      '-hide_banner', '-loglevel', 'error',
      '-re', '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=15`, '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-pix_fmt', 'yuv420p', '-c:a', 'aac',
      '-f', 'flv', '-listen', '1', url,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.resume();
    const source = new RtmpTestSource(url, child);
    await waitListening(port);
    return source;
  }

  close(): void {
    this.child.kill('SIGKILL');
  }
}

/** Writes a short test file (`.mp4` H.264/AAC, or `.webm` VP8/Opus) for pull tests. */
export function writeTestFile(file: string, seconds: number): void {
  const codecs = file.endsWith('.webm')
    ? ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-c:a', 'libopus']
    : ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-pix_fmt', 'yuv420p', '-c:a', 'aac'];
  const res = spawnSync(ffmpegPath, [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=15', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds), ...codecs, '-y', file,
  ]);
  if (res.status !== 0) throw new Error(`could not write ${file}`);
}
