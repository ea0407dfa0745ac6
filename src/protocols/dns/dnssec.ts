// DNSSEC checks, RFC 4034 (canonical form §6, key tags, DS digests §5.1.4), RFC 4035 §5 (verifying RRSIGs, NSEC
// denial), RFC 5155 §8 (NSEC3 denial and hashing), RFC 6840 (clarifications), RFC 8624 (which algorithms a
// validator implements), RFC 9276 (NSEC3 iteration limits).
//
// How it works: these are the pieces a validator is made of, each answering one question about records it is
// given — does this signature verify over this RRset, does this DNSKEY match this DS, does this set of NSEC or
// NSEC3 records prove that a name or a type does not exist. None of them asks a server anything (validate.ts
// drives the queries). Every failure is a reason in words a user can act on ("signature by key 64489 of
// expired.portolan.test. expired 2026-11-25 00:07:04 UTC"), not an exception.
import { ByteWriter, concat, equalBytes, fromBase64, fromHex, toBase64Url } from '../../core/bytes.ts';
import type { CryptoPort, HashName } from '../../core/crypto.ts';
import { InvalidInput } from '../../core/errors.ts';
import type { DnsRecord } from './codec.ts';
import { isSubdomain, labelsToText, normalizeName, labelToText, NameCompressor, parseName, writeNameUncompressed, type Labels } from './names.ts';
import { classCode, encodeRdata, fromBase32Hex, keyTag, parseRrsigTime, toBase32Hex, typeCode, type RData } from './rdata.ts';

/** DNSSEC algorithm numbers (IANA registry) and whether we verify them: RFC 8624 §3.1 MUST and RECOMMENDED ones WebCrypto offers on every host. */
export const ALGORITHMS: Record<number, { name: string; supported: boolean }> = {
  1: { name: 'RSAMD5', supported: false },
  3: { name: 'DSA', supported: false },
  5: { name: 'RSASHA1', supported: true },
  6: { name: 'DSA-NSEC3-SHA1', supported: false },
  7: { name: 'RSASHA1-NSEC3-SHA1', supported: true },
  8: { name: 'RSASHA256', supported: true },
  10: { name: 'RSASHA512', supported: true },
  12: { name: 'ECC-GOST', supported: false },
  13: { name: 'ECDSAP256SHA256', supported: true },
  14: { name: 'ECDSAP384SHA384', supported: true },
  15: { name: 'ED25519', supported: true },
  16: { name: 'ED448', supported: false },
};

export function algorithmName(n: number): string {
  return ALGORITHMS[n]?.name ?? `algorithm ${n}`;
}

export function algorithmSupported(n: number): boolean {
  return ALGORITHMS[n]?.supported ?? false;
}

/** DS digest types (RFC 4034 §5.1.3, RFC 4509, RFC 6605): 3 (GOST) is not implemented. */
const DIGESTS: Record<number, HashName> = { 1: 'SHA-1', 2: 'SHA-256', 4: 'SHA-384' };

export function digestSupported(n: number): boolean {
  return n in DIGESTS;
}

/** RFC 9276 §3.2: validators may treat NSEC3 with more iterations as insecure; hashing more is a denial-of-service lever. */
export const MAX_NSEC3_ITERATIONS = 150;

// Names in canonical form (RFC 4034 §6.1, §6.2)

function lowerLabel(l: Uint8Array): Uint8Array {
  return l.map((b) => (b >= 0x41 && b <= 0x5a ? b + 0x20 : b));
}

export function canonicalLabels(name: string): Labels {
  return parseName(name).map(lowerLabel);
}

export function canonicalNameWire(name: string): Uint8Array {
  const w = new ByteWriter();
  writeNameUncompressed(w, canonicalLabels(name));
  return w.finish();
}

/** RFC 4034 §6.1: names ordered label by label from the root, each label as lowercase octets. */
export function compareNames(a: string, b: string): number {
  const x = canonicalLabels(a).reverse();
  const y = canonicalLabels(b).reverse();
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = compareBytes(x[i], y[i]);
    if (c !== 0) return c;
  }
  return x.length - y.length;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * RFC 4034 §6.2 item 3 (as RFC 6840 §5.1 leaves it: not NSEC): types whose embedded names are lowercased in
 * the canonical form.
 */
const LOWERCASE_RDATA_NAMES = new Set(['NS', 'MD', 'MF', 'CNAME', 'SOA', 'MB', 'MG', 'MR', 'PTR', 'MINFO', 'MX', 'RP', 'AFSDB', 'RT', 'SIG', 'PX', 'NXT', 'NAPTR', 'KX', 'SRV', 'DNAME', 'A6', 'RRSIG']);

/** Writes every name uncompressed (RFC 4034 §6.2 item 2), lowercased where item 3 says so. */
class CanonicalNames extends NameCompressor {
  constructor(private readonly lower: boolean) {
    super();
  }

  override write(w: ByteWriter, labels: Labels): void {
    writeNameUncompressed(w, this.lower ? labels.map(lowerLabel) : labels);
  }
}

export function canonicalRdata(type: string, data: RData): Uint8Array {
  const w = new ByteWriter();
  encodeRdata(w, new CanonicalNames(LOWERCASE_RDATA_NAMES.has(type)), type, data);
  return w.finish();
}

/** Labels of an owner name, not counting a leading wildcard (RFC 4034 §3.1.3). */
export function signatureLabels(name: string): number {
  const labels = parseName(name);
  return labels.length > 0 && labels[0].length === 1 && labels[0][0] === 0x2a ? labels.length - 1 : labels.length;
}

/**
 * RFC 4034 §3.1.8.1 and RFC 4035 §5.3.2: the bytes an RRSIG signs — its own RDATA up to the signature (signer
 * lowercased), then each RR of the set in canonical form and order, with the original TTL and, for a wildcard
 * expansion, the owner rewritten to `*.` plus the RRSIG's label count of the name.
 */
export function signedData(rrsig: RData, rrset: DnsRecord[]): Uint8Array {
  const prefix = canonicalRdata('RRSIG', { ...rrsig, signature: '' });
  const owner = rrset[0].name;
  const labels = parseName(owner).map(lowerLabel);
  const sigLabels = rrsig.labels as number;
  const ownerLabels = sigLabels < signatureLabels(owner) ? [Uint8Array.of(0x2a), ...labels.slice(labels.length - sigLabels)] : labels;
  const ownerWire = new ByteWriter();
  writeNameUncompressed(ownerWire, ownerLabels);
  const head = ownerWire.finish();
  const type = typeCode(rrset[0].type);
  const cls = classCode(rrset[0].class);
  const rdatas = rrset.map((rr) => canonicalRdata(rr.type, rr.data)).sort(compareBytes);
  const parts: Uint8Array[] = [prefix];
  let last: Uint8Array | undefined;
  for (const rd of rdatas) {
    // RFC 4034 §6.3: duplicate RRs appear once.
    if (last && equalBytes(last, rd)) continue;
    last = rd;
    parts.push(head, new ByteWriter().u16(type).u16(cls).u32(rrsig.originalTtl as number).u16(rd.length).bytes(rd).finish());
  }
  return concat(parts);
}

// Keys and signatures

export interface KeyRef {
  keyTag: number;
  algorithm: number;
  flags: number;
}

export function keyRef(dnskey: RData): KeyRef {
  return { keyTag: dnskey.keyTag as number, algorithm: dnskey.algorithm as number, flags: dnskey.flags as number };
}

function dnskeyRdata(dnskey: RData): Uint8Array {
  return canonicalRdata('DNSKEY', dnskey);
}

/** RFC 4034 §5.1.4: digest = hash(owner name in canonical form | DNSKEY RDATA). */
export async function dsMatches(crypto: CryptoPort, owner: string, dnskey: RData, ds: RData): Promise<boolean> {
  if (ds.algorithm !== dnskey.algorithm || ds.keyTag !== keyTag(dnskeyRdata(dnskey))) return false;
  const hash = DIGESTS[ds.digestType as number];
  if (!hash) return false;
  const digest = await crypto.digest(hash, concat([canonicalNameWire(owner), dnskeyRdata(dnskey)]));
  return equalBytes(digest, fromHex(String(ds.digest)));
}

/** The algorithm argument of SubtleCrypto.verify, as both the DOM and the Workers types spell it. */
type VerifyParams = Parameters<SubtleCrypto['verify']>[0];

const RSA_HASH: Record<number, HashName> = { 5: 'SHA-1', 7: 'SHA-1', 8: 'SHA-256', 10: 'SHA-512' };

/** A DNSKEY's public key as a WebCrypto key: RFC 3110 §2 (RSA), RFC 6605 §4 (ECDSA), RFC 8080 §3 (Ed25519). */
async function importKey(crypto: CryptoPort, algorithm: number, key: Uint8Array): Promise<{ key: CryptoKey; params: VerifyParams } | string> {
  const s = crypto.subtle;
  try {
    if (algorithm in RSA_HASH) {
      if (key.length < 3) return 'the RSA key is too short';
      let at = 1;
      let eLen = key[0];
      if (eLen === 0) {
        eLen = (key[1] << 8) | key[2];
        at = 3;
      }
      const e = key.subarray(at, at + eLen);
      const n = key.subarray(at + eLen);
      if (e.length !== eLen || n.length === 0) return 'the RSA key is malformed (RFC 3110 §2)';
      const jwk: JsonWebKey = { kty: 'RSA', n: toBase64Url(stripZeros(n)), e: toBase64Url(stripZeros(e)), ext: true };
      return { key: await s.importKey('jwk', jwk, { name: 'RSASSA-PKCS1-v1_5', hash: RSA_HASH[algorithm] }, false, ['verify']), params: { name: 'RSASSA-PKCS1-v1_5' } };
    }
    if (algorithm === 13 || algorithm === 14) {
      const size = algorithm === 13 ? 64 : 96;
      if (key.length !== size) return `an ECDSA key is ${size} octets, this one ${key.length}`;
      const curve = algorithm === 13 ? 'P-256' : 'P-384';
      return {
        key: await s.importKey('raw', concat([Uint8Array.of(4), key]) as BufferSource, { name: 'ECDSA', namedCurve: curve }, false, ['verify']),
        params: { name: 'ECDSA', hash: algorithm === 13 ? 'SHA-256' : 'SHA-384' },
      };
    }
    if (algorithm === 15) {
      if (key.length !== 32) return `an Ed25519 key is 32 octets, this one ${key.length}`;
      return { key: await s.importKey('raw', key as BufferSource, { name: 'Ed25519' }, false, ['verify']), params: { name: 'Ed25519' } };
    }
  } catch (e) {
    return `the key does not load: ${(e as Error).message}`;
  }
  return `${algorithmName(algorithm)} is not implemented here`;
}

function stripZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/** RFC 1982 serial arithmetic on 32-bit times, as RFC 4034 §3.1.5 asks. */
function serialBefore(a: number, b: number): boolean {
  return a !== b && ((a < b && b - a < 2 ** 31) || (a > b && a - b > 2 ** 31));
}

export function formatTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export interface SignatureCheck {
  keyTag: number;
  algorithm: number;
  algorithmName: string;
  signer: string;
  inception: string;
  expiration: string;
  valid: boolean;
  /** Why it does not count, when it does not. */
  problem: string | null;
}

/**
 * RFC 4035 §5.3.1 and §5.3.3: one RRSIG over one RRset, checked with the zone's keys: the signer is the zone,
 * labels and type agree, the time is inside the validity window, a zone key with the tag and algorithm exists,
 * and the signature verifies.
 */
export async function checkSignature(crypto: CryptoPort, rrsig: DnsRecord, rrset: DnsRecord[], zone: string, keys: RData[], nowSeconds: number): Promise<SignatureCheck> {
  const d = rrsig.data;
  const algorithm = d.algorithm as number;
  const out: SignatureCheck = {
    keyTag: d.keyTag as number,
    algorithm,
    algorithmName: algorithmName(algorithm),
    signer: String(d.signerName),
    inception: String(d.inception),
    expiration: String(d.expiration),
    valid: false,
    problem: null,
  };
  const fail = (problem: string) => ({ ...out, problem });
  const who = `signature by key ${out.keyTag} (${out.algorithmName}) of ${out.signer}`;
  if (compareNames(out.signer, zone) !== 0) return fail(`${who}: the signer is not the zone ${zone}`);
  if ((d.labels as number) > signatureLabels(rrset[0].name)) return fail(`${who}: it counts ${d.labels} labels, more than the owner ${rrset[0].name} has`);
  if (!algorithmSupported(algorithm)) return fail(`${who}: ${out.algorithmName} is not implemented here`);
  const inception = parseRrsigTime(d.inception, 'inception');
  const expiration = parseRrsigTime(d.expiration, 'expiration');
  if (serialBefore(expiration, nowSeconds)) return fail(`${who} expired ${formatTime(expiration)}`);
  if (serialBefore(nowSeconds, inception)) return fail(`${who} is not valid before ${formatTime(inception)}`);
  const candidates = keys.filter((k) => k.keyTag === out.keyTag && k.algorithm === algorithm && ((k.flags as number) & 0x0100) !== 0);
  if (candidates.length === 0) return fail(`${who}: the zone has no such zone key`);
  const data = signedData(d, rrset);
  const sig = fromBase64(String(d.signature));
  let lastProblem = `${who} does not verify`;
  for (const k of candidates) {
    if (((k.flags as number) & 0x0080) !== 0) {
      lastProblem = `${who}: the key is revoked (RFC 5011)`;
      continue;
    }
    const imported = await importKey(crypto, algorithm, fromBase64(String(k.publicKey)));
    if (typeof imported === 'string') {
      lastProblem = `${who}: ${imported}`;
      continue;
    }
    if (await crypto.subtle.verify(imported.params, imported.key, sig as BufferSource, data as BufferSource)) return { ...out, valid: true };
  }
  return fail(lastProblem);
}

/** Checks every RRSIG covering an RRset; the set is secure when one verifies (RFC 4035 §5.3.3). */
export async function checkRrset(crypto: CryptoPort, rrset: DnsRecord[], rrsigs: DnsRecord[], zone: string, keys: RData[], nowSeconds: number): Promise<{ valid: boolean; signatures: SignatureCheck[]; problem: string | null }> {
  const signatures: SignatureCheck[] = [];
  for (const sig of rrsigs.slice(0, 16)) signatures.push(await checkSignature(crypto, sig, rrset, zone, keys, nowSeconds));
  const valid = signatures.some((s) => s.valid);
  if (valid) return { valid, signatures, problem: null };
  if (signatures.length === 0) return { valid, signatures, problem: `${rrset[0].name} ${rrset[0].type} has no signature` };
  // The most telling reason: an expired or early signature over "no such key".
  const problems = signatures.map((s) => s.problem!);
  const best = problems.find((p) => / expired | is not valid before /.test(p)) ?? problems.find((p) => /does not verify/.test(p)) ?? problems[0];
  return { valid, signatures, problem: best };
}

// Grouping

export interface RRset {
  name: string;
  type: string;
  records: DnsRecord[];
  sigs: DnsRecord[];
}

/** Records of a section grouped into RRsets by owner and type, each with the RRSIGs that cover it. */
export function rrsets(records: DnsRecord[]): RRset[] {
  const out = new Map<string, RRset>();
  const key = (name: string, type: string) => `${canonicalLabels(name).map((l) => Array.from(l).join(',')).join('.')}/${type}`;
  for (const r of records) {
    if (r.type === 'RRSIG' || r.type === 'OPT') continue;
    const k = key(r.name, r.type);
    const set = out.get(k) ?? { name: r.name, type: r.type, records: [], sigs: [] };
    set.records.push(r);
    out.set(k, set);
  }
  for (const r of records) {
    if (r.type !== 'RRSIG') continue;
    const set = out.get(key(r.name, String(r.data.typeCovered)));
    if (set) set.sigs.push(r);
  }
  return [...out.values()];
}

// Denial of existence

/** What a set of NSEC or NSEC3 records proves about a name and type. */
export interface Denial {
  kind: 'nsec' | 'nsec3';
  /** nxdomain: the name does not exist; nodata: it exists without the type; insecure-delegation: a delegation without DS (or opt-out). */
  proves: 'nxdomain' | 'nodata' | 'insecure-delegation' | 'nothing';
  /** How, in words. */
  how: string;
  /** For a DS question: the name is a zone cut (a delegation) rather than a name inside the zone. */
  delegation?: boolean;
}

function ancestors(name: string): string[] {
  const labels = parseName(name);
  const out: string[] = [];
  for (let i = 0; i <= labels.length; i++) out.push(labelsToText(labels.slice(i)));
  return out;
}


/** NSEC: `name` falls strictly between owner and next (the last NSEC wraps to the apex). */
function nsecCovers(nsec: DnsRecord, name: string): boolean {
  const owner = nsec.name;
  const next = String(nsec.data.nextDomain);
  const afterOwner = compareNames(owner, name) < 0;
  const beforeNext = compareNames(name, next) < 0;
  return compareNames(owner, next) < 0 ? afterOwner && beforeNext : afterOwner || beforeNext;
}

function types(r: DnsRecord): string[] {
  return (r.data.types as string[]) ?? [];
}

/** RFC 4035 §5.4 (and RFC 6840 §4.1, §4.3): what NSEC records prove about `qname`/`qtype`. */
export function nsecDenial(nsecs: DnsRecord[], qname: string, qtype: string): Denial {
  const exact = nsecs.find((n) => compareNames(n.name, qname) === 0);
  if (exact) {
    const t = types(exact);
    if (qtype === 'DS') {
      // RFC 6840 §4.4: at a delegation the parent's NSEC has NS and not SOA.
      if (t.includes('DS')) return { kind: 'nsec', proves: 'nothing', how: `the NSEC at ${qname} lists DS` };
      const delegation = t.includes('NS') && !t.includes('SOA');
      return { kind: 'nsec', proves: delegation ? 'insecure-delegation' : 'nodata', how: `the NSEC at ${qname} lists ${t.join(' ')}: no DS`, delegation };
    }
    if (t.includes(qtype) || t.includes('CNAME')) return { kind: 'nsec', proves: 'nothing', how: `the NSEC at ${qname} lists ${t.includes(qtype) ? qtype : 'CNAME'}` };
    return { kind: 'nsec', proves: 'nodata', how: `the NSEC at ${qname} lists ${t.join(' ')}, not ${qtype}` };
  }
  const cover = nsecs.find((n) => nsecCovers(n, qname));
  if (!cover) return { kind: 'nsec', proves: 'nothing', how: `no NSEC matches or covers ${qname}` };
  // The closest encloser is the longest ancestor of qname that is an ancestor of the covering NSEC's owner or next name.
  const ce = ancestors(qname).find((a) => isAncestorOrSelf(a, cover.name) || isAncestorOrSelf(a, String(cover.data.nextDomain))) ?? '.';
  const wildcard = ce === '.' ? '*.' : `*.${ce}`;
  const wildCover = nsecs.find((n) => nsecCovers(n, wildcard) || compareNames(n.name, wildcard) === 0);
  if (!wildCover) return { kind: 'nsec', proves: 'nothing', how: `${cover.name} NSEC ${cover.data.nextDomain} covers ${qname}, but nothing shows there is no wildcard ${wildcard}` };
  if (compareNames(wildCover.name, wildcard) === 0) {
    const t = types(wildCover);
    if (t.includes(qtype) || t.includes('CNAME')) return { kind: 'nsec', proves: 'nothing', how: `the wildcard ${wildcard} exists with ${qtype}` };
    return { kind: 'nsec', proves: 'nodata', how: `${qname} is covered and the wildcard ${wildcard} has no ${qtype}` };
  }
  return { kind: 'nsec', proves: 'nxdomain', how: `NSEC ${cover.name} → ${cover.data.nextDomain} covers ${qname}; NSEC ${wildCover.name} → ${wildCover.data.nextDomain} covers ${wildcard}` };
}

function isAncestorOrSelf(ancestor: string, name: string): boolean {
  return isSubdomain(name, ancestor);
}

/** RFC 5155 §5: the iterated, salted SHA-1 hash of a name in canonical form. */
export function nsec3Hash(crypto: CryptoPort, name: string, salt: Uint8Array, iterations: number): Uint8Array {
  let h = crypto.sha1Sync(concat([canonicalNameWire(name), salt]));
  for (let i = 0; i < iterations; i++) h = crypto.sha1Sync(concat([h, salt]));
  return h;
}

interface Nsec3View {
  record: DnsRecord;
  zone: string;
  hash: Uint8Array;
  next: Uint8Array;
  optOut: boolean;
}

function nsec3View(r: DnsRecord): Nsec3View | undefined {
  const labels = parseName(r.name);
  if (labels.length < 1) return undefined;
  let hash: Uint8Array;
  try {
    hash = fromBase32Hex(labelToText(labels[0]), 'NSEC3 owner');
  } catch {
    return undefined;
  }
  return { record: r, zone: labelsToText(labels.slice(1)), hash, next: fromBase32Hex(String(r.data.nextHashedOwner), 'NSEC3 next'), optOut: ((r.data.flags as number) & 1) === 1 };
}

function nsec3Covers(v: Nsec3View, h: Uint8Array): boolean {
  const afterOwner = compareBytes(v.hash, h) < 0;
  const beforeNext = compareBytes(h, v.next) < 0;
  return compareBytes(v.hash, v.next) < 0 ? afterOwner && beforeNext : afterOwner || beforeNext;
}

/** RFC 5155 §8.3–§8.7: what NSEC3 records prove about `qname`/`qtype`. */
export function nsec3Denial(crypto: CryptoPort, records: DnsRecord[], qname: string, qtype: string): Denial {
  const views = records.map(nsec3View).filter((v): v is Nsec3View => v !== undefined);
  const first = views[0];
  if (!first) return { kind: 'nsec3', proves: 'nothing', how: 'no NSEC3 record' };
  const d = first.record.data;
  // RFC 5155 §8.2: only hash algorithm 1 (SHA-1); the parameters must agree across the set.
  if (d.hashAlgorithm !== 1) return { kind: 'nsec3', proves: 'nothing', how: `NSEC3 hash algorithm ${d.hashAlgorithm} is unknown` };
  const iterations = d.iterations as number;
  if (iterations > MAX_NSEC3_ITERATIONS) return { kind: 'nsec3', proves: 'nothing', how: `NSEC3 with ${iterations} iterations, more than the ${MAX_NSEC3_ITERATIONS} we hash (RFC 9276 §3.2)` };
  const salt = d.salt === '-' || d.salt === '' ? new Uint8Array(0) : fromHex(String(d.salt));
  const same = views.filter((v) => v.record.data.iterations === iterations && v.record.data.salt === d.salt && compareNames(v.zone, first.zone) === 0);
  const hashOf = (n: string) => nsec3Hash(crypto, n, salt, iterations);
  const show = (h: Uint8Array) => toBase32Hex(h).toLowerCase();
  const matching = (n: string) => {
    const h = hashOf(n);
    return same.find((v) => equalBytes(v.hash, h));
  };
  const covering = (n: string) => {
    const h = hashOf(n);
    return same.find((v) => nsec3Covers(v, h));
  };
  const exact = matching(qname);
  if (exact) {
    const t = types(exact.record);
    if (qtype === 'DS') {
      if (t.includes('DS')) return { kind: 'nsec3', proves: 'nothing', how: `the NSEC3 matching ${qname} lists DS` };
      const delegation = t.includes('NS') && !t.includes('SOA');
      return { kind: 'nsec3', proves: delegation ? 'insecure-delegation' : 'nodata', how: `the NSEC3 matching ${qname} (${show(exact.hash)}) lists ${t.join(' ') || 'no types'}: no DS`, delegation };
    }
    if (t.includes(qtype) || t.includes('CNAME')) return { kind: 'nsec3', proves: 'nothing', how: `the NSEC3 matching ${qname} lists ${t.includes(qtype) ? qtype : 'CNAME'}` };
    return { kind: 'nsec3', proves: 'nodata', how: `the NSEC3 matching ${qname} (${show(exact.hash)}) lists ${t.join(' ') || 'no types'}, not ${qtype}` };
  }
  // §8.3: the closest encloser proof — an ancestor that matches, and the next closer name covered.
  const chain = ancestors(qname);
  for (let i = 1; i < chain.length; i++) {
    const ce = chain[i];
    if (!isAncestorOrSelf(first.zone, ce)) break;
    const match = matching(ce);
    if (!match) continue;
    const nextCloser = chain[i - 1];
    const cover = covering(nextCloser);
    if (!cover) return { kind: 'nsec3', proves: 'nothing', how: `closest encloser ${ce} matches, but no NSEC3 covers the next closer name ${nextCloser}` };
    // §8.6 / RFC 6840 §4.2: a DS question answered by an opt-out span: there may be an unsigned delegation.
    if (qtype === 'DS' && cover.optOut) return { kind: 'nsec3', proves: 'insecure-delegation', how: `${nextCloser} falls in an opt-out NSEC3 span: an unsigned delegation, no DS`, delegation: true };
    const wildcard = `*.${ce === '.' ? '' : ce}`;
    const wild = covering(wildcard);
    if (wild) return { kind: 'nsec3', proves: 'nxdomain', how: `closest encloser ${ce}; NSEC3 ${show(cover.hash)} covers the next closer ${nextCloser}; NSEC3 ${show(wild.hash)} covers ${wildcard}` };
    const wildMatch = matching(wildcard);
    if (wildMatch && !types(wildMatch.record).includes(qtype)) return { kind: 'nsec3', proves: 'nodata', how: `closest encloser ${ce}; the wildcard ${wildcard} has no ${qtype}` };
    return { kind: 'nsec3', proves: 'nothing', how: `closest encloser ${ce} and the next closer ${nextCloser} are proved, but nothing shows there is no wildcard ${wildcard}` };
  }
  return { kind: 'nsec3', proves: 'nothing', how: `no NSEC3 proves a closest encloser of ${qname}` };
}

/** A wildcard expansion (RFC 4035 §5.3.4, RFC 5155 §8.8): the name asked for must be proved not to exist. */
export function wildcardProof(crypto: CryptoPort, denials: DnsRecord[], qname: string, sourceLabels: number): { proved: boolean; how: string } {
  const nsecs = denials.filter((r) => r.type === 'NSEC');
  const labels = parseName(qname);
  const nextCloser = labelsToText(labels.slice(labels.length - sourceLabels - 1));
  if (nsecs.length > 0) {
    const cover = nsecs.find((n) => nsecCovers(n, qname));
    return cover ? { proved: true, how: `NSEC ${cover.name} → ${cover.data.nextDomain} covers ${qname}` } : { proved: false, how: `no NSEC shows that ${qname} itself does not exist` };
  }
  const nsec3s = denials.filter((r) => r.type === 'NSEC3');
  if (nsec3s.length === 0) return { proved: false, how: `the answer was made from a wildcard, and nothing shows that ${qname} does not exist` };
  const views = nsec3s.map(nsec3View).filter((v): v is Nsec3View => v !== undefined);
  const d = views[0]?.record.data;
  if (!d || (d.iterations as number) > MAX_NSEC3_ITERATIONS) return { proved: false, how: 'no usable NSEC3 record' };
  const h = nsec3Hash(crypto, nextCloser, d.salt === '-' ? new Uint8Array(0) : fromHex(String(d.salt)), d.iterations as number);
  const cover = views.find((v) => nsec3Covers(v, h));
  return cover ? { proved: true, how: `an NSEC3 covers the next closer name ${nextCloser}` } : { proved: false, how: `no NSEC3 covers the next closer name ${nextCloser}` };
}

/** The denial records of a section, NSEC or NSEC3, proving what they prove. */
export function denialOf(crypto: CryptoPort, authority: DnsRecord[], qname: string, qtype: string): Denial | null {
  const nsec3 = authority.filter((r) => r.type === 'NSEC3');
  if (nsec3.length > 0) return nsec3Denial(crypto, nsec3, qname, qtype);
  const nsec = authority.filter((r) => r.type === 'NSEC');
  if (nsec.length > 0) return nsecDenial(nsec, qname, qtype);
  return null;
}

// Trust anchors

export interface TrustAnchor {
  zone: string;
  type: 'DS' | 'DNSKEY';
  data: RData;
}

/** The root zone's key-signing keys as IANA publishes them (data.iana.org/root-anchors): KSK-2017 and KSK-2024. */
export const IANA_ROOT_ANCHORS = [
  '. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D',
  '. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16',
];

/**
 * Trust anchors in zone-file form, one a line, as `dnssec-dsfromkey` and IANA print them:
 * `owner [ttl] [IN] DS keytag algorithm digesttype digest` or `owner [ttl] [IN] DNSKEY flags 3 algorithm key`.
 * Throws InvalidInput naming `field` for anything else.
 */
export function parseTrustAnchors(lines: string[], field = 'trustAnchors'): TrustAnchor[] {
  const out: TrustAnchor[] = [];
  lines.forEach((line, i) => {
    const words = line.replace(/;.*$/, '').trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) return;
    const bad = (why: string) => InvalidInput.field(`${field}.${i}`, `${JSON.stringify(line.slice(0, 80))}: ${why}`);
    const zone = normalizeName(words.shift()!, `${field}.${i}`);
    while (words.length > 0 && (/^\d+$/.test(words[0]) || /^(IN|CLASS1)$/i.test(words[0]))) words.shift();
    const type = (words.shift() ?? '').toUpperCase();
    if (type === 'DS') {
      const [tag, alg, digestType, ...digest] = words;
      const hex = digest.join('');
      if (!/^\d+$/.test(tag ?? '') || !/^\d+$/.test(alg ?? '') || !/^\d+$/.test(digestType ?? '') || !/^[0-9a-fA-F]+$/.test(hex)) throw bad('a DS anchor is "owner DS keytag algorithm digesttype digest"');
      out.push({ zone, type, data: { keyTag: Number(tag), algorithm: Number(alg), digestType: Number(digestType), digest: hex.toUpperCase() } });
    } else if (type === 'DNSKEY') {
      const [flags, protocol, alg, ...key] = words;
      if (!/^\d+$/.test(flags ?? '') || protocol !== '3' || !/^\d+$/.test(alg ?? '') || key.length === 0) throw bad('a DNSKEY anchor is "owner DNSKEY flags 3 algorithm base64-key"');
      const data: RData = { flags: Number(flags), protocol: 3, algorithm: Number(alg), publicKey: key.join('') };
      out.push({ zone, type, data: { ...data, keyTag: keyTag(canonicalRdata('DNSKEY', data)) } });
    } else throw bad('a trust anchor is a DS or DNSKEY record');
  });
  if (out.length === 0) throw InvalidInput.field(field, 'give at least one DS or DNSKEY record');
  return out;
}
