// DNS, RFC 1034/1035: queries over TCP (RFC 7766), TLS (RFC 7858), HTTPS (RFC 8484) and, on hosts with
// datagrams, UDP; zone transfers (RFC 5936, RFC 1995); trace, compare, reverse; mDNS (RFC 6762) and LLMNR
// (RFC 4795) message forms.
import * as z from 'zod';
import { InvalidInput, PortolanError, TargetBlocked, classify } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext, type TargetFields } from '../../core/protocol.ts';
import { buildQuery, decodeMessage, describeMessage, type DnsMessage, type EdnsRequest } from './codec.ts';
import { DatagramSession, DohSession, openSession, queryId, StreamSession, withText, type RecordOut, type DnsSession, type DohMode, type DohVersion, type Exchange, type TransportName } from './client.ts';
import { decodeMdns, isIpLiteral, llmnrFlags, llmnrQuery, LLMNR_PORT, mdnsQuery, MDNS_PORT, reverseName } from './mdns.ts';
import { normalizeName, parseName, sameName } from './names.ts';
import { classCode, typeCode, typeName } from './rdata.ts';
import { recordLine, renderMessage, type MessageView } from './text.ts';
import { trace } from './trace.ts';
import { algorithmSupported, IANA_ROOT_ANCHORS, parseTrustAnchors } from './dnssec.ts';
import { Validator } from './validate.ts';
import { formatIp, parseIp } from '../../core/ip.ts';
import { countByType, ZoneTransfer } from './transfer.ts';
import { identification } from './identify.ts';

// Input fields

function validName(v: string, ctx: z.RefinementCtx): void {
  try {
    parseName(v);
  } catch (e) {
    const issues = (e as InvalidInput).detail?.issues as { message: string }[] | undefined;
    ctx.addIssue({ code: 'custom', message: issues?.[0]?.message ?? 'is not a domain name' });
  }
}

const nameField = z.string().max(1024).superRefine(validName).describe('Domain name, e.g. example.org (a trailing dot is optional; \\. and \\DDD escapes allowed)');

const typeField = z
  .string()
  .max(16)
  .default('A')
  .superRefine((v, ctx) => {
    try {
      typeCode(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a record type; use a mnemonic such as A, AAAA, MX, TXT, or TYPEnnn (RFC 3597)` });
    }
  })
  .describe('Record type: A, AAAA, MX, TXT, NS, SOA, CNAME, PTR, SRV, NAPTR, CAA, SSHFP, TLSA, DS, DNSKEY, RRSIG, NSEC, NSEC3, NSEC3PARAM, SVCB, HTTPS, ANY or TYPEnnn');

const classField = z
  .string()
  .max(16)
  .default('IN')
  .superRefine((v, ctx) => {
    try {
      classCode(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a class; use IN, CH, HS, ANY or CLASSnnn` });
    }
  })
  .describe('Class: IN (default), CH (e.g. version.bind), HS, ANY');

const transportField = z
  .enum(['tcp', 'udp', 'dot', 'doh'])
  .default('tcp')
  .describe('tcp (RFC 7766), udp (Node host only; retried over TCP when truncated), dot (DNS over TLS, RFC 7858, port 853), doh (DNS over HTTPS, RFC 8484, port 443)');

const flagFields = {
  rd: z.boolean().default(true).describe('Recursion desired'),
  cd: z.boolean().default(false).describe('Checking disabled: ask a validating resolver for data even if DNSSEC validation fails'),
  ad: z.boolean().default(false).describe('Ask for the authentic-data bit in the answer (RFC 6840 §5.7)'),
  do: z.boolean().default(false).describe('DNSSEC OK: ask for RRSIG and NSEC records (RFC 3225)'),
};

const ednsFields = {
  edns: z.boolean().default(true).describe('Send an EDNS0 OPT record (RFC 6891)'),
  bufferSize: z.number().int().min(512).max(65535).default(1232).describe('EDNS UDP payload size to advertise (1232 per DNS Flag Day 2020)'),
  nsid: z.boolean().default(false).describe('Ask for the server identifier (NSID, RFC 5001)'),
  cookie: z.boolean().default(false).describe('Send a random client cookie (RFC 7873)'),
  clientSubnet: z.string().max(64).optional().describe('EDNS client subnet to send, e.g. 192.0.2.0/24 (RFC 7871)'),
  padding: z.boolean().default(false).describe('Pad the query to a multiple of 128 octets (RFC 7830, RFC 8467)'),
};

const dohFields = {
  dohPath: z.string().max(256).regex(/^\/[\x21-\x7e]*$/, 'dohPath must be a path such as /dns-query').default('/dns-query').describe('DoH: the URL path of the resolver'),
  dohMode: z.enum(['post', 'get', 'json']).default('post').describe('DoH: RFC 8484 POST or GET with the wire format, or the JSON API (Cloudflare, Google)'),
  dohVersion: z.enum(['http/1.1', 'h2']).default('http/1.1').describe('DoH: HTTP/1.1, or HTTP/2 chosen with ALPN (Node host: Workers cannot offer ALPN)'),
};

// Output schemas

const recordSchema = z.object({
  name: z.string(),
  type: z.string(),
  class: z.string(),
  ttl: z.number(),
  data: z.record(z.string(), z.unknown()),
  rdata: z.string(),
  cacheFlush: z.boolean().optional(),
});

const flagsSchema = z.object({ aa: z.boolean(), tc: z.boolean(), rd: z.boolean(), ra: z.boolean(), z: z.boolean(), ad: z.boolean(), cd: z.boolean() });
const ednsSchema = z
  .object({
    udpSize: z.number(),
    version: z.number(),
    do: z.boolean(),
    z: z.number(),
    options: z.array(z.object({ code: z.number(), name: z.string(), data: z.record(z.string(), z.unknown()), hex: z.string() })),
  })
  .nullable();
const questionSchema = z.object({ name: z.string(), type: z.string(), class: z.string(), unicastResponse: z.boolean().optional() });

const messageSchema = z.object({
  id: z.number(),
  opcode: z.string(),
  rcode: z.string(),
  flags: flagsSchema,
  questions: z.array(questionSchema),
  answers: z.array(recordSchema),
  authority: z.array(recordSchema),
  additional: z.array(recordSchema),
  edns: ednsSchema,
});

const queryOutput = messageSchema.extend({
  server: z.string(),
  transport: z.enum(['tcp', 'udp', 'dot', 'doh']),
  rttMs: z.number(),
  size: z.number(),
  querySize: z.number(),
  /** UDP answer had TC set and the query was repeated over TCP. */
  retriedOverTcp: z.boolean(),
  http: z.object({ status: z.number(), version: z.string(), contentType: z.string().nullable() }).nullable(),
});

type MessageOut = z.infer<typeof messageSchema>;

function messageOut(m: DnsMessage): MessageOut {
  return {
    id: m.id,
    opcode: m.opcode,
    rcode: m.rcode,
    flags: m.flags,
    questions: m.questions,
    answers: m.answers.map(withText),
    authority: m.authority.map(withText),
    additional: m.additional.map(withText),
    edns: m.edns ?? null,
  };
}

// Transport resolution

type QueryInput = TargetFields & {
  transport: TransportName;
  rd: boolean;
  cd: boolean;
  ad: boolean;
  do: boolean;
  edns: boolean;
  bufferSize: number;
  nsid: boolean;
  cookie: boolean;
  clientSubnet?: string;
  padding: boolean;
  dohPath: string;
  dohMode: DohMode;
  dohVersion: DohVersion;
};

/** The port of each transport when none is given: the runner asks this before the operation runs. */
export function transportPort(input: Record<string, unknown>): number | undefined {
  if (input.transport === 'dot') return 853;
  if (input.transport === 'doh') return 443;
  return undefined;
}

/** The transport and port actually used. `tls: implicit` with transport tcp is DNS over TLS. */
export function resolveTransport(input: Pick<QueryInput, 'transport' | 'tls' | 'port'>): { transport: TransportName; port: number } {
  const transport: TransportName = input.transport === 'tcp' && input.tls === 'implicit' ? 'dot' : input.transport;
  if (input.tls === 'implicit' && transport === 'udp') throw InvalidInput.field('tls', 'DNS over UDP has no TLS; use transport dot (DNS over TLS) or doh');
  return { transport, port: input.port };
}

function ednsRequest(ctx: OperationContext, input: QueryInput): EdnsRequest | undefined {
  if (!input.edns) {
    if (input.do || input.nsid || input.cookie || input.clientSubnet || input.padding) {
      throw InvalidInput.field('edns', 'do, nsid, cookie, clientSubnet and padding travel in the EDNS OPT record; leave edns on');
    }
    return undefined;
  }
  return {
    udpSize: input.bufferSize,
    do: input.do,
    nsid: input.nsid,
    cookie: input.cookie ? Array.from(ctx.crypto.randomBytes(8), (b) => b.toString(16).padStart(2, '0')).join('') : undefined,
    clientSubnet: input.clientSubnet,
    padBlock: input.padding ? 128 : undefined,
  };
}

/** Query IDs for queries sharing one stream: random and all different, so answers can be matched (RFC 7766 §6.2.1.1). DoH uses 0 (RFC 8484 §4.1). */
function distinctIds(ctx: OperationContext, n: number, transport: TransportName): number[] {
  if (transport === 'doh') return new Array<number>(n).fill(0);
  const ids = new Set<number>();
  while (ids.size < n) ids.add(queryId(ctx));
  return [...ids];
}

function serverLabel(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}#${port}`;
}

interface Asked {
  exchange: Exchange;
  querySize: number;
  transport: TransportName;
  port: number;
  retriedOverTcp: boolean;
}

/** One question to one server over the chosen transport; UDP answers with TC are asked again over TCP. */
async function ask(ctx: OperationContext, input: QueryInput & { name: string; type: string; class: string }, host: string, portOverride?: number): Promise<Asked> {
  const { transport, port: resolvedPort } = resolveTransport(input);
  const port = portOverride ?? resolvedPort;
  const name = normalizeName(input.name);
  const type = typeName(typeCode(input.type));
  const cls = input.class.toUpperCase();
  const id = transport === 'doh' ? 0 : queryId(ctx);
  const edns = ednsRequest(ctx, input);
  const bytes = buildQuery({ id, name, type, class: cls, rd: input.rd, cd: input.cd, ad: input.ad, edns });
  const describe = describeMessage({ id, qr: false, opcode: 'QUERY', flags: { aa: false, tc: false, rd: input.rd, ra: false, z: false, ad: input.ad, cd: input.cd }, rcode: 'NOERROR', questions: [{ name, type, class: cls }], answers: [], authority: [], additional: [], edns: edns ? { udpSize: edns.udpSize ?? 1232, version: 0, do: !!edns.do, z: 0, options: [] } : undefined });
  const session = await openSession(ctx, { transport, host, port, doh: { path: input.dohPath, mode: input.dohMode, version: input.dohVersion } });
  let exchange: Exchange;
  if (session instanceof DohSession && input.dohMode === 'json') {
    if (cls !== 'IN') throw InvalidInput.field('class', 'the DoH JSON API asks in class IN only');
    exchange = await session.json({ name, type, cd: input.cd, do: input.do });
  } else {
    exchange = await session.exchange(bytes, id, describe);
  }
  ctx.timing.mark('answerMs');
  await session.close();
  if (session instanceof DatagramSession && exchange.message.flags.tc) {
    // RFC 1035 §4.2.1 / RFC 7766 §5: a truncated UDP answer is asked again over TCP.
    const tcp = await openSession(ctx, { transport: 'tcp', host, port });
    const again = await tcp.exchange(bytes, id, `${describe} (again over TCP: the UDP answer was truncated)`);
    await tcp.close();
    return { exchange: again, querySize: bytes.length, transport: 'tcp', port, retriedOverTcp: true };
  }
  return { exchange, querySize: bytes.length, transport, port, retriedOverTcp: false };
}

function queryText(r: z.infer<typeof queryOutput>): string {
  return renderMessage(r as MessageView, {
    rttMs: r.rttMs,
    server: r.server,
    transport: r.transport === 'doh' ? `HTTPS${r.http ? ` ${r.http.status}` : ''}` : r.transport === 'dot' ? 'TLS' : r.transport.toUpperCase(),
    size: r.size,
    note: r.retriedOverTcp ? 'Truncated over UDP, retried over TCP.' : undefined,
  });
}

/** `/dns/<server>/<name>[/<TYPE>]`: an IP address as the name asks for its PTR, like `dig -x`. */
function shortRoute(extra: string | undefined): Record<string, unknown> {
  if (!extra) return {};
  const parts = extra.split('/').filter(Boolean);
  const [name, type] = parts;
  if (parts.length > 2) throw InvalidInput.field('path', 'use /dns/<server>[:port]/<name>[/<TYPE>]');
  if (type === undefined && isIpLiteral(name)) return { name: reverseName(name), type: 'PTR' };
  return type === undefined ? { name } : { name, type: type.toUpperCase() };
}

const queryInput = z.object({
  name: nameField,
  type: typeField,
  class: classField,
  transport: transportField,
  ...flagFields,
  ...ednsFields,
  ...dohFields,
});

const serverList = z
  .array(z.string().min(1).max(300).regex(/^((tcp|udp|dot|tls|doh|https):\/\/)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.:-]+)(:\d{1,5})?(\/[\x21-\x7e]*)?$/, 'each server is host, host:port or [v6]:port, optionally with a transport: tcp://, udp://, dot:// (or tls://), doh:// (or https://, with an optional /path)'))
  .min(1, 'name at least one other server')
  .max(8, 'at most 8 servers')
  .describe('Other servers to ask: host, host:port or [v6]:port, optionally prefixed with tcp://, udp://, dot:// or https:// to use another transport than the target (e.g. https://127.0.0.1:10443/dns-query)');

interface ServerSpec {
  host: string;
  port: number;
  transport: TransportName;
  dohPath?: string;
}

/** `host`, `host:port`, `[v6]:port`, with an optional `scheme://` choosing the transport and `/path` for DoH. */
export function splitServer(text: string, base: { port: number; transport: TransportName }): ServerSpec {
  const m = /^(?:([a-z]+):\/\/)?(\[[^\]]+\]|[^/]+?)(?::(\d+))?(\/.*)?$/.exec(text.trim());
  if (!m) throw InvalidInput.field('with', `${JSON.stringify(text)} is not host[:port]`);
  const scheme = m[1];
  const transport: TransportName = scheme === undefined ? base.transport : scheme === 'tls' ? 'dot' : scheme === 'https' ? 'doh' : (scheme as TransportName);
  if (!['tcp', 'udp', 'dot', 'doh'].includes(transport)) throw InvalidInput.field('with', `${JSON.stringify(text)}: unknown transport ${scheme}`);
  const host = m[2].replace(/^\[|\]$/g, '');
  const defaultPort = scheme === undefined ? base.port : transport === 'dot' ? 853 : transport === 'doh' ? 443 : 53;
  const port = m[3] === undefined ? defaultPort : Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw InvalidInput.field('with', `${JSON.stringify(text)}: port must be 1–65535`);
  if (m[4] !== undefined && transport !== 'doh') throw InvalidInput.field('with', `${JSON.stringify(text)}: only a DoH server has a path`);
  return { host, port, transport, dohPath: m[4] };
}

const transferFields = {
  zone: nameField.describe('The zone to transfer, e.g. example.org'),
  transport: z.enum(['tcp', 'dot']).default('tcp').describe('tcp, or dot: zone transfer over TLS (XoT, RFC 9103)'),
  maxRecords: z.number().int().min(1).max(100_000).default(10_000).describe('Records to keep; the transfer is read to its end and counted either way'),
};

const transferOutput = z.object({
  zone: z.string(),
  rcode: z.string(),
  style: z.enum(['axfr', 'incremental', 'up-to-date', 'refused']),
  serial: z.number().nullable(),
  records: z.array(recordSchema),
  counts: z.record(z.string(), z.number()),
  recordCount: z.number(),
  messages: z.number(),
  bytes: z.number(),
  truncated: z.boolean(),
  rttMs: z.number(),
});

const MAX_TRANSFER_MESSAGES = 100_000;

async function transfer(ctx: OperationContext, input: TargetFields & { zone: string; transport: 'tcp' | 'dot'; maxRecords: number }, kind: 'AXFR' | 'IXFR', clientSerial?: number) {
  const zone = normalizeName(input.zone, 'zone');
  const { transport, port } = resolveTransport({ transport: input.transport, tls: input.tls, port: input.port });
  const session = (await openSession(ctx, { transport, host: input.host, port })) as StreamSession;
  const id = queryId(ctx);
  // RFC 1995 §3: an IXFR query carries the client's SOA in the authority section.
  const authority = clientSerial === undefined ? undefined : [{ name: zone, type: 'SOA', class: 'IN', ttl: 0, data: { mname: '.', rname: '.', serial: clientSerial, refresh: 0, retry: 0, expire: 0, minimum: 0 } }];
  const query = buildQuery({ id, name: zone, type: kind, rd: false, authority });
  const started = performance.now();
  await session.send(query, `${kind} ${zone}${clientSerial === undefined ? '' : ` from serial ${clientSerial}`}`);
  const xfr = new ZoneTransfer(kind, zone, { maxRecords: input.maxRecords, maxMessages: MAX_TRANSFER_MESSAGES }, clientSerial);
  let bytes = 0;
  let first: DnsMessage | undefined;
  while (!xfr.done) {
    const got = await session.receive();
    if (got.message.id !== id) throw new PortolanError('protocol_error', `${kind} answer with ID ${got.message.id}, not ${id}`);
    first ??= got.message;
    bytes += got.size;
    xfr.accept(got.message);
  }
  ctx.timing.mark('transferMs');
  const state = xfr.result();
  const all = state.style === 'incremental' ? state.diffs.flatMap((d) => [...d.deleted, ...d.added]) : state.records;
  return {
    base: {
      zone,
      rcode: state.rcode,
      style: state.style,
      serial: state.serial,
      records: state.records.map(withText),
      counts: countByType(all),
      recordCount: state.recordCount,
      messages: state.messages,
      bytes,
      truncated: state.truncated,
      rttMs: Math.round((performance.now() - started) * 1000) / 1000,
    },
    state,
    first: first!,
    querySize: query.length,
  };
}

function transferText(r: z.infer<typeof transferOutput>, kind: string): string {
  if (r.style === 'refused') return `; ${kind} of ${r.zone}: ${r.rcode}`;
  const lines = r.records.map(recordLine);
  lines.push(`;; ${kind} ${r.zone} serial ${r.serial}: ${r.recordCount} records in ${r.messages} messages, ${r.bytes} bytes, ${Math.round(r.rttMs)} msec${r.truncated ? ' (records past maxRecords not shown)' : ''}`);
  lines.push(`;; ${Object.entries(r.counts).map(([t, n]) => `${t} ${n}`).join(', ')}`);
  return lines.join('\n');
}

const signatureSchema = z.object({
  keyTag: z.number(),
  algorithm: z.number(),
  algorithmName: z.string(),
  signer: z.string(),
  inception: z.string(),
  expiration: z.string(),
  valid: z.boolean(),
  problem: z.string().nullable(),
});

const STATUS_LINE: Record<string, string> = { secure: '; fully validated', insecure: '; unsigned answer', bogus: '; BOGUS: validation failed', indeterminate: '; validation indeterminate' };

/** delv-like text: the verdict, the records, then the chain of trust from the anchor down. */
function validationText(r: { status: string; reason: string; rcode: string; name: string; type: string; answers: RecordOut[]; authority: RecordOut[]; chain: { zone: string; status: string; reason: string; anchor: boolean; parent: string | null; dsProof: string | null; ds: { keyTag: number; algorithm: number; algorithmName: string; digestType: number; matched: boolean }[]; dnskeys: { keyTag: number; algorithmName: string; sep: boolean; trusted: boolean }[] }[]; queries: number }): string {
  const lines = [`${STATUS_LINE[r.status]} (${r.reason})`];
  if (r.answers.length === 0) lines.push(`;; ${r.rcode}: ${r.name} ${r.type}`, ...r.authority.map(recordLine));
  else lines.push(...r.answers.map(recordLine));
  lines.push(';; chain of trust:');
  for (const l of r.chain) {
    const ds = l.anchor ? 'trust anchor' : l.ds.length ? `DS ${l.ds.map((d) => `${d.keyTag}/${d.algorithmName}/${d.digestType}${d.matched ? '' : algorithmSupported(d.algorithm) ? ' (no key)' : ' (not implemented)'}`).join(', ')} in ${l.parent}` : l.status === 'secure' ? (l.dsProof ?? 'no DS') : 'no DS';
    const keys = l.dnskeys.map((k) => `${k.keyTag}${k.sep ? ' KSK' : ''} ${k.algorithmName}${k.trusted ? ' *' : ''}`).join(', ');
    lines.push(`;;   ${l.zone}\t${l.status.toUpperCase()}\t${ds}${keys ? `; DNSKEY ${keys}` : ''}${l.status === 'secure' ? '' : ` — ${l.reason}`}`);
  }
  lines.push(`;; ${r.queries} questions asked`);
  return lines.join('\n');
}

/** What Workers offers instead of UDP: the stream transports. */
const streamTransports = ['On Workers, use DNS over TCP, DoT or DoH (transport tcp, dot or doh).'];

export default defineProtocol({
  id: 'dns',
  title: 'DNS',
  category: 'naming',
  summary: 'Asks name servers anything: every record type over TCP, DNS over TLS and DNS over HTTPS (HTTP/1.1, and HTTP/2 on the Node host); DNSSEC validation of our own from a trust anchor, the chain shown; zone transfers (AXFR, IXFR); trace from the root or any server; one question to several resolvers; reverse lookups.',
  ports: [
    { port: 53, transport: 'tcp' },
    { port: 853, transport: 'tls', label: 'DNS over TLS' },
    { port: 443, transport: 'tls', label: 'DNS over HTTPS' },
    { port: 53, transport: 'udp', label: 'Node host only' },
  ],
  specs: ['RFC 1034', 'RFC 1035', 'RFC 3597', 'RFC 6891', 'RFC 7766', 'RFC 7858', 'RFC 8484', 'RFC 5936', 'RFC 1995', 'RFC 4033', 'RFC 4034', 'RFC 4035', 'RFC 5155', 'RFC 6840', 'RFC 8624', 'RFC 9460', 'RFC 6762', 'RFC 4795'],
  rating: {
    stars: 5,
    reason:
      'Every record type of RFC 1035, 3596, 2782, 3403, 4034, 5155, 4255, 6698, 8659 and 9460, and unknown types per RFC 3597, decoded and printed as BIND prints them (lab: an AXFR of a DNSSEC-signed BIND zone equals its zone file record for record); EDNS with NSID, cookies, extended errors, client subnet and padding; NXDOMAIN, REFUSED and SERVFAIL as answers; AXFR and IXFR against BIND; DNS over TLS to Unbound and DNS over HTTPS (RFC 8484 POST and GET over HTTP/1.1) to dnsdist, through workerd; trace through an NSD root and TLD to BIND; compare, reverse with forward confirmation, pipelined batches; DNSSEC validation of our own from a trust anchor through workerd (lab: a signed chain from an NSD root, RSASHA256, to an ED25519 TLD to ECDSAP256SHA256 zones in BIND, asked of Unbound with CD; NSEC and NSEC3 NXDOMAIN and NODATA proofs; bogus answers shown with the reason for an expired signature, a DS matching no key and a DS missing without proof; insecure for a proved unsigned delegation and for ED448, which we do not implement). On the Node host: DNS over UDP with the retry over TCP when BIND truncates, DoH over HTTP/2 (ALPN h2) to dnsdist, mDNS one-shot queries to avahi-daemon 0.8 across a veth pair, LLMNR queries to llmnrd 0.5. Not covered: DoH over HTTP/2 on Workers (no ALPN there), the DoH JSON form (no lab server serves it), and ED448, GOST and DSA signatures (RFC 8624 leaves them optional).',
  },
  verifiedAgainst: 'BIND 9 1:9.18.49-1~deb12u3, Unbound 1.17.1-2+deb12u4, dnsdist 1.7.3-2, NSD 4.6.1-1, avahi-daemon 0.8-10+deb12u1 (mDNS), llmnrd 0.5-1+b1 (LLMNR) (Debian 12)',
  tls: { implicit: { port: 853 } },
  defaultOperation: 'query',
  identify: identification,
  operations: {
    query: operation({
      primary: ['name', 'type'],
      defaultPort: transportPort,
      alternatives: streamTransports,
      summary: 'One question, every section of the answer decoded (like dig)',
      input: queryInput,
      output: queryOutput,
      shortRoute,
      text: queryText,
      async run(ctx, input) {
        const type = typeName(typeCode(input.type));
        if (type === 'IXFR') throw InvalidInput.field('type', 'IXFR needs the serial you have: use the ixfr operation');
        if (type === 'AXFR') {
          // dig-style: `/dns/<server>/<zone>/AXFR` reads the whole transfer, however many messages it takes.
          if (input.transport !== 'tcp' && input.transport !== 'dot') throw InvalidInput.field('transport', 'a zone transfer runs over tcp or dot');
          const { base, state, first, querySize } = await transfer(ctx, { ...input, zone: input.name, transport: input.transport, maxRecords: 10_000 }, 'AXFR');
          const records = state.style === 'axfr' && state.records.length > 0 && !state.truncated ? [...state.records, state.records[0]] : state.records;
          return {
            ...messageOut({ ...first, rcode: base.rcode, answers: records, authority: [], additional: [] }),
            server: serverLabel(input.host, resolveTransport(input).port),
            transport: resolveTransport(input).transport,
            rttMs: base.rttMs,
            size: base.bytes,
            querySize,
            retriedOverTcp: false,
            http: null,
          };
        }
        const asked = await ask(ctx, input, input.host);
        const m = asked.exchange.message;
        return {
          ...messageOut(m),
          server: serverLabel(input.host, asked.port),
          transport: asked.transport,
          rttMs: asked.exchange.rttMs,
          size: asked.exchange.size,
          querySize: asked.querySize,
          retriedOverTcp: asked.retriedOverTcp,
          http: asked.exchange.http ?? null,
        };
      },
    }),
    batch: operation({
      defaultPort: transportPort,
      alternatives: streamTransports,
      summary: 'Several questions on one connection, sent before any answer is read (RFC 7766 §6.2.1.1)',
      input: z.object({
        questions: z.array(z.object({ name: nameField, type: typeField })).min(1).max(32).describe('Up to 32 questions'),
        transport: z.enum(['tcp', 'dot', 'doh']).default('tcp').describe('tcp or dot pipeline the queries; doh asks them one after another on one kept-alive connection'),
        rd: flagFields.rd,
        do: flagFields.do,
        ...dohFields,
      }),
      output: z.object({
        server: z.string(),
        transport: z.string(),
        totalMs: z.number(),
        results: z.array(z.object({ name: z.string(), type: z.string(), rcode: z.string(), answers: z.array(recordSchema), rttMs: z.number() })),
      }),
      text: (r) =>
        [...r.results.flatMap((x) => [`;; ${x.name} ${x.type}: ${x.rcode}, ${Math.round(x.rttMs)} msec`, ...x.answers.map(recordLine)]), `;; ${r.results.length} questions on one ${r.transport} connection to ${r.server} in ${Math.round(r.totalMs)} msec`].join('\n'),
      async run(ctx, input) {
        const { transport, port } = resolveTransport({ transport: input.transport, tls: input.tls, port: input.port });
        const session = await openSession(ctx, { transport, host: input.host, port, doh: { path: input.dohPath, mode: input.dohMode === 'json' ? 'post' : input.dohMode, version: input.dohVersion } });
        const ids = distinctIds(ctx, input.questions.length, transport);
        const queries = input.questions.map((q, i) => {
          const id = ids[i];
          const name = normalizeName(q.name);
          const type = typeName(typeCode(q.type));
          return { id, name, type, bytes: buildQuery({ id, name, type, rd: input.rd, edns: { udpSize: 1232, do: input.do } }), describe: `${name} ${type}` };
        });
        const started = performance.now();
        const answers = await session.pipeline(queries);
        const totalMs = Math.round((performance.now() - started) * 1000) / 1000;
        await session.close();
        return {
          server: serverLabel(input.host, port),
          transport,
          totalMs,
          results: queries.map((q, i) => ({ name: q.name, type: q.type, rcode: answers[i].message.rcode, answers: answers[i].message.answers.map(withText), rttMs: answers[i].rttMs })),
        };
      },
    }),
    axfr: operation({
      summary: 'Full zone transfer (AXFR, RFC 5936): every record, counts per type, the SOA serial',
      input: z.object(transferFields),
      output: transferOutput,
      maxTimeoutMs: 120_000,
      defaultTimeoutMs: 30_000,
      text: (r) => transferText(r, 'AXFR'),
      async run(ctx, input) {
        return (await transfer(ctx, input, 'AXFR')).base;
      },
    }),
    ixfr: operation({
      summary: 'Incremental zone transfer (IXFR, RFC 1995): what changed since a serial',
      input: z.object({ ...transferFields, serial: z.number().int().min(0).max(0xffffffff).describe("The serial of the copy you have: the server sends the changes since then") }),
      output: transferOutput.extend({
        clientSerial: z.number(),
        diffs: z.array(z.object({ fromSerial: z.number(), toSerial: z.number(), deleted: z.array(recordSchema), added: z.array(recordSchema) })),
      }),
      maxTimeoutMs: 120_000,
      defaultTimeoutMs: 30_000,
      text: (r) => {
        if (r.style !== 'incremental') return `${transferText(r, 'IXFR')}\n;; style: ${r.style}${r.style === 'up-to-date' ? ` (serial ${r.serial}, you have ${r.clientSerial})` : ''}`;
        const lines: string[] = [];
        for (const d of r.diffs) {
          lines.push(`;; serial ${d.fromSerial} -> ${d.toSerial}`, ...d.deleted.map((x) => `- ${recordLine(x)}`), ...d.added.map((x) => `+ ${recordLine(x)}`));
        }
        lines.push(`;; IXFR ${r.zone}: ${r.diffs.length} change set(s) from ${r.clientSerial} to ${r.serial}, ${r.messages} messages, ${r.bytes} bytes`);
        return lines.join('\n');
      },
      async run(ctx, input) {
        const { base, state } = await transfer(ctx, input, 'IXFR', input.serial);
        return { ...base, clientSerial: input.serial, diffs: state.diffs.map((d) => ({ fromSerial: d.fromSerial, toSerial: d.toSerial, deleted: d.deleted.map(withText), added: d.added.map(withText) })) };
      },
    }),
    validate: operation({
      defaultPort: transportPort,
      alternatives: streamTransports,
      summary: 'DNSSEC validation of our own from a trust anchor (like delv): the answer\'s signatures, the DNSKEY/DS chain to the anchor, NSEC/NSEC3 denial; a bogus answer is shown with the reason',
      input: z.object({
        name: nameField,
        type: typeField,
        transport: transportField,
        trustAnchors: z
          .array(z.string().max(2048))
          .min(1)
          .max(16)
          .default(IANA_ROOT_ANCHORS)
          .describe('Trust anchors in zone-file form, e.g. ". IN DS 20326 8 2 E06D…" or "example. DNSKEY 257 3 13 …" (default: the IANA root KSKs)'),
        ...dohFields,
      }),
      output: z.object({
        name: z.string(),
        type: z.string(),
        server: z.string(),
        rcode: z.string(),
        status: z.enum(['secure', 'insecure', 'bogus', 'indeterminate']),
        reason: z.string(),
        answers: z.array(recordSchema),
        authority: z.array(recordSchema),
        rrsets: z.array(
          z.object({
            name: z.string(),
            type: z.string(),
            section: z.enum(['answer', 'authority']),
            zone: z.string().nullable(),
            status: z.string(),
            reason: z.string(),
            wildcard: z.string().nullable(),
            signatures: z.array(signatureSchema),
          }),
        ),
        denial: z.object({ kind: z.string(), proves: z.string(), how: z.string(), zone: z.string().nullable(), delegation: z.boolean().optional() }).nullable(),
        chain: z.array(
          z.object({
            zone: z.string(),
            status: z.string(),
            reason: z.string(),
            anchor: z.boolean(),
            parent: z.string().nullable(),
            dsProof: z.string().nullable(),
            ds: z.array(z.object({ keyTag: z.number(), algorithm: z.number(), algorithmName: z.string(), digestType: z.number(), matched: z.boolean() })),
            dnskeys: z.array(z.object({ keyTag: z.number(), algorithm: z.number(), algorithmName: z.string(), flags: z.number(), sep: z.boolean(), trusted: z.boolean() })),
            signatures: z.array(signatureSchema),
          }),
        ),
        queries: z.number(),
      }),
      maxTimeoutMs: 60_000,
      defaultTimeoutMs: 20_000,
      failedAs: (r) => (r.status === 'bogus' ? 'server_error' : undefined),
      text: validationText,
      async run(ctx, input) {
        const anchors = parseTrustAnchors(input.trustAnchors);
        const { transport, port } = resolveTransport(input);
        const session = await openSession(ctx, { transport, host: input.host, port, doh: { path: input.dohPath, mode: input.dohMode === 'json' ? 'post' : input.dohMode, version: input.dohVersion } });
        const validator = new Validator(ctx, session, anchors, Math.floor(Date.now() / 1000));
        const r = await validator.validate(input.name, typeName(typeCode(input.type)));
        await session.close();
        return {
          name: r.name,
          type: r.type,
          server: serverLabel(input.host, port),
          rcode: r.rcode,
          status: r.status,
          reason: r.reason,
          answers: r.message.answers.map(withText),
          authority: r.message.authority.map(withText),
          rrsets: r.rrsets,
          denial: r.denial,
          chain: r.chain,
          queries: r.queries,
        };
      },
    }),
    trace: operation({
      primary: ['name', 'type'],
      summary: 'Iterative resolution from a root (or any) server, following referrals like dig +trace',
      input: z.object({
        name: nameField,
        type: typeField,
        maxSteps: z.number().int().min(1).max(64).default(30).describe('Most servers to ask'),
        hopTimeoutMs: z.number().int().min(100).max(30_000).default(4000).describe('How long to wait for each server before trying the next'),
        do: flagFields.do,
      }),
      output: z.object({
        steps: z.array(
          z.object({
            zone: z.string().nullable(),
            server: z.object({ name: z.string().nullable(), address: z.string(), port: z.number() }),
            purpose: z.string().optional(),
            rcode: z.string().optional(),
            aa: z.boolean().optional(),
            answers: z.array(recordSchema).optional(),
            referral: z.object({ zone: z.string(), nameservers: z.array(z.object({ name: z.string(), addresses: z.array(z.string()) })) }).nullable().optional(),
            rttMs: z.number().optional(),
            error: z.object({ code: z.string(), message: z.string() }).optional(),
          }),
        ),
        rcode: z.string(),
        answers: z.array(recordSchema),
        authority: z.array(recordSchema),
        complete: z.boolean(),
        reason: z.string(),
      }),
      maxTimeoutMs: 60_000,
      defaultTimeoutMs: 20_000,
      text: (r) => {
        const lines: string[] = [];
        for (const s of r.steps) {
          const who = `${s.server.address}#${s.server.port}${s.server.name ? `(${s.server.name})` : ''}`;
          if (s.error && !s.referral) {
            lines.push(`;; ${who}: ${s.error.code}: ${s.error.message}`, '');
            continue;
          }
          if (s.referral) lines.push(...s.referral.nameservers.map((n) => `${s.referral!.zone}\t\tNS\t${n.name}${n.addresses.length ? `\t; ${n.addresses.join(' ')}` : ''}`));
          else lines.push(...(s.answers ?? []).map(recordLine));
          lines.push(`;; ${s.rcode}${s.aa ? ' (authoritative)' : ''} from ${who} in ${Math.round(s.rttMs ?? 0)} ms${s.purpose ? ` [${s.purpose}]` : ''}${s.error ? ` — ${s.error.message}` : ''}`, '');
        }
        lines.push(`;; ${r.rcode}: ${r.reason}`);
        return lines.join('\n');
      },
      async run(ctx, input) {
        return trace(ctx, { name: normalizeName(input.name), type: typeName(typeCode(input.type)), start: input.host, port: input.port, maxSteps: input.maxSteps, dnssec: input.do, hopTimeoutMs: input.hopTimeoutMs });
      },
    }),
    compare: operation({
      primary: ['name', 'with', 'type'],
      defaultPort: transportPort,
      alternatives: streamTransports,
      summary: 'One question to several resolvers, answers side by side',
      input: queryInput.extend({ with: serverList }),
      output: z.object({
        agree: z.boolean(),
        results: z.array(
          z.object({
            server: z.string(),
            ok: z.boolean(),
            rcode: z.string().nullable(),
            flags: flagsSchema.nullable(),
            answers: z.array(recordSchema),
            rdata: z.array(z.string()),
            rttMs: z.number().nullable(),
            error: z.object({ code: z.string(), message: z.string() }).nullable(),
          }),
        ),
      }),
      maxTimeoutMs: 60_000,
      text: (r) =>
        [
          ...r.results.map((x) =>
            x.ok ? `;; ${x.server}: ${x.rcode} in ${Math.round(x.rttMs ?? 0)} ms\n${x.answers.map(recordLine).join('\n') || ';  (no answer records)'}` : `;; ${x.server}: ${x.error!.code}: ${x.error!.message}`,
          ),
          `;; ${r.agree ? 'all servers agree' : 'servers DIFFER'}`,
        ].join('\n'),
      async run(ctx, input) {
        const base = resolveTransport(input);
        const servers: ServerSpec[] = [{ host: input.host, ...base }, ...input.with.map((s) => splitServer(s, base))];
        const results = await Promise.all(
          servers.map(async (s) => {
            const label = `${serverLabel(s.host, s.port)}(${s.transport})`;
            try {
              const a = await ask(ctx, { ...input, transport: s.transport, tls: 'off', dohPath: s.dohPath ?? input.dohPath }, s.host, s.port);
              const m = a.exchange.message;
              const answers = m.answers.map(withText);
              return { server: label, ok: true, rcode: m.rcode, flags: m.flags, answers, rdata: answers.filter((x) => x.type !== 'RRSIG').map((x) => `${x.type} ${x.rdata}`).sort(), rttMs: a.exchange.rttMs, error: null };
            } catch (e) {
              const err = classify(e);
              if (err.code === 'invalid_input') throw err;
              return { server: label, ok: false, rcode: null, flags: null, answers: [], rdata: [], rttMs: null, error: { code: err.code, message: err.message } };
            }
          }),
        );
        // A comparison with no server asked is no comparison: the guard's refusal is the answer.
        if (results.every((r) => r.error?.code === 'target_blocked')) {
          throw new TargetBlocked(`no server could be asked: ${results.map((r) => `${r.server}: ${r.error!.message}`).join('; ')}`);
        }
        const first = results[0];
        const agree = results.every((r) => r.ok && r.rcode === first.rcode && JSON.stringify(r.rdata) === JSON.stringify(first.rdata));
        return { agree, results };
      },
    }),
    reverse: operation({
      defaultPort: transportPort,
      alternatives: streamTransports,
      summary: 'Reverse lookup: the PTR names of an address, each checked forward (FCrDNS)',
      input: z.object({
        address: z.string().max(64).describe('IPv4 or IPv6 address').meta({ examples: ['192.0.2.1'] }),
        transport: transportField,
        confirm: z.boolean().default(true).describe('Look up each name\'s A/AAAA records and check the address is among them'),
        ...dohFields,
      }),
      output: z.object({
        address: z.string(),
        ptrName: z.string(),
        rcode: z.string(),
        names: z.array(z.string()),
        confirmed: z.array(z.object({ name: z.string(), addresses: z.array(z.string()), matches: z.boolean() })),
        rttMs: z.number(),
      }),
      text: (r) =>
        [`${r.ptrName}\tPTR\t${r.names.join(' ') || `(none: ${r.rcode})`}`, ...r.confirmed.map((c) => `${c.name}\t-> ${c.addresses.join(' ') || '(no address)'}\t${c.matches ? 'forward-confirmed' : 'NOT forward-confirmed'}`)].join('\n'),
      async run(ctx, input) {
        const ptrName = reverseName(input.address);
        const base = { ...input, name: ptrName, type: 'PTR', class: 'IN', rd: true, cd: false, ad: false, do: false, edns: true, bufferSize: 1232, nsid: false, cookie: false, padding: false } as QueryInput & { name: string; type: string; class: string };
        const a = await ask(ctx, base, input.host);
        const names = a.exchange.message.answers.filter((r) => r.type === 'PTR').map((r) => String(r.data.host));
        const confirmed = [];
        if (input.confirm && names.length > 0) {
          // Forward lookups share one connection where the transport allows (RFC 7766 §6.2.1.1).
          const { transport, port } = resolveTransport(base);
          const session: DnsSession = await openSession(ctx, { transport, host: input.host, port, doh: { path: input.dohPath, mode: input.dohMode === 'json' ? 'post' : input.dohMode, version: input.dohVersion } });
          const pairs = names.slice(0, 8).flatMap((n) => ['A', 'AAAA'].map((type) => ({ n, type })));
          const ids = distinctIds(ctx, pairs.length, transport);
          const qs = pairs.map((q, i) => ({ ...q, id: ids[i] }));
          const answers = await session.pipeline(qs.map((q) => ({ id: q.id, bytes: buildQuery({ id: q.id, name: q.n, type: q.type, rd: true }), describe: `${q.n} ${q.type}` })));
          await session.close();
          for (const n of names.slice(0, 8)) {
            const addrs = answers.filter((_, i) => qs[i].n === n).flatMap((x) => x.message.answers.filter((r) => (r.type === 'A' || r.type === 'AAAA') && sameName(r.name, n)).map((r) => String(r.data.address)));
            confirmed.push({ name: n, addresses: addrs, matches: addrs.some((x) => sameAddress(x, input.address)) });
          }
        }
        return { address: input.address, ptrName, rcode: a.exchange.message.rcode, names, confirmed, rttMs: a.exchange.rttMs };
      },
    }),
    mdns: operation({
      primary: ['name', 'type'],
      summary: 'Multicast DNS one-shot query (RFC 6762 §5.1), sent unicast to a host; Node host only',
      input: z.object({ name: nameField.default('_services._dns-sd._udp.local'), type: typeField, unicastResponse: z.boolean().default(true).describe('Set the QU bit (RFC 6762 §5.4)') }),
      output: messageSchema.extend({ rttMs: z.number(), size: z.number().describe('Bytes of the answer') }),
      needs: ['udp'],
      defaultPort: MDNS_PORT,
      text: (r, input) => renderMessage(r as MessageView, { rttMs: r.rttMs, server: `${input.host}#${input.port}`, transport: 'mDNS', size: r.size }),
      async run(ctx, input) {
        const conn = await ctx.dialUdp();
        const id = queryId(ctx);
        // RFC 6762 §6.7: a query from a port other than 5353 gets a unicast reply echoing the ID.
        await conn.send(mdnsQuery([{ name: normalizeName(input.name), type: typeName(typeCode(input.type)), unicastResponse: input.unicastResponse }], id), { decode: `mDNS ${input.name} ${input.type}` });
        const started = performance.now();
        const got = await conn.receive('mDNS answer');
        const m = decodeMdns(got.bytes);
        return { ...messageOut(m), rttMs: Math.round((performance.now() - started) * 1000) / 1000, size: got.bytes.length };
      },
    }),
    llmnr: operation({
      primary: ['name', 'type'],
      summary: 'Link-Local Multicast Name Resolution query (RFC 4795), sent unicast to a host; Node host only',
      input: z.object({ name: nameField, type: typeField }),
      output: messageSchema.extend({ rttMs: z.number(), size: z.number().describe('Bytes of the answer'), llmnr: z.object({ conflict: z.boolean(), truncated: z.boolean(), tentative: z.boolean() }) }),
      needs: ['udp'],
      defaultPort: LLMNR_PORT,
      text: (r, input) => renderMessage(r as MessageView, { rttMs: r.rttMs, server: `${input.host}#${input.port}`, transport: 'LLMNR', size: r.size }),
      async run(ctx, input) {
        const conn = await ctx.dialUdp();
        const id = queryId(ctx);
        await conn.send(llmnrQuery(id, normalizeName(input.name), typeName(typeCode(input.type))), { decode: `LLMNR ${input.name} ${input.type}` });
        const started = performance.now();
        const got = await conn.receive('LLMNR answer');
        const m = decodeMessage(got.bytes);
        return { ...messageOut(m), rttMs: Math.round((performance.now() - started) * 1000) / 1000, size: got.bytes.length, llmnr: llmnrFlags(m) };
      },
    }),
  },
});

/** Two address spellings of the same address (`2001:db8::1` and `2001:0db8:0::1`). */
function sameAddress(a: string, b: string): boolean {
  const x = parseIp(a.trim());
  const y = parseIp(b.trim());
  return x !== null && y !== null && formatIp(x) === formatIp(y);
}
