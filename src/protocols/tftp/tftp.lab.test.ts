// TFTP against tftpd-hpa through the Node host: files read back byte for byte, uploads checked on disk, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ports } from '../../../lab/index.ts';
import { nodeFacts, patternBytes } from '../../../lab/servers/node.ts';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';
import { curlUpload, streamDownload } from '../../../test/files.ts';

const f = nodeFacts.tftp;
const target = { host: '127.0.0.1', port: ports.node.tftp };
const node = useNodeHost();

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const unique = (ext: string) => `${f.uploadDir}/t-${Date.now()}-${randomBytes(3).toString('hex')}.${ext}`;

test('tftp: read a text file with options negotiated (OACK: blksize, tsize, timeout)', async () => {
  const r = await callNode(node, 'tftp', 'read', { ...target, filename: 'hello.txt' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.text, f.files['hello.txt']);
  assert.equal(r.body.result.size, f.files['hello.txt'].length);
  assert.deepEqual(r.body.result.options, { blksize: '1428', tsize: String(f.files['hello.txt'].length), timeout: '1' });
  assert.equal(r.body.result.tsize, f.files['hello.txt'].length);
  assert.notEqual(r.body.result.serverPort, ports.node.tftp, 'the server answers from its own transfer ID');
});

test('tftp: read 100 000 bytes in plain RFC 1350 (512-byte blocks, no options), byte for byte', async () => {
  const [size, seed] = f.binary['pattern-100k.bin'];
  const r = await callNode(node, 'tftp', 'read', { ...target, filename: 'pattern-100k.bin', blksize: 512, tsize: false, waitMs: 500 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const expected = patternBytes(size, seed);
  assert.equal(r.body.result.options, null);
  assert.equal(r.body.result.blksize, 512);
  assert.equal(r.body.result.blocks, Math.floor(size / 512) + 1);
  assert.equal(r.body.result.sha256, sha256(expected));
  assert.deepEqual(new Uint8Array(Buffer.from(r.body.result.base64, 'base64')), expected);
  assert.equal(r.body.result.text, null);
});

test('tftp: a file of exactly two blocks ends with an empty third block (RFC 1350 §6)', async () => {
  const r = await callNode(node, 'tftp', 'read', { ...target, filename: 'exact-1024.bin', blksize: 512 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.blocks, 3);
  assert.equal(r.body.result.sha256, sha256(patternBytes(...f.binary['exact-1024.bin'])));
});

test('tftp: write a binary file, then find it on the server disk and read it back', async () => {
  const name = unique('bin');
  const content = randomBytes(5000);
  const w = await callNode(node, 'tftp', 'write', { ...target, filename: name, base64: content.toString('base64'), blksize: 1024 });
  assert.equal(w.status, 200, JSON.stringify(w.body));
  assert.equal(w.body.result.blocks, 5);
  assert.deepEqual(w.body.result.options, { blksize: '1024', tsize: '5000', timeout: '1' });
  assert.deepEqual(readFileSync(join(f.root, name)), content);
  const r = await callNode(node, 'tftp', 'read', { ...target, filename: name });
  assert.equal(r.body.result.sha256, sha256(content));
});

test('tftp: write an empty file (one empty DATA block) and a netascii text', async () => {
  const empty = unique('txt');
  const w = await callNode(node, 'tftp', 'write', { ...target, filename: empty, data: '', tsize: false, blksize: 512 });
  assert.equal(w.status, 200, JSON.stringify(w.body));
  assert.equal(w.body.result.blocks, 1);
  assert.equal(readFileSync(join(f.root, empty)).length, 0);
  const text = unique('txt');
  const n = await callNode(node, 'tftp', 'write', { ...target, filename: text, mode: 'netascii', data: 'line one\nline two\n' });
  assert.equal(n.status, 200, JSON.stringify(n.body));
  // The server turns netascii CR LF back into its own line ends.
  assert.equal(readFileSync(join(f.root, text), 'utf8'), 'line one\nline two\n');
  const back = await callNode(node, 'tftp', 'read', { ...target, filename: text, mode: 'netascii' });
  assert.equal(back.body.result.text, 'line one\nline two\n');
});

test('tftp: a missing file is server_error with the TFTP code and message', async () => {
  const r = await callNode(node, 'tftp', 'read', { ...target, filename: 'no-such-file.txt' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'server_error');
  assert.equal(r.body.error.message, 'TFTP error 1 (File not found): File not found');
  assert.equal(r.body.error.detail.tftpCode, 1);
  const denied = await callNode(node, 'tftp', 'write', { ...target, filename: 'hello.txt', data: 'overwrite?' });
  assert.equal(denied.status, 502);
  assert.match(denied.body.error.message, /^TFTP error 0 \(Not defined\): Permission denied$/);
  assert.equal(readFileSync(join(f.root, 'hello.txt'), 'utf8'), f.files['hello.txt']);
});

test('tftp: a file over maxBytes is refused before it is read (tsize)', async () => {
  const r = await callNode(node, 'tftp', 'read', { ...target, filename: 'pattern-100k.bin', maxBytes: 1000 });
  assert.equal(r.status, 502);
  assert.match(r.body.error.message, /100000 bytes, more than maxBytes 1000/);
});

test('tftp: no server there — io_timeout after the declared retries', async () => {
  const r = await callNode(node, 'tftp', 'read', { host: '127.0.0.1', port: ports.foundation.closedPort, filename: 'x', retries: 1, waitMs: 200 });
  assert.equal(r.status, 504);
  assert.match(r.body.error.message, /after 2 tries \(1 retry\), 200 ms each/);
});

test('tftp: on workerd both operations are refused — 501 with the reason', async () => {
  for (const op of ['read', 'write']) {
    const r = await call('tftp', op, { ...target, filename: 'hello.txt', ...(op === 'write' ? { data: 'x' } : {}) });
    assert.equal(r.status, 501, op);
    assert.deepEqual(r.body.error.detail.missing, ['udp']);
    assert.match(r.body.error.message, /tftp (read|write) needs udp, which the workers runtime lacks/);
  }
});

// Files as streams through the Node host, against atftpd: windowsize (RFC 7440), which tftpd-hpa lacks.
const atftp = { host: '127.0.0.1', port: ports.node.atftpd };

test('tftp (atftpd): windowsize 16 negotiated, a 3 MB file streams down byte-identical with tsize as its length, and back up', async () => {
  const content = randomBytes(3_000_000);
  const name = `stream-${Date.now()}-${randomBytes(3).toString('hex')}.bin`;
  writeFileSync(join(nodeFacts.atftp.root, name), content, { mode: 0o644 });
  try {
    const down = await streamDownload(node.url, 'tftp', 'read', { ...atftp, filename: name, windowsize: 16 });
    assert.equal(down.status, 200, JSON.stringify(down.json));
    assert.equal(down.error, null);
    assert.equal(down.headers.get('content-length'), String(content.length));
    assert.equal(down.headers.get('x-portolan-tsize'), String(content.length));
    assert.equal(down.sha256, sha256(content));
    const upName = `${nodeFacts.atftp.uploadDir}/${name}`;
    const tmp = join(nodeFacts.atftp.root, `${name}.src`);
    writeFileSync(tmp, content);
    const up = await curlUpload(node.url, 'tftp', 'write', { ...atftp, filename: upName, windowsize: 8, size: content.length }, tmp);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.result.windowsize, 8);
    assert.deepEqual(up.body.result.options, { timeout: '1', blksize: '1428', tsize: String(content.length), windowsize: '8' });
    assert.equal(up.body.result.blocks, Math.floor(content.length / 1428) + 1);
    assert.deepEqual(readFileSync(join(nodeFacts.atftp.root, upName)), content);
    rmSync(tmp);
    rmSync(join(nodeFacts.atftp.root, upName));
  } finally {
    rmSync(join(nodeFacts.atftp.root, name), { force: true });
  }
});

test('tftp (atftpd): windowsize in JSON answers too; a missing file is the server\'s TFTP error before any byte', async () => {
  const r = await callNode(node, 'tftp', 'read', { ...atftp, filename: 'hello.txt', windowsize: 4 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.text, nodeFacts.atftp.files['hello.txt']);
  assert.equal(r.body.result.windowsize, 4);
  const missing = await streamDownload(node.url, 'tftp', 'read', { ...atftp, filename: 'no-such-file.bin' });
  assert.equal(missing.status, 502);
  assert.equal(missing.json.error.code, 'server_error');
  assert.equal(missing.json.error.message, 'TFTP error 1 (File not found): File not found');
});
