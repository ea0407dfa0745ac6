// The proxy seam in the runner: every dial goes to the proxy, the handshake runs on it, the guard judges
// both hops, and bytes the proxy relayed with its go-ahead reach the operation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as z from 'zod';
import { defineProtocol, operation } from './protocol.ts';
import { runOperation } from './runner.ts';
import type { ProxyHandshake } from './proxy.ts';
import { memoryHost, pipe } from '../../test/memory.ts';

const proto = defineProtocol({
  id: 'demo',
  title: 'Demo',
  category: 'classic',
  summary: 'test protocol',
  ports: [{ port: 7, transport: 'tcp' }],
  specs: [],
  rating: { stars: 0, reason: 'test' },
  verifiedAgainst: null,
  tls: { implicit: { port: 1007 } },
  operations: {
    banner: operation({
      summary: 'reads a line',
      input: z.object({}),
      output: z.object({ line: z.string(), remote: z.string().optional(), bound: z.string().optional() }),
      async run(ctx) {
        const conn = await ctx.dial();
        const info = conn.info();
        return { line: await conn.readLine(), remote: info.remoteAddress, bound: info.localAddress };
      },
    }),
    udp: operation({ summary: 'needs udp', input: z.object({}), output: z.object({}), needs: ['udp'], run: async (ctx) => (await ctx.dialUdp(), {}) }),
  },
});

/** A handshake reading one "OK\n" line, the way a real one reads the proxy's go-ahead. */
const handshake: ProxyHandshake = async (_ctx, conn, hop, target) => {
  await conn.write(`GO ${target.address ?? target.host}:${target.port}\n`);
  const reply = await conn.readLine();
  return { proxy: `${hop.host}:${hop.port}`, reply, bound: '192.0.2.7:4000' };
};

test('via a proxy: the guard judges the target then the proxy; leftover bytes after the go-ahead are kept', async () => {
  const p = pipe();
  // The proxy's go-ahead and the target's banner in one chunk.
  p.push('OK\nhello from the target\n');
  const env = memoryHost([p]);
  const checked: string[] = [];
  env.guard = { check: async (host, port) => (checked.push(`${host}:${port}`), { address: host === 'db.example' ? '203.0.113.9' : host }) };
  env.proxy = handshake;
  const r = await runOperation(env, proto, proto.operations.banner, { host: 'db.example', port: 5432, via: { type: 'socks5', host: 'proxy.example', port: 1080 } }, { transcript: true });
  assert.deepEqual(checked, ['db.example:5432', 'proxy.example:1080']);
  assert.deepEqual(env.dials.map((d) => [d.host, d.port, d.tls]), [['proxy.example', 1080, 'off']]);
  // The proxy is asked for the address the guard checked, not the name.
  assert.equal(new TextDecoder().decode(p.written[0]), 'GO 203.0.113.9:5432\n');
  assert.deepEqual(r.result, { line: 'hello from the target', remote: 'db.example:5432 via SOCKS5 proxy proxy.example:1080', bound: '192.0.2.7:4000' });
});

test('via a proxy: implicit TLS opens the proxy ready for STARTTLS and upgrades after the go-ahead; UDP is refused', async () => {
  const p = pipe();
  p.push('OK\n');
  p.push('secure\n');
  const env = memoryHost([p]);
  env.proxy = handshake;
  const r = await runOperation(env, proto, proto.operations.banner, { host: 'db.example', tls: 'implicit', via: { type: 'http', host: 'proxy.example', port: 3128 } });
  assert.equal(env.dials[0].tls, 'starttls');
  assert.equal((r.result as { line: string }).line, 'secure');
  const udp = memoryHost([], { capabilities: ['tcp', 'udp'] });
  udp.proxy = handshake;
  await assert.rejects(runOperation(udp, proto, proto.operations.udp, { host: 'x', via: { type: 'socks5', host: 'p', port: 1080 } }), (e: Error & { code: string }) => e.code === 'unsupported_runtime' && /through the SOCKS5 proxy p:1080 lacks udp/.test(e.message));
});

test('via: the hop is validated field by field', async () => {
  const env = memoryHost([]);
  await assert.rejects(runOperation(env, proto, proto.operations.banner, { host: 'x', via: { type: 'socks5', host: 'p' } }), (e: Error & { code: string }) => e.code === 'invalid_input' && /via\.port/.test(e.message));
  await assert.rejects(runOperation(env, proto, proto.operations.banner, { host: 'x', via: { host: 'p', port: 22 } }), (e: Error & { code: string }) => /via\.username/.test(e.message));
});
