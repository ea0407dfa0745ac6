import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as z from 'zod';
import { defineProtocol, operation } from './protocol.ts';
import { runOperation } from './runner.ts';
import { PortolanError } from './errors.ts';
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
  tls: { implicit: { port: 1007 }, starttls: true },
  operations: {
    line: operation({
      summary: 'read a line after sending a secret',
      input: z.object({ password: z.string().min(1) }),
      output: z.object({ line: z.string() }),
      async run(ctx, input) {
        const conn = await ctx.dial();
        await conn.write(`PASS ${input.password}\r\n`, { secret: true, decode: 'PASS ****' });
        return { line: await conn.readLine() };
      },
    }),
    udp: operation({ summary: 'needs udp', input: z.object({}), output: z.object({}), needs: ['udp'], run: async () => ({}) }),
    waitShort: operation({
      summary: 'a narrowed wait',
      input: z.object({}),
      output: z.object({ late: z.string() }),
      async run(ctx) {
        const conn = await ctx.dial();
        await assert.rejects(ctx.within(50, () => conn.readLine()), (e: PortolanError) => e.code === 'io_timeout');
        // The bytes that arrive after the narrowed wait gave up are not lost.
        return { late: await conn.readLine() };
      },
    }),
  },
});

test('input errors name the field', async () => {
  const env = memoryHost([]);
  await assert.rejects(runOperation(env, proto, proto.operations.line, { host: 'x', port: 70000, password: '' }), (e: PortolanError) => {
    assert.equal(e.code, 'invalid_input');
    const fields = (e.detail!.issues as { field: string }[]).map((i) => i.field).sort();
    assert.deepEqual(fields, ['password', 'port']);
    return true;
  });
  await assert.rejects(runOperation(env, proto, proto.operations.line, { port: 7, password: 'x' }), /host: is required/);
  await assert.rejects(runOperation(env, proto, proto.operations.line, { host: 'a b', password: 'x' }), /host: host must be a hostname/);
  await assert.rejects(runOperation(env, proto, proto.operations.line, { host: 'h', password: 'x', bogus: 1 }), /bogus: unknown field/);
  await assert.rejects(runOperation(env, proto, proto.operations.line, { host: 'h', password: 'x', tls: 'maybe' }), /tls:/);
});

test('a secret is masked in the transcript; the default and implicit-TLS ports apply', async () => {
  const p = pipe();
  const env = memoryHost([p]);
  p.push('OK welcome\r\n');
  const answer = await runOperation(env, proto, proto.operations.line, { host: 'h', password: 'hunter2' }, { transcript: true });
  assert.deepEqual(answer.result, { line: 'OK welcome' });
  assert.equal(env.dials[0].port, 7);
  const json = JSON.stringify(answer.transcript);
  assert.ok(!json.includes('hunter2'), 'password leaked into the transcript');
  assert.ok(!json.includes(Buffer.from('hunter2').toString('hex')), 'password hex leaked into the transcript');
  assert.ok(json.includes('PASS ****'));
  assert.equal(p.closed, true, 'connection closed after the operation');

  const p2 = pipe();
  const env2 = memoryHost([p2]);
  p2.push('x\n');
  await runOperation(env2, proto, proto.operations.line, { host: 'h', password: 'p', tls: 'implicit' });
  assert.equal(env2.dials[0].port, 1007);
  assert.equal(env2.dials[0].tls, 'implicit');
});

test('capabilities the runtime lacks answer unsupported_runtime with reason and alternative', async () => {
  await assert.rejects(runOperation(memoryHost([]), proto, proto.operations.udp, { host: 'h' }), (e: PortolanError) => {
    assert.equal(e.code, 'unsupported_runtime');
    assert.deepEqual(e.detail!.missing, ['udp']);
    assert.match(String(e.detail!.alternatives), /Node host/);
    return true;
  });
  await assert.rejects(runOperation(memoryHost([], { capabilities: ['tcp'] }), proto, proto.operations.line, { host: 'h', password: 'x', tls: 'starttls' }), /starttls/);
});

test('deadlines: a silent server is io_timeout, a hanging connect is connect_timeout, refused is refused', async () => {
  const silent = pipe();
  const t0 = performance.now();
  await assert.rejects(runOperation(memoryHost([silent]), proto, proto.operations.line, { host: 'h', password: 'x', timeoutMs: 150 }), (e: PortolanError) => e.code === 'io_timeout');
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(silent.closed, true);
  await assert.rejects(runOperation(memoryHost([], { hang: true }), proto, proto.operations.line, { host: 'h', password: 'x', timeoutMs: 150 }), (e: PortolanError) => e.code === 'connect_timeout');
  await assert.rejects(runOperation(memoryHost([], { refuse: true }), proto, proto.operations.line, { host: 'h', password: 'x' }), (e: PortolanError) => e.code === 'refused');
});

test('closed mid-read is closed; a reset is closed', async () => {
  const p = pipe();
  p.push('partial');
  p.end();
  await assert.rejects(runOperation(memoryHost([p]), proto, proto.operations.line, { host: 'h', password: 'x' }), (e: PortolanError) => e.code === 'closed' && /7 bytes pending/.test(e.message));
  const r = pipe();
  r.fail(new Error('read ECONNRESET'));
  await assert.rejects(runOperation(memoryHost([r]), proto, proto.operations.line, { host: 'h', password: 'x' }), (e: PortolanError) => e.code === 'closed');
});

test('ctx.within narrows the deadline without losing later bytes', async () => {
  const p = pipe();
  const run = runOperation(memoryHost([p]), proto, proto.operations.waitShort, { host: 'h' });
  await new Promise((r) => setTimeout(r, 120));
  p.push('late line\n');
  assert.deepEqual((await run).result, { late: 'late line' });
});
