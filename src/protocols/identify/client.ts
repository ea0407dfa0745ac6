// Identifying one port: connect, listen for a greeting, then ask in each candidate protocol's own language.
//
// How it works: every step is one connection under its own small deadline (a race with ctx.sleep, so several
// ports can be probed at once under the operation's one deadline). The first connection listens: a greeting is
// named by its signature (and a 220 line is asked LHLO on the same connection, to tell LMTP from SMTP). A silent
// server gets client-first probes, the cheapest and the port's registered protocols first; an answer is read by
// the probe's own recognizer, then by every other one (servers answer foreign probes in their own words). A
// medium answer moves that protocol's probes to the front. TLS handshake bytes start the same search inside TLS
// (the runtime's TLS), with the version and ALPN read from our own ClientHello's answer. The first high-confidence
// finding ends the search.
import { concat, fromLatin1, utf8 } from '../../core/bytes.ts';
import type { Conn, TlsMode } from '../../core/conn.ts';
import { PortolanError, classify } from '../../core/errors.ts';
import type { DialRequest, OperationContext } from '../../core/protocol.ts';
import { previewBytes } from '../../core/transcript.ts';
import { H2Session } from '../http2/client.ts';
import { OUTSIDE_REGISTRY, allProbes, clientHello, loadDeclarations, probesFor, rank, readTlsAnswer, recognizeBanner, recognizeReply, type Confidence, type Finding } from './probes.ts';

export interface Evidence {
  step: string;
  tls: boolean;
  sent?: string;
  received?: string;
  note?: string;
}

export interface PortReport {
  port: number;
  state: 'open' | 'closed' | 'filtered';
  /** A registry id, or 'unknown'. */
  protocol: string;
  /** The service as nmap would name it: the registry id, or a well-known name the registry does not hold. */
  service: string;
  confidence: Confidence | 'none';
  tls: { mode: 'none' | 'implicit'; version?: string; alpn?: string };
  product?: string;
  version?: string;
  info?: string;
  evidence: Evidence[];
  ms: number;
}

export interface IdentifyOptions {
  connectTimeoutMs: number;
  /** How long each probe (and the first listen) waits for an answer. */
  probeTimeoutMs: number;
  /** Once bytes arrive, how long a pause ends the answer. */
  settleMs: number;
  /** When the operation's deadline falls (Date.now() time): probing stops while a probe still fits before it. */
  endsAt?: number;
}

const TIMED_OUT = Symbol('timed out');
const MAX_REPLY = 8192;

/** `p`, or TIMED_OUT once `ms` pass; a late rejection of `p` is absorbed. */
async function race<T>(ctx: OperationContext, p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  p.catch(() => undefined);
  if (ms <= 0) return TIMED_OUT;
  const timer: Promise<typeof TIMED_OUT> = ctx.sleep(ms).then(
    () => TIMED_OUT,
    () => TIMED_OUT,
  );
  return Promise.race([p, timer]);
}

interface Exchange {
  greeting: Uint8Array;
  reply: Uint8Array;
  /** The server ended the connection. */
  closed: boolean;
  /** Why no connection was made, or why it broke. */
  error?: PortolanError;
  /** The dial itself failed. */
  unreachable?: boolean;
  conn?: Conn;
}

/**
 * One connection: listen for `listenMs` (0: not at all), write what `send` returns for the greeting, collect the
 * answer until it pauses for settleMs, the probe's time runs out, or the server closes.
 */
async function exchange(ctx: OperationContext, port: number, tls: TlsMode, opts: IdentifyOptions, listenMs: number, send: (greeting: Uint8Array) => Uint8Array | null, extra: DialRequest = {}): Promise<Exchange> {
  const out: Exchange = { greeting: new Uint8Array(0), reply: new Uint8Array(0), closed: false };
  const dialing = ctx.dial({ ...extra, port, tls, connectTimeoutMs: opts.connectTimeoutMs });
  const dialed = await race(ctx, dialing, opts.connectTimeoutMs + opts.probeTimeoutMs).catch((e: unknown) => classify(e));
  if (dialed === TIMED_OUT) {
    void dialing.then((c) => c.close(), () => undefined);
    out.error = new PortolanError('connect_timeout', `no connection within ${opts.connectTimeoutMs + opts.probeTimeoutMs} ms`);
    out.unreachable = true;
    return out;
  }
  if (dialed instanceof PortolanError) {
    out.error = dialed;
    out.unreachable = true;
    return out;
  }
  const conn = dialed;
  out.conn = conn;
  let pending: Promise<Uint8Array | null> | undefined;
  const collect = async (firstWaitMs: number): Promise<Uint8Array> => {
    const parts: Uint8Array[] = [];
    let size = 0;
    let spent = 0;
    while (size < MAX_REPLY && !out.closed) {
      const wait = size === 0 ? firstWaitMs - spent : opts.settleMs;
      if (wait <= 0) break;
      pending ??= conn.read(MAX_REPLY - size);
      const started = Date.now();
      const got = await race(ctx, pending, wait).catch((e: unknown) => {
        out.error = classify(e);
        out.closed = true;
        return null;
      });
      spent += Date.now() - started;
      if (got === TIMED_OUT) break;
      pending = undefined;
      if (got === null) {
        out.closed = true;
        break;
      }
      parts.push(got);
      size += got.length;
    }
    return concat(parts);
  };
  try {
    if (listenMs > 0) out.greeting = await collect(listenMs);
    const payload = out.closed ? null : send(out.greeting);
    if (payload) {
      const wrote = await race(ctx, conn.write(payload), opts.probeTimeoutMs).catch((e: unknown) => classify(e));
      if (wrote === TIMED_OUT || wrote instanceof PortolanError) {
        out.error = wrote === TIMED_OUT ? undefined : wrote;
        return out;
      }
      out.reply = await collect(opts.probeTimeoutMs);
    }
    return out;
  } finally {
    await race(ctx, conn.close(), 300);
    pending?.catch(() => undefined);
  }
}

/** The operation's deadline has passed: its outcome, not another probe. */
export function stopAtDeadline(ctx: OperationContext): void {
  if (ctx.signal.aborted) throw classify(ctx.signal.reason);
}

const preview = (b: Uint8Array) => (b.length ? previewBytes(b, 160) : undefined);

/** Identifies one port. Refused: closed; no connection in time: filtered. */
export async function identifyPort(ctx: OperationContext, port: number, opts: IdentifyOptions): Promise<PortReport> {
  await loadDeclarations();
  const t0 = Date.now();
  const evidence: Evidence[] = [];
  const report = (state: PortReport['state'], f: Finding | null, tls: PortReport['tls'] = { mode: 'none' }, note?: string): PortReport => ({
    port,
    state,
    protocol: f && !OUTSIDE_REGISTRY.has(f.service) ? f.service : 'unknown',
    service: f?.service ?? 'unknown',
    confidence: f?.confidence ?? 'none',
    tls,
    ...(f?.product ? { product: f.product } : {}),
    ...(f?.version ? { version: f.version } : {}),
    ...((f?.info ?? note) ? { info: f?.info ?? note } : {}),
    evidence,
    ms: Date.now() - t0,
  });

  const first = await listen(ctx, port, 'off', opts, evidence);
  if (first.unreachable) {
    const code = first.error?.code;
    if (code === 'target_blocked' || code === 'invalid_input' || code === 'unsupported_runtime' || code === 'rate_limited') throw first.error;
    evidence.push({ step: 'connect', tls: false, note: first.error?.message });
    return report(code === 'refused' ? 'closed' : 'filtered', null);
  }
  if (first.finding?.confidence === 'high') return report('open', first.finding);

  stopAtDeadline(ctx);
  const plain = await search(ctx, port, 'off', opts, evidence, first.finding);
  if (plain.tls) {
    const tls = { mode: 'implicit' as const, ...plain.tls };
    const extra: DialRequest = {};
    if (tls.alpn === 'h2') {
      const grpc = await grpcCheck(ctx, port, 'implicit', opts, evidence, extra);
      if (grpc) return report('open', grpc, tls);
    }
    let inner = await listen(ctx, port, 'implicit', opts, evidence, extra);
    const fingerprint = (inner.error?.detail as { fingerprintSha256?: unknown } | undefined)?.fingerprintSha256;
    if (inner.unreachable && inner.error?.code === 'untrusted_peer' && typeof fingerprint === 'string' && ctx.capabilities.has('selfSigned')) {
      // Identification trusts the certificate it was shown (the Node host can pin it); the evidence says so.
      evidence.push({ step: 'TLS connection', tls: true, note: `${inner.error.message}: pinned for identification` });
      extra.pinSha256 = fingerprint;
      if (tls.alpn === 'h2') {
        const grpc = await grpcCheck(ctx, port, 'implicit', opts, evidence, extra);
        if (grpc) return report('open', grpc, tls);
      }
      inner = await listen(ctx, port, 'implicit', opts, evidence, extra);
    }
    if (inner.unreachable) {
      evidence.push({ step: 'TLS connection', tls: true, note: inner.error?.message });
      // The runtime could not finish TLS (ALPN h2 only, an untrusted certificate): name what TLS itself told.
      const byAlpn = tls.alpn === 'h2' ? { service: 'http2', confidence: 'low' as const, info: 'ALPN h2' } : tls.alpn === 'http/1.1' ? { service: 'http', confidence: 'low' as const, info: 'ALPN http/1.1' } : null;
      return report('open', byAlpn ?? { service: 'tls', confidence: 'high', info: inner.error?.message }, tls);
    }
    if (inner.finding?.confidence === 'high') return report('open', inner.finding, tls);
    const within = await search(ctx, port, 'implicit', opts, evidence, inner.finding, extra);
    // The server chose h2 by ALPN, but this runtime cannot offer ALPN: its HTTP/1.1 answer is a fallback, not the service.
    if (within.finding?.service === 'http' && tls.alpn === 'h2' && !ctx.capabilities.has('alpn')) {
      return report('open', { ...within.finding, service: 'http2', confidence: 'medium', info: 'ALPN h2; HTTP/2 over TLS needs ALPN, which this runtime lacks' }, tls);
    }
    if (within.finding) return report('open', within.finding, tls);
    return report('open', { service: 'tls', confidence: 'high', info: 'TLS; the service inside answered no probe' }, tls);
  }
  if (plain.finding) return report('open', plain.finding);
  return report('open', null, { mode: 'none' }, first.silent ? `accepts connections and answers none of ${allProbes().length} probes` : 'answers in words no probe recognizes');
}

interface Listened {
  unreachable: boolean;
  error?: PortolanError;
  finding: Finding | null;
  silent: boolean;
}

/** The first connection: what the server says unasked, and LHLO after a 220 greeting (RFC 2033 4.1). */
async function listen(ctx: OperationContext, port: number, tls: TlsMode, opts: IdentifyOptions, evidence: Evidence[], extra: DialRequest = {}): Promise<Listened> {
  let lhlo: Uint8Array | null = null;
  const x = await exchange(ctx, port, tls, opts, opts.probeTimeoutMs, (greeting) => {
    const f = recognizeBanner(greeting);
    if (f && (f.service === 'smtp' || f.service === 'lmtp') && f.confidence !== 'high') lhlo = utf8('LHLO portolan.invalid\r\n');
    return lhlo;
  }, extra);
  if (x.unreachable) return { unreachable: true, error: x.error, finding: null, silent: true };
  let finding = x.greeting.length ? recognizeBanner(x.greeting, x.closed) : null;
  evidence.push({ step: 'listen', tls: tls !== 'off', received: preview(x.greeting), note: x.greeting.length ? (finding ? `${finding.service} (${finding.confidence})` : 'greeting not recognized') : x.closed ? 'closed without a word' : 'silent' });
  if (lhlo) {
    const said = fromLatin1(x.reply);
    finding = /^250[ -]/.test(said) ? { ...finding!, service: 'lmtp', confidence: 'high' } : /^5\d\d[ -]/.test(said) ? { ...finding!, service: 'smtp', confidence: 'high' } : finding;
    evidence.push({ step: 'LHLO', tls: tls !== 'off', sent: preview(lhlo), received: preview(x.reply), note: finding ? `${finding.service} (${finding.confidence})` : undefined });
  }
  return { unreachable: false, finding, silent: x.greeting.length === 0 };
}

interface Searched {
  finding: Finding | null;
  /** TLS answered our ClientHello. */
  tls?: { version?: string; alpn?: string };
}

/** Client-first probes until one is recognized with high confidence. */
async function search(ctx: OperationContext, port: number, tls: TlsMode, opts: IdentifyOptions, evidence: Evidence[], start: Finding | null, extra: DialRequest = {}): Promise<Searched> {
  let best = start;
  const queue = probesFor(port).filter((p) => tls === 'off' || p.name !== 'tls-client-hello');
  const promote = (service: string) => {
    const mine = queue.filter((p) => p.protocol === service);
    for (const p of mine) queue.splice(queue.indexOf(p), 1);
    queue.unshift(...mine);
  };
  if (best) promote(best.service);
  const random = (n: number) => ctx.crypto.randomBytes(n);
  while (queue.length > 0) {
    stopAtDeadline(ctx);
    if (opts.endsAt !== undefined && Date.now() + opts.connectTimeoutMs + opts.probeTimeoutMs > opts.endsAt) {
      evidence.push({ step: 'deadline', tls: tls !== 'off', note: `${queue.length} probes left untried: the operation's deadline leaves no room for another` });
      break;
    }
    const probe = queue.shift()!;
    const payload = probe.payload(ctx.target.host, random);
    const x = await exchange(ctx, port, tls, opts, 0, () => payload, extra);
    if (x.unreachable) {
      evidence.push({ step: probe.name, tls: tls !== 'off', sent: preview(payload), note: x.error?.message });
      if (x.error?.code === 'target_blocked' || x.error?.code === 'rate_limited') throw x.error;
      continue;
    }
    const f = recognizeReply(probe, payload, x.reply);
    evidence.push({ step: probe.name, tls: tls !== 'off', sent: preview(payload), received: preview(x.reply), note: f ? `${f.service} (${f.confidence})` : x.reply.length ? 'not recognized' : x.closed ? 'closed' : 'no answer' });
    if (f?.service === 'tls' && probe.name === 'tls-client-hello') {
      const answer = readTlsAnswer(x.reply);
      const info: Searched['tls'] = { version: answer?.version, alpn: answer?.alpn };
      // A TLS 1.3 ServerHello hides ALPN: a 1.2-only hello shows the choice in clear.
      if (answer?.kind === 'hello' && answer.version === 'TLSv1.3') {
        const again = clientHello(ctx.target.host, random, false);
        const y = await exchange(ctx, port, tls, opts, 0, () => again);
        const a2 = readTlsAnswer(y.reply);
        evidence.push({ step: 'tls-client-hello (TLS 1.2 only, for ALPN)', tls: false, sent: preview(again), received: preview(y.reply), note: a2?.alpn ? `ALPN ${a2.alpn}` : 'no ALPN in clear' });
        if (a2?.alpn) info.alpn = a2.alpn;
      }
      return { finding: f, tls: info };
    }
    if (f && f.service === 'http2') {
      const grpc = await grpcCheck(ctx, port, tls, opts, evidence, extra);
      if (grpc) return { finding: grpc };
    }
    // An HTTP/1.1 server may speak h2c too (RFC 9113 3.3, prior knowledge): ask with the preface.
    if (f?.service === 'http' && f.confidence === 'high' && tls === 'off') {
      const h2c = allProbes().find((p) => p.name === 'h2c-preface')!;
      const preface = h2c.payload(ctx.target.host, random);
      const y = await exchange(ctx, port, tls, opts, 0, () => preface, extra);
      const g = y.reply.length ? h2c.recognize(y.reply, '', preface) : null;
      evidence.push({ step: h2c.name, tls: false, sent: preview(preface), received: preview(y.reply), note: g ? 'h2c as well' : 'HTTP/1.x only' });
      if (g) {
        const grpc = await grpcCheck(ctx, port, tls, opts, evidence, extra);
        return { finding: grpc ?? { ...f, service: 'http2', info: `h2c with prior knowledge; HTTP/1.1 too (${f.info ?? ''})` } };
      }
    }
    if (f?.confidence === 'high') return { finding: f };
    if (f && (!best || rank(f) > rank(best))) {
      best = f;
      promote(f.service);
    }
  }
  return { finding: best };
}


/** On an HTTP/2 port: a gRPC health check (grpc.health.v1, read-only) tells a gRPC server from a web server. */
async function grpcCheck(ctx: OperationContext, port: number, tls: TlsMode, opts: IdentifyOptions, evidence: Evidence[], extra: DialRequest): Promise<Finding | null> {
  // Over TLS, HTTP/2 needs ALPN h2 (RFC 9113 3.2): hosts without ALPN (Workers) cannot ask.
  if (tls !== 'off' && !ctx.capabilities.has('alpn')) return null;
  const work = async (): Promise<Finding | null> => {
    const conn = await ctx.dial({ ...extra, port, tls, connectTimeoutMs: opts.connectTimeoutMs, ...(tls !== 'off' ? { alpn: ['h2'] } : {}) });
    if (tls !== 'off' && conn.info().alpn !== 'h2') {
      await conn.close();
      return null;
    }
    const session = new H2Session(conn);
    try {
      await session.start('prior-knowledge');
      const [res] = await session.exchange(
        [{ method: 'POST', scheme: tls === 'off' ? 'http' : 'https', authority: `${ctx.target.host}:${port}`, path: '/grpc.health.v1.Health/Check', headers: [['content-type', 'application/grpc'], ['te', 'trailers']], body: new Uint8Array(5) }],
        { concurrency: 1, maxBodyBytes: 1024 },
      );
      const type = [...res.headers, ...res.trailers].find(([n]) => n === 'content-type')?.[1] ?? '';
      const status = [...res.headers, ...res.trailers].find(([n]) => n === 'grpc-status')?.[1];
      const server = res.headers.find(([n]) => n === 'server')?.[1];
      evidence.push({ step: `grpc-health-check (${tls === 'off' ? 'h2c' : 'h2'})`, tls: tls !== 'off', sent: 'POST /grpc.health.v1.Health/Check', received: `:status ${res.status} content-type ${type || '-'}${status !== undefined ? ` grpc-status ${status}` : ''}` });
      if (/^application\/grpc/.test(type) || status !== undefined) return { service: 'grpc', confidence: 'high', info: `grpc-status ${status ?? '?'}` };
      return { service: 'http2', confidence: 'high', ...(server ? { product: server.split('/')[0], version: server.split('/')[1] } : {}), info: `${tls === 'off' ? 'h2c' : 'h2'}; :status ${res.status}` };
    } finally {
      await session.close().catch(() => undefined);
    }
  };
  const got = await race(ctx, work(), opts.connectTimeoutMs + opts.probeTimeoutMs).catch(() => null);
  return got === TIMED_OUT ? null : got;
}
