/**
 * A WebSocket publisher as a browser or an ffmpeg pipe would be: ffmpeg generates a live test
 * pattern (FLV H.264/AAC, or WebM VP8/Opus like MediaRecorder), and its output is sent as binary
 * messages — WebM in ~500 ms slices cut at arbitrary byte offsets, as MediaRecorder does — with
 * `h` heartbeats.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import WebSocket from 'ws';
import { ffmpegPath } from '../../src/encoding/binaries';

export type WsMediaKind = 'flv' | 'webm';

export interface WsPublisher {
  /** Resolves when the upgrade succeeded; rejects with the HTTP status when refused. */
  opened: Promise<void>;
  /** Resolves when the socket closed (by either side). */
  closed: Promise<{ code: number; reason: string }>;
  /** Text messages the server sent (heartbeats and `ERROR:` lines). */
  texts: string[];
  ws: WebSocket;
  stop(): void;
}

const running = new Set<ChildProcess>();

/** `options`: the WebSocket client's (e.g. `ca` to trust a test certificate for `wss://`). */
export function publishWs(url: string, kind: WsMediaKind, seconds: number, options: WebSocket.ClientOptions = {}): WsPublisher {
  const ws = new WebSocket(url, options);
  const texts: string[] = [];
  const codec = kind === 'flv'
    ? ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-c:a', 'aac', '-f', 'flv']
    : ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-g', '30', '-c:a', 'libopus', '-f', 'webm'];
  let ff: ChildProcess | null = null;
  let heartbeat: NodeJS.Timeout | null = null;
  let slicer: NodeJS.Timeout | null = null;
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`refused with ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', (err) => reject(err));
  });
  opened.catch(() => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.once('error', () => resolve({ code: 1006, reason: 'error' }));
  });
  ws.on('message', (data, isBinary) => {
    if (!isBinary) texts.push(data.toString());
  });
  const stop = () => {
    if (heartbeat) clearInterval(heartbeat);
    if (slicer) clearInterval(slicer);
    ff?.kill('SIGKILL');
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
  };
  opened.then(() => {
    ff = spawn(ffmpegPath, [
      '-hide_banner', '-loglevel', 'error', '-re',
      '-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=15',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', String(seconds), '-pix_fmt', 'yuv420p', ...codec, 'pipe:1',
    ], { stdio: ['ignore', 'pipe', 'ignore'] });
    running.add(ff);
    const proc = ff;
    let pending: Buffer[] = [];
    const flush = () => {
      if (pending.length > 0 && ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat(pending));
      pending = [];
    };
    proc.stdout!.on('data', (chunk: Buffer) => {
      if (kind === 'flv') {
        if (ws.readyState === WebSocket.OPEN) ws.send(chunk);
      } else {
        pending.push(chunk);
      }
    });
    if (kind === 'webm') slicer = setInterval(flush, 500);
    heartbeat = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('h'), 2000);
    proc.on('close', () => {
      running.delete(proc);
      flush();
      stop();
    });
  }, () => undefined);
  return { opened, closed, texts, ws, stop };
}

export async function killWsPublishers(): Promise<void> {
  for (const p of running) p.kill('SIGKILL');
  running.clear();
}
