// The runner's deadline guarantee, as one scenario both hosts run (Node directly, workerd through a
// test Worker): an operation whose promise never settles, over a connection whose close() never
// settles, must still be answered at its deadline plus the close grace.
import * as z from 'zod';
import type { Dialer, Transport } from '../src/core/conn.ts';
import { webCrypto } from '../src/core/crypto.ts';
import { classify } from '../src/core/errors.ts';
import { defineProtocol, operation } from '../src/core/protocol.ts';
import { runOperation, type HostEnv } from '../src/core/runner.ts';

const never = <T>() => new Promise<T>(() => {});

/** A connection that accepts writes, never delivers a byte and never finishes closing. */
function stuckTransport(closes: { count: number }): Transport {
  return {
    read: () => never(),
    write: async () => {},
    startTls: () => never(),
    close: () => {
      closes.count++;
      return never();
    },
    info: () => ({ remoteAddress: '192.0.2.1:7' }),
  };
}

const stuck = defineProtocol({
  id: 'stuck',
  title: 'Stuck',
  category: 'diagnostics',
  summary: 'An operation that never settles (deadline guarantee test).',
  ports: [{ port: 7, transport: 'tcp' }],
  specs: [],
  rating: { stars: 0, reason: 'test only' },
  verifiedAgainst: null,
  operations: {
    hang: operation({
      summary: 'dials, then never settles',
      input: z.object({}),
      output: z.object({}),
      async run(ctx) {
        await ctx.dial();
        return never();
      },
    }),
    hangSession: operation({
      summary: 'a session that dials, then never settles',
      input: z.object({}),
      output: z.object({}),
      async session(ctx) {
        await ctx.dial();
        return never();
      },
    }),
  },
});

export interface ScenarioResult {
  operation: string;
  code: string;
  elapsedMs: number;
  closesStarted: number;
}

/** Runs both operations with `timeoutMs` and reports how each ended and when. */
export async function runDeadlineScenario(timeoutMs: number): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const name of ['hang', 'hangSession'] as const) {
    const closes = { count: 0 };
    const dialer: Dialer = {
      runtime: 'node',
      capabilities: new Set(['tcp']),
      dial: async () => stuckTransport(closes),
    };
    const env: HostEnv = { dialer, guard: { check: async () => ({}) }, crypto: webCrypto() };
    const channel = { send() {}, receive: () => never<null>() };
    const op = stuck.operations[name];
    const started = Date.now();
    let code = 'ok';
    try {
      await runOperation(env, stuck, op, { host: '192.0.2.1', timeoutMs }, name === 'hangSession' ? { channel } : {});
    } catch (e) {
      code = classify(e).code;
    }
    results.push({ operation: name, code, elapsedMs: Date.now() - started, closesStarted: closes.count });
  }
  return results;
}
