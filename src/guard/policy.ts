// Target address policy: the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890) as a pure decision.
//
// How it works: an address explicitly allowed by the policy passes. Otherwise the first rule whose
// range holds it decides: `block` refuses, `global` passes (globally reachable assignments inside a
// blocked block), `embedded` judges the IPv4 address carried inside an IPv6 one. No rule: allowed.
// Every IPv6 block outside 2000::/3 (global unicast, RFC 4291 §2.4) has a rule, so only public space passes.
import { InvalidInput } from '../core/errors.ts';
import { cidrContains, embeddedIpv4, formatCidr, formatIp, networkOf, parseCidr, parseIpv4Strict, parseIpv6, unmapped, type Cidr, type IpAddress } from '../core/ip.ts';

export interface TargetPolicy {
  /** CIDRs explicitly permitted even though a default rule blocks them (local development: loopback). */
  readonly allow: readonly string[];
}

export type Decision = { allowed: true } | { allowed: false; reason: string; range: string };

type Rule =
  | { range: string; name: string; action: 'block' | 'global' }
  | {
      range: string;
      name: string;
      action: 'embedded';
      /** Where the IPv4 address starts in the 16 bytes. */
      offset: number;
      /** IPv4-mapped only: the socket really talks to that IPv4 address, so the allow list carries over. */
      allowListCarries: boolean;
      /** Bytes [from, to) that must be zero for the IPv4 position to be known. */
      zero?: [number, number];
    };

const IPV4_RULES: readonly Rule[] = [
  { range: '255.255.255.255/32', name: 'limited broadcast', action: 'block' }, // RFC 919 §7
  { range: '0.0.0.0/8', name: '"this network", unspecified', action: 'block' }, // RFC 1122 §3.2.1.3
  { range: '10.0.0.0/8', name: 'private network', action: 'block' }, // RFC 1918
  { range: '100.64.0.0/10', name: 'shared address space, CGNAT', action: 'block' }, // RFC 6598
  { range: '127.0.0.0/8', name: 'loopback', action: 'block' }, // RFC 1122 §3.2.1.3
  { range: '169.254.0.0/16', name: 'link-local, cloud metadata', action: 'block' }, // RFC 3927
  { range: '172.16.0.0/12', name: 'private network', action: 'block' }, // RFC 1918
  { range: '192.0.0.0/24', name: 'IETF protocol assignments', action: 'block' }, // RFC 6890 §2.1
  { range: '192.0.2.0/24', name: 'documentation, TEST-NET-1', action: 'block' }, // RFC 5737
  { range: '192.88.99.0/24', name: '6to4 relay anycast, deprecated', action: 'block' }, // RFC 7526
  { range: '192.168.0.0/16', name: 'private network', action: 'block' }, // RFC 1918
  { range: '198.18.0.0/15', name: 'benchmarking', action: 'block' }, // RFC 2544
  { range: '198.51.100.0/24', name: 'documentation, TEST-NET-2', action: 'block' }, // RFC 5737
  { range: '203.0.113.0/24', name: 'documentation, TEST-NET-3', action: 'block' }, // RFC 5737
  { range: '224.0.0.0/4', name: 'multicast', action: 'block' }, // RFC 5771
  { range: '240.0.0.0/4', name: 'reserved', action: 'block' }, // RFC 1112 §4
];

const IPV6_RULES: readonly Rule[] = [
  { range: '::/128', name: 'unspecified', action: 'block' }, // RFC 4291 §2.5.2
  { range: '::1/128', name: 'loopback', action: 'block' }, // RFC 4291 §2.5.3
  { range: '::ffff:0:0/96', name: 'IPv4-mapped IPv6', action: 'embedded', offset: 12, allowListCarries: true }, // RFC 4291 §2.5.5.2
  { range: '::/96', name: 'IPv4-compatible IPv6, deprecated', action: 'embedded', offset: 12, allowListCarries: false }, // RFC 4291 §2.5.5.1
  { range: '64:ff9b::/96', name: 'NAT64 well-known prefix', action: 'embedded', offset: 12, allowListCarries: false }, // RFC 6052 §2.1
  // RFC 8215: the operator picks the layout (RFC 6052 §2.2); only the /96 one (zeros before the IPv4) is readable.
  { range: '64:ff9b:1::/48', name: 'NAT64 local-use prefix', action: 'embedded', offset: 12, allowListCarries: false, zero: [6, 12] },
  { range: '100::/64', name: 'discard-only', action: 'block' }, // RFC 6666
  // Globally reachable assignments inside 2001::/23 (IANA IPv6 special-purpose registry, "Globally Reachable: True").
  { range: '2001:1::1/128', name: 'PCP anycast', action: 'global' }, // RFC 7723
  { range: '2001:1::2/128', name: 'TURN anycast', action: 'global' }, // RFC 8155
  { range: '2001:1::3/128', name: 'DNS-SD SRP anycast', action: 'global' }, // RFC 9665
  { range: '2001:3::/32', name: 'AMT', action: 'global' }, // RFC 7450
  { range: '2001:4:112::/48', name: 'AS112-v6', action: 'global' }, // RFC 7535
  { range: '2001:20::/28', name: 'ORCHIDv2', action: 'global' }, // RFC 7343
  { range: '2001:30::/28', name: 'drone remote ID DETs', action: 'global' }, // RFC 9374
  // The rest of 2001::/23: Teredo 2001::/32 (RFC 4380), benchmarking 2001:2::/48 (RFC 5180), old ORCHID 2001:10::/28.
  { range: '2001::/23', name: 'IETF protocol assignments', action: 'block' }, // RFC 2928
  { range: '2001:db8::/32', name: 'documentation', action: 'block' }, // RFC 3849
  { range: '2002::/16', name: '6to4', action: 'embedded', offset: 2, allowListCarries: false }, // RFC 3056 §2
  { range: '3fff::/20', name: 'documentation', action: 'block' }, // RFC 9637
  { range: '5f00::/16', name: 'SRv6 SIDs', action: 'block' }, // RFC 9602
  { range: 'fc00::/7', name: 'unique local', action: 'block' }, // RFC 4193
  { range: 'fe80::/10', name: 'link-local', action: 'block' }, // RFC 4291 §2.5.6
  { range: 'fec0::/10', name: 'site-local, deprecated', action: 'block' }, // RFC 3879
  { range: 'ff00::/8', name: 'multicast', action: 'block' }, // RFC 4291 §2.7
  // Everything else outside 2000::/3 (global unicast) is unassigned: the IANA IPv6 address space registry.
  ...['::/8', '100::/8', '200::/7', '400::/6', '800::/5', '1000::/4', '4000::/3', '6000::/3', '8000::/3', 'a000::/3', 'c000::/3', 'e000::/4', 'f000::/5', 'f800::/6', 'fe00::/9'].map(
    (range): Rule => ({ range, name: 'reserved by the IETF', action: 'block' }), // RFC 4291 §2.4
  ),
];

type CompiledRule = Rule & { cidr: Cidr };
const compile = (rules: readonly Rule[]): CompiledRule[] => rules.map((r) => ({ ...r, cidr: parseCidr(r.range)! }));
const COMPILED_V4 = compile(IPV4_RULES);
const COMPILED_V6 = compile(IPV6_RULES);

/** Every range the default policy refuses outright, for documentation and tests. */
export const BLOCKED_RANGES: ReadonlyArray<{ range: string; name: string }> = [...IPV4_RULES, ...IPV6_RULES]
  .filter((r) => r.action === 'block')
  .map(({ range, name }) => ({ range, name }));

const NO_ALLOW: TargetPolicy = { allow: [] };
const LOOPBACK = ['127.0.0.0/8', '::1/128'];

/** One ALLOW_TARGETS entry to its CIDRs: the word `loopback`, a CIDR, or a single address. */
export function parseAllowEntry(entry: string): Cidr[] {
  const text = entry.trim();
  if (text.toLowerCase() === 'loopback') return LOOPBACK.map((c) => parseCidr(c)!);
  const cidr = parseCidr(text);
  if (cidr) return [cidr];
  const [addressText, prefixText] = text.split('/');
  const addr = addressText.includes(':') ? parseIpv6(addressText) : parseIpv4Strict(addressText);
  const prefix = Number(prefixText);
  if (addr && prefixText !== undefined && Number.isInteger(prefix) && prefix >= 0 && prefix <= (addr.family === 4 ? 32 : 128)) {
    const network = formatCidr({ family: addr.family, bytes: networkOf(addr, prefix), prefix });
    throw InvalidInput.field('ALLOW_TARGETS', `"${text}" has bits set after the /${prefix} prefix; the network is ${network}`);
  }
  throw InvalidInput.field('ALLOW_TARGETS', `"${text}" is not a CIDR (like 10.0.0.0/8 or fd00::/8), an address, or the word loopback`);
}

const compiledAllow = new WeakMap<readonly string[], Cidr[]>();
function allowCidrs(policy: TargetPolicy): Cidr[] {
  let cidrs = compiledAllow.get(policy.allow);
  if (!cidrs) {
    cidrs = policy.allow.flatMap(parseAllowEntry);
    compiledAllow.set(policy.allow, cidrs);
  }
  return cidrs;
}

/** The allow-list entry that permits `addr` (an IPv4-mapped address also matches IPv4 entries), or null. */
export function matchAllowList(addr: IpAddress, policy: TargetPolicy): string | null {
  const inner = unmapped(addr);
  const hit = allowCidrs(policy).find((c) => cidrContains(c, addr) || (inner !== addr && cidrContains(c, inner)));
  return hit ? formatCidr(hit) : null;
}

/** Whether the policy lets a connection go to `addr`, and if not, which range and why. */
export function decideAddress(addr: IpAddress, policy: TargetPolicy): Decision {
  if (allowCidrs(policy).some((c) => cidrContains(c, addr))) return { allowed: true };
  const rule = (addr.family === 4 ? COMPILED_V4 : COMPILED_V6).find((r) => cidrContains(r.cidr, addr));
  if (rule) {
    if (rule.action !== 'embedded') return rule.action === 'global' ? { allowed: true } : { allowed: false, reason: rule.name, range: rule.range };
    if (rule.zero && addr.bytes.subarray(rule.zero[0], rule.zero[1]).some((b) => b !== 0)) {
      return { allowed: false, reason: `${rule.name}, in a layout whose embedded IPv4 address cannot be located`, range: rule.range };
    }
    const inner = embeddedIpv4(addr, rule.offset);
    const verdict = decideAddress(inner, rule.allowListCarries ? policy : NO_ALLOW);
    if (verdict.allowed) return verdict;
    return { allowed: false, reason: `${rule.name}; the embedded ${formatIp(inner)} is in ${verdict.range}, ${verdict.reason}`, range: rule.range };
  }
  return { allowed: true };
}

/** Reads ALLOW_TARGETS (comma-separated CIDRs, addresses or `loopback`) from a host's environment. */
/**
 * CODE_EXECUTION: `on` (the default) lets operations that run code on the target (`runsCode`: jupyter
 * execute, cdp evaluate, rserve eval, ...) run; `off` refuses them all as target_blocked.
 */
export function parseCodeExecution(raw: string | undefined): boolean {
  const value = (raw ?? '').trim().toLowerCase();
  if (value === '' || value === 'on') return true;
  if (value === 'off') return false;
  throw InvalidInput.field('CODE_EXECUTION', `must be on or off, not ${JSON.stringify(raw)}`);
}

export function parsePolicy(env: Readonly<Record<string, unknown>> | undefined): TargetPolicy {
  const raw = env?.ALLOW_TARGETS;
  if (raw === undefined || raw === null || raw === '') return { allow: [] };
  if (typeof raw !== 'string') throw InvalidInput.field('ALLOW_TARGETS', 'must be a comma-separated string');
  const allow: string[] = [];
  for (const entry of raw.split(',')) {
    if (entry.trim() === '') continue;
    for (const cidr of parseAllowEntry(entry)) {
      const text = formatCidr(cidr);
      if (!allow.includes(text)) allow.push(text);
    }
  }
  return { allow };
}
