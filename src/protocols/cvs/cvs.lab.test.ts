import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { servicesFacts } from '../../../lab/servers/services-b.ts';

const facts = servicesFacts.cvs;
const target = { host: '127.0.0.1', port: ports['services-b'].cvs, root: facts.root, user: facts.user, password: facts.password };

test('cvs: pserver login, version and valid-requests; the password never reaches the transcript', async () => {
  const ok = await call('cvs', 'login', target);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.result.accepted, true);
  const v = await call('cvs', 'version', target, { transcript: true });
  assert.equal(v.status, 200, JSON.stringify(v.body));
  assert.match(v.body.result.version, /^Concurrent Versions System \(CVS\) 1\.12\.13/);
  for (const r of ['ls', 'rlog', 'version', 'Root']) assert.ok(v.body.result.validRequests.includes(r), r);
  assert.ok(!JSON.stringify(v.body.transcript).includes(facts.password));
});

test('cvs: ls lists modules, the files of a module (long: revisions and dates) and recursively', async () => {
  const top = await call('cvs', 'ls', target);
  assert.deepEqual(top.body.result.entries.map((e: { name: string }) => e.name).sort(), ['CVSROOT', facts.module]);
  const long = await call('cvs', 'ls', { ...target, path: facts.module, long: true });
  assert.equal(long.status, 200, JSON.stringify(long.body));
  const entries = long.body.result.entries;
  assert.deepEqual(entries.map((e: { name: string }) => e.name), facts.files);
  for (const e of entries) {
    assert.equal(e.revision, '1.1.1.1');
    assert.ok(Math.abs(Date.parse(e.date.replace(' +0000', 'Z').replace(' ', 'T')) - Date.now()) < 24 * 3600_000, e.date);
  }
  const deep = await call('cvs', 'ls', { ...target, recursive: true });
  assert.ok(deep.body.result.lines.includes(`${facts.module}:`));
  assert.ok(deep.body.result.lines.includes('ships.txt'));
  const missing = await call('cvs', 'ls', { ...target, path: 'nosuchmodule' });
  assert.equal(missing.status, 502);
  assert.equal(missing.body.error.code, 'server_error');
  assert.match(missing.body.error.message, /cannot find module `nosuchmodule'/);
});

test('cvs: a wrong password is auth_failed with I HATE YOU; an unknown user with the server\'s words; a non-pserver is a protocol error', async () => {
  const wrong = await call('cvs', 'version', { ...target, password: 'wrong' });
  assert.equal(wrong.status, 502);
  assert.equal(wrong.body.error.code, 'auth_failed');
  assert.match(wrong.body.error.message, /I HATE YOU/);
  const nobody = await call('cvs', 'login', { ...target, user: 'nosuch' });
  assert.equal(nobody.body.error.code, 'auth_failed');
  assert.match(nobody.body.error.message, /no such user nosuch in CVSROOT\/passwd/);
  const root = await call('cvs', 'login', { ...target, root: '/not/a/root' });
  assert.equal(root.body.error.code, 'closed');
  assert.match(root.body.error.message, /\/not\/a\/root/);
  // Rserve greets first: its ID string is no pserver answer.
  const other = await call('cvs', 'login', { ...target, port: ports['services-b'].rserve });
  assert.equal(other.body.error.code, 'protocol_error');
  assert.match(other.body.error.message, /Rsrv0103QAP1.*not a CVS pserver/);
});
