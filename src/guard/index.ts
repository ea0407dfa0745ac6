// The guard's public surface: what hosts import to build their TargetGuard.
export { createGuard, checkPort, type GuardOptions, type GuardRuntime } from './guard.ts';
export { decideAddress, matchAllowList, parseCodeExecution, parsePolicy, parseAllowEntry, BLOCKED_RANGES, type Decision, type TargetPolicy } from './policy.ts';
export { dohResolver, CLOUDFLARE_DOH_JSON, GOOGLE_DOH_JSON, type Resolver, type FetchLike, type DohOptions } from './resolver.ts';
export { cloudflareRange, CLOUDFLARE_IPV4, CLOUDFLARE_IPV6, CLOUDFLARE_RESOLVER_IPV4 } from './cloudflare-ranges.ts';
export { classifyHost, localOnlyReason, isLocalhostName, type HostTarget } from './names.ts';
export { parseIp, parseIpv4, parseIpv4Strict, parseIpv6, formatIp, parseCidr, formatCidr, cidrContains, networkOf, type IpAddress, type Cidr } from '../core/ip.ts';
