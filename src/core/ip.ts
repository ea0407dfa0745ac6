// IP literals: IPv4 as inet_aton(3) and the WHATWG URL Standard "IPv4 parser" read them, IPv6 per RFC 4291 §2.2
// (zone ids per RFC 4007 §11), text form per RFC 5952, prefixes per RFC 4632 §3.1.
//
// Why so liberal: a guard that reads `0x7f.1` as a hostname while the connecting side reads it as
// 127.0.0.1 is an SSRF bypass. Every spelling some connector accepts is parsed here to the bytes that
// connector would use; anything else is "not an IP literal" (null) and is then treated as a name.

export interface IpAddress {
  readonly family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array;
  /** IPv6 zone id (`eth0` in `fe80::1%eth0`), when one was given. */
  readonly zone?: string;
}

export interface Cidr {
  readonly family: 4 | 6;
  /** The network address: host bits are zero. */
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

const DECIMAL_PART = /^(?:0|[1-9][0-9]*)$/;
const OCTAL_PART = /^0[0-7]+$/;
const HEX_PART = /^0x[0-9a-f]*$/i;
const DIGITS = /^[0-9]+$/;
const STRICT_OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const STRICT_IPV4 = new RegExp(`^${STRICT_OCTET}(?:\\.${STRICT_OCTET}){3}$`);
const HEX_GROUP = /^[0-9a-f]{1,4}$/i;
const ZONE = /^[0-9a-z_.~%-]+$/i;
const MAX_LITERAL = 1024;

export interface Ipv4ParseOptions {
  /**
   * Read `010` as decimal 10 instead of octal 8. Some parsers (older Go, Python < 3.9.5, the netmask
   * package before CVE-2021-28918) did; the guard judges that reading too, so such a spelling cannot
   * pass as a public address while another component connects to a private one.
   */
  leadingZeroIsDecimal?: boolean;
}

/** One inet_aton part: decimal, 0-prefixed octal or 0x-prefixed hex (`0x` alone is 0, as in WHATWG URL). */
function parseIpv4Part(part: string, leadingZeroIsDecimal: boolean): number | null {
  if (HEX_PART.test(part)) return part.length === 2 ? 0 : parseInt(part.slice(2), 16);
  if (leadingZeroIsDecimal && DIGITS.test(part)) return parseInt(part, 10);
  if (OCTAL_PART.test(part)) return parseInt(part.slice(1), 8);
  if (DECIMAL_PART.test(part)) return parseInt(part, 10);
  return null;
}

/**
 * IPv4 in every spelling inet_aton accepts: `a.b.c.d`, `a.b.c` (c is 16 bits), `a.b` (b is 24 bits),
 * `a` (32 bits); each part decimal, octal (leading 0) or hex (0x). One trailing dot is allowed
 * (WHATWG URL strips it; a DNS name may end in one).
 */
export function parseIpv4(text: string, opts: Ipv4ParseOptions = {}): IpAddress | null {
  if (text.length === 0 || text.length > MAX_LITERAL) return null;
  const parts = text.split('.');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 0 || parts.length > 4) return null;
  const values: number[] = [];
  for (const part of parts) {
    const value = parseIpv4Part(part, opts.leadingZeroIsDecimal ?? false);
    if (value === null) return null;
    values.push(value);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255)) return null;
  // The last part fills the bytes the others left: 2^(8 * (5 - parts)) values.
  if (last >= 2 ** (8 * (4 - values.length))) return null;
  let n = last;
  values.forEach((v, i) => (n += v * 2 ** (8 * (3 - i))));
  return { family: 4, bytes: new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]) };
}

/** Only the canonical dotted quad (what inet_pton accepts): for configuration and IPv4 inside IPv6. */
export function parseIpv4Strict(text: string): IpAddress | null {
  if (!STRICT_IPV4.test(text)) return null;
  return { family: 4, bytes: new Uint8Array(text.split('.').map(Number)) };
}

/**
 * IPv6 per RFC 4291 §2.2: eight 16-bit hex groups, one `::` for a run of zero groups, an optional
 * dotted IPv4 in the last 32 bits. Accepts `[...]` brackets and a `%zone` suffix (RFC 4007 §11).
 */
export function parseIpv6(text: string): IpAddress | null {
  if (text.length === 0 || text.length > MAX_LITERAL) return null;
  let body = text;
  if (body.startsWith('[')) {
    if (!body.endsWith(']')) return null;
    body = body.slice(1, -1);
  }
  let zone: string | undefined;
  const percent = body.indexOf('%');
  if (percent >= 0) {
    zone = body.slice(percent + 1);
    body = body.slice(0, percent);
    if (!ZONE.test(zone)) return null;
  }
  if (!body.includes(':')) return null;
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0].split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1].split(':')) : [];
  const groups: number[] = [];
  const words = (list: string[], isLast: boolean): number[] | null => {
    const out: number[] = [];
    for (let i = 0; i < list.length; i++) {
      const group = list[i];
      if (isLast && i === list.length - 1 && group.includes('.')) {
        const v4 = parseIpv4Strict(group);
        if (!v4) return null;
        out.push((v4.bytes[0] << 8) | v4.bytes[1], (v4.bytes[2] << 8) | v4.bytes[3]);
      } else if (HEX_GROUP.test(group)) {
        out.push(parseInt(group, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const headWords = words(head, halves.length === 1);
  const tailWords = words(tail, true);
  if (!headWords || !tailWords) return null;
  if (halves.length === 1) {
    if (headWords.length !== 8) return null;
    groups.push(...headWords);
  } else {
    // `::` stands for at least one zero group (RFC 4291 §2.2 item 2; inet_pton agrees).
    const missing = 8 - headWords.length - tailWords.length;
    if (missing < 1) return null;
    groups.push(...headWords, ...new Array<number>(missing).fill(0), ...tailWords);
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 255;
  });
  return zone === undefined ? { family: 6, bytes } : { family: 6, bytes, zone };
}

/** Any IP literal spelling to its address, or null when `text` is not an IP literal (never throws). */
export function parseIp(text: string): IpAddress | null {
  if (typeof text !== 'string') return null;
  if (text.includes(':') || text.startsWith('[')) return parseIpv6(text);
  return parseIpv4(text);
}

/** Canonical text: dotted quad, or RFC 5952 §4 for IPv6 (`::ffff:a.b.c.d` for IPv4-mapped, §5). No zone. */
export function formatIp(addr: IpAddress): string {
  const b = addr.bytes;
  if (addr.family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  // The longest run of two or more zero groups is compressed; the first one on a tie (RFC 5952 §4.2).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (list: number[]) => list.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** The address with the host bits after `prefix` cleared. */
export function networkOf(addr: IpAddress, prefix: number): Uint8Array {
  const out = new Uint8Array(addr.bytes.length);
  for (let i = 0; i < out.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - 8 * i));
    out[i] = addr.bytes[i] & ((0xff00 >> bits) & 0xff);
  }
  return out;
}

/**
 * A prefix `address/length` (RFC 4632 §3.1), strictly spelled: canonical dotted quad or RFC 4291 IPv6,
 * no zone; a bare address is a single host. Null when malformed or when host bits are set
 * (`10.1.0.0/8` is almost always a typo).
 */
export function parseCidr(text: string): Cidr | null {
  if (typeof text !== 'string') return null;
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const addr = addressText.includes(':') ? parseIpv6(addressText) : parseIpv4Strict(addressText);
  if (!addr || addr.zone !== undefined || addressText.startsWith('[')) return null;
  const maxPrefix = addr.family === 4 ? 32 : 128;
  let prefix = maxPrefix;
  if (slash >= 0) {
    const prefixText = text.slice(slash + 1);
    if (!DECIMAL_PART.test(prefixText)) return null;
    prefix = Number(prefixText);
    if (prefix > maxPrefix) return null;
  }
  const network = networkOf(addr, prefix);
  if (!equalBytes(network, addr.bytes)) return null;
  return { family: addr.family, bytes: network, prefix };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp({ family: cidr.family, bytes: cidr.bytes })}/${cidr.prefix}`;
}

export function cidrContains(cidr: Cidr, addr: IpAddress): boolean {
  return cidr.family === addr.family && equalBytes(networkOf(addr, cidr.prefix), cidr.bytes);
}

export function sameAddress(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && equalBytes(a.bytes, b.bytes);
}

/** An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) as the IPv4 address it carries; others as they are. */
export function unmapped(addr: IpAddress): IpAddress {
  const b = addr.bytes;
  const mapped = addr.family === 6 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  return mapped ? embeddedIpv4(addr, 12) : addr;
}

/**
 * Whether two IP literals name the same host, however spelled: IPv6 zero compression and case, and an IPv4 peer
 * as a dual-stack socket reports it (`::ffff:a.b.c.d`). False when either is not an IP literal.
 */
export function sameHostAddress(a: string | undefined, b: string | undefined): boolean {
  const x = a === undefined ? null : parseIp(a);
  const y = b === undefined ? null : parseIp(b);
  return x !== null && y !== null && sameAddress(unmapped(x), unmapped(y));
}

/** The IPv4 address in four bytes of an IPv6 address, starting at `offset`. */
export function embeddedIpv4(addr: IpAddress, offset: number): IpAddress {
  return { family: 4, bytes: addr.bytes.slice(offset, offset + 4) };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
