// DCE/RPC against Samba 4.17's samba-dcerpcd through workerd: the endpoint map compared with rpcclient's, binds
// with and without NTLMSSP, a wrong password, and interfaces the endpoint mapper's port does not serve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { labDir, ports } from '../../../lab/index.ts';
import { sambaFacts } from '../../../lab/servers/directory-samba.ts';
import { call } from '../../../test/harness.ts';

const p = ports['directory-samba'];
const S = sambaFacts;
const target = { host: '127.0.0.1', port: p.epmapper };
const user = { username: S.user.name, password: S.user.password };
type Entry = { interface: { uuid: string; version: string } | null; annotation: string; binding: string; protocolSequence: string | null; endpoint: string | null; name: string | null };

/** rpcclient's epmlookup lines: `object binding-with-abstract-syntax: annotation`, as (uuid, binding, annotation). */
function rpcclientMap(): string[] {
  const out = execFileSync('rpcclient', ['-s', join(labDir, 'smbd', 'smb.conf'), `ncacn_ip_tcp:127.0.0.1[${p.epmapper}]`, '-U%', '-c', 'epmlookup'], { encoding: 'utf8' });
  const rows: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^\S+ (\w+):([^[]*)\[([^,\]]*),abstract_syntax=([0-9a-f-]{36})\/0x([0-9a-f]{8})\]: (.*)$/.exec(line.trim());
    if (m) rows.push(`${m[4]} ${m[1]}:${m[2]}[${m[3]}] ${m[6]}`);
  }
  return rows.sort();
}

test('dcerpc: the endpoint map lists what rpcclient lists — every interface, its annotation and binding', async () => {
  const r = await call('dcerpc', 'lookup', target);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const entries: Entry[] = r.body.result.entries;
  // rpcclient does not print the entry that comes with the final EPT_S_NOT_REGISTERED: everything it prints is in
  // our map, and our map has that one more.
  const ours = entries.map((e) => `${e.interface!.uuid} ${e.binding} ${e.annotation}`);
  const theirs = rpcclientMap();
  assert.ok(theirs.length > 20, `rpcclient listed ${theirs.length}`);
  for (const row of theirs) assert.ok(ours.includes(row), `${row} missing`);
  assert.equal(ours.length, theirs.length + 1);
  assert.equal(new Set(ours).size, ours.length, 'no entry twice');
  const tcp = (annotation: string) => entries.find((e) => e.annotation === annotation && e.protocolSequence === 'ncacn_ip_tcp');
  assert.equal(tcp('epmapper')?.binding, `ncacn_ip_tcp:127.0.0.1[${p.epmapper}]`);
  for (const [name, uuid] of Object.entries(S.tcpInterfaces)) {
    const e = tcp(name);
    assert.ok(e, `${name} over TCP`);
    assert.equal(e.interface!.uuid, uuid);
    assert.ok(e.name?.startsWith(name), `${name}: known as ${e.name}`);
    const port = Number(e.endpoint);
    assert.ok(port === p.epmapper || (port >= p.rpcDynamicMin && port <= p.rpcDynamicMax), `${name} on ${port}`);
  }
  assert.ok(entries.some((e) => e.binding === 'ncacn_np:[\\pipe\\lsarpc]'));
  assert.ok(r.body.result.tcpPorts.includes(p.epmapper));
  assert.equal(r.body.result.authenticated, false);
});

test('dcerpc: an NTLMSSP (NTLMv2) bind at the integrity level — signed calls, signatures checked, the server named', async () => {
  const r = await call('dcerpc', 'bind', { ...target, ...user }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const a = r.body.result.authentication;
  assert.equal(r.body.result.accepted, true);
  assert.deepEqual([a.method, a.level, a.verified], ['NTLMSSP', 'integrity', true]);
  assert.equal(a.netbiosComputerName, S.netbiosName);
  assert.equal(a.targetName, S.netbiosName);
  assert.ok(a.flags.includes('sign') && a.flags.includes('extendedSessionSecurity'));
  assert.ok(Math.abs(Date.parse(a.serverTime) - Date.now()) < 60_000);
  const wire = JSON.stringify(r.body.transcript);
  assert.ok(!wire.includes(S.user.password), 'password in the transcript');
  assert.ok(!wire.toLowerCase().includes(Buffer.from(S.user.password, 'utf16le').toString('hex')), 'UTF-16 password in the transcript');
  assert.match(wire, /auth3 call 2 NTLMSSP AUTHENTICATE user \\"portolan-smb\\" NTLMv2 response \(password masked\)/);
  assert.match(wire, /request call 3 opnum 2 ept_lookup \(one entry\) \(signed\)/);
  const looked = await call('dcerpc', 'lookup', { ...target, ...user });
  assert.equal(looked.status, 200, JSON.stringify(looked.body));
  assert.equal(looked.body.result.authenticated, true);
  assert.ok(looked.body.result.entries.length > 20);
});

test('dcerpc: a wrong password is auth_failed with the server\'s fault; connect level is not verified', async () => {
  const r = await call('dcerpc', 'bind', { ...target, username: S.user.name, password: 'not-the-password' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'auth_failed');
  assert.match(r.body.error.message, /refused the first call after NTLMSSP authentication: nca_s_proto_error/);
  assert.equal(r.body.error.detail.status, 0x1c01000b);
  const connect = await call('dcerpc', 'bind', { ...target, ...user, authLevel: 'connect' });
  assert.equal(connect.status, 200);
  assert.equal(connect.body.result.authentication.verified, null);
});

test('dcerpc: the endpoint mapper\'s port refuses lsarpc (provider rejection); lsarpc\'s own port accepts it', async () => {
  const r = await call('dcerpc', 'bind', { ...target, interface: 'lsarpc' });
  assert.equal(r.status, 200);
  assert.equal(r.body.result.accepted, false);
  assert.deepEqual(r.body.result.contexts, [{ result: 'provider_rejection', reason: 'abstract_syntax_not_supported', transfer: null }]);
  const map = await call('dcerpc', 'lookup', target);
  const lsa = map.body.result.entries.find((e: Entry) => e.annotation === 'lsarpc' && e.protocolSequence === 'ncacn_ip_tcp');
  const own = await call('dcerpc', 'bind', { host: '127.0.0.1', port: Number(lsa.endpoint), interface: S.tcpInterfaces.lsarpc + ':0.0', ndr64: true });
  assert.equal(own.status, 200, JSON.stringify(own.body));
  assert.equal(own.body.result.accepted, true);
  assert.equal(own.body.result.interface.name, 'lsarpc (Local Security Authority, MS-LSAD)');
  assert.equal(own.body.result.contexts[0].result, 'acceptance');
  assert.equal(own.body.result.contexts[1].result, 'provider_rejection');
});

test('dcerpc: bad input names the field; a port that is not DCE/RPC is a protocol error', async () => {
  const bad = await call('dcerpc', 'bind', { ...target, interface: 'no-such-interface' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /interface/);
  const pw = await call('dcerpc', 'bind', { ...target, password: 'x' });
  assert.equal(pw.status, 400);
  assert.match(pw.body.error.message, /username/);
  const smb = await call('dcerpc', 'lookup', { host: '127.0.0.1', port: ports.foundation.garbage });
  assert.equal(smb.status, 502);
  assert.ok(['protocol_error', 'closed'].includes(smb.body.error.code), smb.body.error.code);
});
