import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { servicesFacts } from '../../../lab/servers/services-b.ts';

const target = { host: '127.0.0.1', port: ports['services-b'].jdwp };

/**
 * The agent takes one debugger at a time: while one is attached it has no listening socket at all, and it opens a
 * new one a moment after the debugger leaves (a connection in between is refused). Each call here waits for it.
 */
async function agentListening(): Promise<void> {
  const port = `:${target.port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const listening = readFileSync('/proc/net/tcp', 'latin1')
      .split('\n')
      .some((line) => {
        const f = line.trim().split(/\s+/);
        return f[1]?.endsWith(port) && f[3] === '0A';
      });
    if (listening) return;
    if (Date.now() > deadline) throw new Error(`the JDWP agent did not listen again on ${target.port} within 10 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function jdwp(op: string, input: Record<string, unknown>) {
  await agentListening();
  const r = await call('jdwp', op, input);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r;
}

test('jdwp: version, ID sizes, loaded classes filtered, threads with names and groups', async () => {
  const v = await jdwp('version', target);
  assert.equal(v.status, 200, JSON.stringify(v.body));
  assert.equal(v.body.result.version.jdwpMajor, 17);
  assert.match(v.body.result.version.vmVersion, /^17\./);
  assert.match(v.body.result.version.vmName, /OpenJDK/);
  assert.equal(v.body.result.idSizes.objectID, 8);

  const c = await jdwp('classes', { ...target, filter: servicesFacts.jdwp.mainClass, limit: 50 });
  assert.ok(c.body.result.total > 500, `only ${c.body.result.total} classes`);
  const names = c.body.result.classes.map((x: { name: string }) => x.name);
  for (const n of ['LabJvm', 'LabJvm$Greeter', 'LabJvm$GreeterImpl']) assert.ok(names.includes(n), `${n} not in ${names}`);
  assert.equal(c.body.result.classes.find((x: { name: string }) => x.name === 'LabJvm$Greeter').kind, 'interface');
  const few = await jdwp('classes', { ...target, filter: 'java.lang.', limit: 3 });
  assert.equal(few.body.result.classes.length, 3);
  assert.equal(few.body.result.truncated, true);
  assert.ok(few.body.result.matched > 100);

  const t = await jdwp('threads', target);
  const worker = t.body.result.threads.find((x: { name: string }) => x.name === servicesFacts.jdwp.thread);
  assert.ok(worker, JSON.stringify(t.body.result.threads.map((x: { name: string }) => x.name)));
  assert.equal(worker.group, 'main');
  assert.ok(['sleeping', 'running', 'wait'].includes(worker.status), worker.status);
  assert.equal(worker.suspended, false);
  assert.ok(t.body.result.threads.some((x: { group: string }) => x.group === 'system'));
});

test('jdwp: a port that is not a JDWP agent fails the handshake as a protocol error', async () => {
  const r = await call('jdwp', 'version', { host: '127.0.0.1', port: ports['services-b'].rserve, timeoutMs: 3000 });
  assert.equal(r.body.error.code, 'protocol_error');
  assert.match(r.body.error.message, /instead of JDWP-Handshake/);
});
