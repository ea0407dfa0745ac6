// RADIUS against FreeRADIUS: UDP through the Node host; RADIUS over TCP and RadSec through workerd (and the Node host).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ports } from '../../../lab/index.ts';
import { radiusFacts as R } from '../../../lab/servers/directory.ts';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';

const node = useNodeHost();
const p = ports.directory;
const udp = { host: '127.0.0.1', port: p.radiusAuth, secret: R.secret };
const user = { username: R.user.name, password: R.user.password };

function byName(attrs: { name: string; value: unknown }[]): Record<string, unknown> {
  return Object.fromEntries(attrs.map((a) => [a.name, a.value]));
}

test('radius: PAP and CHAP over UDP are accepted with the reply attributes FreeRADIUS was given, named by the dictionary', async () => {
  for (const method of ['pap', 'chap']) {
    const r = await callNode(node, 'radius', 'authenticate', { ...udp, ...user, method });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.result.code, 'Access-Accept');
    // FreeRADIUS 3.2.1 signs Access-Accept with the Response Authenticator and adds no Message-Authenticator.
    assert.deepEqual(r.body.result.verified, { responseAuthenticator: true, messageAuthenticator: null });
    assert.equal(r.body.result.transport, 'udp');
    assert.deepEqual(byName(r.body.result.attributes), {
      'Reply-Message': R.reply.replyMessage,
      'Session-Timeout': R.reply.sessionTimeout,
      'Framed-IP-Address': R.reply.framedIp,
      'Filter-Id': R.reply.filterId,
      Class: R.reply.class,
      'Cisco-AVPair': R.reply.ciscoAvPair,
    });
    assert.equal(r.body.result.replyMessage, R.reply.replyMessage);
  }
});

test('radius: a wrong password is auth_failed (Access-Reject); a wrong secret fails the authenticator check; secrets stay out of the transcript', async () => {
  const bad = await callNode(node, 'radius', 'authenticate', { ...udp, username: R.user.name, password: 'not-it' });
  assert.equal(bad.status, 502);
  assert.equal(bad.body.error.code, 'auth_failed');
  assert.equal(bad.body.error.detail.code, 'Access-Reject');
  const wrongSecret = await callNode(node, 'radius', 'authenticate', { ...udp, ...user, secret: 'not-the-secret', retries: 0, waitMs: 1500 });
  // FreeRADIUS drops a request whose Message-Authenticator does not verify: no answer at all.
  assert.equal(wrongSecret.body.error.code, 'io_timeout');
  const noMa = await callNode(node, 'radius', 'authenticate', { ...udp, ...user, secret: 'not-the-secret', messageAuthenticator: false, retries: 0 });
  // Without a Message-Authenticator the server answers (Access-Reject: the password decrypts to garbage), and its reply does not verify under our secret.
  assert.equal(noMa.body.error.code, 'protocol_error');
  assert.match(noMa.body.error.message, /Response Authenticator does not verify/);
  const t = await callNode(node, 'radius', 'authenticate', { ...udp, ...user, method: 'pap' }, { transcript: true });
  const json = JSON.stringify(t.body.transcript);
  for (const s of [R.secret, R.user.password]) {
    assert.ok(!json.includes(s), `${s} in transcript`);
    assert.ok(!json.includes(Buffer.from(s).toString('hex')), `${s} hex in transcript`);
  }
  const out = t.body.transcript.entries.find((e: { dir: string }) => e.dir === 'out');
  assert.equal(out.hex, undefined);
  assert.match(out.decode, /User-Password=\*\*\*\* \(15 bytes\)/);
});

test('radius: Status-Server and Accounting-Request; the accounting record reaches FreeRADIUS\'s detail file', async () => {
  const st = await callNode(node, 'radius', 'statusServer', udp);
  assert.equal(st.status, 200, JSON.stringify(st.body));
  assert.equal(st.body.result.code, 'Access-Accept');
  const session = `portolan-${process.pid}-${Date.now()}`;
  const acct = await callNode(node, 'radius', 'accounting', { host: '127.0.0.1', port: p.radiusAcct, secret: R.secret, statusType: 'Stop', sessionId: session, username: R.user.name, sessionTime: 42, attributes: { 'Acct-Terminate-Cause': 'User-Request', 'NAS-Identifier': 'portolan-test' } });
  assert.equal(acct.status, 200, JSON.stringify(acct.body));
  assert.equal(acct.body.result.code, 'Accounting-Response');
  assert.equal(acct.body.result.verified.responseAuthenticator, true);
  const detail = readFileSync(R.detailFile, 'utf8');
  const record = detail.split('\n\n').find((r) => r.includes(session))!;
  assert.ok(record, 'no detail record');
  assert.match(record, /Acct-Status-Type = Stop/);
  assert.match(record, /Acct-Session-Time = 42/);
  assert.match(record, /Acct-Terminate-Cause = User-Request/);
  assert.match(record, /NAS-Identifier = "portolan-test"/);
});

test('radius: RADIUS over TCP (RFC 6613) and RadSec (RFC 6614) through workerd; UDP there is 501 naming the alternatives', async () => {
  const tcp = await call('radius', 'authenticate', { host: '127.0.0.1', port: p.radiusTcp, transport: 'tcp', secret: R.secret, ...user, method: 'chap' });
  assert.equal(tcp.status, 200, JSON.stringify(tcp.body));
  assert.equal(tcp.body.result.code, 'Access-Accept');
  assert.equal(tcp.body.result.transport, 'tcp');
  const radsec = await call('radius', 'authenticate', { host: '127.0.0.1', port: p.radsec, transport: 'tcp', tls: 'implicit', secret: R.radsecSecret, ...user });
  assert.equal(radsec.status, 200, JSON.stringify(radsec.body));
  assert.equal(radsec.body.result.transport, 'tls');
  assert.equal(byName(radsec.body.result.attributes)['Cisco-AVPair'], R.reply.ciscoAvPair);
  const radsecAcct = await call('radius', 'accounting', { host: '127.0.0.1', port: p.radsec, transport: 'tcp', tls: 'implicit', secret: R.radsecSecret, sessionId: `rs-${Date.now()}` });
  assert.equal(radsecAcct.body.result.code, 'Accounting-Response');
  const status = await call('radius', 'statusServer', { host: '127.0.0.1', port: p.radiusTcp, transport: 'tcp', secret: R.secret });
  assert.equal(status.body.result.code, 'Access-Accept');
  const viaUdp = await call('radius', 'authenticate', { ...udp, ...user });
  assert.equal(viaUdp.status, 501);
  assert.ok(viaUdp.body.error.detail.alternatives.some((a: string) => /RFC 6613/.test(a) && /RadSec/.test(a)));
});

test('radius: bad input names the field', async () => {
  const r = await callNode(node, 'radius', 'authenticate', { ...udp, ...user, attributes: { 'Framed-IP-Address': 'nope' } });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /attributes\.Framed-IP-Address: .*not an IPv4 address/);
  const dtls = await callNode(node, 'radius', 'authenticate', { ...udp, ...user, tls: 'implicit' });
  assert.equal(dtls.status, 400);
  assert.match(dtls.body.error.message, /transport: RadSec/);
});
