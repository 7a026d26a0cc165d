/**
 * IP addresses, CIDR ranges and allow-lists, on `ipaddr.js`: one module for the WS and RTMP
 * ingest limits and the workflows' `allow_ips` / `deny_ips`. Every address is held in its IPv6
 * form (IPv4 as IPv4-mapped), so `10.0.0.1` and `::ffff:10.0.0.1` are the same address. Accepts
 * the forms uWS and node report (`127.0.0.1`, `::1`, full-length `0000:…:0001`,
 * `::ffff:127.0.0.1`, `[fe80::1%eth0]`); no DNS, no legacy IPv4 forms (`1.2.3`, hex, octal).
 */
import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

export type IpAddress = ipaddr.IPv6;
/** A range: base address (IPv6 form) and prefix length in bits of the 128-bit form (an IPv4 /24 is /120). */
export type Cidr = [IpAddress, number];

function strict(raw: string): { text: string; v4: boolean } | null {
  let text = raw.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  if (isIPv4(text)) return { text, v4: true };
  return isIPv6(text) ? { text, v4: false } : null;
}

/** Parses an IPv4 or IPv6 literal (an IPv6 zone `%eth0` is ignored). Null if invalid. */
export function parseIp(raw: string): IpAddress | null {
  const checked = strict(raw);
  if (checked === null) return null;
  return checked.v4 ? ipaddr.IPv4.parse(checked.text).toIPv4MappedAddress() : ipaddr.IPv6.parse(checked.text);
}

/** Parses `a.b.c.d/n`, `x::y/n` or a bare address (a /32 or /128). Null if invalid. */
export function parseCidr(raw: string): Cidr | null {
  const text = raw.trim();
  const slash = text.indexOf('/');
  const checked = strict(slash < 0 ? text : text.slice(0, slash));
  if (checked === null) return null;
  const max = checked.v4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const n = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(n) || Number(n) > max) return null;
    bits = Number(n);
  }
  return [parseIp(checked.text)!, checked.v4 ? bits + 96 : bits];
}

export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  return ip.match(cidr);
}

/** 127.0.0.0/8, ::1 and ::ffff:127.x.y.z. */
export function isLoopback(ip: IpAddress): boolean {
  return ip.isIPv4MappedAddress() ? ip.toIPv4Address().range() === 'loopback' : ip.range() === 'loopback';
}

/** Canonical text: dotted IPv4 for IPv4(-mapped), else RFC 5952 IPv6. */
export function formatIp(ip: IpAddress): string {
  return ip.isIPv4MappedAddress() ? ip.toIPv4Address().toString() : ip.toRFC5952String();
}

/**
 * An allow-list (`CONCURRENT_LIMIT_WHITELIST`, `allow_ips=`, `deny_ips=`): bare IPs and CIDRs,
 * separated by commas and/or whitespace; `*` is everyone.
 */
export interface IpAllowlist {
  all: boolean;
  ranges: Cidr[];
  /** Entries that are neither `*`, an IP nor a CIDR (reported once at start-up). */
  invalid: string[];
}

export function parseAllowlist(raw: string): IpAllowlist {
  const list: IpAllowlist = { all: false, ranges: [], invalid: [] };
  for (const entry of raw.split(/[\s,]+/)) {
    if (entry === '') continue;
    if (entry === '*') {
      list.all = true;
      continue;
    }
    const cidr = parseCidr(entry);
    if (cidr === null) list.invalid.push(entry);
    else list.ranges.push(cidr);
  }
  return list;
}

export function allowlistContains(list: IpAllowlist, ip: IpAddress): boolean {
  return list.all || list.ranges.some((r) => ip.match(r));
}
