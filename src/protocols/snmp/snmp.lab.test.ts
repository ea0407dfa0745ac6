// SNMP against net-snmp snmpd through the Node host (UDP and TCP), and through workerd (TCP works, UDP refused).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ports } from '../../../lab/index.ts';
import { nodeFacts } from '../../../lab/servers/node.ts';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';

const f = nodeFacts.snmp;
const target = { host: '127.0.0.1', port: ports.node.snmp, community: f.community };
const node = useNodeHost();

/** What net-snmp's own snmpwalk reads, as [oid, value text] pairs, to compare with. */
function netSnmpWalk(root: string): string[] {
  const out = execFileSync('snmpwalk', ['-v2c', '-c', f.community, '-On', '-Oq', '-Ot', `127.0.0.1:${ports.node.snmp}`, root], { env: { ...process.env, MIBS: '' } }).toString();
  return out.trim().split('\n').map((l) => l.split(' ')[0].replace(/^\./, ''));
}

test('snmp: GET over UDP reads the system group the lab configured, typed and named', async () => {
  const r = await callNode(node, 'snmp', 'get', { ...target, oids: ['sysContact.0', 'sysName.0', 'sysLocation.0', 'sysServices.0', 'sysUpTime.0', 'sysObjectID.0'] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const v = Object.fromEntries(r.body.result.varbinds.map((x: { name: string }) => [x.name, x]));
  assert.equal(v['sysContact.0'].value, f.sysContact);
  assert.equal(v['sysName.0'].value, f.sysName);
  assert.equal(v['sysLocation.0'].value, f.sysLocation);
  assert.deepEqual([v['sysServices.0'].type, v['sysServices.0'].value], ['INTEGER', f.sysServices]);
  assert.equal(v['sysUpTime.0'].type, 'TimeTicks');
  assert.match(v['sysUpTime.0'].text, /^(\d+ days?, )?\d\d:\d\d:\d\d\.\d\d$/);
  assert.deepEqual([v['sysObjectID.0'].type, v['sysObjectID.0'].value], ['OBJECT IDENTIFIER', '1.3.6.1.4.1.8072.3.2.10']);
  assert.equal(r.body.result.attempts, 1);
});

test("snmp: unknown OIDs come back as the agent's noSuchObject / noSuchInstance (v2c), noSuchName error (v1)", async () => {
  const r = await callNode(node, 'snmp', 'get', { ...target, oids: ['1.3.6.1.2.1.1.99.0', 'sysName.7'] });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.result.varbinds.map((x: { type: string }) => x.type), ['noSuchObject', 'noSuchInstance']);
  const v1 = await callNode(node, 'snmp', 'get', { ...target, version: 'v1', oids: ['sysName.0', 'sysName.7'] });
  assert.equal(v1.status, 502);
  assert.equal(v1.body.error.code, 'server_error');
  assert.match(v1.body.error.message, /agent answered noSuchName \(error-status 2\) for sysName\.7 \(varbind 2\)/);
});

test('snmp: GETNEXT and GETBULK step through the tree in order', async () => {
  const next = await callNode(node, 'snmp', 'getnext', { ...target, oids: ['sysName', 'sysName.0'] });
  assert.deepEqual(next.body.result.varbinds.map((x: { name: string }) => x.name), ['sysName.0', 'sysLocation.0']);
  const bulk = await callNode(node, 'snmp', 'getbulk', { ...target, oids: ['sysDescr', 'sysContact'], nonRepeaters: 1, maxRepetitions: 3 });
  assert.equal(bulk.status, 200, JSON.stringify(bulk.body));
  assert.deepEqual(bulk.body.result.varbinds.map((x: { name: string }) => x.name), ['sysDescr.0', 'sysContact.0', 'sysName.0', 'sysLocation.0']);
});

test('snmp: a walk of the system group returns what net-snmp snmpwalk returns, v2c (GETBULK) and v1 (GETNEXT)', async () => {
  const expected = netSnmpWalk('1.3.6.1.2.1.1');
  const v2 = await callNode(node, 'snmp', 'walk', { ...target, oid: 'system', maxRepetitions: 10 });
  assert.equal(v2.status, 200, JSON.stringify(v2.body));
  assert.deepEqual(v2.body.result.varbinds.map((x: { oid: string }) => x.oid), expected);
  assert.ok(v2.body.result.requests >= Math.ceil(expected.length / 10));
  const v1 = await callNode(node, 'snmp', 'walk', { ...target, oid: 'system', version: 'v1' });
  assert.deepEqual(v1.body.result.varbinds.map((x: { oid: string }) => x.oid), expected);
  assert.equal(v1.body.result.requests, expected.length + 1);
  const capped = await callNode(node, 'snmp', 'walk', { ...target, oid: 'system', maxRows: 5 });
  assert.equal(capped.body.result.varbinds.length, 5);
  assert.equal(capped.body.result.truncated, true);
});

test('snmp: SNMP over TCP (RFC 3430) reads the same values', async () => {
  const r = await callNode(node, 'snmp', 'get', { ...target, transport: 'tcp', oids: ['sysName.0'] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.varbinds[0].value, f.sysName);
  assert.equal(r.body.result.transport, 'tcp');
});

test('snmp: the community never shows in the transcript, in either direction', async () => {
  const r = await callNode(node, 'snmp', 'get', { ...target, oids: ['sysName.0'] }, { transcript: true });
  const json = JSON.stringify(r.body.transcript);
  assert.ok(!json.includes(Buffer.from(f.community).toString('hex')), 'community hex leaked');
  assert.ok(!json.includes(f.community), 'community text leaked');
  const frames = r.body.transcript.entries.filter((e: { dir: string }) => e.dir !== 'info');
  assert.equal(frames.length, 2);
  assert.match(frames[0].decode, /GetRequest id=\d+ community \*\*\*\* 1\.3\.6\.1\.2\.1\.1\.5\.0/);
  assert.ok(frames[1].hex.includes('2a'.repeat(f.community.length)));
});

test('snmp: a wrong community gets no answer from net-snmp: io_timeout after the retries', async () => {
  const r = await callNode(node, 'snmp', 'get', { ...target, community: 'wrong', retries: 1, waitMs: 300 });
  assert.equal(r.status, 504);
  assert.equal(r.body.error.code, 'io_timeout');
  assert.match(r.body.error.message, /no SNMP response from 127\.0\.0\.1:10161 after 2 tries \(1 retry\), 300 ms each/);
});

test('snmp: a bad OID is invalid input naming the field', async () => {
  const r = await callNode(node, 'snmp', 'get', { ...target, oids: ['sysNope.0'] });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /oids\.0: "sysNope\.0" is not an OID/);
});

test('snmp: on workerd, TCP works and UDP is refused with the reason and both alternatives', async () => {
  const tcp = await call('snmp', 'get', { ...target, transport: 'tcp', oids: ['sysName.0'] });
  assert.equal(tcp.status, 200, JSON.stringify(tcp.body));
  assert.equal(tcp.body.result.varbinds[0].value, f.sysName);
  const udp = await call('snmp', 'get', { ...target, oids: ['sysName.0'] });
  assert.equal(udp.status, 501);
  assert.equal(udp.body.error.code, 'unsupported_runtime');
  assert.deepEqual(udp.body.error.detail.missing, ['udp']);
  assert.ok(udp.body.error.detail.alternatives.some((a: string) => /portolan serve/.test(a)));
  assert.ok(udp.body.error.detail.alternatives.some((a: string) => /transport tcp/.test(a)));
});
