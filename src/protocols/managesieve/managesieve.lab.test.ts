// ManageSieve against Dovecot's Pigeonhole managesieved (lab area mail) through workerd's API: capabilities before
// and after STARTTLS, SASL PLAIN, LOGIN and CRAM-MD5, the whole life of a script, the server's errors with line numbers.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { mailFacts } from '../../../lab/servers/mail.ts';
import { call } from '../../../test/harness.ts';

const dave = mailFacts.users.dave;
const target = { host: '127.0.0.1', port: ports.mail.managesieve };
const auth = { ...target, username: dave.address, password: dave.password };
const script = 'require "fileinto";\r\nif header :contains "subject" "[harbour]" {\r\n  fileinto "Archive";\r\n}\r\n';

before(() => ensureLab(['mail']));

test('ManageSieve capabilities: Pigeonhole, its Sieve extensions and SASL mechanisms, STARTTLS; again over TLS; MAXREDIRECTS after login', async () => {
  const plain = await call('managesieve', 'capabilities', target);
  assert.equal(plain.status, 200, JSON.stringify(plain.body));
  const c = plain.body.result.capabilities;
  assert.match(c.implementation, /Dovecot.*Pigeonhole/);
  assert.equal(c.version, '1.0');
  assert.ok(c.sieveExtensions.includes('fileinto') && c.sieveExtensions.includes('vacation'));
  for (const m of ['PLAIN', 'LOGIN', 'CRAM-MD5']) assert.ok(c.saslMechanisms.includes(m), m);
  assert.equal(c.starttls, true);
  const tls = await call('managesieve', 'capabilities', { ...auth, tls: 'starttls' });
  assert.equal(tls.status, 200, JSON.stringify(tls.body));
  assert.equal(tls.body.result.beforeStartTls.starttls, true);
  assert.equal(tls.body.result.capabilities.starttls, false, 'no STARTTLS offered once TLS is on');
  assert.equal(tls.body.result.authenticated, true);
  assert.equal(tls.body.result.capabilities.maxRedirects, 4, 'MAXREDIRECTS is announced to a logged-in user');
});

test('ManageSieve: put (activated), list, get, havespace, rename, activate, delete; over STARTTLS with AUTHENTICATE PLAIN', async () => {
  const name = `harbour-${process.pid}`;
  const a = { ...auth, tls: 'starttls' };
  const put = await call('managesieve', 'put', { ...a, name, script, activate: true });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const list = await call('managesieve', 'list', a);
  assert.deepEqual(list.body.result.scripts.find((s: any) => s.name === name), { name, active: true });
  assert.equal(list.body.result.active, name);
  const got = await call('managesieve', 'get', { ...a, name });
  assert.equal(got.body.result.script, script);
  const space = await call('managesieve', 'havespace', { ...a, name, size: 1000 });
  assert.equal(space.body.result.fits, true);
  const deleteActive = await call('managesieve', 'delete', { ...a, name });
  assert.equal(deleteActive.body.error.code, 'server_error');
  assert.equal(deleteActive.body.error.detail.code, 'ACTIVE');
  const renamed = `${name}-2`;
  assert.equal((await call('managesieve', 'rename', { ...a, from: name, to: renamed })).status, 200);
  assert.equal((await call('managesieve', 'activate', { ...a, name: '' })).body.result.active, null);
  const after = await call('managesieve', 'list', a);
  assert.deepEqual(after.body.result.scripts.find((s: any) => s.name === renamed), { name: renamed, active: false });
  assert.equal((await call('managesieve', 'delete', { ...a, name: renamed })).body.result.deleted, true);
  const gone = await call('managesieve', 'get', { ...a, name: renamed });
  assert.equal(gone.body.error.detail.code, 'NONEXISTENT');
});

test('ManageSieve check and put: the server\'s errors with their line numbers; nothing stored', async () => {
  const bad = 'require "fileinto";\r\nif true {\r\n  fileinto "X";\r\n  discard\r\n}\r\n';
  const check = await call('managesieve', 'check', { ...auth, script: bad });
  assert.equal(check.status, 200, JSON.stringify(check.body));
  assert.equal(check.body.result.valid, false);
  assert.match(check.body.result.errors, /line 5: error/);
  assert.deepEqual(check.body.result.lines, [5]);
  assert.equal((await call('managesieve', 'check', { ...auth, script })).body.result.valid, true);
  const put = await call('managesieve', 'put', { ...auth, name: 'broken', script: bad });
  assert.equal(put.body.error.code, 'server_error');
  assert.match(put.body.error.message, /line 5/);
});

test('ManageSieve logins: LOGIN and CRAM-MD5 work; a wrong password is auth_failed with the server\'s words', async () => {
  for (const mechanism of ['LOGIN', 'CRAM-MD5']) {
    const r = await call('managesieve', 'list', { ...auth, mechanism });
    assert.equal(r.status, 200, `${mechanism}: ${JSON.stringify(r.body)}`);
  }
  const bad = await call('managesieve', 'list', { ...auth, password: 'wrong' });
  assert.equal(bad.body.error.code, 'auth_failed');
  assert.match(bad.body.error.message, /AUTHENTICATE PLAIN: NO.*Authentication failed/);
});
