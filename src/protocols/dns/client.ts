// DNS transports: TCP (RFC 7766), TLS (RFC 7858), HTTPS (RFC 8484, wire format over HTTP/1.1 or HTTP/2, and the JSON
// form some public resolvers serve), UDP (RFC 1035 §4.2.1, with RFC 7766 §5 fallback to TCP on truncation).
//
// How it works: every transport offers the same two steps — send a query's bytes, receive the answer
// matching its ID — so operations never care how a message travels. A stream session (TCP, DoT) keeps
// answers that arrive for other IDs, which is what lets several queries share one connection and come
// back in any order (RFC 7766 §6.2.1.1). A DoH session sends one HTTP request per query on a kept-alive
// connection. A UDP session reads datagrams, drops those that do not answer it (RFC 5452 §9.1), reports TC.
import type { Conn } from '../../core/conn.ts';
import type { DatagramConn } from '../../core/datagram.ts';
import { toBase64Url } from '../../core/bytes.ts';
import { classify, ProtocolError, ServerError } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { describeMessage, decodeMessage, frameTcp, MAX_MESSAGE, rcodeName, tcpMessageFrame, type DnsMessage, type DnsRecord, type Flags } from './codec.ts';
import { describeResponse, encodeRequest, header, responseFrame, type HttpResponse } from './http.ts';
import { sameName } from './names.ts';
import { goawayError, H2Session } from '../http2/client.ts';
import { rdataText, typeName } from './rdata.ts';

export type TransportName = 'tcp' | 'udp' | 'dot' | 'doh';

/** How a DoH query is carried: RFC 8484 POST or GET with the wire format, or the JSON API (not standardised). */
export type DohMode = 'post' | 'get' | 'json';

export interface Exchange {
  message: DnsMessage;
  /** Size of the answer on the wire (without the TCP length prefix or HTTP framing). */
  size: number;
  rttMs: number;
  http?: { status: number; version: string; contentType: string | null };
}

export interface DnsSession {
  readonly transport: TransportName;
  /** Sends a query (its bytes) and returns the answer with the same ID. */
  exchange(query: Uint8Array, id: number, describe: string): Promise<Exchange>;
  /** Sends several queries before reading any answer; answers are matched by ID (RFC 7766 §6.2.1.1). */
  pipeline(queries: { bytes: Uint8Array; id: number; describe: string }[]): Promise<Exchange[]>;
  close(): Promise<void>;
}

function now(): number {
  return performance.now();
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Most answers a session keeps for IDs nobody asked about yet. */
const MAX_STRAY = 64;

/** DNS over a byte stream: TCP or TLS, two-octet length prefix (RFC 7766 §8, RFC 7858 §3.3). */
export class StreamSession implements DnsSession {
  private readonly early = new Map<number, { message: DnsMessage; size: number; at: number }>();

  constructor(
    readonly conn: Conn,
    readonly transport: 'tcp' | 'dot',
  ) {}

  close(): Promise<void> {
    return this.conn.close();
  }

  async send(query: Uint8Array, describe: string): Promise<void> {
    await this.conn.write(frameTcp(query), { decode: describe });
  }

  /** The next message on the stream, whatever its ID. */
  async receive(): Promise<{ message: DnsMessage; size: number }> {
    return this.conn.readFrame(tcpMessageFrame, 'DNS message', (v) => describeMessage(v.message));
  }

  private async waitFor(id: number, sentAt: number): Promise<Exchange> {
    for (;;) {
      const kept = this.early.get(id);
      if (kept) {
        this.early.delete(id);
        return { message: kept.message, size: kept.size, rttMs: round(kept.at - sentAt) };
      }
      const got = await this.receive();
      const at = now();
      if (got.message.id === id) return { ...got, rttMs: round(at - sentAt) };
      if (this.early.size >= MAX_STRAY) throw new ProtocolError(`server sent more than ${MAX_STRAY} answers nobody asked for`);
      this.early.set(got.message.id, { ...got, at });
    }
  }

  async exchange(query: Uint8Array, id: number, describe: string): Promise<Exchange> {
    const sentAt = now();
    await this.send(query, describe);
    return this.waitFor(id, sentAt);
  }

  async pipeline(queries: { bytes: Uint8Array; id: number; describe: string }[]): Promise<Exchange[]> {
    const sentAt = now();
    for (const q of queries) await this.send(q.bytes, q.describe);
    const out: Exchange[] = [];
    for (const q of queries) out.push(await this.waitFor(q.id, sentAt));
    return out;
  }
}

export type DohVersion = 'http/1.1' | 'h2';

export interface DohOptions {
  path: string;
  mode: DohMode;
  /** Host header: the server's name as the user gave it. */
  host: string;
  /** HTTP/1.1, or HTTP/2 chosen with ALPN (RFC 8484 §5.2 names HTTP/2 the minimum it recommends). */
  version?: DohVersion;
}

/**
 * DNS over HTTPS on a connection we opened ourselves (RFC 8484 §4.1): one HTTP/1.1 request per query,
 * kept alive. The query ID is 0, as §4.1 asks, so caches can share answers; answers are matched by order.
 */
export class DohSession implements DnsSession {
  readonly transport = 'doh' as const;
  /** The HTTP/2 connection, when the server chose h2 with ALPN; started on the first query. */
  private readonly h2: H2Session | undefined;
  private h2Started = false;

  constructor(
    readonly conn: Conn,
    private readonly opts: DohOptions,
  ) {
    if (opts.version === 'h2') this.h2 = new H2Session(conn);
  }

  async close(): Promise<void> {
    if (this.h2 && this.h2Started) await this.h2.close();
    return this.conn.close();
  }

  /** One request as one HTTP/2 stream (RFC 8484 §5.2); the answer in the HTTP/1.1 shape the checks read. */
  private async requestH2(h2: H2Session, method: 'GET' | 'POST', target: string, accept: string, body?: Uint8Array): Promise<HttpResponse> {
    if (!this.h2Started) {
      await h2.start('alpn');
      this.h2Started = true;
    }
    const headers: [string, string][] = [
      ['accept', accept],
      ['user-agent', 'Portolan'],
    ];
    if (body) headers.push(['content-type', 'application/dns-message']);
    const [r] = await h2.exchange([{ method, scheme: 'https', authority: this.opts.host, path: target, headers, body }], { concurrency: 1, maxBodyBytes: MAX_MESSAGE });
    if (h2.goaway && r.status === null) throw goawayError(h2.goaway);
    if (r.reset) throw new ServerError(`DoH stream ${r.stream} reset: ${r.reset.error}`);
    if (r.refused || r.status === null) throw new ProtocolError(`DoH stream ${r.stream} got no answer: ${r.refused ?? 'no response headers'}`);
    if (r.truncated) throw new ProtocolError(`DoH body larger than ${MAX_MESSAGE} bytes`);
    return { version: 'HTTP/2', status: r.status, reason: '', headers: r.headers, body: r.body };
  }

  private async request(method: 'GET' | 'POST', target: string, accept: string, body?: Uint8Array, describe?: string): Promise<HttpResponse> {
    if (this.h2) return this.requestH2(this.h2, method, target, accept, body);
    const headers: [string, string][] = [
      ['Accept', accept],
      ['User-Agent', 'Portolan'],
    ];
    if (body) headers.push(['Content-Type', 'application/dns-message']);
    const bytes = encodeRequest({ method, target, host: this.opts.host, headers, body });
    await this.conn.write(bytes, { decode: `${method} ${target.length > 100 ? target.slice(0, 100) + '…' : target} HTTP/1.1${describe ? ` — ${describe}` : ''}` });
    for (let informational = 0; ; informational++) {
      const res = await this.conn.readFrame(responseFrame(MAX_MESSAGE, method), 'HTTP response', describeResponse);
      if (res.status >= 100 && res.status < 200) {
        if (informational > 8) throw new ProtocolError('more than 8 informational (1xx) responses');
        continue;
      }
      if (res.body === null) {
        const rest = await this.conn.readToEnd(MAX_MESSAGE + 1);
        if (rest.truncated) throw new ProtocolError(`DoH body larger than ${MAX_MESSAGE} bytes`);
        return { ...res, body: rest.bytes };
      }
      return res;
    }
  }

  private check(res: HttpResponse, wanted: string): void {
    if (res.status < 200 || res.status > 299) {
      const text = res.body ? new TextDecoder().decode(res.body.subarray(0, 200)).trim() : '';
      throw new ServerError(`DoH server answered HTTP ${res.status} ${res.reason}${text ? `: ${text}` : ''}`, { httpStatus: res.status });
    }
    const type = (header(res, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (type !== wanted) throw new ProtocolError(`DoH server answered with content type ${JSON.stringify(type || '(none)')}, not ${wanted} (RFC 8484 §6)`);
  }

  async exchange(query: Uint8Array, _id: number, describe: string): Promise<Exchange> {
    const sentAt = now();
    const { path, mode } = this.opts;
    let res: HttpResponse;
    if (mode === 'post') {
      res = await this.request('POST', path, 'application/dns-message', query, describe);
    } else {
      // RFC 8484 §4.1: base64url without padding in the `dns` parameter.
      const dns = toBase64Url(query);
      res = await this.request('GET', `${path}${path.includes('?') ? '&' : '?'}dns=${dns}`, 'application/dns-message', undefined, describe);
    }
    const rttMs = round(now() - sentAt);
    this.check(res, 'application/dns-message');
    const body = res.body!;
    const message = decodeMessage(body);
    this.conn.note(describeMessage(message));
    return { message, size: body.length, rttMs, http: { status: res.status, version: res.version, contentType: header(res, 'content-type') ?? null } };
  }

  async pipeline(queries: { bytes: Uint8Array; id: number; describe: string }[]): Promise<Exchange[]> {
    const out: Exchange[] = [];
    for (const q of queries) out.push(await this.exchange(q.bytes, q.id, q.describe));
    return out;
  }

  /** The JSON API (`?name=&type=`, application/dns-json) that Cloudflare and Google serve beside RFC 8484. */
  async json(question: { name: string; type: string; cd: boolean; do: boolean }): Promise<Exchange> {
    const sentAt = now();
    const params = new URLSearchParams({ name: question.name, type: question.type });
    if (question.cd) params.set('cd', '1');
    if (question.do) params.set('do', '1');
    const path = this.opts.path;
    const res = await this.request('GET', `${path}${path.includes('?') ? '&' : '?'}${params}`, 'application/dns-json');
    const rttMs = round(now() - sentAt);
    this.check(res, 'application/dns-json');
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(res.body!));
    } catch {
      throw new ProtocolError('DoH JSON answer is not valid JSON');
    }
    return { message: fromDohJson(body), size: res.body!.length, rttMs, http: { status: res.status, version: res.version, contentType: header(res, 'content-type') ?? null } };
  }
}

/** Records of the JSON API carry their RDATA as presentation text; we keep it as `{ text }`. */
function fromDohJson(body: unknown): DnsMessage {
  if (typeof body !== 'object' || body === null) throw new ProtocolError('DoH JSON answer is not an object');
  const b = body as Record<string, unknown>;
  if (typeof b.Status !== 'number') throw new ProtocolError('DoH JSON answer has no numeric Status');
  const section = (key: string): DnsRecord[] => {
    const list = b[key];
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw new ProtocolError(`DoH JSON ${key} is not a list`);
    return list.slice(0, 1000).map((r: Record<string, unknown>, i) => {
      if (typeof r !== 'object' || r === null || typeof r.name !== 'string' || typeof r.type !== 'number') throw new ProtocolError(`DoH JSON ${key}[${i}] is not a record`);
      return { name: r.name.endsWith('.') ? r.name : `${r.name}.`, type: typeName(r.type), class: 'IN', ttl: typeof r.TTL === 'number' ? r.TTL : 0, data: { text: String(r.data ?? '') } };
    });
  };
  const flags: Flags = { aa: false, tc: !!b.TC, rd: !!b.RD, ra: !!b.RA, z: false, ad: !!b.AD, cd: !!b.CD };
  const questions = Array.isArray(b.Question)
    ? (b.Question as Record<string, unknown>[]).slice(0, 10).map((q) => ({ name: String(q.name ?? ''), type: typeName(Number(q.type)), class: 'IN' }))
    : [];
  return { id: 0, qr: true, opcode: 'QUERY', flags, rcode: rcodeName(b.Status), questions, answers: section('Answer'), authority: section('Authority'), additional: section('Additional') };
}

/**
 * DNS over UDP: one datagram each way (RFC 1035 §4.2.1). An answer counts only if it comes from the server's
 * address and port, carries our ID and QR, and repeats our question (RFC 5452 §9.1); others are dropped.
 */
export class DatagramSession implements DnsSession {
  readonly transport = 'udp' as const;

  constructor(readonly conn: DatagramConn) {}

  close(): Promise<void> {
    return this.conn.close();
  }

  async exchange(query: Uint8Array, id: number, describe: string): Promise<Exchange> {
    const asked = decodeMessage(query).questions;
    const sentAt = now();
    await this.conn.send(query, { decode: describe });
    for (let dropped = 0; dropped < MAX_STRAY; dropped++) {
      const got = await this.conn.receive('DNS answer', describeDatagram);
      if (got.from.port !== this.conn.port) continue;
      let message: DnsMessage;
      try {
        message = decodeMessage(got.bytes);
      } catch (e) {
        // Whatever arrives on the port is read; a datagram that is not DNS is dropped, not trusted.
        if (e instanceof ProtocolError) continue;
        throw e;
      }
      if (message.id !== id || !message.qr || !sameQuestions(asked, message)) continue;
      return { message, size: got.bytes.length, rttMs: round(now() - sentAt) };
    }
    throw new ProtocolError(`${MAX_STRAY} datagrams that did not answer our query; giving up`);
  }

  async pipeline(queries: { bytes: Uint8Array; id: number; describe: string }[]): Promise<Exchange[]> {
    const out: Exchange[] = [];
    for (const q of queries) out.push(await this.exchange(q.bytes, q.id, q.describe));
    return out;
  }
}

function describeDatagram(bytes: Uint8Array): string {
  try {
    return describeMessage(decodeMessage(bytes));
  } catch (e) {
    return `not a DNS message: ${classify(e).message}`;
  }
}

function sameQuestions(asked: DnsMessage['questions'], m: DnsMessage): boolean {
  // A truncated answer may come without its question section (RFC 1035 §4.2.1 leaves it to the server).
  if (m.questions.length === 0 && m.flags.tc) return true;
  return m.questions.length === asked.length && asked.every((q, i) => sameName(q.name, m.questions[i].name) && q.type === m.questions[i].type && q.class === m.questions[i].class);
}

export interface OpenOptions {
  transport: TransportName;
  host: string;
  port: number;
  doh?: Omit<DohOptions, 'host'>;
  /** A hop chosen by a server's answer (trace referrals): the guard checks it as a second hop. */
  secondHop?: boolean;
}

/** Dials the server and wraps the connection in the session of the chosen transport. */
export async function openSession(ctx: OperationContext, o: OpenOptions): Promise<DnsSession> {
  switch (o.transport) {
    case 'udp':
      // On a host without datagrams (Workers) the runner answers 501 with the reason and the alternatives.
      return new DatagramSession(await ctx.dialUdp({ host: o.host, port: o.port, secondHop: o.secondHop }));
    case 'tcp':
      return new StreamSession(await ctx.dial({ host: o.host, port: o.port, tls: 'off', secondHop: o.secondHop }), 'tcp');
    case 'dot':
      return new StreamSession(await ctx.dial({ host: o.host, port: o.port, tls: 'implicit', secondHop: o.secondHop }), 'dot');
    case 'doh': {
      const h2 = o.doh?.version === 'h2';
      // HTTP/2 over TLS is chosen with ALPN (RFC 9113 §3.2): a host without ALPN (Workers) refuses this dial with 501.
      const conn = await ctx.dial({ host: o.host, port: o.port, tls: 'implicit', secondHop: o.secondHop, alpn: h2 ? ['h2'] : undefined });
      if (h2 && conn.info().alpn !== 'h2') throw new ProtocolError(`the DoH server chose ${conn.info().alpn ? `"${conn.info().alpn}"` : 'no protocol'} with ALPN, not h2`, { alpn: conn.info().alpn ?? null });
      const hostHeader = o.port === 443 ? hostForHeader(o.host) : `${hostForHeader(o.host)}:${o.port}`;
      return new DohSession(conn, { path: o.doh?.path ?? '/dns-query', mode: o.doh?.mode ?? 'post', host: hostHeader, version: o.doh?.version });
    }
  }
}

function hostForHeader(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** A record with its RDATA also in presentation form, for JSON answers and text output. */
export type RecordOut = DnsRecord & { rdata: string };

export function withText(rr: DnsRecord): RecordOut {
  const text = typeof rr.data.text === 'string' && Object.keys(rr.data).length === 1 ? rr.data.text : rdataText(rr.type, rr.data);
  return { ...rr, rdata: text };
}

/** Random query IDs (RFC 5452 §4.3), from the crypto port. */
export function queryId(ctx: OperationContext): number {
  const b = ctx.crypto.randomBytes(2);
  return (b[0] << 8) | b[1];
}

