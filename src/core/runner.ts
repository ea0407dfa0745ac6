// The session runner: validates input, checks capabilities, owns the deadline,
// hands out guarded connections and closes every one of them in `finally`.
import * as z from 'zod';
import { unsupportedReasons } from './capabilities.ts';
import { Conn, joinHostPort, splitHostPort, type Capability, type Dialer, type TlsMode } from './conn.ts';
import { DatagramConn } from './datagram.ts';
import type { CryptoPort } from './crypto.ts';
import type { CodecsPort } from './codecs.ts';
import { InvalidInput, PortolanError, ProtocolError, TargetBlocked, UnsupportedRuntime, classify, type FieldIssue } from './errors.ts';
import { proxyDialer, proxyLabel, type ProxyHandshake } from './proxy.ts';
import { guardDownload, guardUpload, MAX_TRANSFER_TIMEOUT_MS, STREAM_TIMEOUT_MS, type DownloadTarget, type UploadSource } from './files.ts';
import { quoteGreeting, recognizeGreeting } from './sniff.ts';
import { defaultPort, isProxyHop, type BackChannel, type JumpHostInput, type ProxyRoute, type ViaInput, type ListenRequest, type SessionChannel, type SessionMessage, type DefinedOperation, type DialRequest, type OperationContext, type Protocol, type TargetFields } from './protocol.ts';
import { Transcript, type TranscriptEntry } from './transcript.ts';
import { deadline as makeDeadline, settleWithin, sleep } from './timers.ts';

/** How long the runner waits for its connections to close before it answers anyway. */
export const CLOSE_GRACE_MS = 200;
/** How long cancel hooks (OperationContext.onCancel) may take after an operation ends early. */
export const CANCEL_GRACE_MS = 2_000;

/** Decides whether a dial may proceed; returns the address to connect to (for hosts that pin it). */
export interface TargetGuard {
  check(host: string, port: number, hop: 'first' | 'second'): Promise<{ address?: string }>;
}

/** Opens an SSH jump host (through `ctx.dial`, so the guard checks it) and runs `fn` with a Dialer from there. */
export type JumpHostProvider = <T>(ctx: OperationContext, via: JumpHostInput, fn: (dialer: Dialer) => Promise<T>) => Promise<T>;

export interface HostEnv {
  dialer: Dialer;
  guard: TargetGuard;
  crypto: CryptoPort;
  /** Decoders built into the host (brotli), where it has them. */
  codecs?: CodecsPort;
  /** SSH jump hosts (`via`), where the host wires the SSH client in. */
  jump?: JumpHostProvider;
  /** false: operations that run code on the target (`runsCode`) are refused (the CODE_EXECUTION=off setting). */
  codeExecution?: boolean;
  /** Proxy hops (`via` of type socks5, socks4 or http, and `through` on a dial): the handshakes, wired by the host. */
  proxy?: ProxyHandshake;
}

export interface Answer {
  ok: true;
  protocol: string;
  operation: string;
  target: { host: string; port: number };
  result: unknown;
  timing: Record<string, number>;
  transcript?: { entries: TranscriptEntry[]; dropped: number };
}

/** Turns zod issues into field-named messages. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => {
    const field = i.path.map(String).join('.');
    let message = i.message;
    if (i.code === 'unrecognized_keys') return { field: i.keys.join(', '), message: `unknown field${i.keys.length > 1 ? 's' : ''}` };
    if (i.code === 'invalid_type' && /received undefined/.test(message)) message = 'is required';
    return { field, message };
  });
}

/**
 * Validates the input. For a streamed transfer (`stream`), a deadline the input leaves out is the
 * transfer's (STREAM_TIMEOUT_MS), and a streamed upload's content comes from the stream, not a field.
 */
export function parseInput(op: DefinedOperation, raw: unknown, stream?: 'download' | 'upload'): TargetFields & Record<string, unknown> {
  let schema = op.schema;
  const given = (raw ?? {}) as Record<string, unknown>;
  if (stream === 'upload' && op.transfer?.direction === 'upload') {
    const field = op.transfer.content;
    if (typeof given === 'object' && field in given) throw InvalidInput.field(field, 'give the file either inline or as the streamed file, not both');
    schema = schema.omit({ [field]: true }) as unknown as typeof schema;
  }
  const parsed = schema.safeParse(raw ?? {});
  if (!parsed.success) throw new InvalidInput(fieldIssues(parsed.error));
  const input = parsed.data as TargetFields & Record<string, unknown>;
  if (stream && op.transfer && typeof given === 'object' && given.timeoutMs === undefined) input.timeoutMs = Math.min(STREAM_TIMEOUT_MS, op.maxTimeoutMs ?? MAX_TRANSFER_TIMEOUT_MS);
  return input;
}

/** What a host can do for an operation whose TLS is the runtime's (`tlsEngine: 'runtime'`) or may be the engine's. */
export function capabilitiesFor(dialer: Pick<Dialer, 'capabilities' | 'engineOnly'>, engine: TargetFields['tlsEngine']): ReadonlySet<Capability> {
  if (engine !== 'runtime' || !dialer.engineOnly) return dialer.capabilities;
  return new Set([...dialer.capabilities].filter((c) => !dialer.engineOnly!.has(c)));
}

export function missingCapabilities(op: DefinedOperation, tls: TlsMode, have: ReadonlySet<Capability>): Capability[] {
  const needs = new Set<Capability>(op.needs ?? ['tcp']);
  for (const c of op.needsWithTls?.[tls] ?? []) needs.add(c);
  if (tls === 'implicit') needs.add('tls');
  if (tls === 'starttls') needs.add('starttls');
  return [...needs].filter((c) => !have.has(c));
}

export interface RunOptions {
  transcript?: boolean;
  /** Aborts the operation from outside (client went away). */
  signal?: AbortSignal;
  /** Runs the operation's interactive session over this channel instead of `run`. */
  channel?: SessionChannel;
  /** A download streamed to the caller: its destination (core/files.ts). */
  download?: DownloadTarget;
  /** An upload the caller streams: its bytes (core/files.ts). */
  upload?: UploadSource;
}

/** Runs one operation to its answer. Throws PortolanError on failure. */
export async function runOperation(
  env: HostEnv,
  protocol: Protocol,
  op: DefinedOperation,
  raw: unknown,
  opts: RunOptions = {},
): Promise<Answer> {
  if (opts.channel && !op.session) throw InvalidInput.field('operation', `${protocol.id} ${op.name} is not an interactive session; POST /api/${protocol.id}/${op.name}`);
  if (!opts.channel && !op.run) throw InvalidInput.field('operation', `${protocol.id} ${op.name} is an interactive session: open GET /api/${protocol.id}/${op.name} as a WebSocket`);
  if (op.runsCode && env.codeExecution === false) {
    throw new TargetBlocked(`${protocol.id} ${op.name} runs code on the target, and this deployment turned code execution off (CODE_EXECUTION=off)`, { setting: 'CODE_EXECUTION' });
  }
  const stream = opts.download ? 'download' : opts.upload ? 'upload' : undefined;
  if (stream && op.transfer?.direction !== stream) throw InvalidInput.field(stream === 'download' ? 'accept' : 'body', `${protocol.id} ${op.name} does not ${stream} a file`);
  const input = parseInput(op, raw, stream);
  const engine = input.tlsEngine;
  const have = capabilitiesFor(env.dialer, engine);
  const missing = missingCapabilities(op, input.tls, have);
  if (missing.length > 0) {
    const { reasons, alternatives } = unsupportedReasons(missing, op.alternatives, engine === 'runtime' ? env.dialer.engineOnly : undefined);
    throw new UnsupportedRuntime(`${protocol.id} ${op.name} needs ${missing.join(', ')}, which the ${env.dialer.runtime} runtime lacks: ${reasons.join(' ')}`, {
      runtime: env.dialer.runtime,
      missing,
      reasons,
      alternatives,
    });
  }
  const opPort = typeof op.defaultPort === 'function' ? op.defaultPort(input) : input.tls === 'implicit' ? undefined : op.defaultPort;
  const port = input.port ?? opPort ?? defaultPort(protocol, input.tls);
  input.port = port;
  const start = performance.now();
  const transcript = new Transcript(start, opts.transcript === true);
  const marks: Record<string, number> = {};
  const timing = {
    marks,
    mark(name: string) {
      if (!(name in marks)) marks[name] = Math.round((performance.now() - start) * 1000) / 1000;
    },
  };
  const overall = makeDeadline(opts.signal, input.timeoutMs, 'io_timeout', `operation did not finish within ${input.timeoutMs} ms`);
  const deadline = overall.signal;
  const conns: { close(): Promise<void> }[] = [];
  const cancelHooks = new Set<() => Promise<void>>();
  // Once the operation ended early, cancel hooks dial under a short grace deadline of their own.
  let grace: AbortSignal | undefined;
  // `within` narrows the deadline for every connection while its function runs.
  let current = deadline;
  let connecting = 0;
  // Behind a jump host, dials go through its Dialer; the guard checked the jump host itself.
  let dialer = env.dialer;
  let behindJump = false;
  // Behind a proxy (`via` of a proxy type), every dial is asked of it; the guard checks the proxy and the target.
  let viaProxy: ProxyRoute | undefined;

  // What the dialer in use (the host's, a jump host's or a proxy's) lacks for one dial or listen.
  const lacking = (missing: Capability[], where = behindJump ? 'through an SSH jump host' : viaProxy ? `through the ${proxyLabel(viaProxy)}` : `the ${dialer.runtime} runtime`, d: Dialer = dialer): UnsupportedRuntime => {
    const { reasons, alternatives } = unsupportedReasons(missing, [], engine === 'runtime' ? d.engineOnly : undefined);
    return new UnsupportedRuntime(`${where} lacks ${missing.join(', ')}: ${reasons.join(' ')}`, { runtime: dialer.runtime, missing, reasons, alternatives });
  };

  // A session's connections read no faster than its client does (SessionChannel.ready).
  const clientReady = opts.channel?.ready ? () => opts.channel!.ready!() : undefined;

  const dial = (req: DialRequest = {}): Promise<Conn> => {
    const hop = req.through ?? viaProxy;
    if (!hop) return dialWith(dialer, req);
    if (!env.proxy) throw new UnsupportedRuntime('this host has no proxy client wired for proxy hops', { runtime: env.dialer.runtime, missing: [], reasons: ['no proxy support in this host'], alternatives: [] });
    const base = dialer;
    return dialWith(proxyDialer(ctx, base, hop, env.proxy, (proxyReq) => dialWith(base, proxyReq)), req, `through the ${proxyLabel(hop)}`);
  };

  const dialWith = async (d: Dialer, req: DialRequest, where?: string): Promise<Conn> => {
    const host = req.host ?? input.host;
    const dialPort = req.port ?? port;
    const tls = req.tls ?? input.tls;
    const dialHave = capabilitiesFor(d, engine);
    // Pins, a private CA and a client certificate are the user's for the target: other hosts (a redirect, a referral) get the public roots.
    const toTarget = host === input.host;
    const pinSha256 = req.pinSha256 ?? (toTarget ? input.pinSha256 : undefined);
    const pinSpkiSha256 = toTarget ? input.pinSpkiSha256 : undefined;
    const caPem = toTarget ? input.caPem : undefined;
    const clientCertificate = req.clientCertificate ?? (toTarget ? input.clientCertificate : undefined);
    const peerCertificate = req.peerCertificate || (op.needs ?? []).includes('peerCert');
    const dialMissing = missingCapabilities({ ...op, needs: [] } as DefinedOperation, tls, dialHave);
    const need = (cap: Capability, when: unknown) => {
      if (when && tls !== 'off' && !dialHave.has(cap) && !dialMissing.includes(cap)) dialMissing.push(cap);
    };
    need('alpn', req.alpn);
    need('tlsVersion', req.minVersion || req.maxVersion);
    need('clientCert', clientCertificate);
    need('selfSigned', pinSha256 || pinSpkiSha256 || caPem);
    need('peerCert', peerCertificate);
    if (dialMissing.length > 0) throw lacking(dialMissing, where, d);
    const hop = req.secondHop ? 'second' : 'first';
    const verdict: { address?: string } = behindJump ? {} : await env.guard.check(host, dialPort, hop);
    const connectTimeout = req.connectTimeoutMs ?? input.timeoutMs;
    const connect = makeDeadline(grace ?? deadline, connectTimeout, 'connect_timeout', `no connection to ${joinHostPort(host, dialPort)} within ${connectTimeout} ms`);
    const connectSignal = connect.signal;
    const t0 = performance.now();
    transcript.info(-1, `connecting to ${joinHostPort(host, dialPort)}${tls === 'implicit' ? ' with TLS' : ''}`);
    let transport;
    connecting++;
    // The connection's transcript number is taken now, so the TLS handshake (during the dial) is recorded under it.
    const connId = transcript.nextConnId();
    const onTlsEvent = transcript.enabled ? (e: { dir: 'in' | 'out'; raw?: Uint8Array; decode: string }) => (e.raw ? transcript.record(e.dir, connId, e.raw, { decode: `TLS ${e.decode}` }) : transcript.info(connId, `TLS ${e.dir === 'out' ? '→' : '←'} ${e.decode}`)) : undefined;
    const dialing = d.dial({
      host,
      address: verdict.address,
      port: dialPort,
      tls,
      signal: connectSignal,
      alpn: req.alpn,
      pinSha256,
      pinSpkiSha256,
      caPem,
      privilegedSourcePort: req.privilegedSourcePort,
      minVersion: req.minVersion,
      maxVersion: req.maxVersion,
      clientCertificate,
      tlsEngine: req.tlsEngine ?? engine,
      peerCertificate,
      cipherSuites: req.cipherSuites,
      groups: req.groups,
      tlsResume: req.tlsResume,
      onTlsEvent,
    });
    try {
      transport = await raceSignal(dialing, connectSignal);
    } catch (e) {
      // A connection that completes after the deadline gave up on it is closed, not leaked.
      dialing.then((late) => late.close(), () => {}).catch(() => {});
      throw connectFailure(e, host, dialPort);
    } finally {
      connecting--;
      connect.dispose();
    }
    // A cancel hook's connection lives under the grace deadline, not the one that already fired.
    const own = grace;
    const conn = new Conn({ transport, id: connId, signal: own ? () => own : () => current, transcript, host, port: dialPort, tls, beforeRead: clientReady });
    conn.connectMs = Math.round((performance.now() - t0) * 1000) / 1000;
    conns.push(conn);
    if (conns.length === 1) timing.mark('connectMs');
    conn.note(`connected in ${conn.connectMs.toFixed(3)} ms${transport.info().remoteAddress ? ` to ${transport.info().remoteAddress}` : ''}`);
    return conn;
  };

  const dialUdp = async (req: { host?: string; port?: number; secondHop?: boolean } = {}): Promise<DatagramConn> => {
    const host = req.host ?? input.host;
    const dialPort = req.port ?? port;
    if (viaProxy) throw lacking(['udp']);
    if (!env.dialer.dialUdp || !env.dialer.capabilities.has('udp')) {
      const { reasons, alternatives } = unsupportedReasons(['udp'], op.alternatives);
      throw new UnsupportedRuntime(reasons.join(' '), { runtime: env.dialer.runtime, missing: ['udp'], reasons, alternatives });
    }
    const { address } = await env.guard.check(host, dialPort, req.secondHop ? 'second' : 'first');
    const transport = await env.dialer.dialUdp({ host, address, port: dialPort, signal: deadline });
    const conn = new DatagramConn(transport, () => current, transcript, host, dialPort);
    conns.push(conn);
    conn.note(`UDP socket to ${transport.info().remoteAddress}:${dialPort}`);
    return conn;
  };

  // A connection back from the target (rsh/rexec standard error): bound where the target saw us, accepted only from it.
  const listen = async (req: ListenRequest): Promise<BackChannel> => {
    const missing: Capability[] = [];
    if (!dialer.listen || !dialer.capabilities.has('listen')) missing.push('listen');
    if (req.privilegedPort && !dialer.capabilities.has('privilegedPort')) missing.push('privilegedPort');
    if (missing.length > 0) throw lacking(missing);
    const { localAddress, remoteAddress } = req.for.info();
    if (!localAddress || !remoteAddress) throw new PortolanError('closed', 'the connection to the target is gone: nothing to listen beside');
    const local = splitHostPort(localAddress);
    const peer = splitHostPort(remoteAddress);
    const listener = await dialer.listen!({ localAddress: local.address, from: peer.address, privilegedPort: req.privilegedPort === true, signal: deadline });
    conns.push(listener);
    transcript.info(-1, `listening on ${local.address}:${listener.port} for one connection back from ${peer.address}`);
    let pendingAccept: ReturnType<typeof listener.accept> | undefined;
    return {
      port: listener.port,
      async accept(what = 'the connection back') {
        if (!pendingAccept) {
          pendingAccept = listener.accept();
          // Closing the listener at the end rejects an accept nobody waits for any more.
          pendingAccept.catch(() => {});
        }
        const transport = await raceSignal(pendingAccept, current).catch((e) => {
          const err = classify(e);
          throw err.code === 'io_timeout' ? new PortolanError('io_timeout', `${peer.address} did not connect back to port ${listener.port} (${what}) before the deadline`) : err;
        });
        const from = transport.info().remoteAddress ?? peer.address;
        const conn = new Conn({ transport, signal: () => current, transcript, host: peer.address, port: splitHostPort(from).port, tls: 'off', beforeRead: clientReady });
        conns.push(conn);
        conn.note(`accepted ${what} from ${from} on port ${listener.port}`);
        return conn;
      },
    };
  };

  const ctx: OperationContext = {
    signal: deadline,
    target: { host: input.host, port, tls: input.tls },
    runtime: env.dialer.runtime,
    capabilities: have,
    crypto: env.crypto,
    codecs: env.codecs,
    transcript,
    timing,
    dial,
    dialUdp,
    listen,
    sleep: (ms) => sleep(ms, current).catch((e) => Promise.reject(classify(e))),
    async within(ms, fn) {
      const outer = current;
      const inner = makeDeadline(outer, ms, 'io_timeout', `no answer within ${ms} ms`);
      current = inner.signal;
      try {
        return await raceSignal(fn(inner.signal), inner.signal);
      } finally {
        current = outer;
        inner.dispose();
      }
    },
    onCancel(hook) {
      cancelHooks.add(hook);
      return () => void cancelHooks.delete(hook);
    },
    download: opts.download && guardDownload(opts.download, (p) => raceSignal(p, current)),
    upload: opts.upload && guardUpload(opts.upload, (p) => raceSignal(p, current)),
  };

  /** The operation ended before its work did: each registered hook tells the server to stop, within the grace. */
  const runCancelHooks = async () => {
    const g = makeDeadline(undefined, CANCEL_GRACE_MS, 'io_timeout', `cancel did not finish within ${CANCEL_GRACE_MS} ms`);
    grace = g.signal;
    transcript.info(-1, 'the operation ended early: telling the server to stop');
    try {
      await settleWithin(Promise.allSettled([...cancelHooks].map((hook) => raceSignal(hook(), g.signal))), CANCEL_GRACE_MS);
    } finally {
      g.dispose();
    }
  };

  const via = (input as { via?: ViaInput }).via;
  const body = (): Promise<unknown> => {
    if (!opts.channel) return op.run!(ctx, input);
    const channel = opts.channel;
    let pendingReceive: Promise<SessionMessage | null> | undefined;
    return op.session!(ctx, input, {
      send: (msg) => channel.send(msg),
      ready: () => (channel.ready ? raceSignal(channel.ready(), current) : Promise.resolve()),
      async receive() {
        // A wait abandoned at a deadline keeps its promise, so no client message is lost.
        pendingReceive ??= channel.receive();
        const msg = await raceSignal(pendingReceive, current);
        pendingReceive = undefined;
        return msg;
      },
    });
  };
  try {
    let work: Promise<unknown>;
    if (!via) work = body();
    else if (isProxyHop(via)) {
      viaProxy = via;
      transcript.info(-1, `through ${proxyLabel(via)}`);
      work = body();
    } else if (!env.jump) {
      throw new UnsupportedRuntime('this host has no SSH client wired for jump hosts', { runtime: env.dialer.runtime, missing: [], reasons: ['no SSH jump-host support in this host'], alternatives: [] });
    } else {
      transcript.info(-1, `through SSH jump host ${joinHostPort(via.host, via.port)}`);
      work = env.jump(ctx, via, (jumpDialer) => {
        dialer = jumpDialer;
        behindJump = true;
        return body();
      });
    }
    const result = await raceSignal(work, deadline);
    const totalMs = Math.round((performance.now() - start) * 1000) / 1000;
    const answer: Answer = {
      ok: true,
      protocol: protocol.id,
      operation: op.name,
      target: { host: input.host, port },
      result,
      timing: { ...marks, totalMs },
    };
    if (opts.transcript) answer.transcript = transcript.toJSON();
    return answer;
  } catch (e) {
    let err = classify(e);
    // The overall deadline fired while a connect was still pending.
    if (err.code === 'io_timeout' && connecting > 0) err = new PortolanError('connect_timeout', `no connection to ${joinHostPort(input.host, port)} within ${input.timeoutMs} ms`);
    const toTarget = conns.find((c): c is Conn => c instanceof Conn && c.host === input.host && c.port === port);
    if (toTarget) err = foreignGreeting(err, protocol, toTarget);
    if (cancelHooks.size > 0 && deadline.aborted) await runCancelHooks();
    if (opts.transcript) (err as { transcript?: unknown }).transcript = transcript.toJSON();
    throw err;
  } finally {
    overall.dispose();
    await settleWithin(Promise.all(conns.map((c) => c.close())), CLOSE_GRACE_MS);
  }
}

/**
 * A failure explained by what the server said first, when that plainly belongs to another protocol:
 * "this port speaks SSH, not PostgreSQL" instead of a length that makes no sense.
 */
function foreignGreeting(err: PortolanError, protocol: Protocol, conn: Conn): PortolanError {
  if (err.code !== 'protocol_error' && err.code !== 'io_timeout' && err.code !== 'closed') return err;
  const greeting = recognizeGreeting(conn.firstBytes);
  if (!greeting || [protocol.id, ...(protocol.over ?? [])].some((id) => greeting.ids.includes(id))) return err;
  const hint = greeting.protocol === 'tls' && !conn.tlsActive ? (protocol.tlsModes.includes('implicit') ? ' (set tls to implicit)' : ' (it wants TLS from the first byte)') : '';
  return new ProtocolError(`this port speaks ${greeting.speaks}, not ${protocol.title}${hint}: it sent ${quoteGreeting(conn.firstBytes)}`, {
    speaks: greeting.protocol,
    cause: err.toJSON(),
  });
}

/** How the runtimes themselves word a connection the target refused (Node's errno message, workerd's proxy message). */
const REFUSAL = /^(connect ECONNREFUSED\b|proxy request failed, cannot connect to the specified address)/;

/** A failed dial in the user's terms; the runtime's own words stay in `detail.runtime`. */
export function connectFailure(e: unknown, host: string, port: number): PortolanError {
  const err = classify(e);
  const where = joinHostPort(host, port);
  if (err.code === 'io_timeout') return new PortolanError('connect_timeout', `no connection to ${where} before the deadline`);
  // A proxy hop's failure (core/proxy.ts) already names the proxy and its words.
  if (err.detail?.hop === 'proxy') return err;
  if (REFUSAL.test(err.message)) return new PortolanError('refused', `connection refused by ${where}`, { ...err.detail, runtime: err.message });
  if (err.code === 'closed' || err.code === 'protocol_error') return new PortolanError('refused', `${where}: ${err.message}`, err.detail);
  return err;
}

/** Resolves with `p` or rejects with the signal's reason as a PortolanError. */
export function raceSignal<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => {});
    return Promise.reject(classify(signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(classify(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
