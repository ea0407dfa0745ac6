// Service identification, sans-I/O, from what each protocol's declaration says of itself (`identify` in
// defineProtocol, src/core/identify.ts): the greetings of servers that speak first and, for servers that wait
// for the client, one harmless first message per protocol with a recognizer for the answer (nmap's
// nmap-service-probes does the same with regular expressions; these recognizers read the protocol's own framing).
import { equalBytes, fromLatin1 } from '../../core/bytes.ts';
import { PortolanError } from '../../core/errors.ts';
import type { Finding, Identification, Probe } from '../../core/identify.ts';
import { recognizeGreeting } from '../../core/sniff.ts';
import { guessService } from '../banner/guess.ts';
import { loadProtocols } from '../index.ts';

export type { Confidence, Finding } from '../../core/identify.ts';
export { clientHello, readTlsAnswer } from '../tls/identify.ts';

/** A probe with the registry id of the protocol that declares it. */
export interface RegisteredProbe extends Probe {
  protocol: string;
  /** The ports the protocol's declaration registers (PortSpec), besides the probe's own. */
  registered: ReadonlySet<number>;
}

/** Services named here that the registry has no client for: reported with protocol 'unknown' and this name. */
export const OUTSIDE_REGISTRY: ReadonlySet<string> = new Set(['rpc']);

interface Declared {
  greetings: { protocol: string; greeting: NonNullable<Identification['greeting']> }[];
  answers: NonNullable<Identification['answers']>[];
  probes: RegisteredProbe[];
}

let declared: Declared | undefined;

/** Reads what every protocol declares, in registry order (evaluating each protocol); before anything below is used. */
export async function loadDeclarations(): Promise<void> {
  if (declared) return;
  const out: Declared = { greetings: [], answers: [], probes: [] };
  for (const p of await loadProtocols()) {
    const id = p.identify;
    if (!id) continue;
    if (id.greeting) out.greetings.push({ protocol: p.id, greeting: id.greeting });
    if (id.answers) out.answers.push(id.answers);
    const registered = new Set(p.ports.filter((x) => x.transport !== 'udp').map((x) => x.port));
    for (const probe of id.probes ?? []) out.probes.push({ ...probe, protocol: p.id, registered });
  }
  declared = out;
}

function registry(): Declared {
  if (!declared) throw new PortolanError('unsupported_runtime', 'identify: this host did not load the protocols\' declarations first (loadDeclarations)');
  return declared;
}

/** Every declared probe, in registry order. */
export function allProbes(): readonly RegisteredProbe[] {
  return registry().probes;
}

const lower = (f: Finding): Finding => ({ ...f, confidence: f.confidence === 'high' ? 'medium' : 'low' });

export const rank = (f: Finding): number => (f.confidence === 'high' ? 3 : f.confidence === 'medium' ? 2 : 1);

/**
 * What a server that speaks first says, named by the declared greetings: the first high-confidence finding in
 * registry order, else the most confident one (the first of equals); then the runtime's own greeting signatures, at lower confidence.
 * `closed`: the server hung up after it.
 */
export function recognizeBanner(bytes: Uint8Array, closed = false): Finding | null {
  const text = fromLatin1(bytes.subarray(0, 4096));
  let weaker: Finding | null = null;
  for (const { greeting } of registry().greetings) {
    const f = greeting(bytes, text, closed);
    if (f?.confidence === 'high') return f;
    if (f && (!weaker || rank(f) > rank(weaker))) weaker = f;
  }
  if (weaker) return weaker;
  const guess = guessService(text, bytes, 0);
  if (guess && guess.protocol !== 'smtp-or-ftp') return { service: guess.protocol, confidence: guess.confidence === 'high' ? 'medium' : guess.confidence };
  const greeting = recognizeGreeting(bytes);
  return greeting ? { service: greeting.protocol, confidence: 'medium' } : null;
}

/**
 * What a reply to `probe` says: the probe's own recognizer first, then every other probe's (a server may answer in
 * its own words), then how protocols answer foreign probes, then greetings.
 */
export function recognizeReply(probe: Probe, sent: Uint8Array, reply: Uint8Array): Finding | null {
  if (reply.length === 0) return null;
  const t = fromLatin1(reply.subarray(0, 8192));
  if (probe.returnsProbe) {
    const own = probe.recognize(reply, t, sent);
    if (own) return own;
  }
  // An echo server (RFC 862) returns every probe as sent: it is named echo, never as the protocol the probe asked for.
  if (isEcho(sent, reply)) return { service: 'echo', confidence: 'high' };
  const own = probe.recognize(reply, t, sent);
  if (own) return own;
  for (const other of allProbes()) {
    if (other.name === probe.name || other.ownRepliesOnly) continue;
    const f = other.recognize(reply, t, sent);
    if (f) return lower(f);
  }
  for (const answers of registry().answers) {
    const f = answers(reply, t);
    if (f) return f;
  }
  const banner = recognizeBanner(reply);
  return banner ? lower(banner) : null;
}

/** The server sent back what it was sent (RFC 862), or a prefix of it still arriving. */
export function isEcho(sent: Uint8Array, reply: Uint8Array): boolean {
  if (reply.length < Math.min(4, sent.length)) return false;
  const n = Math.min(sent.length, reply.length);
  return equalBytes(sent.subarray(0, n), reply.subarray(0, n)) && reply.length <= sent.length;
}

/** The probes for a port: those of the protocols registered there first, then by cost, then in registry order. */
export function probesFor(port: number): RegisteredProbe[] {
  const probes = allProbes();
  const order = new Map(probes.map((p, i) => [p, i]));
  const registered = (p: RegisteredProbe) => (p.ports.includes(port) || p.registered.has(port) ? 0 : 1);
  return [...probes].sort((a, b) => registered(a) - registered(b) || a.cost - b.cost || order.get(a)! - order.get(b)!);
}
