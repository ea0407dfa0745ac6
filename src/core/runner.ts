// The session runner: validates input, checks capabilities, owns the deadline,
// hands out guarded connections and closes every one of them in `finally`.
import { z } from 'zod';
import { unsupportedReasons } from './capabilities.ts';
import { Conn, type Capability, type Dialer, type TlsMode } from './conn.ts';
import type { CryptoPort } from './crypto.ts';
import { InvalidInput, PortolanError, UnsupportedRuntime, classify, type FieldIssue } from './errors.ts';
import { defaultPort, type DefinedOperation, type DialRequest, type OperationContext, type Protocol, type TargetFields } from './protocol.ts';
import { Transcript, type TranscriptEntry } from './transcript.ts';

/** Decides whether a dial may proceed; returns the address to connect to (for hosts that pin it). */
export interface TargetGuard {
  check(host: string, port: number, hop: 'first' | 'second'): Promise<{ address?: string }>;
}

export interface HostEnv {
  dialer: Dialer;
  guard: TargetGuard;
  crypto: CryptoPort;
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

export function parseInput(op: DefinedOperation, raw: unknown): TargetFields & Record<string, unknown> {
  const parsed = op.schema.safeParse(raw ?? {});
  if (!parsed.success) throw new InvalidInput(fieldIssues(parsed.error));
  return parsed.data as TargetFields & Record<string, unknown>;
}

export function missingCapabilities(op: DefinedOperation, tls: TlsMode, have: ReadonlySet<Capability>): Capability[] {
  const needs = new Set<Capability>(op.needs ?? ['tcp']);
  if (tls === 'implicit') needs.add('tls');
  if (tls === 'starttls') needs.add('starttls');
  return [...needs].filter((c) => !have.has(c));
}

function timeoutAfter(signal: AbortSignal, ms: number, code: 'connect_timeout' | 'io_timeout', message: string): AbortSignal {
  const controller = new AbortController();
  const timer = AbortSignal.timeout(ms);
  const fire = (reason: unknown) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  if (signal.aborted) fire(signal.reason);
  signal.addEventListener('abort', () => fire(signal.reason), { once: true });
  timer.addEventListener('abort', () => fire(new PortolanError(code, message)), { once: true });
  return controller.signal;
}

export interface RunOptions {
  transcript?: boolean;
  /** Aborts the operation from outside (client went away). */
  signal?: AbortSignal;
}

/** Runs one operation to its answer. Throws PortolanError on failure. */
export async function runOperation(
  env: HostEnv,
  protocol: Protocol,
  op: DefinedOperation,
  raw: unknown,
  opts: RunOptions = {},
): Promise<Answer> {
  const input = parseInput(op, raw);
  const missing = missingCapabilities(op, input.tls, env.dialer.capabilities);
  if (missing.length > 0) {
    const { reasons, alternatives } = unsupportedReasons(missing);
    throw new UnsupportedRuntime(`${protocol.id} ${op.name} needs ${missing.join(', ')}, which the ${env.dialer.runtime} runtime lacks: ${reasons.join(' ')}`, {
      runtime: env.dialer.runtime,
      missing,
      reasons,
      alternatives,
    });
  }
  const port = input.port ?? defaultPort(protocol, input.tls);
  input.port = port;
  const start = performance.now();
  const transcript = new Transcript(start);
  const marks: Record<string, number> = {};
  const timing = {
    marks,
    mark(name: string) {
      if (!(name in marks)) marks[name] = Math.round((performance.now() - start) * 1000) / 1000;
    },
  };
  const deadline = timeoutAfter(opts.signal ?? new AbortController().signal, input.timeoutMs, 'io_timeout', `operation did not finish within ${input.timeoutMs} ms`);
  const conns: Conn[] = [];

  const dial = async (req: DialRequest = {}): Promise<Conn> => {
    const host = req.host ?? input.host;
    const dialPort = req.port ?? port;
    const tls = req.tls ?? input.tls;
    const dialMissing = missingCapabilities({ ...op, needs: [] } as DefinedOperation, tls, env.dialer.capabilities);
    if (req.alpn && !env.dialer.capabilities.has('alpn')) dialMissing.push('alpn');
    if (dialMissing.length > 0) {
      const { reasons, alternatives } = unsupportedReasons(dialMissing);
      throw new UnsupportedRuntime(reasons.join(' '), { runtime: env.dialer.runtime, missing: dialMissing, reasons, alternatives });
    }
    const { address } = await env.guard.check(host, dialPort, req.secondHop ? 'second' : 'first');
    const connectSignal = timeoutAfter(
      deadline,
      req.connectTimeoutMs ?? input.timeoutMs,
      'connect_timeout',
      `no connection to ${host}:${dialPort} within ${req.connectTimeoutMs ?? input.timeoutMs} ms`,
    );
    const t0 = performance.now();
    transcript.info(-1, `connecting to ${host}:${dialPort}${tls === 'implicit' ? ' with TLS' : ''}`);
    let transport;
    try {
      transport = await raceSignal(
        env.dialer.dial({ host: address ?? host, port: dialPort, tls, signal: connectSignal, alpn: req.alpn, pinSha256: req.pinSha256, privilegedSourcePort: req.privilegedSourcePort }),
        connectSignal,
      );
    } catch (e) {
      throw connectFailure(e, host, dialPort);
    }
    const conn = new Conn({ transport, signal: deadline, transcript, host, port: dialPort, tls });
    conns.push(conn);
    if (conns.length === 1) timing.mark('connectMs');
    conn.note(`connected in ${(performance.now() - t0).toFixed(1)} ms${transport.info().remoteAddress ? ` to ${transport.info().remoteAddress}` : ''}`);
    return conn;
  };

  const ctx: OperationContext = {
    signal: deadline,
    target: { host: input.host, port, tls: input.tls },
    runtime: env.dialer.runtime,
    capabilities: env.dialer.capabilities,
    crypto: env.crypto,
    transcript,
    timing,
    dial,
    sleep: (ms) => sleep(ms, deadline),
    within: (ms, fn) => fn(timeoutAfter(deadline, ms, 'io_timeout', `no answer within ${ms} ms`)),
  };

  try {
    const result = await raceSignal(op.run(ctx, input), deadline);
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
    const err = classify(e);
    if (opts.transcript) (err as { transcript?: unknown }).transcript = transcript.toJSON();
    throw err;
  } finally {
    await Promise.all(conns.map((c) => c.close()));
  }
}

function connectFailure(e: unknown, host: string, port: number): PortolanError {
  const err = classify(e);
  if (err.code === 'io_timeout') return new PortolanError('connect_timeout', `no connection to ${host}:${port} before the deadline`);
  if (err.code === 'closed' || err.code === 'protocol_error') return new PortolanError('refused', `${host}:${port}: ${err.message}`);
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

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return raceSignal(
    new Promise<void>((resolve) => {
      const t = AbortSignal.timeout(ms);
      t.addEventListener('abort', () => resolve(), { once: true });
    }),
    signal,
  );
}
