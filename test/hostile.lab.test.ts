// The hostile-server corpus: every operation of every protocol that dials TCP, generated from the
// registry, against every misbehaving peer of the lab (lab/bad-peers.ts), through workerd. Each must end
// in a typed outcome within its deadline plus one second, and the Worker must keep answering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureLab, ports } from '../lab/index.ts';
import { hostilePeers } from '../lab/servers/foundation.ts';
import { RUNTIME_CAPABILITIES } from '../src/core/capabilities.ts';
import { OUTCOMES, httpStatus, type Outcome as OutcomeCode } from '../src/core/errors.ts';
import type { DefinedOperation, Protocol } from '../src/core/protocol.ts';
import { missingCapabilities } from '../src/core/runner.ts';
import { protocols } from '../src/protocols/all.ts';
import { workerUrl } from './harness.ts';
import { InputBuilder } from './inputs.ts';

const TIMEOUT_MS = 1500;
const GRACE_MS = 1000;
const CONCURRENCY = Number(process.env.HOSTILE_CONCURRENCY ?? 8);
/** A request this late has no answer at all. */
const GIVE_UP_MS = 20_000;

interface Peer {
  name: string;
  port: number;
  tls: 'off' | 'implicit';
}

/** The peers, and the TLS mode each is reached with. */
const PEERS: Peer[] = [
  { name: 'silent', port: ports.foundation.silent, tls: 'off' },
  { name: 'garbage', port: ports.foundation.garbage, tls: 'off' },
  ...Object.entries(hostilePeers)
    .filter(([name]) => name !== 'tlsStall')
    .map(([name, port]) => ({ name, port, tls: 'off' as const })),
  { name: 'tlsStall', port: hostilePeers.tlsStall, tls: 'implicit' },
];

/** One operation in one TLS mode: its input is settled for that mode (RADIUS over RadSec needs TCP, not UDP). */
interface Operation {
  protocol: Protocol;
  op: DefinedOperation;
  tls: Peer['tls'];
  builder: InputBuilder;
}

interface Case {
  protocol: Protocol;
  op: DefinedOperation;
  peer: Peer;
  input: Record<string, unknown>;
}

interface Outcome {
  what: string;
  ms: number;
  code?: string;
  problem?: string;
  /** With invalid_input: the fields it names, and its message. */
  fields?: string[];
  /** With unsupported_runtime: the capabilities the runtime lacks. */
  missing?: string[];
  message?: string;
}

const workers = new Set(RUNTIME_CAPABILITIES.workers);
const operations: Operation[] = [];
const unbuildable: string[] = [];
// HOSTILE_ONLY=telnet,rexec limits a run to some protocols (for a targeted run).
const only = new Set((process.env.HOSTILE_ONLY ?? '').split(',').filter(Boolean));
for (const protocol of protocols) {
  if (only.size > 0 && !only.has(protocol.id)) continue;
  for (const op of Object.values(protocol.operations)) {
    if (missingCapabilities(op, 'off', workers).length > 0) continue;
    const modes: Peer['tls'][] = protocol.tlsModes.includes('implicit') && missingCapabilities(op, 'implicit', workers).length === 0 ? ['off', 'implicit'] : ['off'];
    for (const tls of modes) {
      const builder = new InputBuilder(op, { host: '127.0.0.1', tls, timeoutMs: Math.min(TIMEOUT_MS, op.maxTimeoutMs ?? TIMEOUT_MS) });
      const built = builder.validate();
      if (built.ok) operations.push({ protocol, op, tls, builder });
      else unbuildable.push(`${protocol.id} ${op.name} (tls ${tls}): ${built.issues.join('; ')}`);
    }
  }
}

/** The cases of one operation: its input against every peer it can be run against on Workers. */
function casesOf(o: Operation): Case[] {
  return PEERS.filter((peer) => peer.tls === o.tls).map((peer) => ({ protocol: o.protocol, op: o.op, peer, input: { ...o.builder.input, port: peer.port } }));
}

const isOutcome = (code: unknown): code is OutcomeCode => (OUTCOMES as readonly unknown[]).includes(code);

/** The fields an invalid_input error names (`a.b` counts as `a`). */
function namedFields(error: { detail?: { issues?: { field: string }[] } } | undefined): string[] {
  return (error?.detail?.issues ?? []).flatMap((i) => i.field.split(', ').map((f) => f.split('.')[0]));
}

/** One request (or one session) against one peer: its outcome, or what is wrong with it. */
async function runCase(c: Case): Promise<Outcome> {
  const what = `${c.protocol.id} ${c.op.name} vs ${c.peer.name}`;
  const limit = (c.input.timeoutMs as number) + GRACE_MS;
  const started = performance.now();
  if (c.op.session) return runSession(c, what, limit, started);
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${workerUrl()}/api/${c.protocol.id}/${c.op.name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(c.input),
      signal: AbortSignal.timeout(GIVE_UP_MS),
    });
    text = await res.text();
  } catch (e) {
    return { what, ms: Math.round(performance.now() - started), problem: `no answer: ${(e as Error).message}` };
  }
  const ms = Math.round(performance.now() - started);
  let body: { ok?: boolean; error?: { code?: string; message?: string; detail?: { issues?: { field: string }[] } } };
  try {
    body = JSON.parse(text);
  } catch {
    return { what, ms, problem: `HTTP ${res.status}, not JSON: ${text.slice(0, 200)}` };
  }
  const code = body.ok ? 'ok' : body.error?.code;
  if (!isOutcome(code)) return { what, ms, problem: `untyped answer: ${text.slice(0, 200)}` };
  if (res.status !== httpStatus(code)) return { what, ms, code, problem: `HTTP ${res.status} for ${code}` };
  if (code === 'invalid_input') return { what, ms, code, fields: namedFields(body.error), message: body.error?.message, problem: `the input was refused: ${body.error?.message}` };
  if (code === 'unsupported_runtime') return { what, ms, code, missing: (body.error as { detail?: { missing?: string[] } })?.detail?.missing };
  return { what, ms, code, problem: ms > limit ? `answered after ${ms} ms (deadline ${c.input.timeoutMs} ms + ${GRACE_MS} ms)` : undefined };
}

/** A session must end (an `end` or `error` message, then the close) within the deadline plus grace. */
function runSession(c: Case, what: string, limit: number, started: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${workerUrl().replace(/^http/, 'ws')}/api/${c.protocol.id}/${c.op.name}`);
    ws.binaryType = 'arraybuffer';
    const outcome: Outcome = { what, ms: 0 };
    let settled = false;
    const finish = (problem?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome.ms = Math.round(performance.now() - started);
      try {
        ws.close();
      } catch {
        // closed already
      }
      if (problem) outcome.problem = problem;
      else if (outcome.code === 'invalid_input') outcome.problem = `the input was refused: ${outcome.message}`;
      else if (outcome.ms > limit) outcome.problem = `session ended after ${outcome.ms} ms (deadline ${c.input.timeoutMs} ms + ${GRACE_MS} ms)`;
      resolve(outcome);
    };
    const timer = setTimeout(() => finish(`session still open after ${GIVE_UP_MS} ms`), GIVE_UP_MS);
    ws.addEventListener('open', () => ws.send(JSON.stringify({ type: 'start', input: c.input })));
    ws.addEventListener('message', (ev) => {
      // Read and acknowledged at once, as the UI does: the session's credit never runs out.
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ack', bytes: typeof ev.data === 'string' ? ev.data.length : (ev.data as ArrayBuffer).byteLength }));
      if (typeof ev.data !== 'string') return;
      const msg = JSON.parse(ev.data) as { type?: string; error?: { code?: string; message?: string; detail?: { issues?: { field: string }[]; missing?: string[] } } };
      if (msg.type === 'end') outcome.code = 'ok';
      if (msg.type === 'error') {
        outcome.code = msg.error?.code;
        outcome.message = msg.error?.message;
        outcome.fields = namedFields(msg.error);
        outcome.missing = msg.error?.detail?.missing;
      }
    });
    ws.addEventListener('close', () => finish(isOutcome(outcome.code) ? undefined : 'closed without a typed outcome'));
    ws.addEventListener('error', () => finish('WebSocket error'));
  });
}

/**
 * Some checks live in the operation rather than its schema ("give a password or a key"): ask the Worker
 * with a closed port, and advance the fields its invalid_input names until it takes the input.
 */
async function settleInput(o: Operation): Promise<string | undefined> {
  const closed: Peer = { name: 'closed port', port: ports.foundation.closedPort, tls: o.tls };
  for (let round = 0; round < 16; round++) {
    const outcome = await runCase({ protocol: o.protocol, op: o.op, peer: closed, input: { ...o.builder.input, port: closed.port } });
    // Needs the input asks for that Workers lack (DNS over UDP): try the operation's other choices.
    if (outcome.code === 'unsupported_runtime') {
      if (!o.builder.advanceAny(o.builder.fieldsValued(outcome.missing ?? [])) || !o.builder.validate().ok) return undefined;
      continue;
    }
    if (outcome.code !== 'invalid_input') return undefined;
    if (!o.builder.advanceAny(outcome.fields ?? []) || !o.builder.validate().ok) return `${o.protocol.id} ${o.op.name} (tls ${o.tls}): ${outcome.message}`;
  }
  return `${o.protocol.id} ${o.op.name} (tls ${o.tls}): no input the Worker accepts after 16 rounds`;
}

async function pool<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

test('hostile corpus: every operation builds a valid input from its schema', () => {
  assert.deepEqual(unbuildable, [], 'give these fields .meta({ examples: [...] })');
});

test(`hostile corpus: every TCP operation against every misbehaving peer ends typed within its deadline + ${GRACE_MS} ms, and the Worker keeps answering`, { timeout: 30 * 60_000 }, async () => {
  await ensureLab(['foundation']);
  const refused = (await pool(operations, CONCURRENCY, settleInput)).filter((x): x is string => x !== undefined);
  assert.deepEqual(refused, [], 'the Worker refused every input tried: give these fields .meta({ examples: [...] })');
  const cases = operations.flatMap(casesOf);
  const t0 = performance.now();
  const outcomes = await pool(cases, CONCURRENCY, runCase);
  const codes = new Map<string, number>();
  for (const o of outcomes) if (o.code) codes.set(o.code, (codes.get(o.code) ?? 0) + 1);
  console.log(
    `hostile corpus: ${cases.length} cases (${operations.length} operations × TLS modes, ${PEERS.length} peers) in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
      [...codes].map(([c, n]) => `${c} ${n}`).join(', '),
  );
  const alive = await fetch(`${workerUrl()}/api/runtime`);
  assert.equal(alive.status, 200, 'the Worker stopped answering');
  assert.deepEqual(outcomes.filter((o) => o.problem).map((o) => `${o.what}: ${o.problem}`), []);
});
