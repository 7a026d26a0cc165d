/**
 * Load generator child process for bench/ws-relay.ts. Speaks RFC 6455 over raw TCP so a message
 * costs one writev: every publisher frame is [header + seq + timestamp] (fresh, 24 bytes) and a
 * shared immutable payload template; the masking key is 0 (legal; a browser would pick a random
 * one) so no client-side XOR is needed. Receivers parse server frames and check every payload
 * byte against the template, the sequence order and the length; latency = receive time - the
 * timestamp written by the publisher in this same process (same clock).
 */
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';

export type LoadCommand =
  | { type: 'setup'; port: number; streams: Array<{ channel: string; key: string }>; messageBytes: number; receiverKind: string }
  | { type: 'step'; mbps: number; seconds: number }
  | { type: 'idle'; port: number; count: number; channelPrefix: string }
  | { type: 'hold'; bytes: number; streams: number; messageBytes: number }
  | { type: 'close-idle' }
  | { type: 'teardown' };

export type LoadReply =
  | { type: 'ready'; connected: number; failed: number }
  | { type: 'step'; sentMessages: number; receivedMessages: number; sentBytes: number; receivedBytes: number; errors: number; backlogged: number; latencies: number[] }
  | { type: 'idle'; connected: number; failed: number }
  | { type: 'hold'; done: number }
  | { type: 'close-idle' }
  | { type: 'teardown' };

const META = 12; // u32 seq + f64 timestamp

function frameHeader(payload: number): Buffer {
  // FIN + binary, MASK bit, 64-bit or 16-bit length, masking key 0
  const ext = payload < 126 ? 0 : payload < 65536 ? 2 : 8;
  const h = Buffer.alloc(2 + ext + 4 + META);
  h[0] = 0x82;
  if (ext === 0) h[1] = 0x80 | payload;
  else if (ext === 2) {
    h[1] = 0x80 | 126;
    h.writeUInt16BE(payload, 2);
  } else {
    h[1] = 0x80 | 127;
    h.writeBigUInt64BE(BigInt(payload), 2);
  }
  return h; // mask key bytes stay 0; META follows at 2+ext+4
}

function template(messageBytes: number): Buffer {
  const t = Buffer.allocUnsafe(messageBytes - META);
  for (let i = 0; i < t.length; i++) t[i] = (i * 7) % 251;
  return t;
}

function handshake(port: number, path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    let head = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const status = head.subarray(0, head.indexOf('\r\n')).toString();
      if (!status.includes(' 101 ')) {
        socket.destroy();
        return reject(new Error(`${path}: ${status}`));
      }
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

class Receiver {
  private pending: Buffer | null = null;
  expected = 0;
  messages = 0;
  bytes = 0;
  errors = 0;
  constructor(readonly socket: net.Socket, private readonly tmpl: Buffer, private readonly onLatency: (ms: number) => void) {
    socket.on('data', (d: Buffer) => this.feed(d));
    socket.on('error', () => undefined);
  }
  private feed(d: Buffer): void {
    const buf = this.pending === null ? d : Buffer.concat([this.pending, d]);
    let off = 0;
    for (;;) {
      if (buf.length - off < 2) break;
      const opcode = buf[off]! & 0x0f;
      let len = buf[off + 1]! & 0x7f;
      let hl = 2;
      if (len === 126) {
        if (buf.length - off < 4) break;
        len = buf.readUInt16BE(off + 2);
        hl = 4;
      } else if (len === 127) {
        if (buf.length - off < 10) break;
        len = Number(buf.readBigUInt64BE(off + 2));
        hl = 10;
      }
      if (buf.length - off < hl + len) break;
      const payload = buf.subarray(off + hl, off + hl + len);
      off += hl + len;
      if (opcode !== 2) continue; // text `h`, close…
      this.messages++;
      this.bytes += len;
      const seq = payload.readUInt32BE(0);
      const sentAt = payload.readDoubleBE(4);
      if (seq !== this.expected || len !== this.tmpl.length + META || !payload.subarray(META).equals(this.tmpl)) this.errors++;
      this.expected = seq + 1;
      this.onLatency(performance.now() - sentAt);
    }
    this.pending = off === buf.length ? null : Buffer.from(buf.subarray(off));
  }
}

class Publisher {
  seq = 0;
  constructor(readonly socket: net.Socket) {
    socket.on('error', () => undefined);
    socket.on('data', () => undefined); // `h` heartbeats
  }
  send(header: Buffer, payload: Buffer): void {
    const h = Buffer.from(header);
    const meta = h.length - META;
    h.writeUInt32BE(this.seq++, meta);
    h.writeDoubleBE(performance.now(), meta + 4);
    this.socket.cork();
    this.socket.write(h);
    this.socket.write(payload);
    this.socket.uncork();
  }
}

let pairs: Array<{ pub: Publisher; rec: Receiver }> = [];
let idle: Publisher[] = [];
let messageBytes = 0;
let header: Buffer = Buffer.alloc(0);
let tmpl: Buffer = Buffer.alloc(0);
let latencies: number[] = [];
let port = 0;

const reply = (m: LoadReply) => process.send!(m);

async function setup(cmd: Extract<LoadCommand, { type: 'setup' }>): Promise<void> {
  port = cmd.port;
  messageBytes = cmd.messageBytes;
  header = frameHeader(messageBytes);
  tmpl = template(messageBytes);
  let failed = 0;
  const results = await Promise.all(
    cmd.streams.map(async ({ channel, key }) => {
      try {
        const recSock = await handshake(port, `/${channel}/${key}/${cmd.receiverKind}`);
        const rec = new Receiver(recSock, tmpl, (ms) => latencies.push(ms));
        const pubSock = await handshake(port, `/${channel}/${key}/publish`);
        return { pub: new Publisher(pubSock), rec };
      } catch {
        failed++;
        return null;
      }
    }),
  );
  pairs = results.filter((p): p is { pub: Publisher; rec: Receiver } => p !== null);
  reply({ type: 'ready', connected: pairs.length, failed });
}

async function step(cmd: Extract<LoadCommand, { type: 'step' }>): Promise<void> {
  latencies = [];
  const bytesPerMs = (cmd.mbps * 1e6) / 8 / 1000;
  const start = performance.now();
  const offsets = pairs.map(() => Math.random() * (messageBytes / bytesPerMs));
  const sent = pairs.map(() => 0);
  const startSeq = pairs.map((p) => p.pub.seq);
  const startRec = pairs.map((p) => ({ m: p.rec.messages, b: p.rec.bytes, e: p.rec.errors }));
  let backlogged = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      const elapsed = now - start;
      if (elapsed >= cmd.seconds * 1000) {
        clearInterval(tick);
        return resolve();
      }
      pairs.forEach((p, i) => {
        const due = Math.floor(Math.max(0, elapsed - offsets[i]!) * bytesPerMs / messageBytes) + 1;
        while (sent[i]! < due) {
          if (p.pub.socket.writableLength > 8 * messageBytes) {
            backlogged++;
            break; // client-side queue full: counted, and latency will show it
          }
          p.pub.send(header, tmpl);
          sent[i]!++;
        }
      });
    }, 2);
  });
  const deadline = performance.now() + 3000;
  const target = pairs.map((p) => p.pub.seq);
  while (performance.now() < deadline && pairs.some((p, i) => p.rec.expected < target[i]!)) await new Promise((r) => setTimeout(r, 20));
  reply({
    type: 'step',
    sentMessages: pairs.reduce((s, p, i) => s + p.pub.seq - startSeq[i]!, 0),
    receivedMessages: pairs.reduce((s, p, i) => s + p.rec.messages - startRec[i]!.m, 0),
    sentBytes: pairs.reduce((s, p, i) => s + (p.pub.seq - startSeq[i]!) * messageBytes, 0),
    receivedBytes: pairs.reduce((s, p, i) => s + p.rec.bytes - startRec[i]!.b, 0),
    errors: pairs.reduce((s, p, i) => s + p.rec.errors - startRec[i]!.e, 0),
    backlogged,
    latencies,
  });
}

async function openIdle(cmd: Extract<LoadCommand, { type: 'idle' }>): Promise<void> {
  let failed = 0;
  port = cmd.port;
  for (let i = 0; i < cmd.count; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, cmd.count - i) }, (_, j) =>
        handshake(port, `/${cmd.channelPrefix}${i + j}/k/publish`).catch(() => {
          failed++;
          return null;
        }),
      ),
    );
    for (const s of batch) if (s !== null) idle.push(new Publisher(s));
  }
  reply({ type: 'idle', connected: idle.length, failed });
}

async function hold(cmd: Extract<LoadCommand, { type: 'hold' }>): Promise<void> {
  // the idle publishers (no receivers) each push `bytes`, which their cache keeps
  const h = frameHeader(cmd.messageBytes);
  const t = template(cmd.messageBytes);
  const count = Math.ceil(cmd.bytes / cmd.messageBytes);
  const pubs = idle.slice(0, cmd.streams);
  for (const p of pubs) for (let i = 0; i < count; i++) p.send(h, t);
  while (pubs.some((p) => p.socket.writableLength > 0)) await new Promise((r) => setTimeout(r, 20));
  reply({ type: 'hold', done: pubs.length });
}

process.on('message', (cmd: LoadCommand) => {
  switch (cmd.type) {
    case 'setup': return void setup(cmd);
    case 'step': return void step(cmd);
    case 'idle': return void openIdle(cmd);
    case 'hold': return void hold(cmd);
    case 'close-idle':
      for (const s of idle) s.socket.destroy();
      idle = [];
      reply({ type: 'close-idle' });
      return;
    case 'teardown':
      for (const p of pairs) {
        p.pub.socket.destroy();
        p.rec.socket.destroy();
      }
      for (const s of idle) s.socket.destroy();
      pairs = [];
      idle = [];
      reply({ type: 'teardown' });
      return;
  }
});
