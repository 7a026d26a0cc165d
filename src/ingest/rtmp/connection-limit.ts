/**
 * Admission of RTMP connections, before node-media-server spends anything on them:
 * - per address: at most `MAX_IP_CONCURRENT_CONNECTIONS` open connections (publishers and players
 *   alike), with the WS ingest's bookkeeping (`IpConnectionLimit`) and exemptions (loopback unless
 *   disabled, `CONCURRENT_LIMIT_WHITELIST`); counted for RTMP separately from WS;
 * - overall: at most `RTMP_MAX_PENDING_HANDSHAKES` connections that have not yet asked to publish
 *   or play (a handshake, an idle port scan); exempt addresses are not counted.
 * A refused connection is closed at once (RTMP has no way to say why before its handshake).
 */
import type { Socket } from 'node:net';
import { IpConnectionLimit, type IpSlot } from '../ip-connection-limit';

export interface RtmpConnectionLimitOptions {
  /** MAX_IP_CONCURRENT_CONNECTIONS. */
  maxPerIp: number;
  /** Raw CONCURRENT_LIMIT_WHITELIST. */
  whitelist: string;
  /** Loopback addresses are exempt (castline's own encoders and steps). Default true. */
  exemptLoopback?: boolean;
  /** RTMP_MAX_PENDING_HANDSHAKES. */
  maxPending: number;
}

export type Admission = { admitted: true } | { admitted: false; why: 'per-ip' | 'pending' };

export class RtmpConnectionLimit {
  private readonly perIp: IpConnectionLimit;
  private readonly pending = new Set<Socket>();

  constructor(private readonly options: RtmpConnectionLimitOptions) {
    this.perIp = new IpConnectionLimit({ max: options.maxPerIp, whitelist: options.whitelist, exemptLoopback: options.exemptLoopback ?? true });
  }

  get invalidWhitelistEntries(): readonly string[] {
    return this.perIp.invalidEntries;
  }

  /** Connections still waiting for their publish or play command (exempt addresses not counted). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Takes a slot for a new connection (released when it closes), or says why not. */
  admit(socket: Socket): Admission {
    const ip = socket.remoteAddress ?? '';
    const exempt = this.perIp.isExempt(ip);
    if (!exempt && this.pending.size >= this.options.maxPending) return { admitted: false, why: 'pending' };
    const slot: IpSlot | null = this.perIp.acquire(ip);
    if (slot === null) return { admitted: false, why: 'per-ip' };
    if (!exempt) this.pending.add(socket);
    socket.once('close', () => {
      this.pending.delete(socket);
      slot.release();
    });
    return { admitted: true };
  }

  /** The connection asked to publish or play: its handshake is over. */
  started(socket: Socket | undefined): void {
    if (socket !== undefined) this.pending.delete(socket);
  }
}
