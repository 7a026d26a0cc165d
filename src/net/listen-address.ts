/** Facts about the address a listener binds to (`BIND_ADDRESS`). */

/** The bind address means "every interface" (0.0.0.0, ::, or empty). */
export function isWildcardAddress(address: string): boolean {
  return address === '' || address === '0.0.0.0' || address === '::' || address === '[::]';
}

/** The bind address is reachable from this machine only. */
export function isLoopbackAddress(address: string): boolean {
  return address === 'localhost' || address === '::1' || address === '[::1]' || address.startsWith('127.');
}

/** The host local clients use to reach a listener bound to `address` (IPv6 literals bracketed for URLs). */
export function localHostFor(address: string): string {
  if (isWildcardAddress(address)) return '127.0.0.1';
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
}
