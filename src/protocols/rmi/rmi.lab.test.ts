import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { servicesFacts } from '../../../lab/servers/services-b.ts';

const target = { host: '127.0.0.1', port: ports['services-b'].rmiRegistry };

test('rmi: JRMP handshake and ping', async () => {
  const r = await call('rmi', 'ping', target);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.seenAs.host, '127.0.0.1');
  assert.ok(r.body.result.seenAs.port > 0);
  assert.equal(r.body.result.pingAck, true);
});

test('rmi: the registry lists the bound names', async () => {
  const r = await call('rmi', 'list', target, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual([...r.body.result.names].sort(), servicesFacts.rmi.names);
  assert.ok(r.body.transcript.entries.some((e: { decode?: string }) => e.decode === 'Return normal'));
});

test('rmi: lookup gives the remote interface and the object endpoint; an unbound name is the registry\'s NotBoundException', async () => {
  const r = await call('rmi', 'lookup', { ...target, name: 'portolan/greeter' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.result.interfaces.includes('LabJvm$Greeter'), JSON.stringify(r.body.result));
  assert.deepEqual(r.body.result.endpoint && { host: r.body.result.endpoint.host, port: r.body.result.endpoint.port }, { host: '127.0.0.1', port: ports['services-b'].rmiObject });
  const missing = await call('rmi', 'lookup', { ...target, name: 'nothing/here' });
  assert.equal(missing.status, 502);
  assert.equal(missing.body.error.code, 'server_error');
  assert.match(missing.body.error.message, /java\.rmi\.NotBoundException: nothing\/here/);
});

test('rmi: a port that does not speak JRMP is a protocol error', async () => {
  const r = await call('rmi', 'list', { host: '127.0.0.1', port: ports['services-b'].epmd, timeoutMs: 3000 });
  assert.ok(['protocol_error', 'closed'].includes(r.body.error.code), JSON.stringify(r.body));
});
