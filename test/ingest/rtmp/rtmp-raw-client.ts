/**
 * A minimal RTMP publisher that sends everything in ONE TCP write: handshake, connect,
 * createStream, publish, then metadata and audio/video sequence headers. ffmpeg and OBS wait for
 * `NetStream.Publish.Start` before sending media; a hostile client need not, and node-media-server
 * parses those bytes right after the `publish` command, in the same socket read.
 */
import * as net from 'node:net';

const amf = {
  str: (s: string) => Buffer.concat([Buffer.from([0x02, s.length >> 8, s.length & 0xff]), Buffer.from(s)]),
  num: (n: number) => {
    const b = Buffer.alloc(9);
    b[0] = 0x00;
    b.writeDoubleBE(n, 1);
    return b;
  },
  nul: () => Buffer.from([0x05]),
  obj: (o: Record<string, string | number>) => Buffer.concat([
    Buffer.from([0x03]),
    ...Object.entries(o).map(([k, v]) => Buffer.concat([Buffer.from([k.length >> 8, k.length & 0xff]), Buffer.from(k), typeof v === 'number' ? amf.num(v) : amf.str(v)])),
    Buffer.from([0, 0, 0x09]),
  ]),
};

/** One RTMP message as fmt-0 chunk + fmt-3 continuations, default chunk size 128. */
function message(csid: number, type: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(12);
  header[0] = csid;
  header.writeUIntBE(payload.length, 4, 3);
  header[7] = type;
  header.writeUInt32LE(streamId, 8);
  const parts: Buffer[] = [header];
  for (let i = 0; i < payload.length; i += 128) {
    if (i > 0) parts.push(Buffer.from([0xc0 | csid]));
    parts.push(payload.subarray(i, i + 128));
  }
  return Buffer.concat(parts);
}

export function pipelinedPublish(port: number, channel: string, key: string): net.Socket {
  const bytes = Buffer.concat([
    Buffer.from([3]), Buffer.alloc(1536), Buffer.alloc(1536), // C0 C1 C2
    message(3, 0x14, 0, Buffer.concat([amf.str('connect'), amf.num(1), amf.obj({ app: channel, type: 'nonprivate', tcUrl: `rtmp://127.0.0.1:${port}/${channel}` })])),
    message(3, 0x14, 0, Buffer.concat([amf.str('createStream'), amf.num(2), amf.nul()])),
    message(8, 0x14, 1, Buffer.concat([amf.str('publish'), amf.num(3), amf.nul(), amf.str(key), amf.str('live')])),
    message(4, 0x12, 1, Buffer.concat([amf.str('@setDataFrame'), amf.str('onMetaData'), amf.obj({ width: 320, height: 180 })])),
    message(4, 0x08, 1, Buffer.from([0xaf, 0x00, 0x12, 0x10])),
    message(4, 0x09, 1, Buffer.from([0x17, 0x00, 0, 0, 0, 0x01, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x1e, 0x01, 0x00, 0x02, 0x68, 0xce])),
  ]);
  const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
  socket.on('data', () => undefined);
  socket.on('error', () => undefined);
  return socket;
}
