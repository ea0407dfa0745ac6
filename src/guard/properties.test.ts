// Property tests: the parser against the platform's own parsers (WHATWG URL, Node's isIPv6), and the policy
// against every spelling of every blocked IPv4 address. Everything runs in memory: no packet is sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import fc from 'fast-check';
import { PortolanError } from '../core/errors.ts';
import { cloudflareRange } from './cloudflare-ranges.ts';
import { createGuard } from './guard.ts';
import { cidrContains, formatIp, parseCidr, parseIp, type IpAddress } from '../core/ip.ts';
import { classifyHost } from './names.ts';
import { BLOCKED_RANGES, decideAddress } from './policy.ts';

const RUNS = { numRuns: 2000 };
const fromAlphabet = (alphabet: string, maxLength: number) =>
  fc.array(fc.constantFrom(...alphabet.split('')), { maxLength }).map((chars) => chars.join(''));

const v4 = (n: number): IpAddress => ({ family: 4, bytes: new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]) });

/** What the WHATWG URL parser (Node's, the same algorithm browsers and workerd use) makes of a host. */
function whatwgHost(host: string): string | null {
  try {
    return new URL(`http://${host}/`).hostname;
  } catch {
    return null;
  }
}

test('parseIp, parseCidr and classifyHost never throw anything unexpected', () => {
  const anyString = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fromAlphabet('0123456789abcdefxX.:[]%/ ', 40));
  fc.assert(
    fc.property(anyString, (s) => {
      parseIp(s);
      parseCidr(s);
      try {
        classifyHost(s);
      } catch (e) {
        assert.ok(e instanceof PortolanError && e.code === 'invalid_input', String(e));
      }
    }),
    { numRuns: 5000 },
  );
});

test('IPv4 spellings read exactly as the WHATWG URL parser reads them', () => {
  // Numbers near every limit (255, 2^16, 2^24, 2^32), in any radix, one to five parts.
  const part = fc.tuple(
    fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 65000, max: 66000 }), fc.integer({ min: 0, max: 2 ** 33 })),
    radix,
    fc.integer({ min: 0, max: 2 }),
  );
  const structured = fc
    .tuple(fc.array(part, { minLength: 1, maxLength: 5 }), fc.boolean())
    .map(([parts, dot]) => parts.map(([n, r, pad]) => spellNumber(n, r, pad)).join('.') + (dot ? '.' : ''));
  fc.assert(
    fc.property(fc.oneof(fromAlphabet('0123456789abcdefxX.', 24), structured, fc.ipV4Extended(), fc.ipV4()), (s) => {
      const ours = parseIp(s);
      const theirs = whatwgHost(s);
      const theirsIsIpv4 = theirs !== null && /^\d+\.\d+\.\d+\.\d+$/.test(theirs);
      if (theirsIsIpv4) assert.equal(ours && formatIp(ours), theirs, s);
      else assert.equal(ours, null, s);
    }),
    { numRuns: 10000 },
  );
});

test('IPv6 literals agree with Node (inet_pton rules) and with the WHATWG URL parser', () => {
  fc.assert(
    fc.property(fc.oneof(fromAlphabet('0123456789abcdefABCDEF:.', 40), fc.ipV6()), (s) => {
      const ours = parseIp(s);
      assert.equal(ours !== null && ours.family === 6, isIPv6(s), s);
      if (ours === null || ours.family !== 6) return;
      const theirs = whatwgHost(`[${s}]`);
      assert.ok(theirs, s);
      assert.deepEqual(parseIp(theirs)!.bytes, ours.bytes, s);
    }),
    { numRuns: 10000 },
  );
});

test('IPv6 text form is RFC 5952 and round-trips', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 3 }), (bytes, zeroRun) => {
      bytes.fill(0, 4, 4 + 2 * zeroRun); // make zero runs common
      const addr: IpAddress = { family: 6, bytes };
      const text = formatIp(addr);
      assert.deepEqual(parseIp(text)!.bytes, bytes);
      const mapped = text.startsWith('::ffff:') && text.includes('.');
      if (!mapped) assert.equal(`[${text}]`, whatwgHost(`[${text}]`), 'same canonical form as WHATWG URL');
    }),
    RUNS,
  );
});

const BLOCKED_V4 = BLOCKED_RANGES.filter((r) => !r.range.includes(':')).map((r) => parseCidr(r.range)!);

/** An IPv4 address inside one of the default-blocked ranges. */
const blockedIpv4 = fc
  .tuple(fc.constantFrom(...BLOCKED_V4), fc.integer({ min: 0, max: 0xffffffff }))
  .map(([cidr, noise]) => {
    const network = ((cidr.bytes[0] << 24) | (cidr.bytes[1] << 16) | (cidr.bytes[2] << 8) | cidr.bytes[3]) >>> 0;
    const hostMask = cidr.prefix === 32 ? 0 : 0xffffffff >>> cidr.prefix;
    return (network | (noise & hostMask)) >>> 0;
  });

/** An IPv4 address outside every blocked range and Cloudflare's. */
const publicIpv4 = fc
  .integer({ min: 0, max: 0xffffffff })
  .filter((n) => !BLOCKED_V4.some((c) => cidrContains(c, v4(n))) && cloudflareRange(v4(n)) === null);

type Radix = 'dec' | 'oct' | 'hex' | 'HEX';
const radix = fc.constantFrom<Radix>('dec', 'oct', 'hex', 'HEX');

function spellNumber(n: number, r: Radix, pad: number): string {
  if (r === 'dec') return String(n);
  if (r === 'oct') return '0'.repeat(1 + pad) + n.toString(8);
  const hex = '0'.repeat(pad) + n.toString(16);
  return r === 'hex' ? `0x${hex}` : `0X${hex.toUpperCase()}`;
}

/** One of the many ways to write IPv4 address `n` so that some connector reads it as `n`. */
const spelling = (n: number) =>
  fc
    .record({
      form: fc.constantFrom('4', '3', '2', '1', 'mapped', 'mappedHex', 'mappedLong', 'compatible', 'nat64', 'nat64local', 'sixToFour'),
      radixes: fc.array(radix, { minLength: 4, maxLength: 4 }),
      pad: fc.integer({ min: 0, max: 3 }),
      trailingDot: fc.boolean(),
      brackets: fc.boolean(),
      upper: fc.boolean(),
      zone: fc.constantFrom('', '%eth0', '%25lo'),
      suffix: fc.integer({ min: 0, max: 0xffff }),
    })
    .map(({ form, radixes, pad, trailingDot, brackets, upper, zone, suffix }) => {
      const b = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
      const dotted = b.join('.');
      const hex32 = `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
      const dot = trailingDot ? '.' : '';
      let v6: string;
      switch (form) {
        case '4':
          return b.map((x, i) => spellNumber(x, radixes[i], pad)).join('.') + dot;
        case '3':
          return [b[0], b[1], (b[2] << 8) | b[3]].map((x, i) => spellNumber(x, radixes[i], pad)).join('.') + dot;
        case '2':
          return [b[0], ((b[1] << 16) | (b[2] << 8) | b[3]) >>> 0].map((x, i) => spellNumber(x, radixes[i], pad)).join('.') + dot;
        case '1':
          return spellNumber(n, radixes[0], pad) + dot;
        case 'mapped':
          v6 = `::ffff:${dotted}`;
          break;
        case 'mappedHex':
          v6 = `::ffff:${hex32}`;
          break;
        case 'mappedLong':
          v6 = `0:0:0:0:0:ffff:${dotted}`;
          break;
        case 'compatible':
          v6 = `::${dotted}`;
          break;
        case 'nat64':
          v6 = `64:ff9b::${dotted}`;
          break;
        case 'nat64local':
          v6 = `64:ff9b:1::${hex32}`;
          break;
        default:
          v6 = `2002:${hex32}:${suffix.toString(16)}::1`;
      }
      if (upper) v6 = v6.toUpperCase();
      v6 += zone;
      return brackets ? `[${v6}]` : v6;
    });

const embeddedOf = (addr: IpAddress): number => {
  const b = addr.bytes;
  if (addr.family === 4) return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  const at = b[0] === 0x20 && b[1] === 0x02 ? 2 : 12; // 6to4 carries it in bytes 2-5, the others in 12-15
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
};

const noLookups = { resolve: async (): Promise<string[]> => assert.fail('an IP literal must not be looked up') };
const guard = createGuard({ policy: { allow: [] }, resolver: noLookups, runtime: 'node', cloudflareCheck: false });

test('every IPv4 address in a blocked range is blocked in all its spellings', async () => {
  await fc.assert(
    fc.asyncProperty(blockedIpv4.chain((n) => fc.tuple(fc.constant(n), spelling(n))), async ([n, s]) => {
      const addr = parseIp(s);
      assert.ok(addr, `${s} parses`);
      assert.equal(embeddedOf(addr), n, `${s} carries ${formatIp(v4(n))}`);
      assert.equal(decideAddress(addr, { allow: [] }).allowed, false, s);
      await assert.rejects(guard.check(s, 443, 'first'), (e: unknown) => e instanceof PortolanError && e.code === 'target_blocked', s);
      await assert.rejects(guard.check(s, 443, 'second'), (e: unknown) => e instanceof PortolanError && e.code === 'target_blocked', s);
    }),
    { numRuns: 3000 },
  );
});

test('a public IPv4 address passes in its IPv4 spellings, and the host gets its canonical form', async () => {
  await fc.assert(
    fc.asyncProperty(
      publicIpv4.chain((n) => fc.tuple(fc.constant(n), spelling(n).filter((s) => /^[0-9a-fx.]+$/i.test(s) && !/(^|\.)0[0-7]/.test(s)))),
      async ([n, s]) => {
        assert.deepEqual(await guard.check(s, 443, 'first'), { address: formatIp(v4(n)) }, s);
      },
    ),
    RUNS,
  );
});
