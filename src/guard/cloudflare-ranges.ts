// Cloudflare's published address ranges (https://www.cloudflare.com/ips-v4 and /ips-v6), as listed in 2025.
//
// Why they matter: the Workers runtime rejects connect() to Cloudflare's own addresses ("Outbound TCP
// sockets to Cloudflare IP ranges are blocked", developers.cloudflare.com/workers/runtime-apis/tcp-sockets),
// so a Cloudflare-proxied host cannot be reached from a Worker. Refresh this list from those two URLs.
import { cidrContains, formatCidr, parseCidr, unmapped, type Cidr, type IpAddress } from '../core/ip.ts';

export const CLOUDFLARE_IPV4 = [
  '173.245.48.0/20',
  '103.21.244.0/22',
  '103.22.200.0/22',
  '103.31.4.0/22',
  '141.101.64.0/18',
  '108.162.192.0/18',
  '190.93.240.0/20',
  '188.114.96.0/20',
  '197.234.240.0/22',
  '198.41.128.0/17',
  '162.158.0.0/15',
  '104.16.0.0/13',
  '104.24.0.0/14',
  '172.64.0.0/13',
  '131.0.72.0/22',
] as const;

export const CLOUDFLARE_IPV6 = [
  '2400:cb00::/32',
  '2606:4700::/32',
  '2803:f800::/32',
  '2405:b500::/32',
  '2405:8100::/32',
  '2a06:98c0::/29',
  '2c0f:f248::/32',
] as const;

/** Cloudflare's public resolver (1.1.1.1, 1.0.0.1; AS13335): Cloudflare addresses missing from ips-v4. Its IPv6 is in 2606:4700::/32. */
export const CLOUDFLARE_RESOLVER_IPV4 = ['1.1.1.0/24', '1.0.0.0/24'] as const;

const RANGES: readonly Cidr[] = [...CLOUDFLARE_IPV4, ...CLOUDFLARE_RESOLVER_IPV4, ...CLOUDFLARE_IPV6].map((text) => parseCidr(text)!);

/** The Cloudflare range holding `addr` (also as IPv4-mapped IPv6), or null. */
export function cloudflareRange(addr: IpAddress): string | null {
  const candidate = unmapped(addr);
  const range = RANGES.find((r) => cidrContains(r, candidate));
  return range ? formatCidr(range) : null;
}
