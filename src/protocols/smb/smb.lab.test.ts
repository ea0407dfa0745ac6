// SMB against Samba 4.17 (lab area shares) through workerd's API: negotiation of every dialect with its signing
// algorithm checked on every response, NTLMv2 and guest logons, a share that requires encryption (AES-GCM and AES-CCM), shares
// over srvsvc, the file operations, and streamed transfers byte-identical (256 MiB down, 64 MiB up, resume).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { sharesFacts } from '../../../lab/servers/shares.ts';
import { bigFile, curlUpload, MiB, scratchName, sha256File, streamDownload, transferDir } from '../../../test/files.ts';
import { call, workerUrl } from '../../../test/harness.ts';

const S = sharesFacts.smb;
const target = { host: '127.0.0.1', port: ports.shares.smb };
const user = { ...target, username: S.user.name, password: S.user.password };

before(() => ensureLab(['shares']));

test('SMB probe: 3.1.1 with SHA-512 preauth, AES-128-GCM, AES-GMAC, and the NTLM challenge naming the server', async () => {
  const r = await call('smb', 'probe', target);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const p = r.body.result;
  assert.equal(p.dialect, '3.1.1');
  assert.equal(p.preauthIntegrity, 'SHA-512');
  assert.equal(p.cipher, 'AES-128-GCM');
  assert.equal(p.signingAlgorithm, 'AES-GMAC');
  assert.equal(p.signingEnabled, true);
  assert.ok(p.capabilities.includes('largeMtu'));
  assert.match(p.serverGuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.ok(Math.abs(Date.parse(p.serverTime) - Date.now()) < 60_000, p.serverTime);
  assert.deepEqual(p.securityMechanisms, ['NTLMSSP']);
  assert.equal(p.ntlm.netbiosComputerName, S.netbiosName);
  assert.equal(p.ntlm.netbiosDomainName, S.netbiosName);
  assert.match(p.ntlm.version, /^\d+\.\d+\.\d+$/);
  const old = await call('smb', 'probe', { ...target, dialect: '2.0.2' });
  assert.equal(old.body.result.dialect, '2.0.2');
  assert.equal(old.body.result.cipher, null);
});

test('SMB shares: NetShareEnumAll over srvsvc on IPC$ lists every share with its type and comment', async () => {
  const r = await call('smb', 'shares', user);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const byName = Object.fromEntries(r.body.result.shares.map((s: any) => [s.name, s]));
  assert.deepEqual(byName[S.files.name], { name: S.files.name, type: 'disk', special: false, temporary: false, comment: S.files.comment });
  assert.equal(byName[S.guest.name].comment, S.guest.comment);
  assert.equal(byName[S.vault.name].comment, S.vault.comment);
  assert.equal(byName['IPC$'].type, 'ipc');
  assert.equal(byName['IPC$'].special, true);
  assert.equal(r.body.result.total, r.body.result.shares.length);
  assert.equal(r.body.result.security.signing, 'AES-GMAC');
});

for (const [dialect, signing] of [
  ['2.0.2', 'HMAC-SHA256'],
  ['2.1', 'HMAC-SHA256'],
  ['3.0', 'AES-CMAC'],
  ['3.0.2', 'AES-CMAC'],
  ['3.1.1', 'AES-GMAC'],
] as const) {
  test(`SMB ${dialect}: NTLMv2 logon, every request signed with ${signing} and every response's signature checked; upload, list, download`, async () => {
    const name = `${scratchName(`d${dialect}`)}.txt`;
    const text = `dialect ${dialect}\n`;
    const up = await call('smb', 'upload', { ...user, dialect, share: S.files.name, path: name, content: text });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.result.sizeOnServer, text.length);
    assert.equal(readFileSync(join(S.files.path, name), 'utf8'), text);
    const list = await call('smb', 'list', { ...user, dialect, share: S.files.name });
    assert.equal(list.status, 200, JSON.stringify(list.body));
    const sec = list.body.result.security;
    assert.deepEqual([sec.dialect, sec.signing, sec.encrypted, sec.guest], [dialect, signing, false, false]);
    assert.ok(sec.verifiedResponses >= 4, `verified ${sec.verifiedResponses}`);
    const entry = list.body.result.entries.find((e: any) => e.name === name);
    assert.equal(entry.size, text.length);
    assert.equal(entry.type, 'file');
    const down = await call('smb', 'download', { ...user, dialect, share: S.files.name, path: name });
    assert.equal(Buffer.from(down.body.result.contentBase64, 'base64').toString(), text);
    rmSync(join(S.files.path, name));
  });
}

test('SMB signing off on request: nothing signed when the server does not require it', async () => {
  const r = await call('smb', 'list', { ...user, signing: false, share: S.files.name });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.security.signing, null);
});

test('SMB guest: a session without a user is a guest session, reads the guest share, is refused the others', async () => {
  const list = await call('smb', 'list', { ...target, share: S.guest.name });
  assert.equal(list.status, 200, JSON.stringify(list.body));
  assert.equal(list.body.result.security.guest, true);
  assert.equal(list.body.result.security.signing, null);
  assert.deepEqual(list.body.result.entries.map((e: any) => e.name), [S.guest.file]);
  const down = await call('smb', 'download', { ...target, share: S.guest.name, path: S.guest.file });
  assert.equal(Buffer.from(down.body.result.contentBase64, 'base64').toString(), S.guest.text);
  const vault = await call('smb', 'list', { ...target, share: S.vault.name });
  assert.equal(vault.status, 502, JSON.stringify(vault.body));
  assert.equal(vault.body.error.detail.statusName, 'STATUS_ACCESS_DENIED');
  assert.match(vault.body.error.message, /encryption/);
});

test('SMB wrong password: auth_failed with STATUS_LOGON_FAILURE; unknown share: STATUS_BAD_NETWORK_NAME', async () => {
  const bad = await call('smb', 'list', { ...user, password: 'not-the-password', share: S.files.name });
  assert.equal(bad.body.error.code, 'auth_failed');
  assert.equal(bad.body.error.detail.statusName, 'STATUS_LOGON_FAILURE');
  const none = await call('smb', 'list', { ...user, share: 'no-such-share' });
  assert.equal(none.body.error.code, 'server_error');
  assert.equal(none.body.error.detail.statusName, 'STATUS_BAD_NETWORK_NAME');
});

test('SMB3 encryption: the vault share (smb encrypt = required) is read and written in AES-128-GCM transform messages', async () => {
  const list = await call('smb', 'list', { ...user, share: S.vault.name }, { transcript: true });
  assert.equal(list.status, 200, JSON.stringify(list.body));
  assert.deepEqual(list.body.result.shareFlags, ['encryptData']);
  assert.equal(list.body.result.security.encrypted, true);
  assert.equal(list.body.result.security.cipher, 'AES-128-GCM');
  assert.ok(list.body.result.security.verifiedResponses >= 3);
  assert.deepEqual(list.body.result.entries.map((e: any) => e.name), [S.vault.file]);
  const decodes: string[] = list.body.transcript.entries.map((e: any) => e.decode ?? '');
  assert.ok(decodes.some((d) => /^QUERY_DIRECTORY request #\d+ "\*" \(encrypted\)$/.test(d)), decodes.join('\n'));
  assert.ok(decodes.some((d) => /^encrypted message/.test(d)));
  const down = await call('smb', 'download', { ...user, share: S.vault.name, path: S.vault.file });
  assert.equal(Buffer.from(down.body.result.contentBase64, 'base64').toString(), S.vault.text);
  const name = `${scratchName('vault')}.bin`;
  const content = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff));
  const up = await call('smb', 'upload', { ...user, share: S.vault.name, path: name, content: content.toString('base64'), encoding: 'base64' });
  assert.equal(up.status, 200, JSON.stringify(up.body));
  assert.ok(readFileSync(join(S.vault.path, name)).equals(content));
  rmSync(join(S.vault.path, name));
});

test('SMB3 encryption in every cipher: 3.0 and 3.0.2 in AES-128-CCM, 3.1.1 in each cipher asked for; the vault share read and written', async () => {
  const modes = [
    { dialect: '3.0', cipher: 'auto', expect: 'AES-128-CCM' },
    { dialect: '3.0.2', cipher: 'auto', expect: 'AES-128-CCM' },
    { dialect: '3.1.1', cipher: 'AES-128-CCM', expect: 'AES-128-CCM' },
    { dialect: '3.1.1', cipher: 'AES-256-CCM', expect: 'AES-256-CCM' },
    { dialect: '3.1.1', cipher: 'AES-256-GCM', expect: 'AES-256-GCM' },
  ];
  for (const m of modes) {
    const what = `${m.dialect} ${m.cipher}`;
    const list = await call('smb', 'list', { ...user, dialect: m.dialect, cipher: m.cipher, share: S.vault.name });
    assert.equal(list.status, 200, `${what}: ${JSON.stringify(list.body.error)}`);
    assert.deepEqual([list.body.result.security.dialect, list.body.result.security.encrypted, list.body.result.security.cipher], [m.dialect, true, m.expect], what);
    assert.deepEqual(list.body.result.entries.map((e: any) => e.name), [S.vault.file], what);
    const down = await call('smb', 'download', { ...user, dialect: m.dialect, cipher: m.cipher, share: S.vault.name, path: S.vault.file });
    assert.equal(Buffer.from(down.body.result.contentBase64, 'base64').toString(), S.vault.text, what);
    const name = `${scratchName('vault')}.bin`;
    const content = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 13 + m.expect.length) & 0xff));
    const up = await call('smb', 'upload', { ...user, dialect: m.dialect, cipher: m.cipher, share: S.vault.name, path: name, content: content.toString('base64'), encoding: 'base64' });
    assert.equal(up.status, 200, `${what}: ${JSON.stringify(up.body.error)}`);
    assert.ok(readFileSync(join(S.vault.path, name)).equals(content), what);
    rmSync(join(S.vault.path, name));
  }
  const probe = await call('smb', 'probe', { ...target, dialect: '3.1.1', cipher: 'AES-256-CCM' });
  assert.equal(probe.body.result.cipher, 'AES-256-CCM');
});

test('SMB encryption not negotiable: the vault share over 2.1 is the server\'s STATUS_ACCESS_DENIED', async () => {
  const r21 = await call('smb', 'list', { ...user, dialect: '2.1', share: S.vault.name });
  assert.equal(r21.body.error.code, 'server_error');
  assert.equal(r21.body.error.detail.statusName, 'STATUS_ACCESS_DENIED');
});

test('SMB mkdir, stat, rename, delete (a non-empty directory is the server\'s STATUS_DIRECTORY_NOT_EMPTY)', async () => {
  const dir = scratchName('dir');
  const share = { ...user, share: S.files.name };
  assert.equal((await call('smb', 'mkdir', { ...share, path: dir })).body.result.created, true);
  const again = await call('smb', 'mkdir', { ...share, path: dir });
  assert.equal(again.body.error.detail.statusName, 'STATUS_OBJECT_NAME_COLLISION');
  await call('smb', 'upload', { ...share, path: `${dir}/a.txt`, content: 'alpha' });
  const st = await call('smb', 'stat', { ...share, path: `${dir}/a.txt` });
  assert.equal(st.body.result.type, 'file');
  assert.equal(st.body.result.size, 5);
  assert.equal(st.body.result.modified, new Date(statSync(join(S.files.path, dir, 'a.txt')).mtimeMs).toISOString().replace(/\.\d+Z$/, st.body.result.modified.slice(19)));
  assert.equal((await call('smb', 'stat', { ...share, path: dir })).body.result.type, 'dir');
  const missing = await call('smb', 'stat', { ...share, path: `${dir}/nope.txt` });
  assert.equal(missing.body.error.detail.statusName, 'STATUS_OBJECT_NAME_NOT_FOUND');
  const mv = await call('smb', 'rename', { ...share, from: `${dir}/a.txt`, to: `${dir}/b.txt` });
  assert.equal(mv.status, 200, JSON.stringify(mv.body));
  assert.ok(existsSync(join(S.files.path, dir, 'b.txt')) && !existsSync(join(S.files.path, dir, 'a.txt')));
  const full = await call('smb', 'delete', { ...share, path: dir });
  assert.equal(full.body.error.detail.statusName, 'STATUS_DIRECTORY_NOT_EMPTY');
  assert.equal((await call('smb', 'delete', { ...share, path: `${dir}/b.txt` })).body.result.type, 'file');
  assert.equal((await call('smb', 'delete', { ...share, path: dir })).body.result.type, 'dir');
  assert.ok(!existsSync(join(S.files.path, dir)));
});

test('SMB streamed: 256 MiB down byte-identical with its size announced, 64 MiB up byte-identical, Range resumes', async () => {
  const share = { ...user, share: S.transfers.name };
  const file = bigFile('smb-256m.bin', 256 * MiB);
  const down = await streamDownload(workerUrl('dev'), 'smb', 'download', { ...share, path: 'smb-256m.bin' });
  assert.equal(down.status, 200, JSON.stringify(down.json));
  assert.equal(down.error, null);
  assert.equal(down.headers.get('content-length'), String(file.size));
  assert.match(down.headers.get('content-disposition') ?? '', /filename="smb-256m\.bin"/);
  assert.equal(down.sha256, file.sha256);
  const half = 100 * MiB + 7;
  const rest = await streamDownload(workerUrl('dev'), 'smb', 'download', { ...share, path: 'smb-256m.bin' }, { range: `bytes=${half}-` });
  assert.equal(rest.status, 206);
  assert.equal(rest.sha256, await sha256File(file.path, half));
  const small = bigFile('smb-64m.bin', 64 * MiB);
  const name = `${scratchName('smb-up')}.bin`;
  const up = await curlUpload(workerUrl('dev'), 'smb', 'upload', { ...share, path: name }, small.path);
  assert.equal(up.status, 200, JSON.stringify(up.body));
  assert.equal(up.body.result.bytes, small.size);
  assert.equal(up.body.result.sizeOnServer, small.size);
  assert.equal(await sha256File(join(transferDir, name)), small.sha256);
  rmSync(join(transferDir, name));
});

test('SMB streamed through an encrypted share: 16 MiB down and up byte-identical', async () => {
  const file = bigFile('smb-vault-16m.bin', 16 * MiB);
  const name = `${scratchName('vault-up')}.bin`;
  const up = await curlUpload(workerUrl('dev'), 'smb', 'upload', { ...user, share: S.vault.name, path: name }, file.path);
  assert.equal(up.status, 200, JSON.stringify(up.body));
  assert.equal(up.body.result.security.encrypted, true);
  assert.equal(await sha256File(join(S.vault.path, name)), file.sha256);
  const down = await streamDownload(workerUrl('dev'), 'smb', 'download', { ...user, share: S.vault.name, path: name });
  assert.equal(down.sha256, file.sha256);
  rmSync(join(S.vault.path, name));
});

test('SMB bad input: paths keep .. as typed (the server refuses to leave the share); a password without a user is refused', async () => {
  const up = await call('smb', 'stat', { ...user, share: S.files.name, path: '../etc/passwd' });
  assert.equal(up.body.error.code, 'server_error');
  assert.match(up.body.error.message, /"\.\.\\\\etc\\\\passwd"/);
  const r = await call('smb', 'list', { ...target, password: 'x', share: S.guest.name });
  assert.equal(r.body.error.code, 'invalid_input');
});
