/**
 * A pass-through TCP proxy that timestamps the first byte a publisher sends (the RTMP handshake's
 * C0+C1). The latency bench puts one in front of each RTMP server so that both servers are timed
 * from the same moment, taken the same way. Costs one extra loopback hop (well under 1 ms).
 */
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { RtmpTap } from './latency-rtmp-tap';

export class FirstByteProxy {
  /** Date.now() of the first byte received from each connection, in connection order. */
  readonly firstBytes: number[] = [];
  /** What each connection's publisher sent, read as RTMP (keyframe arrival times). */
  readonly taps: RtmpTap[] = [];
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  /** `recordFrames`: each connection's tap also records every H.264 frame's arrival (glass-to-glass bench). */
  constructor(private readonly targetPort: number, private readonly targetHost = '127.0.0.1', private readonly recordFrames = false) {
    this.server = net.createServer((client) => {
      client.setNoDelay(true);
      const upstream = net.connect({ port: this.targetPort, host: this.targetHost });
      upstream.setNoDelay(true);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.once('data', () => this.firstBytes.push(Date.now()));
      const tap = new RtmpTap();
      tap.recordFrames = this.recordFrames;
      this.taps.push(tap);
      client.on('data', (data: Buffer) => tap.push(data));
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Resolves with the first-byte time of the connection at `index` (0-based), once it happened. */
  async firstByte(index: number, timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.firstBytes.length <= index) {
      if (Date.now() > deadline) throw new Error(`no RTMP connection #${index + 1} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.firstBytes[index]!;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
