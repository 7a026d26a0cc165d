/**
 * The per-IP concurrent connection limit (`MAX_IP_CONCURRENT_CONNECTIONS`), counting publish,
 * receive and probe connections, including publishes still waiting for their key verification.
 * Loopback (unless disabled) and the allowlist are exempt. Pure bookkeeping, no I/O.
 */
import { allowlistContains, formatIp, isLoopback, parseAllowlist, parseIp, type IpAllowlist } from '../net/ip';

export interface IpLimitOptions {
  max: number;
  /** Raw CONCURRENT_LIMIT_WHITELIST. */
  whitelist: string;
  /** Loopback addresses are exempt (local encoders). Default true. */
  exemptLoopback?: boolean;
}

/** A held slot; `release()` is idempotent. */
export interface IpSlot {
  /** Canonical address text (for logs). */
  readonly ip: string;
  release(): void;
}

export class IpConnectionLimit {
  private readonly counts = new Map<string, number>();
  private readonly allowlist: IpAllowlist;
  private readonly exemptLoopback: boolean;

  constructor(private readonly options: IpLimitOptions) {
    this.allowlist = parseAllowlist(options.whitelist);
    this.exemptLoopback = options.exemptLoopback ?? true;
  }

  /** Whitelist entries that could not be parsed. */
  get invalidEntries(): readonly string[] {
    return this.allowlist.invalid;
  }

  isExempt(ipText: string): boolean {
    const ip = parseIp(ipText);
    if (ip === null) return false;
    return (this.exemptLoopback && isLoopback(ip)) || allowlistContains(this.allowlist, ip);
  }

  /** Takes a slot for this address, or returns null when the address is at its limit. */
  acquire(ipText: string): IpSlot | null {
    const parsed = parseIp(ipText);
    const ip = parsed === null ? ipText : formatIp(parsed);
    if (this.isExempt(ipText)) return { ip, release: () => undefined };
    const current = this.counts.get(ip) ?? 0;
    if (current >= this.options.max) return null;
    this.counts.set(ip, current + 1);
    let held = true;
    return {
      ip,
      release: () => {
        if (!held) return;
        held = false;
        const n = (this.counts.get(ip) ?? 1) - 1;
        if (n <= 0) this.counts.delete(ip);
        else this.counts.set(ip, n);
      },
    };
  }

  /** Connections currently counted for an address (0 for exempt ones). */
  count(ipText: string): number {
    const parsed = parseIp(ipText);
    return this.counts.get(parsed === null ? ipText : formatIp(parsed)) ?? 0;
  }
}
