/**
 * HTTP over a raw TCP socket: the request target goes out exactly as written (fetch and
 * http.request normalise or reject some), and the answer is read as bytes.
 */
import * as net from 'node:net';

export interface RawAnswer {
  /** Status code of the first response line; 0 when nothing (or no status line) came back. */
  status: number;
  /** Everything the server sent. */
  text: string;
  /** The body after the first blank line. */
  body: string;
  /** The server closed the connection (rather than the client timing out). */
  closedByServer: boolean;
}

/** Sends `GET {target}` (or the whole `request` text when it contains a space) and reads until the server closes or `timeoutMs`. */
export function rawRequest(port: number, target: string, timeoutMs = 3000, keepAlive = false): Promise<RawAnswer> {
  const request = target.includes(' ')
    ? target
    : `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${keepAlive ? '' : 'Connection: close\r\n'}\r\n`;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let text = '';
    let closedByServer = true;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => {
      closedByServer = false;
      socket.destroy();
    }, timeoutMs);
    socket.on('close', () => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      const cut = text.indexOf('\r\n\r\n');
      resolve({ status: m ? Number(m[1]) : 0, text, body: cut >= 0 ? text.slice(cut + 4) : '', closedByServer });
    });
  });
}
