// ZMTP against libzmq 4.3 REP sockets (Debian's python3-zmq) in the lab, through the HTTP API of workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { queueFacts } from '../../../lab/servers/messaging-queues.ts';

const p = ports['messaging-queues'];
const z = queueFacts.zmq;
const nul = { host: '127.0.0.1', port: p.zmqRep };
const plain = { host: '127.0.0.1', port: p.zmqPlain, username: z.user, password: z.password };

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('zmtp', op, input);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result;
}

test('zmtp: the NULL handshake reads the peer\'s version and READY metadata', async () => {
  const r = await ok('probe', nul);
  assert.deepEqual(r.peer, { version: '3.1', mechanism: 'NULL', asServer: false, socketType: 'REP', metadata: { 'Socket-Type': 'REP' } });
});

test('zmtp: REQ multipart request and reply, binary frames kept', async () => {
  const r = await ok('request', { ...nul, frames: ['hello', { hex: '00ff' }, ''] });
  assert.deepEqual(r.replies, [{ frames: [{ text: z.echoPrefix }, { text: 'hello' }, { base64: 'AP8=' }, { text: '' }] }]);
  // A 100 KiB frame travels as a LONG frame both ways.
  const big = 'x'.repeat(100 * 1024);
  const long = await ok('request', { ...nul, frames: [big] });
  assert.equal(long.replies[0].frames[1].text.length, big.length);
});

test('zmtp: DEALER sends and shows the envelope as it is', async () => {
  const r = await ok('request', { ...nul, socketType: 'DEALER', frames: ['', 'from a dealer'] });
  assert.deepEqual(r.replies, [{ frames: [{ text: '' }, { text: z.echoPrefix }, { text: 'from a dealer' }] }]);
});

test('zmtp: PLAIN with the right credentials; wrong ones are auth_failed with the ZAP status; NULL to a PLAIN peer is named', async () => {
  const r = await ok('request', { ...plain, frames: ['secret'] });
  assert.equal(r.peer.mechanism, 'PLAIN');
  assert.deepEqual(r.replies[0].frames, [{ text: z.echoPrefix }, { text: 'secret' }]);
  const bad = await call('zmtp', 'request', { ...plain, password: 'wrong', frames: ['x'] });
  assert.equal(bad.status, 502);
  assert.equal(bad.body.error.code, 'auth_failed');
  assert.match(bad.body.error.message, /400 \(ZAP: authentication failure\)/);
  const none = await call('zmtp', 'probe', { host: '127.0.0.1', port: p.zmqPlain });
  assert.equal(none.body.error.code, 'auth_failed');
  assert.match(none.body.error.message, /the peer uses the PLAIN mechanism, this side NULL: give username and password/);
  const mismatch = await call('zmtp', 'probe', { ...nul, username: 'x', password: 'y' });
  assert.equal(mismatch.body.error.code, 'auth_failed');
});

test('zmtp: a peer that is not ZMTP is a protocol error; REQ takes one reply', async () => {
  const r = await call('zmtp', 'probe', { host: '127.0.0.1', port: ports.foundation.garbage });
  assert.equal(r.status, 502);
  // It sends at least 64 random bytes: a greeting's worth that does not start 0xFF and end the signature 0x7F.
  assert.equal(r.body.error.code, 'protocol_error', JSON.stringify(r.body));
  assert.match(r.body.error.message, /did not send a ZMTP 3 signature/);
  const bad = await call('zmtp', 'request', { ...nul, frames: ['a'], replies: 2 });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /^replies: a REQ socket reads exactly one reply/);
});
