// FTP features beyond the basics, against the lab's ProFTPD (MLSx facts, mod_digest HASH/X* digests, UTF8) and
// vsftpd, through workerd's HTTP API; active mode (EPRT/PORT) on the Node host, refused on Workers with the reason.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { ports } from '../../../lab/index.ts';
import { ftpFacts } from '../../../lab/servers/ftp.ts';
import { call, workerUrl } from '../../../test/harness.ts';
import { callNode, startNodeHost, type RunningNodeHost } from '../../../test/node-host.ts';

const vsftpd = { host: '127.0.0.1', port: ports.ftp.ftp };
const proftpd = { host: '127.0.0.1', port: ports.ftp.ftpProftpd };
const user = { user: ftpFacts.user, password: ftpFacts.password };
const run = randomBytes(4).toString('hex');

let node: RunningNodeHost | undefined;
before(async () => {
  node = await startNodeHost();
});
after(() => node?.stop());

const hex = (algorithm: string, bytes: Buffer) => createHash(algorithm).update(bytes).digest('hex');

async function upload(target: object, path: string, content: Buffer): Promise<void> {
  const up = await call('ftp', 'upload', { ...target, ...user, path, content: content.toString('base64') });
  assert.equal(up.status, 200, JSON.stringify(up.body));
}

async function remove(target: object, path: string): Promise<void> {
  const del = await call('ftp', 'delete', { ...target, ...user, path });
  assert.equal(del.status, 200, JSON.stringify(del.body));
}

test('ProFTPD MLSD: type, size, modify, perm and unique facts per entry; MLST agrees', async () => {
  const path = `facts-${run}.bin`;
  const content = randomBytes(4321);
  await upload(proftpd, path, content);
  const dir = `facts-dir-${run}`;
  const mk = await call('ftp', 'mkdir', { ...proftpd, ...user, path: dir });
  assert.equal(mk.status, 200, JSON.stringify(mk.body));
  const { status, body } = await call('ftp', 'list', { ...proftpd, ...user });
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.result.method, 'MLSD');
  const file = body.result.entries.find((e: { name: string }) => e.name === path);
  assert.equal(file.type, 'file');
  assert.equal(file.size, 4321);
  // The lab user owns the file: append, delete, rename, retrieve, store (RFC 3659 §7.5.5).
  assert.equal(file.perm, 'adfrw');
  assert.match(file.unique, /^[0-9A-F]+U[0-9A-F]+$/i);
  assert.match(file.modified, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  const sub = body.result.entries.find((e: { name: string }) => e.name === dir);
  assert.equal(sub.type, 'dir');
  assert.equal(sub.perm, 'flcdmpe');
  assert.notEqual(sub.unique, file.unique);
  const st = await call('ftp', 'stat', { ...proftpd, ...user, path });
  assert.equal(st.body.result.facts.unique.toLowerCase(), file.unique.toLowerCase());
  assert.equal(st.body.result.facts.perm, 'adfrw');
  await remove(proftpd, path);
  assert.equal((await call('ftp', 'rmdir', { ...proftpd, ...user, path: dir })).status, 200);
});

test('UTF8 from FEAT: OPTS UTF8 ON is sent and a non-ASCII name round-trips (ProFTPD and vsftpd)', async () => {
  for (const target of [proftpd, vsftpd]) {
    const path = `ünïcödé ⚓ ${run}.txt`;
    await upload(target, path, Buffer.from('utf8 name\n'));
    const { body } = await call('ftp', 'list', { ...target, ...user }, { transcript: true });
    assert.ok(body.result.entries.some((e: { name: string }) => e.name === path), `${path} not listed`);
    const sent = JSON.stringify(body.transcript);
    assert.ok(sent.includes('OPTS UTF8 ON'), 'OPTS UTF8 ON not sent');
    await remove(target, path);
    const off = await call('ftp', 'login', { ...target, ...user, utf8: false }, { transcript: true });
    assert.ok(!JSON.stringify(off.body.transcript).includes('OPTS UTF8'), 'OPTS UTF8 sent with utf8 false');
  }
});

test('ProFTPD mod_digest: a download is checked against HASH SHA-256 (after OPTS HASH), byte for byte', async () => {
  const path = `digest-${run}.bin`;
  const content = randomBytes(300_000);
  await upload(proftpd, path, content);
  const { status, body } = await call('ftp', 'download', { ...proftpd, ...user, path }, { transcript: true });
  assert.equal(status, 200, JSON.stringify(body));
  assert.ok(Buffer.from(body.result.contentBase64, 'base64').equals(content));
  const v = body.result.verification;
  assert.equal(v.command, 'HASH SHA-256');
  assert.equal(v.server, hex('sha256', content));
  assert.equal(v.local, v.server);
  assert.equal(v.match, true);
  assert.match(v.reply, new RegExp(`SHA-256 0-300000 ${v.server} ${path}$`));
  const sent = JSON.stringify(body.transcript);
  // ProFTPD selects SHA-1 by default (FEAT: SHA-1*): SHA-256 is chosen first.
  assert.ok(sent.includes('OPTS HASH SHA-256'), 'OPTS HASH SHA-256 not sent');
  // Each of mod_digest's older commands, asked for by name, answers in its own words and agrees.
  for (const [command, algorithm, node] of [['XSHA256', 'SHA-256', 'sha256'], ['XSHA512', 'SHA-512', 'sha512'], ['XSHA1', 'SHA-1', 'sha1'], ['XMD5', 'MD5', 'md5'], ['XCRC', 'CRC32', null]] as const) {
    const x = await call('ftp', 'download', { ...proftpd, ...user, path, digestCommand: command });
    const got = x.body.result?.verification;
    assert.equal(got?.command, command, JSON.stringify(x.body));
    assert.equal(got.algorithm, algorithm);
    assert.equal(got.match, true, `${command}: server ${got.server}, local ${got.local}`);
    if (node) assert.equal(got.server, hex(node, content));
    assert.match(got.reply, new RegExp(`^250 Computing ${algorithm.replace("-", "")} digest / [0-9A-F]+$`));
  }
  // A partial download (offset) and verify off are not checked, and say why.
  const part = await call('ftp', 'download', { ...proftpd, ...user, path, offset: 1000 });
  assert.equal(part.body.result.verification, null);
  assert.match(part.body.result.verificationNote, /starts at 1000/);
  const cut = await call('ftp', 'download', { ...proftpd, ...user, path, maxBytes: 1000 });
  assert.equal(cut.body.result.verification, null);
  assert.match(cut.body.result.verificationNote, /cut at maxBytes/);
  await remove(proftpd, path);
});

test('a download streamed over the WebSocket transfer is checked too: the end result carries the verification', async () => {
  const path = `digest-ws-${run}.bin`;
  const content = randomBytes(600_000);
  await upload(proftpd, path, content);
  const ws = new WebSocket(`${workerUrl().replace(/^http/, 'ws')}/api/ftp/download`);
  ws.binaryType = 'arraybuffer';
  const parts: Buffer[] = [];
  const end = new Promise<any>((resolve, reject) => {
    ws.addEventListener('message', (e) => {
      if (typeof e.data !== 'string') {
        parts.push(Buffer.from(e.data as ArrayBuffer));
        ws.send(JSON.stringify({ type: 'ack', bytes: (e.data as ArrayBuffer).byteLength }));
        return;
      }
      const msg = JSON.parse(e.data);
      if (msg.type === 'end' || msg.type === 'error') resolve(msg);
    });
    ws.addEventListener('error', () => reject(new Error('websocket error')));
  });
  await new Promise((r, j) => (ws.addEventListener('open', r), ws.addEventListener('error', j)));
  ws.send(JSON.stringify({ type: 'start', input: { ...proftpd, ...user, path } }));
  const msg = await end;
  assert.equal(msg.type, 'end', JSON.stringify(msg));
  assert.ok(Buffer.concat(parts).equals(content), 'the streamed bytes are the file');
  assert.equal(msg.result.contentBase64, null);
  assert.equal(msg.result.verification.command, 'HASH SHA-256');
  assert.equal(msg.result.verification.server, hex('sha256', content));
  assert.equal(msg.result.verification.match, true);
  ws.close();
  await remove(proftpd, path);
});

test('vsftpd has no digest command: the download says so', async () => {
  const path = `nodigest-${run}.txt`;
  await upload(vsftpd, path, Buffer.from('no digest here\n'));
  const { body } = await call('ftp', 'download', { ...vsftpd, ...user, path });
  assert.equal(body.result.verification, null);
  assert.match(body.result.verificationNote, /offers none of HASH, XSHA256/);
  await remove(vsftpd, path);
});

test('active mode on the Node host: EPRT with ProFTPD and vsftpd, upload, list and download byte-identical', async () => {
  for (const target of [proftpd, vsftpd]) {
    const path = `active-${run}.bin`;
    const content = randomBytes(200_000);
    const up = await callNode(node!, 'ftp', 'upload', { ...target, ...user, path, content: content.toString('base64'), dataConnection: 'active' });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.result.transfer.via, 'EPRT');
    assert.equal(up.body.result.transfer.dataHost, '127.0.0.1');
    const ls = await callNode(node!, 'ftp', 'list', { ...target, ...user, dataConnection: 'active' });
    assert.equal(ls.body.result.transfer.via, 'EPRT');
    assert.ok(ls.body.result.entries.some((e: { name: string }) => e.name === path));
    const down = await callNode(node!, 'ftp', 'download', { ...target, ...user, path, dataConnection: 'active' }, { transcript: true });
    assert.equal(down.status, 200, JSON.stringify(down.body));
    assert.ok(Buffer.from(down.body.result.contentBase64, 'base64').equals(content));
    assert.ok(JSON.stringify(down.body.transcript).includes(`EPRT |1|127.0.0.1|${down.body.result.transfer.dataPort}|`));
    // PORT (RFC 959) when asked for: h1,h2,h3,h4,p1,p2.
    const port = await callNode(node!, 'ftp', 'list', { ...target, ...user, dataConnection: 'active', activeCommand: 'port' }, { transcript: true });
    assert.equal(port.body.result?.transfer.via, 'PORT', JSON.stringify(port.body));
    const p = port.body.result.transfer.dataPort;
    assert.ok(JSON.stringify(port.body.transcript).includes(`PORT 127,0,0,1,${p >> 8},${p & 0xff}`));
    assert.ok(port.body.result.entries.some((e: { name: string }) => e.name === path));
    await remove(target, path);
  }
});

test('active mode over AUTH TLS on the Node host: PROT P data connection accepted and encrypted', async () => {
  const path = `active-tls-${run}.bin`;
  const content = randomBytes(50_000);
  const tls = { ...vsftpd, tls: 'starttls', ...user, dataConnection: 'active' };
  const up = await callNode(node!, 'ftp', 'upload', { ...tls, path, content: content.toString('base64') });
  assert.equal(up.status, 200, JSON.stringify(up.body));
  assert.equal(up.body.result.transfer.dataTls, true);
  const down = await callNode(node!, 'ftp', 'download', { ...tls, path });
  assert.ok(Buffer.from(down.body.result.contentBase64, 'base64').equals(content));
  assert.equal(down.body.result.transfer.via, 'EPRT');
  await remove(vsftpd, path);
});

test('active mode on Workers is 501 unsupported_runtime with the reason, before any connection', async () => {
  const { status, body } = await call('ftp', 'list', { ...proftpd, ...user, dataConnection: 'active' }, { transcript: true });
  assert.equal(status, 501, JSON.stringify(body));
  assert.equal(body.error.code, 'unsupported_runtime');
  assert.match(body.error.message, /active mode \(EPRT\/PORT\) needs a host that accepts the server's data connection/);
  assert.match(body.error.message, /cannot accept inbound connections/);
  assert.ok(!JSON.stringify(body.transcript ?? []).includes('220'), 'a connection was made');
});
