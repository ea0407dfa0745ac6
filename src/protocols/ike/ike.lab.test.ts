// IKEv2 IKE_SA_INIT against strongSwan charon on the Node host (UDP): the proposal it chooses, INVALID_KE_PAYLOAD
// followed to the group it wants, NO_PROPOSAL_CHOSEN, vendor ID and NAT detection; workerd answers 501.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';
import { edgeFacts } from '../../../lab/servers/edge.ts';

const f = edgeFacts.ike;
const node = useNodeHost();

test('ike init: charon answers an ECP-256 KE with INVALID_KE_PAYLOAD for MODP-2048, then chooses its proposal', async () => {
  const r = await callNode(node, 'ike', 'init', { host: '127.0.0.1', port: f.port }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  const x = r.body.result;
  assert.deepEqual(x.invalidKe, { offered: 'ECP-256', requested: f.group });
  assert.deepEqual(x.chosen, f.proposal);
  assert.equal(x.dhGroup, f.group);
  assert.equal(x.keLength, 256);
  assert.ok(x.nonceLength >= 16 && x.nonceLength <= 256, `nonce of ${x.nonceLength} bytes`);
  assert.match(x.responderSpi, /^[0-9a-f]{16}$/);
  assert.notEqual(x.responderSpi, '0000000000000000');
  assert.ok(x.vendorIds.includes('strongSwan'), x.vendorIds.join(', '));
  const names = x.notifies.map((n: { name: string }) => n.name);
  for (const n of ['NAT_DETECTION_SOURCE_IP', 'NAT_DETECTION_DESTINATION_IP', 'IKEV2_FRAGMENTATION_SUPPORTED']) assert.ok(names.includes(n), names.join(', '));
  // charon's source hash is over 127.0.0.1 and the port we sent to: no NAT in front of it.
  assert.equal(x.natDetection.responderBehindNat, false);
  assert.equal(x.cookie, false);
  const lines = r.body.transcript.entries.map((e: { decode?: string }) => e.decode ?? '').join('\n');
  assert.match(lines, /IKE_SA_INIT request, KE for ECP-256, after the non-ESP marker/);
  assert.match(lines, /IKE_SA_INIT response: N\(INVALID_KE_PAYLOAD\)/);
  assert.match(lines, /IKE_SA_INIT request, KE for MODP-2048/);
  assert.match(lines, /IKE_SA_INIT response: SA, KE, Nonce/);
});

test('ike init: the NAT-T port answers the same way; a KE for MODP-2048 first needs no second try', async () => {
  const r = await callNode(node, 'ike', 'init', { host: '127.0.0.1', port: f.natTPort, groups: ['modp2048', 'modp3072'] });
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  assert.equal(r.body.result.invalidKe, null);
  assert.deepEqual(r.body.result.chosen, f.proposal);
});

test('ike init: INVALID_KE_PAYLOAD not followed is refused with the group the responder wants', async () => {
  const r = await callNode(node, 'ike', 'init', { host: '127.0.0.1', port: f.port, followInvalidKe: false });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'refused');
  assert.equal(r.body.error.message, `the responder answered INVALID_KE_PAYLOAD: it wants DH group ${f.group}`);
  assert.deepEqual(r.body.error.detail, { offered: 'ECP-256', requested: f.group });
});

test('ike init: no group charon accepts is NO_PROPOSAL_CHOSEN', async () => {
  const r = await callNode(node, 'ike', 'init', { host: '127.0.0.1', port: f.port, groups: ['curve25519', 'ecp384'] });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'refused');
  assert.equal(r.body.error.message, 'the responder answered NO_PROPOSAL_CHOSEN: none of the proposals offered is acceptable to it');
  assert.equal(r.body.error.detail.notify, 14);
});

test('ike init: without the non-ESP marker off port 500 charon takes the message for ESP (io_timeout); workerd refuses UDP', async () => {
  const r = await callNode(node, 'ike', 'init', { host: '127.0.0.1', port: f.port, natT: false, retries: 0, waitMs: 500 });
  assert.equal(r.body.error.code, 'io_timeout');
  assert.equal(r.body.error.message, `no IKE_SA_INIT response from 127.0.0.1:${f.port} after 1 try (0 retries), 500 ms each`);
  const w = await call('ike', 'init', { host: '127.0.0.1', port: f.port });
  assert.equal(w.status, 501);
  assert.deepEqual(w.body.error.detail.missing, ['udp']);
});

test('ike mainMode: charon’s IKEv1 connection chooses the AES-256 / SHA2-256 / MODP-2048 transform', async () => {
  const r = await callNode(node, 'ike', 'mainMode', { host: '127.0.0.1', port: f.port });
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  assert.deepEqual(r.body.result.chosen, { encryption: 'AES-CBC', 'key length': 256, hash: 'SHA2-256', auth: 'pre-shared key', group: 'MODP-2048', 'life type': 'seconds', 'life duration': 28800 });
  assert.match(r.body.result.responderCookie, /^[0-9a-f]{16}$/);
  assert.deepEqual(r.body.result.vendorIds, ['strongSwan', 'XAUTH', 'DPD']);
  const w = await call('ike', 'mainMode', { host: '127.0.0.1', port: f.port });
  assert.equal(w.status, 501);
});
