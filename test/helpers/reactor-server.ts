/**
 * A reactor stand-in as mmids users write them: a real local HTTP server answering
 * `POST /reactor` with `{"stream_name": …}`. `answer(streamName, attempt)` decides each reply:
 * a status and body, or 'hang' (never answers).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type ReactorReply = { status: number; body?: string } | 'hang';

export class ReactorServer {
  readonly requests: Array<{ streamName: string; contentType: string; at: number }> = [];
  answer: (streamName: string, attempt: number) => ReactorReply = () => ({ status: 404 });
  #server: http.Server;
  port = 0;

  constructor() {
    this.#server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        let streamName = '';
        try {
          streamName = String((JSON.parse(body) as { stream_name?: unknown }).stream_name ?? '');
        } catch {
          // recorded with an empty name
        }
        this.requests.push({ streamName, contentType: String(req.headers['content-type'] ?? ''), at: Date.now() });
        const reply = this.answer(streamName, this.requests.filter((r) => r.streamName === streamName).length);
        if (reply === 'hang') return;
        res.writeHead(reply.status, { 'content-type': 'text/plain' });
        res.end(reply.body ?? '');
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/reactor`;
  }

  asked(streamName: string): number {
    return this.requests.filter((r) => r.streamName === streamName).length;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
