// DNSSEC validation of our own, RFC 4035 §5, from a trust anchor: the answer's signatures, then each zone's
// DNSKEY set, then the DS records in its parent, up to the anchor; denial of existence with NSEC and NSEC3.
//
// How it works: every question goes to one server (a recursive resolver) with DO and CD set, so it hands over
// signatures and does not hide data it judges bogus. The zone of an RRset is the signer of its RRSIG; `zoneTrust`
// follows a zone to its anchor — DNSKEY set, DS set (signed by the parent: recursion), the key that matches a
// DS, the DNSKEY set's self-signature — and remembers each zone's outcome, which is also the chain shown to the
// user. A DS that the parent proves absent ends the chain as insecure; a DS whose algorithms we do not implement
// too (RFC 4035 §5.2). An unsigned answer is insecure only if a delegation without DS is proved above it
// (`findInsecureCut` walks down from the root asking for DS); otherwise it is bogus. A bogus answer is still
// shown, with the reason. The questions asked are capped, so a hostile server cannot make us ask forever.
import { PortolanError } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import type { RData } from './rdata.ts';
import { buildQuery, type DnsMessage, type DnsRecord } from './codec.ts';
import { queryId, type DnsSession } from './client.ts';
import {
  algorithmName,
  algorithmSupported,
  checkRrset,
  compareNames,
  denialOf,
  digestSupported,
  dsMatches,
  rrsets,
  signatureLabels,
  wildcardProof,
  type Denial,
  type RRset,
  type SignatureCheck,
  type TrustAnchor,
} from './dnssec.ts';
import { isSubdomain, normalizeName, parseName, labelsToText } from './names.ts';

export type Security = 'secure' | 'insecure' | 'bogus' | 'indeterminate';

/** Most questions one validation asks. */
const MAX_QUERIES = 64;
/** Deepest chain followed. */
const MAX_DEPTH = 32;

export interface ChainLink {
  zone: string;
  status: Security;
  reason: string;
  /** The zone is a trust anchor's. */
  anchor: boolean;
  parent: string | null;
  ds: { keyTag: number; algorithm: number; algorithmName: string; digestType: number; matched: boolean }[];
  /** How the parent's DS set (or its absence) was proved. */
  dsProof: string | null;
  dnskeys: { keyTag: number; algorithm: number; algorithmName: string; flags: number; sep: boolean; trusted: boolean }[];
  signatures: SignatureCheck[];
}

export interface RRsetResult {
  name: string;
  type: string;
  section: 'answer' | 'authority';
  zone: string | null;
  status: Security;
  reason: string;
  wildcard: string | null;
  signatures: SignatureCheck[];
}

export interface ValidationResult {
  name: string;
  type: string;
  rcode: string;
  status: Security;
  reason: string;
  message: DnsMessage;
  rrsets: RRsetResult[];
  denial: (Denial & { zone: string | null }) | null;
  chain: ChainLink[];
  queries: number;
}

interface ZoneTrust {
  status: Security;
  reason: string;
  keys: RData[];
}

const RANK: Record<Security, number> = { secure: 0, insecure: 1, indeterminate: 2, bogus: 3 };

function worst(a: Security, b: Security): Security {
  return RANK[a] >= RANK[b] ? a : b;
}

export class Validator {
  private readonly cache = new Map<string, Promise<DnsMessage>>();
  private readonly zones = new Map<string, Promise<ZoneTrust>>();
  readonly links = new Map<string, ChainLink>();
  queries = 0;

  constructor(
    private readonly ctx: OperationContext,
    private readonly session: DnsSession,
    private readonly anchors: TrustAnchor[],
    private readonly nowSeconds: number,
  ) {}

  /** One question with DO and CD (RFC 4035 §3.2.2: the resolver hands over what it would call bogus), asked once. */
  ask(name: string, type: string): Promise<DnsMessage> {
    const key = `${name.toLowerCase()}/${type}`;
    let got = this.cache.get(key);
    if (!got) {
      if (++this.queries > MAX_QUERIES) throw new PortolanError('protocol_error', `validation needed more than ${MAX_QUERIES} questions; giving up`);
      const id = this.session.transport === 'doh' ? 0 : queryId(this.ctx);
      const bytes = buildQuery({ id, name, type, rd: true, cd: true, edns: { udpSize: 1232, do: true } });
      got = this.session.exchange(bytes, id, `${name} ${type} (DO, CD)`).then((x) => x.message);
      this.cache.set(key, got);
    }
    return got;
  }

  private link(zone: string): ChainLink {
    let l = this.links.get(zone.toLowerCase());
    if (!l) {
      l = { zone, status: 'indeterminate', reason: '', anchor: false, parent: null, ds: [], dsProof: null, dnskeys: [], signatures: [] };
      this.links.set(zone.toLowerCase(), l);
    }
    return l;
  }

  /** The zone's DNSKEY set, validated from a trust anchor, with the status of the chain to it. */
  zoneTrust(zone: string, depth = 0): Promise<ZoneTrust> {
    const key = zone.toLowerCase();
    let got = this.zones.get(key);
    if (!got) {
      got = this.computeZoneTrust(zone, depth).then((t) => {
        const l = this.link(zone);
        l.status = t.status;
        l.reason = t.reason;
        return t;
      });
      this.zones.set(key, got);
    }
    return got;
  }

  private async computeZoneTrust(zone: string, depth: number): Promise<ZoneTrust> {
    const link = this.link(zone);
    if (depth > MAX_DEPTH) return { status: 'indeterminate', reason: `the chain is deeper than ${MAX_DEPTH} zones`, keys: [] };
    const anchors = this.anchors.filter((a) => compareNames(a.zone, zone) === 0);
    let dsSet: RData[] = [];
    if (anchors.length > 0) {
      link.anchor = true;
      dsSet = anchors.filter((a) => a.type === 'DS').map((a) => a.data);
      link.dsProof = 'trust anchor';
    } else {
      if (zone === '.') return { status: 'indeterminate', reason: 'no trust anchor leads to the root: give one for . or a zone above the answer', keys: [] };
      const dsMsg = await this.ask(zone, 'DS');
      const sets = rrsets(dsMsg.answers).filter((s) => s.type === 'DS' && compareNames(s.name, zone) === 0);
      if (sets.length > 0) {
        const set = sets[0];
        const parent = set.sigs[0] ? String(set.sigs[0].data.signerName) : null;
        link.parent = parent;
        if (!parent) return { status: 'bogus', reason: `the DS set of ${zone} is not signed`, keys: [] };
        if (!isSubdomain(zone, parent) || compareNames(zone, parent) === 0) return { status: 'bogus', reason: `the DS set of ${zone} is signed by ${parent}, which is not a parent of it`, keys: [] };
        const up = await this.zoneTrust(parent, depth + 1);
        if (up.status !== 'secure') return { status: up.status, reason: up.status === 'insecure' ? `${parent} is insecure` : `${parent}: ${up.reason}`, keys: [] };
        const check = await checkRrset(this.ctx.crypto, set.records, set.sigs, parent, up.keys, this.nowSeconds);
        if (!check.valid) return { status: 'bogus', reason: `the DS set of ${zone}: ${check.problem}`, keys: [] };
        dsSet = set.records.map((r) => r.data);
        link.dsProof = `DS set signed by ${parent}`;
      } else {
        // No DS: the parent must prove it (RFC 4035 §5.2).
        const denial = await this.denialFor(dsMsg, zone, 'DS', depth);
        link.parent = denial.zone;
        link.dsProof = denial.how;
        if (denial.status !== 'secure') return { status: denial.status, reason: denial.reason, keys: [] };
        if (denial.proves === 'insecure-delegation' || denial.proves === 'nodata') return { status: 'insecure', reason: `${denial.zone} proves there is no DS for ${zone} (${denial.how}): its signatures are not chained to the anchor`, keys: [] };
        return { status: 'bogus', reason: `no DS for ${zone} in ${denial.zone ?? 'its parent'}, and no proof that there is none: ${denial.how}`, keys: [] };
      }
    }
    link.ds = dsSet.map((d) => ({ keyTag: d.keyTag as number, algorithm: d.algorithm as number, algorithmName: algorithmName(d.algorithm as number), digestType: d.digestType as number, matched: false }));
    // RFC 4035 §5.2 / RFC 6840 §5.2: DS records with algorithms or digests we lack are ignored; with none left, the zone is insecure.
    const usable = dsSet.filter((d) => algorithmSupported(d.algorithm as number) && digestSupported(d.digestType as number));
    const anchorKeys = anchors.filter((a) => a.type === 'DNSKEY' && algorithmSupported(a.data.algorithm as number)).map((a) => a.data);
    if (usable.length === 0 && anchorKeys.length === 0 && dsSet.length > 0) {
      const algs = [...new Set(dsSet.map((d) => algorithmName(d.algorithm as number)))].join(', ');
      return { status: 'insecure', reason: `the DS records of ${zone} use ${algs} (digest type ${[...new Set(dsSet.map((d) => d.digestType))].join(', ')}), which this validator does not implement: RFC 4035 §5.2 treats the zone as insecure`, keys: [] };
    }
    const keyMsg = await this.ask(zone, 'DNSKEY');
    const keySet = rrsets(keyMsg.answers).find((s) => s.type === 'DNSKEY' && compareNames(s.name, zone) === 0);
    if (!keySet) return { status: 'bogus', reason: `${zone} answered no DNSKEY set (${keyMsg.rcode}), though its DS says it is signed`, keys: [] };
    const keys = keySet.records.map((r) => r.data);
    const trusted: RData[] = [];
    for (const k of keys) {
      let ok = anchorKeys.some((a) => a.algorithm === k.algorithm && a.publicKey === k.publicKey && a.flags === k.flags);
      for (const [i, d] of dsSet.entries()) {
        if (await dsMatches(this.ctx.crypto, zone, k, d)) {
          link.ds[i].matched = true;
          ok ||= usable.includes(d);
        }
      }
      if (ok) trusted.push(k);
    }
    link.dnskeys = keys.map((k) => ({ keyTag: k.keyTag as number, algorithm: k.algorithm as number, algorithmName: algorithmName(k.algorithm as number), flags: k.flags as number, sep: ((k.flags as number) & 1) === 1, trusted: trusted.includes(k) }));
    if (trusted.length === 0) {
      const wanted = link.anchor ? 'the trust anchor' : `its DS (${dsSet.map((d) => `${d.keyTag}/${algorithmName(d.algorithm as number)}`).join(', ')})`;
      return { status: 'bogus', reason: `no DNSKEY of ${zone} (${keys.map((k) => k.keyTag).join(', ')}) matches ${wanted}`, keys: [] };
    }
    // RFC 4035 §5.2: the DNSKEY set must be signed by a key the DS (or anchor) vouches for.
    const bySep = keySet.sigs.filter((s) => trusted.some((k) => k.keyTag === s.data.keyTag && k.algorithm === s.data.algorithm));
    const check = await checkRrset(this.ctx.crypto, keySet.records, bySep.length > 0 ? bySep : keySet.sigs, zone, trusted, this.nowSeconds);
    link.signatures = check.signatures;
    if (!check.valid) return { status: 'bogus', reason: `the DNSKEY set of ${zone}: ${check.problem}`, keys: [] };
    return { status: 'secure', reason: link.anchor ? `${zone} DNSKEY set matches the trust anchor` : `${zone} DNSKEY set matches the DS in ${link.parent}`, keys: keys.filter((k) => ((k.flags as number) & 0x0100) !== 0) };
  }

  /**
   * What a negative answer proves: the zone whose SOA and NSEC/NSEC3 records came with it, that zone's trust,
   * the records' signatures, and the denial they make.
   */
  async denialFor(msg: DnsMessage, qname: string, qtype: string, depth = 0): Promise<{ status: Security; reason: string; zone: string | null; proves: Denial['proves'] | null; how: string; kind: Denial['kind'] | null; delegation?: boolean; checked: RRsetResult[] }> {
    const sets = rrsets(msg.authority).filter((s) => s.type === 'SOA' || s.type === 'NSEC' || s.type === 'NSEC3');
    const signer = sets.flatMap((s) => s.sigs).map((s) => String(s.data.signerName))[0] ?? null;
    const none = { zone: signer, proves: null, kind: null, checked: [] as RRsetResult[] };
    if (!signer) return { ...none, status: 'bogus', reason: `${qname} ${qtype}: ${msg.rcode} without signed NSEC or NSEC3 records`, how: 'no signed denial in the answer' };
    const trust = await this.zoneTrust(signer, depth + 1);
    if (trust.status !== 'secure') return { ...none, status: trust.status, reason: trust.status === 'insecure' ? `${signer} is insecure` : `${signer}: ${trust.reason}`, how: 'the zone is not secure' };
    const checked: RRsetResult[] = [];
    for (const s of sets) {
      const c = await checkRrset(this.ctx.crypto, s.records, s.sigs, signer, trust.keys, this.nowSeconds);
      checked.push({ name: s.name, type: s.type, section: 'authority', zone: signer, status: c.valid ? 'secure' : 'bogus', reason: c.valid ? `signed by ${signer}` : c.problem!, wildcard: null, signatures: c.signatures });
      if (!c.valid && s.type !== 'SOA') return { ...none, checked, status: 'bogus', reason: `${s.name} ${s.type}: ${c.problem}`, how: 'a denial record does not verify' };
    }
    const denial = denialOf(this.ctx.crypto, sets.flatMap((s) => s.records), qname, qtype);
    if (!denial) return { ...none, checked, status: 'bogus', reason: `${qname} ${qtype}: ${msg.rcode} from ${signer} without NSEC or NSEC3 records`, how: 'no NSEC or NSEC3' };
    return { zone: signer, checked, status: 'secure', reason: denial.how, proves: denial.proves, how: denial.how, kind: denial.kind, delegation: denial.delegation };
  }

  /**
   * For an unsigned answer: walks from the root down the name's ancestors asking for DS, until a delegation
   * without DS is proved (insecure) or the walk reaches the name with every cut signed (bogus: it should have
   * been signed).
   */
  async findInsecureCut(name: string): Promise<{ status: Security; reason: string; zone: string | null }> {
    const labels = parseName(name);
    for (let k = 1; k <= labels.length; k++) {
      const at = labelsToText(labels.slice(labels.length - k));
      const msg = await this.ask(at, 'DS');
      const ds = rrsets(msg.answers).find((s) => s.type === 'DS' && compareNames(s.name, at) === 0);
      if (ds) {
        const t = await this.zoneTrust(at);
        if (t.status !== 'secure') return { status: t.status, reason: t.status === 'insecure' ? t.reason : `${at}: ${t.reason}`, zone: at };
        continue;
      }
      const d = await this.denialFor(msg, at, 'DS');
      if (d.status !== 'secure') return { status: d.status, reason: d.reason, zone: d.zone };
      if (d.proves === 'insecure-delegation') {
        this.link(at).parent = d.zone;
        this.link(at).dsProof = d.how;
        this.link(at).status = 'insecure';
        this.link(at).reason = `${d.zone} proves there is no DS for ${at} (${d.how})`;
        return { status: 'insecure', reason: `${d.zone} proves there is no DS for ${at} (${d.how})`, zone: at };
      }
      if (d.proves === 'nothing') return { status: 'bogus', reason: `no DS for ${at}, and no proof that there is none: ${d.how}`, zone: d.zone };
    }
    return { status: 'bogus', reason: `every zone down to ${name} is signed, yet the answer carries no signature`, zone: null };
  }

  /** Validates one RRset of an answer: its zone's trust, its signatures, a wildcard's proof. */
  async rrset(set: RRset, message: DnsMessage, section: 'answer' | 'authority'): Promise<RRsetResult> {
    const base = { name: set.name, type: set.type, section, wildcard: null as string | null };
    if (set.sigs.length === 0) {
      const cut = await this.findInsecureCut(set.name);
      return { ...base, zone: cut.zone, status: cut.status, reason: cut.status === 'insecure' ? `unsigned, and may be: ${cut.reason}` : `unsigned: ${cut.reason}`, signatures: [] };
    }
    const zone = String(set.sigs[0].data.signerName);
    if (!isSubdomain(set.name, zone)) return { ...base, zone, status: 'bogus', reason: `signed by ${zone}, which is not a zone above ${set.name}`, signatures: [] };
    const trust = await this.zoneTrust(zone);
    if (trust.status !== 'secure') return { ...base, zone, status: trust.status, reason: trust.status === 'insecure' ? trust.reason : `${zone}: ${trust.reason}`, signatures: [] };
    const sigs = set.sigs.filter((s) => compareNames(String(s.data.signerName), zone) === 0);
    const check = await checkRrset(this.ctx.crypto, set.records, sigs, zone, trust.keys, this.nowSeconds);
    if (!check.valid) return { ...base, zone, status: 'bogus', reason: check.problem!, signatures: check.signatures };
    const good = check.signatures.find((s) => s.valid)!;
    const labels = (sigs.find((s) => s.data.keyTag === good.keyTag)?.data.labels as number) ?? signatureLabels(set.name);
    if (labels < signatureLabels(set.name)) {
      const parts = parseName(set.name);
      const source = `*.${labelsToText(parts.slice(parts.length - labels))}`.replace(/\.\.$/, '.');
      const proof = wildcardProof(this.ctx.crypto, message.authority, set.name, labels);
      if (!proof.proved) return { ...base, wildcard: source, zone, status: 'bogus', reason: `expanded from ${source}, but ${proof.how}`, signatures: check.signatures };
      return { ...base, wildcard: source, zone, status: 'secure', reason: `expanded from ${source}; ${proof.how}`, signatures: check.signatures };
    }
    return { ...base, zone, status: 'secure', reason: `signed by key ${good.keyTag} of ${zone}`, signatures: check.signatures };
  }

  async validate(qname: string, qtype: string): Promise<ValidationResult> {
    const name = normalizeName(qname);
    const message = await this.ask(name, qtype);
    const results: RRsetResult[] = [];
    let denial: ValidationResult['denial'] = null;
    let status: Security = 'secure';
    let reason = '';
    const answerSets = rrsets(message.answers);
    if (message.rcode !== 'NOERROR' && message.rcode !== 'NXDOMAIN') {
      return this.result(name, qtype, message, 'indeterminate', `the server answered ${message.rcode}: nothing to validate`, results, null);
    }
    for (const set of answerSets) {
      const r = await this.rrset(set, message, 'answer');
      results.push(r);
      if (RANK[r.status] > RANK[status]) reason = `${r.name} ${r.type}: ${r.reason}`;
      status = worst(status, r.status);
    }
    // The end of a CNAME chain with no data of the type asked for, or no answer at all: a denial.
    const last = lastOwner(answerSets, name);
    const answered = answerSets.some((s) => compareNames(s.name, last) === 0 && (s.type === qtype || qtype === 'ANY'));
    if (!answered) {
      const d = await this.denialFor(message, last, qtype);
      for (const c of d.checked) results.push(c);
      const unsigned = d.zone === null;
      if (unsigned) {
        const cut = await this.findInsecureCut(last);
        denial = { kind: 'nsec', proves: 'nothing', how: 'no signed denial', zone: cut.zone };
        if (RANK[cut.status] > RANK[status]) reason = cut.status === 'insecure' ? `unsigned ${message.rcode}, and may be: ${cut.reason}` : `${message.rcode} ${last} ${qtype}: ${cut.reason}`;
        status = worst(status, cut.status);
      } else {
        denial = { kind: d.kind ?? 'nsec', proves: d.proves ?? 'nothing', how: d.how, zone: d.zone, delegation: d.delegation };
        let s: Security = d.status;
        let why = d.reason;
        const wanted = message.rcode === 'NXDOMAIN' ? 'nxdomain' : 'nodata';
        if (s === 'secure' && d.proves !== wanted && !(wanted === 'nodata' && d.proves === 'insecure-delegation')) {
          s = 'bogus';
          why = `${message.rcode} for ${last} ${qtype}, but the denial records prove ${d.proves === 'nothing' ? 'nothing' : d.proves}: ${d.how}`;
        }
        if (RANK[s] > RANK[status]) reason = s === 'insecure' ? why : `${last} ${qtype}: ${why}`;
        status = worst(status, s);
        if (status === 'secure') reason = `${message.rcode === 'NXDOMAIN' ? `${last} does not exist` : `${last} has no ${qtype}`}: ${d.how}`;
      }
    }
    if (status === 'secure' && reason === '') reason = `every RRset verifies up to the trust anchor`;
    return this.result(name, qtype, message, status, reason, results, denial);
  }

  private result(name: string, type: string, message: DnsMessage, status: Security, reason: string, rrsetResults: RRsetResult[], denial: ValidationResult['denial']): ValidationResult {
    // The chain from the anchor down, parents first.
    const chain = [...this.links.values()].sort((a, b) => parseName(a.zone).length - parseName(b.zone).length);
    return { name, type, rcode: message.rcode, status, reason, message, rrsets: rrsetResults, denial, chain, queries: this.queries };
  }
}

/** The name a CNAME chain in the answer ends at (RFC 1034 §3.6.2), from the name asked. */
function lastOwner(sets: RRset[], name: string): string {
  let at = name;
  for (let i = 0; i < 16; i++) {
    const cname = sets.find((s) => s.type === 'CNAME' && compareNames(s.name, at) === 0);
    if (!cname) break;
    at = String(cname.records[0].data.target);
  }
  return at;
}

/** The records of an RRset, for output. */
export function recordsOf(sets: RRset[]): DnsRecord[] {
  return sets.flatMap((s) => [...s.records, ...s.sigs]);
}
