/**
 * Ambient types for node-media-server 4.4.3, which ships none (`@types/node-media-server` describes
 * v2 and is wrong for v4). Only the surface castline touches is typed, read from the 4.4.3 source:
 * src/index.js, src/core/{context,logger}.js, src/session/rtmp_session.js,
 * src/server/{rtmp_server,broadcast_server}.js, src/store/lightweight_store.js.
 *
 * Everything here is the edge: src/ingest/rtmp/ is the only importer.
 */
declare module 'node-media-server' {
  import type { Server, Socket } from 'node:net';

  namespace NodeMediaServer {
    /** An FLV/RTMP media packet as NMS parses it (src/core/avpacket.js). Opaque to castline. */
    interface Packet {
      codec_type: number;
      flags: number;
      dts: number;
      pts: number;
      size: number;
      data: Buffer;
    }

    /** The RTMP protocol state machine of one connection (src/protocol/rtmp.js). */
    interface RtmpProtocol {
      /** Parses bytes from the socket; returns an error string or null. Throws on some malformed input. */
      parserData(buffer: Buffer): string | null;
      /** Called for every audio/video/data packet of a publisher; NMS sets it to `session.onPacket`. */
      onPacketCallback: (packet: Packet) => void;
    }

    /** The per-path fan-out (src/server/broadcast_server.js); one per `/{app}/{name}`. */
    interface Broadcast {
      streamPath: string;
      publisher: Session | null;
      subscribers: Map<string, Session>;
      /** Resume window after the publisher leaves (default 30 000 ms); `donePublish` waits for it. */
      publishGraceMs: number;
      /** Packets since the last keyframe as FLV tags / RTMP chunks, sent to a new player (null before a keyframe). */
      flvGopCache: Set<Buffer> | null;
      rtmpGopCache: Set<Buffer> | null;
    }

    /** A connection (src/session/base_session.js + rtmp_session.js). */
    interface Session {
      /** base36 time + 8 random characters. */
      id: string;
      /** `address:port`. */
      ip: string;
      protocol: string;
      isPublisher: boolean;
      streamHost: string;
      /** Empty string when NMS found the name invalid (the events still fire). */
      streamApp: string;
      streamName: string;
      streamPath: string;
      streamQuery: Record<string, string | string[] | undefined>;
      createTime: number;
      endTime: number;
      inBytes: number;
      outBytes: number;
      /** RTMP sessions only. */
      socket?: Socket;
      /** RTMP sessions only. */
      rtmp?: RtmpProtocol;
      /** RTMP sessions only: the Broadcast of its path (a placeholder until the path is known). */
      broadcast?: Broadcast;
      /** RTMP: `socket.end()` (a half-close: NMS keeps parsing what the peer still sends). */
      close(): void;
    }

    interface Config {
      bind?: string;
      rtmp?: { port?: number };
      http?: { port?: number };
      record?: { auto?: boolean; path?: string };
      store?: { path?: string };
      webadmin?: { enable?: boolean };
      auth?: { play?: boolean; publish?: boolean; secret?: string };
      notify?: { url?: string };
    }

    type EventName = 'prePublish' | 'postPublish' | 'donePublish' | 'prePlay' | 'postPlay' | 'donePlay' | 'postRecord' | 'doneRecord';
  }

  class NodeMediaServer {
    constructor(config: NodeMediaServer.Config, configPath?: string);
    on(event: NodeMediaServer.EventName, listener: (session: NodeMediaServer.Session) => void): void;
    run(): Promise<void>;
    stop(): Promise<void>;
    rtmpServer: {
      tcpServer?: Server;
      /** Makes a session of an accepted connection (any listener's: castline's extra RTMP/RTMPS listeners use it too). */
      handleRequest: (socket: Socket) => void;
      /** Returns the listener's `error` handler; the default one calls process.exit(1). */
      handleListenError: (name: string, port: number) => (err: Error) => void;
    };
    store: { options: { signals: boolean; lock: boolean; dir: string } };
  }
  export = NodeMediaServer;
}

declare module 'node-media-server/src/core/context.js' {
  import type { EventEmitter } from 'node:events';
  import type NodeMediaServer = require('node-media-server');
  /** Process-wide NMS state: one NMS per process. */
  const Context: {
    config: NodeMediaServer.Config;
    sessions: Map<string, NodeMediaServer.Session>;
    broadcasts: Map<string, NodeMediaServer.Broadcast>;
    eventEmitter: EventEmitter;
  };
  export = Context;
}

declare module 'node-media-server/src/server/broadcast_server.js' {
  import type NodeMediaServer = require('node-media-server');
  /** The per-path fan-out; `new BroadcastServer(path)` is what NMS creates for a new path. */
  const BroadcastServer: new (streamPath: string) => NodeMediaServer.Broadcast;
  export = BroadcastServer;
}

declare module 'node-media-server/src/protocol/flv.js' {
  import type NodeMediaServer = require('node-media-server');
  /** FLV (de)muxing helpers. */
  const Flv: {
    /** One FLV tag body as the packet NMS's parser makes of it (flags: 0 audio header, 2 video header, 3 keyframe, 5 metadata, …). */
    parserTag(type: number, time: number, size: number, data: Buffer): NodeMediaServer.Packet;
  };
  export = Flv;
}

declare module 'node-media-server/src/core/logger.js' {
  /** Module-singleton console logger; the NodeMediaServer constructor forces level "debug". */
  const logger: {
    level: string;
    log(message: string, level?: string): void;
  };
  export = logger;
}
