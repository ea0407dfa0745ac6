// OpenVPN's control channel against OpenVPN 2.6 in TCP server mode through workerd: plain, tls-auth and
// tls-crypt; a server that requires a key stays silent without it, and a wrong key is not answered either.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { call } from '../../../test/harness.ts';
import { edgeFacts } from '../../../lab/servers/edge.ts';

const f = edgeFacts.openvpn;
const tlsAuthKey = () => readFileSync(f.tlsAuthKeyFile, 'utf8');
const tlsCryptKey = () => readFileSync(f.tlsCryptKeyFile, 'utf8');

function assertStarted(r: { status: number; body: any }, wrapping: string) {
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  const p = r.body.result;
  assert.equal(p.wrapping, wrapping);
  assert.match(p.serverSessionId, /^[0-9a-f]{16}$/);
  assert.notEqual(p.serverSessionId, p.clientSessionId);
  assert.deepEqual(p.acked, [0]);
  assert.equal(p.keyId, 0);
  assert.deepEqual(p.tls, { version: 'TLSv1.3', cipherSuite: 'TLS_AES_256_GCM_SHA384' });
}

test('openvpn probe (plain): the server’s reset acknowledges ours and TLS 1.3 starts', async () => {
  const r = await call('openvpn', 'probe', { host: '127.0.0.1', port: f.port }, { transcript: true });
  assertStarted(r, 'none');
  assert.equal(r.body.result.serverTime, null);
  assert.match(JSON.stringify(r.body.transcript), /P_CONTROL_HARD_RESET_SERVER_V2 ack 0 id 0/);
});

test('openvpn probe with tls-auth: HMACs both ways, the server’s verified; its clock from the replay stamp', async () => {
  const r = await call('openvpn', 'probe', { host: '127.0.0.1', port: f.tlsAuthPort, tlsAuthKey: tlsAuthKey() });
  assertStarted(r, 'tls-auth');
  assert.ok(Math.abs(Date.parse(r.body.result.serverTime) - Date.now()) < 60_000);
});

test('openvpn probe with tls-crypt: encrypted control packets, the server’s tag verified', async () => {
  const r = await call('openvpn', 'probe', { host: '127.0.0.1', port: f.tlsCryptPort, tlsCryptKey: tlsCryptKey() });
  assertStarted(r, 'tls-crypt');
});

test('openvpn: a tls-auth server drops a peer without the key (and with the wrong one): refused, saying why', async () => {
  const none = await call('openvpn', 'probe', { host: '127.0.0.1', port: f.tlsAuthPort, waitMs: 800 });
  assert.equal(none.status, 502);
  assert.equal(none.body.error.code, 'refused');
  assert.match(none.body.error.message, /closed the connection without answering the hard reset: the server may require tls-auth or tls-crypt/);
  const wrong = await call('openvpn', 'probe', { host: '127.0.0.1', port: f.tlsAuthPort, tlsAuthKey: tlsCryptKey(), waitMs: 800 });
  assert.equal(wrong.body.error.code, 'refused');
  assert.match(wrong.body.error.message, /did not accept this tls-auth key/);
  const bad = await call('openvpn', 'probe', { host: '127.0.0.1', port: f.tlsAuthPort, tlsAuthKey: 'not a key' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /^key: not an OpenVPN static key file/);
});
