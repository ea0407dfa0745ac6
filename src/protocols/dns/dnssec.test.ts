// DNSSEC pieces against the RFCs' own examples (RFC 4034 §5.4 key tag and DS, §6.1 canonical order; RFC 5155
// Appendix A NSEC3 hashes), signatures made here with WebCrypto for RSASHA256, ECDSAP256SHA256 and ED25519
// (verified, then tampered with, expired, early), denial proofs on records laid out as a zone has them, and fuzz.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toBase64, fromBase64 } from '../../core/bytes.ts';
import { webCrypto } from '../../core/crypto.ts';
import { InvalidInput } from '../../core/errors.ts';
import type { DnsRecord } from './codec.ts';
import { canonicalRdata, checkRrset, compareNames, dsMatches, nsec3Hash, nsecDenial, nsec3Denial, parseTrustAnchors, signedData, IANA_ROOT_ANCHORS, wildcardProof } from './dnssec.ts';
import { keyTag, rrsigTime, toBase32Hex } from './rdata.ts';

const crypto = webCrypto();

test('RFC 4034 §5.4: the key tag and SHA-1 DS of dskey.example.com.', async () => {
  const dnskey = {
    flags: 256,
    protocol: 3,
    algorithm: 5,
    publicKey: 'AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==',
  };
  assert.equal(keyTag(canonicalRdata('DNSKEY', dnskey)), 60485);
  const ds = { keyTag: 60485, algorithm: 5, digestType: 1, digest: '2BB183AF5F22588179A53B0A98631FAD1A292118' };
  assert.equal(await dsMatches(crypto, 'dskey.example.com.', { ...dnskey, keyTag: 60485 }, ds), true);
  assert.equal(await dsMatches(crypto, 'DSKEY.Example.COM.', { ...dnskey, keyTag: 60485 }, ds), true, 'the owner is lowercased (RFC 4034 §6.2)');
  assert.equal(await dsMatches(crypto, 'other.example.com.', { ...dnskey, keyTag: 60485 }, ds), false);
});

test('RFC 4034 §6.1: canonical name order', () => {
  const ordered = ['example.', 'a.example.', 'yljkjljk.a.example.', 'Z.a.example.', 'zABC.a.EXAMPLE.', 'z.example.', '\\001.z.example.', '*.z.example.', '\\200.z.example.'];
  const shuffled = [...ordered].reverse();
  assert.deepEqual(shuffled.sort(compareNames), ordered);
});

test('RFC 5155 Appendix A: NSEC3 hashes with salt aabbccdd and 12 iterations', () => {
  const salt = Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd);
  const want: Record<string, string> = {
    'example.': '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom',
    'a.example.': '35mthgpgcu1qg68fab165klnsnk3dpvl',
    'ai.example.': 'gjeqe526plbf1g8mklp59enfd789njgi',
    'ns1.example.': '2t7b4g4vsa5smi47k61mv5bv1a22bojr',
    'x.w.example.': 'b4um86eghhds6nea196smvmlo4ors995',
    '*.w.example.': 'r53bq7cc2uvmubfu5ocmm6pers9tk9en',
  };
  for (const [name, hash] of Object.entries(want)) assert.equal(toBase32Hex(nsec3Hash(crypto, name, salt, 12)).toLowerCase(), hash, name);
});

// Signatures made here over an RRset, the way a signer does it (RFC 4034 §3.1.8.1).

const NOW = Date.UTC(2026, 0, 15) / 1000;
const owner = 'www.Example.test.';

const rrset: DnsRecord[] = [
  { name: owner, type: 'MX', class: 'IN', ttl: 300, data: { preference: 20, exchange: 'MAIL2.example.test.' } },
  { name: owner, type: 'MX', class: 'IN', ttl: 300, data: { preference: 10, exchange: 'mail.example.test.' } },
];

async function signer(algorithm: 8 | 13 | 15): Promise<{ dnskey: Record<string, unknown>; sign: (data: Uint8Array) => Promise<Uint8Array> }> {
  const s = crypto.subtle;
  let pair: CryptoKeyPair;
  let publicKey: Uint8Array;
  let params: Parameters<SubtleCrypto['sign']>[0];
  if (algorithm === 8) {
    pair = (await s.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: Uint8Array.of(1, 0, 1), hash: 'SHA-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const jwk = await s.exportKey('jwk', pair.publicKey);
    const e = fromBase64(jwk.e!);
    const n = fromBase64(jwk.n!);
    publicKey = Uint8Array.from([e.length, ...e, ...n]); // RFC 3110 §2
    params = { name: 'RSASSA-PKCS1-v1_5' };
  } else if (algorithm === 13) {
    pair = (await s.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    publicKey = new Uint8Array(await s.exportKey('raw', pair.publicKey)).subarray(1); // RFC 6605 §4: x | y
    params = { name: 'ECDSA', hash: 'SHA-256' };
  } else {
    pair = (await s.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    publicKey = new Uint8Array(await s.exportKey('raw', pair.publicKey));
    params = { name: 'Ed25519' };
  }
  const dnskey: Record<string, unknown> = { flags: 256, protocol: 3, algorithm, publicKey: toBase64(publicKey) };
  dnskey.keyTag = keyTag(canonicalRdata('DNSKEY', dnskey));
  return { dnskey, sign: async (data) => new Uint8Array(await s.sign(params, pair.privateKey, data as BufferSource)) };
}

async function rrsig(key: { dnskey: Record<string, unknown>; sign: (d: Uint8Array) => Promise<Uint8Array> }, set: DnsRecord[], opts: { inception?: number; expiration?: number; labels?: number } = {}): Promise<DnsRecord> {
  const data: Record<string, unknown> = {
    typeCovered: set[0].type,
    algorithm: key.dnskey.algorithm,
    labels: opts.labels ?? 3,
    originalTtl: 300,
    expiration: rrsigTime(opts.expiration ?? NOW + 86400),
    inception: rrsigTime(opts.inception ?? NOW - 86400),
    keyTag: key.dnskey.keyTag,
    signerName: 'example.test.',
    signature: '',
  };
  data.signature = toBase64(await key.sign(signedData(data, set)));
  return { name: set[0].name, type: 'RRSIG', class: 'IN', ttl: 300, data };
}

for (const algorithm of [8, 13, 15] as const) {
  test(`algorithm ${algorithm}: a signature verifies; changed data, an expired or early signature, an unknown key do not`, async () => {
    const key = await signer(algorithm);
    const sig = await rrsig(key, rrset);
    // Order and case of the records do not matter (RFC 4034 §6.2, §6.3); TTLs come from the RRSIG.
    const reordered = [{ ...rrset[1], ttl: 17 }, { ...rrset[0], data: { preference: 20, exchange: 'mail2.EXAMPLE.test.' } }];
    const ok = await checkRrset(crypto, reordered, [sig], 'example.test.', [key.dnskey], NOW);
    assert.equal(ok.valid, true, ok.problem ?? '');
    const changed = [rrset[0], { ...rrset[1], data: { preference: 11, exchange: 'mail.example.test.' } }];
    assert.match((await checkRrset(crypto, changed, [sig], 'example.test.', [key.dnskey], NOW)).problem!, /does not verify/);
    const expired = await checkRrset(crypto, rrset, [sig], 'example.test.', [key.dnskey], NOW + 2 * 86400);
    assert.match(expired.problem!, /expired 2026-01-16 00:00:00 UTC/);
    const early = await checkRrset(crypto, rrset, [sig], 'example.test.', [key.dnskey], NOW - 2 * 86400);
    assert.match(early.problem!, /is not valid before 2026-01-14 00:00:00 UTC/);
    const other = await signer(algorithm);
    assert.match((await checkRrset(crypto, rrset, [sig], 'example.test.', [other.dnskey], NOW)).problem!, /has no such zone key|does not verify/);
    assert.match((await checkRrset(crypto, rrset, [sig], 'other.test.', [key.dnskey], NOW)).problem!, /the signer is not the zone other\.test\./);
    assert.match((await checkRrset(crypto, rrset, [], 'example.test.', [key.dnskey], NOW)).problem!, /has no signature/);
  });
}

test('a wildcard expansion is verified against *.<closest encloser> (RFC 4035 §5.3.2)', async () => {
  const key = await signer(13);
  const wild: DnsRecord[] = [{ name: '*.example.test.', type: 'A', class: 'IN', ttl: 300, data: { address: '192.0.2.7' } }];
  const sig = await rrsig(key, wild, { labels: 2 });
  const expanded: DnsRecord[] = [{ ...wild[0], name: 'a.b.example.test.' }];
  assert.equal((await checkRrset(crypto, expanded, [{ ...sig, name: 'a.b.example.test.' }], 'example.test.', [key.dnskey], NOW)).valid, true);
  const nsec: DnsRecord = { name: 'a.example.test.', type: 'NSEC', class: 'IN', ttl: 300, data: { nextDomain: 'c.example.test.', types: ['A', 'RRSIG', 'NSEC'] } };
  assert.equal(wildcardProof(crypto, [nsec], 'a.b.example.test.', 2).proved, true);
  assert.equal(wildcardProof(crypto, [], 'a.b.example.test.', 2).proved, false);
});

// Denial: NSEC records as a zone "example.test." with names @, a, c, *.w would have them.

const nsec = (name: string, next: string, types: string[]): DnsRecord => ({ name, type: 'NSEC', class: 'IN', ttl: 300, data: { nextDomain: next, types } });
const chain = [
  nsec('example.test.', 'a.example.test.', ['SOA', 'NS', 'RRSIG', 'NSEC', 'DNSKEY']),
  nsec('a.example.test.', 'c.example.test.', ['A', 'RRSIG', 'NSEC']),
  nsec('c.example.test.', 'deleg.example.test.', ['TXT', 'RRSIG', 'NSEC']),
  nsec('deleg.example.test.', 'example.test.', ['NS', 'RRSIG', 'NSEC']),
];

test('NSEC: NXDOMAIN needs the name and the wildcard covered; NODATA the bitmap; a delegation without DS', () => {
  assert.equal(nsecDenial(chain, 'b.example.test.', 'A').proves, 'nxdomain');
  assert.equal(nsecDenial([chain[1]], 'b.example.test.', 'A').proves, 'nothing', 'the wildcard *.example.test. is not shown absent');
  assert.equal(nsecDenial(chain, 'a.example.test.', 'MX').proves, 'nodata');
  assert.equal(nsecDenial(chain, 'a.example.test.', 'A').proves, 'nothing', 'A is in the bitmap');
  const ds = nsecDenial(chain, 'deleg.example.test.', 'DS');
  assert.deepEqual([ds.proves, ds.delegation], ['insecure-delegation', true]);
  assert.equal(nsecDenial(chain, 'c.example.test.', 'DS').proves, 'nodata', 'no NS bit: not a zone cut');
});

test('NSEC3: closest encloser proof, NODATA, opt-out for DS (RFC 5155 §8)', () => {
  const salt = Uint8Array.of(0xab, 0xcd);
  const h = (n: string) => toBase32Hex(nsec3Hash(crypto, n, salt, 0));
  const names = ['example.test.', 'a.example.test.', 'deleg.example.test.'];
  const sorted = names.map((n) => ({ n, h: h(n) })).sort((x, y) => (x.h < y.h ? -1 : 1));
  const typesOf: Record<string, string[]> = { 'example.test.': ['SOA', 'NS', 'DNSKEY', 'NSEC3PARAM', 'RRSIG'], 'a.example.test.': ['A', 'RRSIG'], 'deleg.example.test.': ['NS'] };
  const records = (optOut: boolean): DnsRecord[] =>
    sorted.map((x, i) => ({
      name: `${x.h.toLowerCase()}.example.test.`,
      type: 'NSEC3',
      class: 'IN',
      ttl: 300,
      data: { hashAlgorithm: 1, flags: optOut ? 1 : 0, iterations: 0, salt: 'ABCD', nextHashedOwner: sorted[(i + 1) % sorted.length].h, types: typesOf[x.n] },
    }));
  assert.equal(nsec3Denial(crypto, records(false), 'nope.example.test.', 'A').proves, 'nxdomain');
  assert.equal(nsec3Denial(crypto, records(false), 'a.example.test.', 'TXT').proves, 'nodata');
  assert.equal(nsec3Denial(crypto, records(false), 'a.example.test.', 'A').proves, 'nothing');
  assert.equal(nsec3Denial(crypto, records(false), 'deleg.example.test.', 'DS').proves, 'insecure-delegation');
  assert.equal(nsec3Denial(crypto, records(true), 'unsigned.example.test.', 'DS').proves, 'insecure-delegation', 'inside an opt-out span');
  assert.equal(nsec3Denial(crypto, records(false), 'unsigned.example.test.', 'DS').proves, 'nxdomain');
  const heavy = records(false).map((r) => ({ ...r, data: { ...r.data, iterations: 500 } }));
  assert.match(nsec3Denial(crypto, heavy, 'nope.example.test.', 'A').how, /500 iterations, more than the 150/);
});

test('trust anchors: DS and DNSKEY lines as dnssec-dsfromkey and IANA print them; bad lines name the field', () => {
  const iana = parseTrustAnchors(IANA_ROOT_ANCHORS);
  assert.deepEqual(iana.map((a) => [a.zone, a.type, a.data.keyTag]), [['.', 'DS', 20326], ['.', 'DS', 38696]]);
  const key = parseTrustAnchors(['example.test. 3600 IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4= ; a comment']);
  assert.equal(key[0].type, 'DNSKEY');
  assert.equal(key[0].data.keyTag, keyTag(canonicalRdata('DNSKEY', key[0].data)));
  for (const bad of ['. IN DS 1 8 2 zz', 'example. A 192.0.2.1', 'example. DNSKEY 257 4 8 AAAA']) {
    assert.throws(() => parseTrustAnchors([bad]), (e) => e instanceof InvalidInput && JSON.stringify(e.detail).includes('trustAnchors.0'));
  }
  assert.throws(() => parseTrustAnchors(['; only a comment']), InvalidInput);
});

test('fuzz: trust anchor lines and denial records never throw anything but InvalidInput', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 120 }), { minLength: 1, maxLength: 4 }), (lines) => {
      try {
        parseTrustAnchors(lines);
      } catch (e) {
        if (!(e instanceof InvalidInput)) throw e;
      }
    }),
    { numRuns: 500 },
  );
  const label = fc.stringMatching(/^[a-z0-9*]{1,8}$/);
  const name = fc.array(label, { minLength: 0, maxLength: 4 }).map((ls) => (ls.length ? `${ls.join('.')}.` : '.'));
  fc.assert(
    fc.property(fc.array(fc.tuple(name, name, fc.subarray(['A', 'NS', 'SOA', 'DS', 'CNAME', 'TXT'])), { maxLength: 6 }), name, (recs, q) => {
      const d = nsecDenial(recs.map(([n, next, t]) => nsec(n, next, t)), q, 'A');
      assert.ok(['nxdomain', 'nodata', 'nothing', 'insecure-delegation'].includes(d.proves));
    }),
    { numRuns: 300 },
  );
});
