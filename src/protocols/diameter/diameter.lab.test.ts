// Diameter against freeDiameter 1.2.1 through workerd: capabilities both ways, an unknown peer refused with the
// server's Result-Code, watchdogs, disconnects, and a TLS port that wants a client certificate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ports } from '../../../lab/index.ts';
import { diameterFacts } from '../../../lab/servers/directory.ts';
import { call } from '../../../test/harness.ts';

const D = diameterFacts;
const target = { host: '127.0.0.1', port: ports.directory.diameter, ...D.client };

test('diameter: CER/CEA — freeDiameter names itself, its product, firmware and applications; DPR/DPA closes', async () => {
  const r = await call('diameter', 'capabilities', { ...target, vendorId: 10415, productName: 'Portolan lab test', firmwareRevision: 7, supportedVendorIds: [10415], acctApplicationIds: [3] }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const c = r.body.result;
  assert.deepEqual([c.resultCode, c.result], [2001, 'DIAMETER_SUCCESS']);
  assert.deepEqual([c.originHost, c.originRealm, c.productName, c.firmwareRevision, c.vendorId], [D.identity, D.realm, D.productName, D.firmwareRevision, 0]);
  assert.ok(c.hostIpAddresses.length > 0);
  assert.ok(c.authApplications.some((a: { id: number; name: string }) => a.id === 0xffffffff && a.name === 'Relay'));
  assert.deepEqual(c.disconnect, { resultCode: 2001, result: 'DIAMETER_SUCCESS' });
  const lines = r.body.transcript.entries.map((e: { dir: string; decode?: string }) => `${e.dir} ${e.decode ?? ''}`);
  assert.ok(lines.some((l: string) => /^out CER hop-by-hop 0x[0-9a-f]+ \(\d+ AVPs\)$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l: string) => /^in CEA hop-by-hop 0x[0-9a-f]+ from diameter\.portolan\.test 2001 DIAMETER_SUCCESS/.test(l)));
  assert.ok(lines.some((l: string) => /^in DPA .* 2001 DIAMETER_SUCCESS/.test(l)));
});

test('diameter: a peer freeDiameter does not know is refused with its Result-Code (3010 DIAMETER_UNKNOWN_PEER)', async () => {
  const r = await call('diameter', 'capabilities', { host: '127.0.0.1', port: ports.directory.diameter, originHost: 'stranger.example.net', originRealm: 'example.net' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'server_error');
  assert.equal(r.body.error.detail.resultCode, 3010);
  assert.match(r.body.error.message, /3010 DIAMETER_UNKNOWN_PEER/);
  assert.equal(r.body.error.detail.originHost, D.identity);
});

test('diameter: device watchdogs answered with DIAMETER_SUCCESS, then a disconnect with a chosen cause', async () => {
  const w = await call('diameter', 'watchdog', { ...target, count: 3 });
  assert.equal(w.status, 200, JSON.stringify(w.body));
  assert.equal(w.body.result.watchdogs.length, 3);
  for (const x of w.body.result.watchdogs) assert.deepEqual([x.resultCode, x.result], [2001, 'DIAMETER_SUCCESS']);
  const d = await call('diameter', 'disconnect', { ...target, cause: 'REBOOTING' });
  assert.equal(d.status, 200, JSON.stringify(d.body));
  assert.deepEqual([d.body.result.resultCode, d.body.result.cause, d.body.result.originHost], [2001, 'REBOOTING', D.identity]);
});

test('diameter: bad input names the field; TLS without a client certificate ends in a typed outcome; SCTP is not offered', async () => {
  const bad = await call('diameter', 'capabilities', { ...target, originHost: 'not a host' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /originHost/);
  const tls = await call('diameter', 'capabilities', { ...target, port: ports.directory.diameterTls, tls: 'implicit' });
  assert.equal(tls.status, 502);
  assert.ok(['closed', 'tls_error'].includes(tls.body.error.code), JSON.stringify(tls.body));
  const garbage = await call('diameter', 'capabilities', { ...target, port: ports.foundation.garbage });
  assert.equal(garbage.status, 502);
  assert.ok(['protocol_error', 'closed'].includes(garbage.body.error.code));
});
