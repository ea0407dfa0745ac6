// Kerberos against MIT krb5-kdc with a realm the lab creates: TCP through workerd, UDP through the Node host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ports } from '../../../lab/index.ts';
import { kerberosFacts as K } from '../../../lab/servers/directory.ts';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';

const node = useNodeHost();
const target = { host: '127.0.0.1', port: ports.directory.kerberos, realm: K.realm };

test('kerberos: probe names the realm, server time and the enctype, salt and iterations the KDC offers', async () => {
  const r = await call('kerberos', 'probe', { ...target, principal: K.user.principal });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.errorName, 'KDC_ERR_PREAUTH_REQUIRED');
  assert.equal(r.body.result.realm, K.realm);
  assert.ok(Math.abs(r.body.result.clockSkewMs) < 5000);
  assert.deepEqual(r.body.result.enctypes, [{ etype: 18, name: 'aes256-cts-hmac-sha1-96', salt: `${K.realm}${K.user.principal}`, iterations: 4096 }]);
  const sha2 = await call('kerberos', 'probe', { ...target, principal: K.sha2User.principal });
  assert.deepEqual(sha2.body.result.enctypes.map((e: { name: string }) => e.name), ['aes256-cts-hmac-sha384-192']);
  const unknown = await call('kerberos', 'probe', { ...target, principal: 'nobody-here' });
  assert.equal(unknown.body.result.errorName, 'KDC_ERR_C_PRINCIPAL_UNKNOWN');
});

test('kerberos: a TGT from the password (PA-ENC-TIMESTAMP), decrypted: flags, times and enctypes; the password never in the transcript', async () => {
  const r = await call('kerberos', 'asRequest', { ...target, principal: K.user.principal, password: K.user.password }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const t = r.body.result;
  assert.equal(t.client, `${K.user.principal}@${K.realm}`);
  assert.equal(t.server, `krbtgt/${K.realm}@${K.realm}`);
  assert.deepEqual([t.ticketEnctype, t.sessionKeyEnctype, t.preauthEnctype], ['aes256-cts-hmac-sha1-96', 'aes256-cts-hmac-sha1-96', 'aes256-cts-hmac-sha1-96']);
  for (const f of ['initial', 'pre-authent', 'forwardable', 'renewable']) assert.ok(t.flags.includes(f), f);
  const life = Date.parse(t.endtime) - Date.parse(t.authtime);
  assert.equal(life, 10 * 3600_000);
  assert.equal(Date.parse(t.renewTill) - Date.parse(t.authtime), 7 * 24 * 3600_000);
  const json = JSON.stringify(r.body.transcript);
  assert.ok(!json.includes(K.user.password) && !json.includes(Buffer.from(K.user.password).toString('hex')), 'password in transcript');
  assert.match(json, new RegExp(`password of ${K.user.password.length} bytes`));
  // RFC 8009 enctypes, over UDP on the Node host.
  const sha2 = await callNode(node, 'kerberos', 'asRequest', { ...target, transport: 'udp', principal: K.sha2User.principal, password: K.sha2User.password });
  assert.equal(sha2.status, 200, JSON.stringify(sha2.body));
  assert.equal(sha2.body.result.preauthEnctype, 'aes256-cts-hmac-sha384-192');
  assert.equal(sha2.body.result.replyEnctype, 'aes256-cts-hmac-sha384-192');
  const aes128 = await call('kerberos', 'asRequest', { ...target, principal: K.sha2User.principal, password: K.sha2User.password, etypes: ['aes128-cts-hmac-sha256-128'] });
  assert.equal(aes128.status, 200, JSON.stringify(aes128.body));
  assert.equal(aes128.body.result.preauthEnctype, 'aes128-cts-hmac-sha256-128');
  const aes128sha1 = await call('kerberos', 'asRequest', { ...target, principal: K.user.principal, password: K.user.password, etypes: ['aes128-cts-hmac-sha1-96'] });
  assert.equal(aes128sha1.body.result.sessionKeyEnctype, 'aes128-cts-hmac-sha1-96');
});

test('kerberos: a wrong password is auth_failed with the KDC\'s error', async () => {
  const r = await call('kerberos', 'asRequest', { ...target, principal: K.user.principal, password: 'not-the-password' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'auth_failed');
  assert.equal(r.body.error.detail.errorName, 'KDC_ERR_PREAUTH_FAILED');
});

test('kerberos: a service ticket with the TGT (TGS-REQ), over TCP on workerd and UDP on the Node host', async () => {
  const r = await call('kerberos', 'tgsRequest', { ...target, principal: K.user.principal, password: K.user.password, service: K.service });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.server, `${K.service}@${K.realm}`);
  assert.equal(r.body.result.tgt.server, `krbtgt/${K.realm}@${K.realm}`);
  assert.ok(!r.body.result.flags.includes('initial'));
  assert.ok(r.body.result.ticketKvno >= 1);
  const udp = await callNode(node, 'kerberos', 'tgsRequest', { ...target, transport: 'udp', principal: K.user.principal, password: K.user.password, service: K.service });
  assert.equal(udp.status, 200, JSON.stringify(udp.body));
  const missing = await call('kerberos', 'tgsRequest', { ...target, principal: K.user.principal, password: K.user.password, service: 'host/nowhere.portolan.test' });
  assert.equal(missing.body.error.code, 'server_error');
  assert.equal(missing.body.error.detail.errorName, 'KDC_ERR_S_PRINCIPAL_UNKNOWN');
  const onWorkers = await call('kerberos', 'probe', { ...target, transport: 'udp', principal: K.user.principal });
  assert.equal(onWorkers.status, 501);
});
