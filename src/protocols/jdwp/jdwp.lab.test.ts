import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { servicesFacts } from '../../../lab/servers/services-b.ts';

const target = { host: '127.0.0.1', port: ports['services-b'].jdwp };

// The agent takes one debugger at a time: these run one after another.
test('jdwp: version, ID sizes, loaded classes filtered, threads with names and groups', async () => {
  const v = await call('jdwp', 'version', target);
  assert.equal(v.status, 200, JSON.stringify(v.body));
  assert.equal(v.body.result.version.jdwpMajor, 17);
  assert.match(v.body.result.version.vmVersion, /^17\./);
  assert.match(v.body.result.version.vmName, /OpenJDK/);
  assert.equal(v.body.result.idSizes.objectID, 8);

  const c = await call('jdwp', 'classes', { ...target, filter: servicesFacts.jdwp.mainClass, limit: 50 });
  assert.equal(c.status, 200, JSON.stringify(c.body));
  assert.ok(c.body.result.total > 500, `only ${c.body.result.total} classes`);
  const names = c.body.result.classes.map((x: { name: string }) => x.name);
  for (const n of ['LabJvm', 'LabJvm$Greeter', 'LabJvm$GreeterImpl']) assert.ok(names.includes(n), `${n} not in ${names}`);
  assert.equal(c.body.result.classes.find((x: { name: string }) => x.name === 'LabJvm$Greeter').kind, 'interface');
  const few = await call('jdwp', 'classes', { ...target, filter: 'java.lang.', limit: 3 });
  assert.equal(few.body.result.classes.length, 3);
  assert.equal(few.body.result.truncated, true);
  assert.ok(few.body.result.matched > 100);

  const t = await call('jdwp', 'threads', target);
  assert.equal(t.status, 200, JSON.stringify(t.body));
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
