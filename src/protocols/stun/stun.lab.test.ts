// STUN and TURN against coturn: Binding over TCP and TLS through workerd and over UDP through the Node
// host; TURN Allocate with long-term credentials over each, right and wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';
import { ports } from '../../../lab/index.ts';
import { edgeFacts } from '../../../lab/servers/edge.ts';

const f = edgeFacts.turn;
const node = useNodeHost();
const plain = { host: '127.0.0.1', port: f.port };
const tls = { host: 'localhost', port: f.tlsPort, tls: 'implicit' };
const creds = { username: f.user, password: f.password };

test('stun binding over TCP and TLS (workerd): the mapped address is where the server saw us from', async () => {
  for (const [name, target] of [['tcp', plain], ['tls', tls]] as const) {
    const r = await call('stun', 'binding', target, { transcript: true });
    assert.equal(r.status, 200, `${name}: ${JSON.stringify(r.body.error)}`);
    const b = r.body.result;
    assert.equal(b.transport, name);
    assert.equal(b.mappedAddress.family, 'IPv4');
    assert.equal(b.mappedAddress.address, '127.0.0.1');
    assert.ok(b.mappedAddress.port > 0 && b.mappedAddress.port !== f.port);
    // MAPPED-ADDRESS (plain) carries the same transport address as XOR-MAPPED-ADDRESS.
    assert.deepEqual(b.legacyMappedAddress, b.mappedAddress);
    assert.deepEqual(b.responseOrigin, { family: 'IPv4', address: '127.0.0.1', port: target.port });
    assert.equal(b.software, f.software);
    assert.ok(b.attributes.includes('XOR-MAPPED-ADDRESS'));
  }
});

test('stun binding over UDP on the Node host; workerd answers 501 with the TCP alternative', async () => {
  const r = await callNode(node, 'stun', 'binding', { ...plain, transport: 'udp' });
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  assert.equal(r.body.result.transport, 'udp');
  assert.equal(r.body.result.mappedAddress.address, '127.0.0.1');
  assert.equal(r.body.result.software, f.software);
  const w = await call('stun', 'binding', { ...plain, transport: 'udp' });
  assert.equal(w.status, 501);
  assert.deepEqual(w.body.error.detail.missing, ['udp']);
  assert.ok(w.body.error.detail.alternatives.some((a: string) => /transport: tcp/.test(a)));
});

test('turn allocate with long-term credentials over TCP, TLS and UDP: relayed address in the relay range, lifetime, released', async () => {
  const runs = [
    ['tcp', await call('stun', 'turnAllocate', { ...plain, ...creds, lifetime: 1200 }, { transcript: true })],
    ['tls', await call('stun', 'turnAllocate', { ...tls, ...creds })],
    ['udp', await callNode(node, 'stun', 'turnAllocate', { ...plain, ...creds, transport: 'udp' })],
  ] as const;
  for (const [name, r] of runs) {
    assert.equal(r.status, 200, `${name}: ${JSON.stringify(r.body.error)}`);
    const a = r.body.result;
    assert.equal(a.realm, f.realm);
    assert.equal(a.relayedAddress.address, '127.0.0.1');
    assert.ok(a.relayedAddress.port >= f.relay.min && a.relayedAddress.port <= f.relay.max, `${name}: relay port ${a.relayedAddress.port}`);
    assert.equal(a.mappedAddress.address, '127.0.0.1');
    assert.equal(a.integrity, 'valid');
    assert.equal(a.released, true);
    assert.equal(a.software, f.software);
  }
  // coturn grants what is asked between its default (600 s) and maximum (3600 s).
  assert.equal(runs[0][1].body.result.lifetime, 1200);
  assert.equal(runs[1][1].body.result.lifetime, 600);
  assert.ok(!JSON.stringify(runs[0][1].body.transcript).includes(f.password), 'the password leaked into the transcript');
});

test('turn allocate: a wrong password is auth_failed with the server’s 401', async () => {
  const r = await call('stun', 'turnAllocate', { ...plain, username: f.user, password: 'wrong' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'auth_failed');
  assert.match(r.body.error.message, /refused the credentials for portolan: 401/);
});

test('stun: a server that says nothing is io_timeout, one that is not STUN is a protocol_error; DTLS is refused by name', async () => {
  // discard reads and never answers (squid would answer a 400 whenever the random transaction id holds a newline).
  const r = await call('stun', 'binding', { host: '127.0.0.1', port: ports.foundation.discard, timeoutMs: 2000 });
  assert.equal(r.body.error.code, 'io_timeout');
  const daytime = await call('stun', 'binding', { host: '127.0.0.1', port: ports.foundation.daytime });
  assert.equal(daytime.body.error.code, 'protocol_error');
  const dtls = await callNode(node, 'stun', 'binding', { ...plain, transport: 'udp', tls: 'implicit' });
  assert.equal(dtls.status, 400);
  assert.match(dtls.body.error.message, /^tls: STUN over DTLS is not offered/);
});
