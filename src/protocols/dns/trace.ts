// Iterative resolution as `dig +trace` does it, RFC 1034 §5.3.3 (the resolver algorithm) with RD clear:
// ask a server, follow its referral (NS records in the authority section, addresses from the glue in the
// additional section, RFC 1034 §4.2.1), until some server answers, denies the name, or nobody can be asked.
//
// How it works: each step asks one server over a fresh connection and records what it said. A referral
// must point below the zone the server was asked as (RFC 1034 §5.3.3 step 4 — an upward or sideways
// referral is lame and the next server is tried). Name servers without glue are looked up with a nested
// trace from the starting server, at most two levels deep. Every address comes from a server's answer, so
// each dial is a second hop for the target guard.
import { classify } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { buildQuery, type DnsRecord } from './codec.ts';
import { openSession, queryId, withText, type RecordOut } from './client.ts';
import { isSubdomain, sameName } from './names.ts';

export interface TraceStep {
  /** Why this server was asked: the zone it serves, or the starting server. */
  zone: string | null;
  server: { name: string | null; address: string; port: number };
  /** Set for steps of a nested trace that finds a name server's address. */
  purpose?: string;
  rcode?: string;
  aa?: boolean;
  answers?: RecordOut[];
  referral?: { zone: string; nameservers: { name: string; addresses: string[] }[] } | null;
  rttMs?: number;
  error?: { code: string; message: string };
}

export interface TraceResult {
  steps: TraceStep[];
  /** How the trace ended: the last answer's rcode, or NOANSWER when no server could be asked. */
  rcode: string;
  answers: RecordOut[];
  authority: RecordOut[];
  complete: boolean;
  reason: string;
}

interface Candidate {
  name: string | null;
  address: string;
}

export interface TraceOptions {
  name: string;
  type: string;
  start: string;
  port: number;
  maxSteps: number;
  dnssec: boolean;
  /** Bound on each server's answer, in ms. */
  hopTimeoutMs: number;
}

const MAX_NESTING = 2;
const MAX_TRIES_PER_ZONE = 4;

function addressesFor(ns: string, additional: DnsRecord[]): string[] {
  const a = additional.filter((r) => r.type === 'A' && sameName(r.name, ns)).map((r) => String(r.data.address));
  const aaaa = additional.filter((r) => r.type === 'AAAA' && sameName(r.name, ns)).map((r) => String(r.data.address));
  return [...a, ...aaaa];
}

export async function trace(ctx: OperationContext, opts: TraceOptions): Promise<TraceResult> {
  const steps: TraceStep[] = [];
  const result = await walk(ctx, opts, opts.name, opts.type, steps, 0, undefined);
  return { ...result, steps };
}

async function walk(
  ctx: OperationContext,
  opts: TraceOptions,
  name: string,
  type: string,
  steps: TraceStep[],
  depth: number,
  purpose: string | undefined,
): Promise<Omit<TraceResult, 'steps'>> {
  let candidates: Candidate[] = [{ name: null, address: opts.start }];
  let zone: string | null = null;
  const fail = (reason: string) => ({ rcode: 'NOANSWER', answers: [], authority: [], complete: false, reason });
  for (;;) {
    let next: { zone: string; candidates: Candidate[] } | undefined;
    for (const cand of candidates.slice(0, MAX_TRIES_PER_ZONE)) {
      if (steps.length >= opts.maxSteps) return fail(`stopped after ${opts.maxSteps} steps`);
      const step: TraceStep = { zone, server: { name: cand.name, address: cand.address, port: opts.port } };
      if (purpose) step.purpose = purpose;
      steps.push(step);
      let message;
      try {
        // One silent server must not use up the whole trace: each hop gets its own bound.
        const ex = await ctx.within(opts.hopTimeoutMs, async () => {
          const session = await openSession(ctx, { transport: 'tcp', host: cand.address, port: opts.port, secondHop: cand.name !== null });
          const id = queryId(ctx);
          const query = buildQuery({ id, name, type, rd: false, edns: { udpSize: 1232, do: opts.dnssec } });
          const got = await session.exchange(query, id, `${name} ${type} (no recursion) to ${cand.address}`);
          await session.close();
          return got;
        });
        message = ex.message;
        step.rttMs = ex.rttMs;
      } catch (e) {
        const err = classify(e);
        // A policy refusal or a missing capability is not the server's fault: stop, do not hide it.
        if (err.code === 'target_blocked' || err.code === 'unsupported_runtime' || err.code === 'invalid_input') throw err;
        step.error = { code: err.code, message: err.message };
        continue;
      }
      step.rcode = message.rcode;
      step.aa = message.flags.aa;
      step.answers = message.answers.map(withText);
      const authority = message.authority.map(withText);
      if (message.rcode !== 'NOERROR') return { rcode: message.rcode, answers: step.answers, authority, complete: true, reason: `${cand.address} answered ${message.rcode}` };
      const relevant = message.answers.filter((r) => sameName(r.name, name) || r.type === 'CNAME' || r.type === type);
      if (relevant.length > 0) return { rcode: 'NOERROR', answers: step.answers, authority, complete: true, reason: `${cand.address} answered` };
      const ns = message.authority.filter((r) => r.type === 'NS');
      if (ns.length === 0 || message.flags.aa) {
        step.referral = null;
        return { rcode: 'NOERROR', answers: [], authority, complete: true, reason: `${cand.address} has no ${type} record for ${name} (NODATA)` };
      }
      const cut = ns[0].name;
      // RFC 1034 §5.3.3: a referral must lead closer to the name, below the zone we asked.
      const downward = isSubdomain(name, cut) && (zone === null || (isSubdomain(cut, zone) && !sameName(cut, zone)));
      const nameservers = ns.filter((r) => sameName(r.name, cut)).map((r) => {
        const host = String(r.data.host);
        return { name: host, addresses: addressesFor(host, message.additional) };
      });
      step.referral = { zone: cut, nameservers };
      if (!downward) {
        step.error = { code: 'protocol_error', message: `lame referral to ${cut}, which is not below ${zone ?? 'the starting point'} and above ${name}` };
        continue;
      }
      let nextCandidates: Candidate[] = nameservers.flatMap((n) => n.addresses.map((address) => ({ name: n.name, address })));
      if (nextCandidates.length === 0) {
        if (depth >= MAX_NESTING) {
          step.error = { code: 'protocol_error', message: `no glue for the name servers of ${cut}, and lookups are already ${MAX_NESTING} levels deep` };
          continue;
        }
        for (const n of nameservers.slice(0, 2)) {
          const sub = await walk(ctx, opts, n.name, 'A', steps, depth + 1, `address of ${n.name}`);
          const addrs = sub.answers.filter((r) => r.type === 'A' && sameName(r.name, n.name)).map((r) => String(r.data.address));
          n.addresses = addrs;
          nextCandidates.push(...addrs.map((address) => ({ name: n.name, address })));
          if (nextCandidates.length > 0) break;
        }
      }
      nextCandidates = nextCandidates.slice(0, 8);
      if (nextCandidates.length === 0) continue;
      next = { zone: cut, candidates: nextCandidates };
      break;
    }
    if (!next) return fail(`no server for ${zone ?? 'the starting point'} gave a usable answer`);
    zone = next.zone;
    candidates = next.candidates;
  }
}

