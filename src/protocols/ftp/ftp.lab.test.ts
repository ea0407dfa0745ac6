// FTP against vsftpd from the lab, through the HTTP API of workerd: every TLS mode, both passive commands, the file browser operations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { ftpFacts } from '../../../lab/servers/ftp.ts';

const plain = { host: '127.0.0.1', port: ports.ftp.ftp };
const implicit = { host: '127.0.0.1', port: ports.ftp.ftpsImplicit, tls: 'implicit' };
const nat = { host: '127.0.0.1', port: ports.ftp.ftpNatPasv };
const proftpd = { host: '127.0.0.1', port: ports.ftp.ftpProftpd };
const user = { user: ftpFacts.user, password: ftpFacts.password };
const run = randomBytes(4).toString('hex');

const modes = [
  { name: 'plain', target: plain },
  { name: 'explicit FTPS (AUTH TLS)', target: { ...plain, tls: 'starttls' } },
  { name: 'implicit FTPS', target: implicit },
] as const;

interface Entry {
  name: string;
  type: string;
  size: number | null;
  modified: string | null;
  permissions?: string;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Deletes a file and checks it is gone. After a large answer, the test client's kept-alive HTTP connection
 * is sometimes closed by the dev server just as the next request goes out ('fetch failed', seen on a loaded
 * machine): that one request is sent again.
 */
async function removeFile(target: object, path: string): Promise<void> {
  let r;
  try {
    r = await call('ftp', 'delete', { ...target, ...user, path });
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    r = await call('ftp', 'delete', { ...target, ...user, path });
  }
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const { entries } = await list(target);
  assert.ok(!entries.some((e) => e.name === path), `${path} still listed`);
}

async function list(target: object, path?: string, extra: object = {}): Promise<{ entries: Entry[]; body: any }> {
  const r = await call('ftp', 'list', { ...target, ...user, ...(path ? { path } : {}), ...extra });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return { entries: r.body.result.entries, body: r.body };
}

test('ftp probe: banner, FEAT with AUTH TLS and UTF8, no TLS', async () => {
  const r = await call('ftp', 'probe', plain);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.banner, ftpFacts.banner);
  assert.equal(r.body.result.authTlsOffered, true);
  assert.equal(r.body.result.tlsActive, false);
  for (const feature of ['AUTH TLS', 'EPSV', 'PASV', 'SIZE', 'MDTM', 'REST STREAM', 'UTF8']) assert.ok(r.body.result.features.includes(feature), `FEAT lacks ${feature}`);
  // vsftpd answers SYST only after login.
  assert.equal(r.body.result.system, null);
});

test('ftp probe over AUTH TLS and implicit TLS: the same server behind the lab certificate', async () => {
  const explicit = await call('ftp', 'probe', { ...plain, tls: 'starttls' });
  assert.equal(explicit.status, 200, JSON.stringify(explicit.body));
  assert.equal(explicit.body.result.tlsActive, true);
  assert.ok(explicit.body.result.featuresBeforeTls.includes('AUTH TLS'));
  assert.ok(explicit.body.result.features.includes('PROT'));
  const imp = await call('ftp', 'probe', implicit);
  assert.equal(imp.status, 200, JSON.stringify(imp.body));
  assert.equal(imp.body.result.tlsActive, true);
  assert.equal(imp.body.result.banner, ftpFacts.banner);
});

test('ftp anonymous: list the read-only tree, sizes and names parsed from LIST', async () => {
  const r = await call('ftp', 'list', plain);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const { cwd, method, format, entries, unparsed } = r.body.result;
  assert.equal(cwd, '/');
  assert.equal(method, 'LIST');
  assert.equal(format, 'unix');
  assert.deepEqual(unparsed, []);
  const welcome = entries.find((e: Entry) => e.name === 'welcome.txt');
  assert.equal(welcome.type, 'file');
  assert.equal(welcome.size, Buffer.byteLength(ftpFacts.anonymous.files['welcome.txt']));
  assert.equal(welcome.permissions, 'rw-r--r--');
  assert.match(welcome.modified, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/);
  assert.equal(entries.find((e: Entry) => e.name === 'pub').type, 'dir');
  const pub = await call('ftp', 'list', { ...plain, path: 'pub' });
  const chart = pub.body.result.entries.find((e: Entry) => e.name === 'harbour chart.txt');
  assert.equal(pub.body.result.cwd, '/pub');
  assert.equal(chart.size, Buffer.byteLength(ftpFacts.anonymous.files['pub/harbour chart.txt']));
});

test('ftp anonymous: download files with known content, a name with a space', async () => {
  for (const [path, text] of Object.entries(ftpFacts.anonymous.files)) {
    const r = await call('ftp', 'download', { ...plain, path });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(Buffer.from(r.body.result.contentBase64, 'base64').toString('utf8'), text);
    assert.equal(r.body.result.size, Buffer.byteLength(text));
    assert.equal(r.body.result.sha256, sha256(Buffer.from(text)));
    assert.equal(r.body.result.truncated, false);
  }
});

test('ftp anonymous upload is refused: server_error with the 550 and the server text', async () => {
  const r = await call('ftp', 'upload', { ...plain, path: `anon-${run}.txt`, content: 'nope', encoding: 'utf8' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'server_error');
  assert.equal(r.body.error.detail.code, 550);
  assert.match(r.body.error.message, /550 Permission denied/);
});

test('ftp wrong password: auth_failed with the server reply', async () => {
  const r = await call('ftp', 'login', { ...plain, user: ftpFacts.user, password: 'not-the-password' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'auth_failed');
  assert.match(r.body.error.message, /530 Login incorrect/);
  assert.equal(r.body.error.detail.code, 530);
});

test('ftp a missing file: server_error with code 550 and the text', async () => {
  const r = await call('ftp', 'download', { ...plain, ...user, path: `missing-${run}.bin` });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'server_error');
  assert.equal(r.body.error.detail.code, 550);
  assert.match(r.body.error.message, /RETR missing-.*: 550 Failed to open file/);
});

test('ftp login: welcome, home directory, system type; the password never reaches the transcript', async () => {
  const r = await call('ftp', 'login', { ...plain, ...user }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.match(r.body.result.welcome, /^230 /);
  assert.equal(r.body.result.cwd, ftpFacts.home);
  assert.match(r.body.result.system, /UNIX/);
  const wire = JSON.stringify(r.body.transcript);
  assert.ok(wire.includes('PASS ****'));
  assert.ok(!wire.includes(ftpFacts.password), 'password in the transcript text');
  assert.ok(!wire.includes(Buffer.from(ftpFacts.password).toString('hex')), 'password in the transcript hex');
});

for (const mode of modes) {
  test(`ftp ${mode.name}: upload, list, download byte-identical, rename, delete (UTF-8 name with spaces)`, async () => {
    const name = `Ünïcödé harbour ⚓ ${run} ${mode.name.split(' ')[0]}.bin`;
    const renamed = `renamed ${name}`;
    const content = randomBytes(300_000);
    const up = await call('ftp', 'upload', { ...mode.target, ...user, path: name, content: content.toString('base64') });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.result.sizeOnServer, content.length);
    assert.equal(up.body.result.sha256, sha256(content));
    assert.equal(up.body.result.transfer.dataTls, mode.target !== plain);
    const { entries } = await list(mode.target);
    assert.equal(entries.find((e) => e.name === name)?.size, content.length, `listing lacks ${name}`);
    const down = await call('ftp', 'download', { ...mode.target, ...user, path: name });
    assert.equal(down.status, 200, JSON.stringify(down.body));
    assert.ok(Buffer.from(down.body.result.contentBase64, 'base64').equals(content), 'downloaded bytes differ');
    assert.equal(down.body.result.transfer.dataTls, mode.target !== plain);
    const mv = await call('ftp', 'rename', { ...mode.target, ...user, from: name, to: renamed });
    assert.equal(mv.status, 200, JSON.stringify(mv.body));
    const after = (await list(mode.target)).entries.map((e) => e.name);
    assert.ok(after.includes(renamed) && !after.includes(name));
    const del = await call('ftp', 'delete', { ...mode.target, ...user, path: renamed });
    assert.equal(del.status, 200, JSON.stringify(del.body));
    assert.ok(!(await list(mode.target)).entries.some((e) => e.name === renamed));
  });
}

test('ftp 8 MiB in JSON: uploaded in parts (STOR, APPE, REST+STOR), downloaded whole and byte-identical; past the JSON cap, a clear error', async () => {
  const size = 8 * 1024 * 1024;
  const content = randomBytes(size);
  const path = `large ${run}.bin`;
  // The API takes at most 1 MiB of JSON per request: 720 KiB of file per call.
  const part = 720 * 1024;
  const u0 = performance.now();
  for (let at = 0, n = 0; at < size; at += part, n++) {
    const piece = content.subarray(at, at + part);
    const mode = at === 0 ? { mode: 'replace' } : n % 2 === 1 ? { mode: 'append' } : { mode: 'resume', offset: at };
    const r = await call('ftp', 'upload', { ...plain, ...user, path, content: piece.toString('base64'), ...mode, timeoutMs: 60_000 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.result.sizeOnServer, Math.min(size, at + part));
  }
  const uploadMs = performance.now() - u0;
  const t0 = performance.now();
  const over = await call('ftp', 'download', { ...plain, ...user, path, maxBytes: size + 1 });
  assert.equal(over.status, 400);
  assert.match(JSON.stringify(over.body), /maxBytes must be at most 8388608 \(8 MiB\): stream larger files/);
  const down = await call('ftp', 'download', { ...plain, ...user, path, maxBytes: size, timeoutMs: 120_000 });
  const wallMs = performance.now() - t0;
  assert.equal(down.status, 200, JSON.stringify(down.body).slice(0, 2000));
  const got = Buffer.from(down.body.result.contentBase64, 'base64');
  assert.equal(got.length, size);
  assert.ok(got.equals(content), '8 MiB download differs');
  assert.equal(down.body.result.sha256, sha256(content));
  console.log(
    `ftp 8 MiB in JSON: data connection ${down.body.result.transfer.mibPerSecond} MiB/s (${down.body.result.transfer.ms} ms), ` +
      `whole API call ${(8 / (wallMs / 1000)).toFixed(2)} MiB/s (${wallMs.toFixed(0)} ms); upload in ${Math.ceil(size / part)} API calls ${(8 / (uploadMs / 1000)).toFixed(2)} MiB/s`,
  );
  // A part from the middle: REST offset, capped length.
  const mid = await call('ftp', 'download', { ...plain, ...user, path, offset: 5 * 1024 * 1024, maxBytes: 65536 });
  assert.equal(mid.body.result.truncated, true);
  assert.ok(Buffer.from(mid.body.result.contentBase64, 'base64').equals(content.subarray(5 * 1024 * 1024, 5 * 1024 * 1024 + 65536)));
  await removeFile(plain, path);
});

test('ftp 8 MiB through TLS: uploaded in parts over AUTH TLS, downloaded whole over implicit FTPS, byte-identical', async () => {
  const size = 8 * 1024 * 1024;
  const content = randomBytes(size);
  const path = `large-tls ${run}.bin`;
  const part = 720 * 1024;
  for (let at = 0; at < size; at += part) {
    const piece = content.subarray(at, at + part);
    const r = await call('ftp', 'upload', { ...plain, tls: 'starttls', ...user, path, content: piece.toString('base64'), mode: at === 0 ? 'replace' : 'append' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.result.transfer.dataTls, true);
    assert.equal(r.body.result.sizeOnServer, at + piece.length);
  }
  const t0 = performance.now();
  const down = await call('ftp', 'download', { ...implicit, ...user, path, maxBytes: size, timeoutMs: 120_000 });
  const wallMs = performance.now() - t0;
  assert.equal(down.status, 200, JSON.stringify(down.body).slice(0, 2000));
  assert.equal(down.body.result.transfer.dataTls, true);
  assert.ok(Buffer.from(down.body.result.contentBase64, 'base64').equals(content), '8 MiB TLS download differs');
  console.log(`ftp 8 MiB implicit FTPS in JSON: data connection ${down.body.result.transfer.mibPerSecond} MiB/s, whole API call ${(8 / (wallMs / 1000)).toFixed(2)} MiB/s`);
  await removeFile(plain, path);
});

test('ftp TYPE A: LF goes out as CRLF and comes back as LF', async () => {
  const path = `ascii ${run}.txt`;
  const up = await call('ftp', 'upload', { ...plain, ...user, path, content: 'one\ntwo\n', encoding: 'utf8', type: 'ascii' });
  assert.equal(up.status, 200, JSON.stringify(up.body));
  assert.equal(up.body.result.transfer.wireBytes, 10);
  // vsftpd stores the Unix form (ascii_upload_enable): 8 bytes.
  assert.equal(up.body.result.sizeOnServer, 8);
  const bin = await call('ftp', 'download', { ...plain, ...user, path });
  assert.equal(Buffer.from(bin.body.result.contentBase64, 'base64').toString(), 'one\ntwo\n');
  assert.equal(bin.body.result.transfer.wireBytes, 8);
  const ascii = await call('ftp', 'download', { ...plain, ...user, path, type: 'ascii' });
  assert.equal(Buffer.from(ascii.body.result.contentBase64, 'base64').toString(), 'one\ntwo\n');
  assert.equal(ascii.body.result.transfer.wireBytes, 10);
  await call('ftp', 'delete', { ...plain, ...user, path });
});

test('ftp mkdir, chmod, stat, rmdir', async () => {
  const dir = `dir ${run} ä`;
  const mk = await call('ftp', 'mkdir', { ...plain, ...user, path: dir });
  assert.equal(mk.status, 200, JSON.stringify(mk.body));
  assert.equal(mk.body.result.created, `${ftpFacts.home}/${dir}`);
  const file = `${dir}/note.txt`;
  const up = await call('ftp', 'upload', { ...plain, ...user, path: file, content: 'a note\n', encoding: 'utf8' });
  assert.equal(up.status, 200, JSON.stringify(up.body));
  const ch = await call('ftp', 'chmod', { ...plain, ...user, path: file, mode: '600' });
  assert.equal(ch.status, 200, JSON.stringify(ch.body));
  const inside = await list(plain, dir);
  assert.equal(inside.body.result.cwd, `${ftpFacts.home}/${dir}`);
  assert.equal(inside.entries.find((e) => e.name === 'note.txt')?.permissions, 'rw-------');
  const st = await call('ftp', 'stat', { ...plain, ...user, path: file });
  assert.equal(st.status, 200, JSON.stringify(st.body));
  assert.equal(st.body.result.type, 'file');
  assert.equal(st.body.result.size, 7);
  assert.match(st.body.result.modified, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  assert.ok(Math.abs(Date.parse(st.body.result.modified) - Date.now()) < 120_000, `MDTM ${st.body.result.modified} is not about now`);
  const sd = await call('ftp', 'stat', { ...plain, ...user, path: dir });
  assert.equal(sd.body.result.type, 'dir');
  // A directory that is not empty cannot be removed: the server's 550.
  const busy = await call('ftp', 'rmdir', { ...plain, ...user, path: dir });
  assert.equal(busy.body.error.code, 'server_error');
  assert.equal(busy.body.error.detail.code, 550);
  await call('ftp', 'delete', { ...plain, ...user, path: file });
  const rm = await call('ftp', 'rmdir', { ...plain, ...user, path: dir });
  assert.equal(rm.status, 200, JSON.stringify(rm.body));
  assert.ok(!(await list(plain)).entries.some((e) => e.name === dir));
});

test('ftp PASV: used when asked, and NLST lists names', async () => {
  const r = await call('ftp', 'list', { ...plain, passive: 'pasv', method: 'nlst' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.transfer.via, 'PASV');
  assert.equal(r.body.result.method, 'NLST');
  assert.deepEqual(r.body.result.entries.map((e: Entry) => e.name).sort(), ['pub', 'welcome.txt']);
});

test('ftp PASV naming a private address: target_blocked, unless the control address is chosen', async () => {
  const blocked = await call('ftp', 'list', { ...nat, passive: 'pasv' });
  assert.equal(blocked.status, 403, JSON.stringify(blocked.body));
  assert.equal(blocked.body.error.code, 'target_blocked');
  assert.match(blocked.body.error.message, new RegExp(`second hop: ${ftpFacts.natPasvAddress.replace(/\./g, '\\.')} is in 10\\.0\\.0\\.0/8`));
  const viaControl = await call('ftp', 'list', { ...nat, passive: 'pasv', pasvAddress: 'control' });
  assert.equal(viaControl.status, 200, JSON.stringify(viaControl.body));
  assert.equal(viaControl.body.result.transfer.dataHost, '127.0.0.1');
  assert.ok(viaControl.body.result.entries.some((e: Entry) => e.name === 'welcome.txt'));
  // EPSV names no address at all: the default (auto) never sees the private one.
  const epsv = await call('ftp', 'list', nat);
  assert.equal(epsv.status, 200, JSON.stringify(epsv.body));
  assert.equal(epsv.body.result.transfer.via, 'EPSV');
});

test('ftp ProFTPD: MLSD listing with facts, MLST stat, upload and download byte-identical', async () => {
  const probe = await call('ftp', 'probe', proftpd);
  assert.match(probe.body.result.banner, new RegExp(ftpFacts.proftpdName));
  assert.ok(probe.body.result.features.some((f: string) => f.startsWith('MLST ')));
  const path = `mlsd ${run} ⚓.bin`;
  const content = randomBytes(100_000);
  const up = await call('ftp', 'upload', { ...proftpd, ...user, path, content: content.toString('base64') });
  assert.equal(up.status, 200, JSON.stringify(up.body));
  assert.equal(up.body.result.sizeOnServer, content.length);
  const { body } = await list(proftpd);
  assert.equal(body.result.method, 'MLSD');
  assert.equal(body.result.format, 'mlsd');
  assert.equal(body.result.cwd, ftpFacts.home);
  const entry = body.result.entries.find((e: Entry) => e.name === path);
  assert.equal(entry.type, 'file');
  assert.equal(entry.size, content.length);
  assert.equal(entry.facts['unix.ownername'], ftpFacts.user);
  assert.equal(entry.permissions, '0644');
  assert.ok(Math.abs(Date.parse(entry.modified) - Date.now()) < 120_000, `modify ${entry.modified} is not about now`);
  assert.ok(!body.result.entries.some((e: Entry) => e.name === '.' || e.name === '..'), 'cdir/pdir listed');
  const st = await call('ftp', 'stat', { ...proftpd, ...user, path });
  assert.equal(st.body.result.via, 'MLST');
  assert.equal(st.body.result.size, content.length);
  assert.equal(st.body.result.modified, entry.modified);
  const unix = await call('ftp', 'list', { ...proftpd, ...user, method: 'list' });
  assert.equal(unix.body.result.format, 'unix');
  assert.equal(unix.body.result.entries.find((e: Entry) => e.name === path)?.size, content.length);
  const down = await call('ftp', 'download', { ...proftpd, ...user, path });
  assert.ok(Buffer.from(down.body.result.contentBase64, 'base64').equals(content));
  const del = await call('ftp', 'delete', { ...proftpd, ...user, path });
  assert.equal(del.status, 200, JSON.stringify(del.body));
});

test('ftp input limits: maxBytes above the cap and CR/LF in a path are invalid_input', async () => {
  const big = await call('ftp', 'download', { ...plain, path: 'welcome.txt', maxBytes: 9 * 1024 * 1024 });
  assert.equal(big.status, 400);
  assert.match(big.body.error.message, /maxBytes must be at most 8388608/);
  const crlf = await call('ftp', 'delete', { ...plain, ...user, path: 'x\r\nDELE .profile' });
  assert.equal(crlf.status, 400);
  assert.match(crlf.body.error.message, /path must not contain CR, LF or NUL/);
  const partial = await call('ftp', 'download', { ...plain, path: 'welcome.txt', maxBytes: 7 });
  assert.equal(partial.body.result.truncated, true);
  assert.equal(Buffer.from(partial.body.result.contentBase64, 'base64').toString(), ftpFacts.anonymous.files['welcome.txt'].slice(0, 7));
});
