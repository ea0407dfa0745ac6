// NetBIOS against Samba 4.17: smbd's session service on 139 through workerd (positive, negative and retarget
// responses), and nmbd's name service in the lab's network namespace, asked by the CLI (the Node host's dialer)
// from the client namespace and compared with nmblookup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { ports } from '../../../lab/index.ts';
import { sambaFacts } from '../../../lab/servers/directory-samba.ts';
import { call } from '../../../test/harness.ts';
import { BIN } from '../../../test/node-host.ts';

const p = ports['directory-samba'];
const S = sambaFacts;
const target = { host: '127.0.0.1', port: p.netbiosSession };

function inClient(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', S.nbns.clientNetns, process.execPath, BIN, ...args], { env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('netbios: smbd accepts a session for *SMBSERVER and for its own name (POSITIVE SESSION RESPONSE)', async () => {
  const r = await call('netbios', 'session', target, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual([r.body.result.response, r.body.result.accepted, r.body.result.called], ['positive', true, '*SMBSERVER<20>']);
  const decodes = r.body.transcript.entries.map((e: { decode?: string }) => e.decode ?? '');
  assert.ok(decodes.includes('SESSION REQUEST called *SMBSERVER<20> calling PORTOLAN<00>'));
  assert.ok(decodes.includes('POSITIVE SESSION RESPONSE'));
  const own = await call('netbios', 'session', { ...target, calledName: S.netbiosName });
  assert.equal(own.body.result.accepted, true);
});

test('netbios: a Pathworks calling name is refused — NEGATIVE SESSION RESPONSE 0x82 Called name not present', async () => {
  const r = await call('netbios', 'session', { ...target, callingSuffix: S.refusedCallingSuffix });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual([r.body.result.response, r.body.result.accepted, r.body.result.errorCode, r.body.result.meaning], ['negative', false, 0x82, 'Called name not present']);
});

test('netbios: a called name smbd retargets — RETARGET SESSION RESPONSE to the SMB port', async () => {
  const r = await call('netbios', 'session', { ...target, calledName: S.retarget.calledName });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.response, 'retarget');
  assert.deepEqual(r.body.result.retarget, { address: '127.0.0.1', port: p.smb });
});

test('netbios: names that cannot be encoded are 400 naming the field; NBSTAT needs UDP (501 on workerd)', async () => {
  const long = await call('netbios', 'session', { ...target, calledName: 'A-NAME-OF-16-CHR' });
  assert.equal(long.status, 400);
  assert.match(long.body.error.message, /calledName/);
  const scope = await call('netbios', 'session', { ...target, scope: 'bad..scope' });
  assert.equal(scope.status, 400);
  assert.match(scope.body.error.message, /scope/);
  const udp = await call('netbios', 'nbstat', { host: S.nbns.server });
  assert.equal(udp.status, 501);
  assert.deepEqual(udp.body.error.detail.missing, ['udp']);
});

test('netbios: NBSTAT lists the name table nmblookup -A lists, with groups, flags and the MAC address', async () => {
  const r = await inClient(['netbios', S.nbns.server, 'nbstat', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout).result;
  const ours = res.names.map((n: { name: string; suffix: number; group: boolean; nodeType: string; active: boolean }) => `${n.name.replace(/[^\x20-\x7e]/g, '.')}<${n.suffix.toString(16).padStart(2, '0')}>${n.group ? ' <GROUP>' : ''} ${n.nodeType}${n.active ? ' <ACTIVE>' : ''}`).sort();
  const native = execFileSync('ip', ['netns', 'exec', S.nbns.clientNetns, 'nmblookup', '-A', S.nbns.server], { encoding: 'utf8' });
  const theirs = [...native.matchAll(/^\s+(.{15})\s*<([0-9a-f]{2})> - (<GROUP> )?\s*([BPMH]) (<ACTIVE>)?/gm)].map((m) => `${m[1].trimEnd()}<${m[2]}>${m[3] ? ' <GROUP>' : ''} ${m[4]}${m[5] ? ' <ACTIVE>' : ''}`).sort();
  assert.deepEqual(ours, theirs);
  const byDisplay = Object.fromEntries(res.names.map((n: { display: string }) => [n.display, n]));
  assert.equal(byDisplay[`${S.netbiosName}<20>`].meaning, 'File server service');
  assert.equal(byDisplay[`${S.workgroup}<00>`].group, true);
  assert.match(res.unitId, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
});

test('netbios: a name query finds the server\'s own name; nmbd stays silent for a name it does not hold', async () => {
  const r = await inClient(['netbios', S.nbns.server, 'query', '--name', S.netbiosName, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout).result;
  assert.equal(res.found, true);
  assert.deepEqual(res.addresses.map((a: { address: string }) => a.address), [S.nbns.server]);
  const none = await inClient(['netbios', S.nbns.server, 'query', '--name', 'NO-SUCH-NAME', '--retries', '0', '--wait-ms', '300']);
  assert.equal(none.code, 12, none.stderr);
  assert.match(none.stderr, /no NAME QUERY RESPONSE from 10\.209\.0\.1:137 after 1 try/);
});
