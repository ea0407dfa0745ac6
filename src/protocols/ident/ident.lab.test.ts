// Ident against oidentd, asked about a connection to slapd (which runs as root), through workerd and the Node host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ports } from '../../../lab/index.ts';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';

const node = useNodeHost();
const target = { host: '127.0.0.1', port: ports.directory.ident, servicePort: ports.directory.ldap };

test('ident: oidentd names the owner of the connection the operation opened (Node host); workerd answers 501', async () => {
  const w = await call('ident', 'query', target);
  assert.equal(w.status, 501);
  assert.deepEqual(w.body.error.detail.missing, ['localPort']);
  assert.match(w.body.error.message, /never its local address or port/);
  {
    const r = await callNode(node, 'ident', 'query', target, { transcript: true });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.result.reply, 'USERID');
    assert.equal(r.body.result.userId, 'root');
    assert.equal(r.body.result.opsys, 'UNIX');
    assert.equal(r.body.result.servicePort, ports.directory.ldap);
    const sent = r.body.transcript.entries.find((e: { dir: string; conn: number }) => e.dir === 'out' && e.conn === 1);
    assert.equal(sent.decode, `${ports.directory.ldap}, ${r.body.result.localPort}`);
  }
});

test('ident: a connection to a port where nothing owned it ends in a typed outcome', async () => {
  const r = await callNode(node, 'ident', 'query', { ...target, servicePort: ports.foundation.closedPort });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'refused');
});
