/**
 * IP address text → 16 bytes (IPv4 as IPv4-mapped IPv6), CIDR parsing and matching, loopback.
 * Pure functions; no DNS. Accepts the forms uWS reports (`127.0.0.1`, `::1`, full-length
 * `0000:…:0001`, `::ffff:127.0.0.1`).
 */
import { isIPv4, isIPv6 } from 'node:net';

export type IpBytes = Uint8Array; // always 16 bytes

function v4Bytes(text: string): number[] {
  return text.split('.').map((p) => Number(p));
}

/** Parses an IPv4 or IPv6 literal (an IPv6 zone `%eth0` is ignored). Returns null if invalid. */
export function parseIp(raw: string): IpBytes | null {
  let text = raw.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const out = new Uint8Array(16);
  if (isIPv4(text)) {
    out[10] = 0xff;
    out[11] = 0xff;
    out.set(v4Bytes(text), 12);
    return out;
  }
  if (!isIPv6(text)) return null;
  let tail: number[] = [];
  let body = text;
  const lastColon = body.lastIndexOf(':');
  if (body.includes('.')) {
    tail = v4Bytes(body.slice(lastColon + 1));
    body = body.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = body.includes('::') ? (body.split('::') as [string, string]) : [body, null];
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === null || rest === '' ? [] : rest.split(':');
  const groups =
    rest === null ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - restGroups.length).fill('0'), ...restGroups];
  if (groups.length !== 8) return null;
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  if (tail.length === 4) out.set(tail, 12);
  return out;
}

/** True for IPv4-mapped (or plain IPv4) addresses. */
export function isV4Mapped(ip: IpBytes): boolean {
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return false;
  return ip[10] === 0xff && ip[11] === 0xff;
}

export interface Cidr {
  base: IpBytes;
  /** Prefix length in bits of the 128-bit form (an IPv4 /24 is stored as /120). */
  bits: number;
}

/** Parses `a.b.c.d/n`, `x::y/n` or a bare address (a /32 or /128). Null if invalid. */
export function parseCidr(raw: string): Cidr | null {
  const text = raw.trim();
  const slash = text.indexOf('/');
  const base = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (base === null) return null;
  const v4 = isIPv4(slash < 0 ? text : text.slice(0, slash));
  const max = v4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const n = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(n) || Number(n) > max) return null;
    bits = Number(n);
  }
  return { base, bits: v4 ? bits + 96 : bits };
}

export function cidrContains(cidr: Cidr, ip: IpBytes): boolean {
  let bits = cidr.bits;
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((cidr.base[i]! & mask) !== (ip[i]! & mask)) return false;
  }
  return true;
}

const LOOPBACKS: Cidr[] = [parseCidr('127.0.0.0/8')!, parseCidr('::1/128')!];

/** 127.0.0.0/8, ::1 and ::ffff:127.x.y.z. */
export function isLoopback(ip: IpBytes): boolean {
  return LOOPBACKS.some((c) => cidrContains(c, ip));
}

/** Canonical text of an address: dotted IPv4 for IPv4(-mapped), else RFC 5952-ish compressed IPv6. */
export function formatIp(ip: IpBytes): string {
  if (isV4Mapped(ip)) return Array.from(ip.subarray(12)).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((ip[i]! << 8) | ip[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
