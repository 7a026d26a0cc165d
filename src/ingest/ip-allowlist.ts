/**
 * `CONCURRENT_LIMIT_WHITELIST`: bare IPs and CIDRs (IPv4 and IPv6), separated by commas and/or
 * whitespace, each trimmed; `*` exempts everyone. Pure.
 */
import { cidrContains, parseCidr, type Cidr, type IpBytes } from './ip-address';

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

export function allowlistContains(list: IpAllowlist, ip: IpBytes): boolean {
  return list.all || list.ranges.some((r) => cidrContains(r, ip));
}
