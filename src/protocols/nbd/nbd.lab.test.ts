// nbd-server 3.24 (lab area blocks) through workerd's API: the export list, an export's size and flags, a 32 MiB
// export streamed byte-identical, a range, a resume, writes (inline and streamed) read back, FUA, FLUSH, TRIM,
// refusals in the server's words, and a TLS-only server read after NBD_OPT_STARTTLS with a client certificate.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { blockPattern, blocksFacts } from '../../../lab/servers/blocks.ts';
import { curlUpload, ensureTransferDir, MiB, streamDownload } from '../../../test/files.ts';
import { call, workerUrl } from '../../../test/harness.ts';

const target = { host: '127.0.0.1', port: ports.blocks.nbd };
const tlsTarget = { host: 'localhost', port: ports.blocks.nbdTls };
const N = blocksFacts.nbd;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const harbour = blockPattern(N.harbour.size, N.harbour.seed);

before(() => ensureLab(['blocks']));

test('nbd: the fixed newstyle handshake, NBD_OPT_LIST, an export\'s size and flags by GO (and INFO, which 3.24 answers with size 0)', async () => {
  const list = await call('nbd', 'exports', target);
  assert.equal(list.status, 200, JSON.stringify(list.body));
  assert.deepEqual(list.body.result.greeting, { style: 'newstyle', fixedNewstyle: true, noZeroes: true });
  assert.deepEqual(list.body.result.exports.map((e: { name: string }) => e.name).sort(), [N.harbour.name, N.scratch.name]);
  const ro = await call('nbd', 'info', { ...target, export: N.harbour.name });
  assert.equal(ro.status, 200, JSON.stringify(ro.body));
  assert.equal(ro.body.result.export.size, N.harbour.size);
  assert.equal(ro.body.result.export.readOnly, true);
  assert.equal(ro.body.result.structuredReplies, false, 'nbd-server 3.24 refuses NBD_OPT_STRUCTURED_REPLY');
  const rw = await call('nbd', 'info', { ...target, export: N.scratch.name });
  assert.equal(rw.body.result.export.size, N.scratch.size);
  assert.equal(rw.body.result.export.readOnly, false);
  for (const flag of ['sendFlush', 'sendFua', 'sendTrim']) assert.ok(rw.body.result.export.flagNames.includes(flag), flag);
  const viaInfo = await call('nbd', 'info', { ...target, export: N.scratch.name, using: 'info' });
  assert.equal(viaInfo.status, 200, JSON.stringify(viaInfo.body));
  assert.deepEqual([viaInfo.body.result.export.size, viaInfo.body.result.export.flags], [0, rw.body.result.export.flags]);
  const unknown = await call('nbd', 'info', { ...target, export: 'no-such-export' });
  assert.equal(unknown.body.error.code, 'server_error');
  assert.match(unknown.body.error.message, /NBD_OPT_GO: NBD_REP_ERR_UNKNOWN \(Export unknown\)/);
});

test('nbd READ: a range in JSON, the whole 32 MiB export streamed byte-identical, a resume, a Range past the end', async () => {
  const range = await call('nbd', 'read', { ...target, export: N.harbour.name, offset: 1_000_001, length: 70_000 });
  assert.equal(range.status, 200, JSON.stringify(range.body));
  assert.equal(range.body.result.sha256, sha256(harbour.subarray(1_000_001, 1_070_001)));
  assert.deepEqual(Buffer.from(range.body.result.base64, 'base64'), harbour.subarray(1_000_001, 1_070_001));
  const tooBig = await call('nbd', 'read', { ...target, export: N.harbour.name });
  assert.equal(tooBig.body.error.code, 'invalid_input');
  assert.match(tooBig.body.error.message, /^length: .*8 MiB/);
  const whole = await streamDownload(workerUrl('dev'), 'nbd', 'read', { ...target, export: N.harbour.name });
  assert.equal(whole.status, 200, JSON.stringify(whole.json));
  assert.equal(whole.error, null);
  assert.equal(whole.headers.get('content-length'), String(N.harbour.size));
  assert.match(whole.headers.get('content-disposition') ?? '', /harbour\.img/);
  assert.equal(whole.sha256, sha256(harbour));
  const half = 16 * MiB + 77;
  const rest = await streamDownload(workerUrl('dev'), 'nbd', 'read', { ...target, export: N.harbour.name }, { range: `bytes=${half}-` });
  assert.equal(rest.status, 206, JSON.stringify(rest.json));
  assert.equal(rest.headers.get('content-range'), `bytes ${half}-${N.harbour.size - 1}/${N.harbour.size}`);
  assert.equal(rest.sha256, sha256(harbour.subarray(half)));
  const past = await streamDownload(workerUrl('dev'), 'nbd', 'read', { ...target, export: N.harbour.name }, { range: `bytes=${N.harbour.size}-` });
  assert.equal(past.status, 416);
  assert.equal(past.headers.get('content-range'), `bytes */${N.harbour.size}`);
  const beyond = await call('nbd', 'read', { ...target, export: N.harbour.name, offset: N.harbour.size - 10, length: 11 });
  assert.equal(beyond.body.error.code, 'invalid_input');
  assert.match(beyond.body.error.message, /^length: /);
});

test('nbd with structured replies (nbdkit): offered, agreed, and a range and the whole export read byte-identical through them', async () => {
  const kit = { host: '127.0.0.1', port: ports.blocks.nbdkit, export: N.harbour.name };
  const info = await call('nbd', 'info', kit);
  assert.equal(info.status, 200, JSON.stringify(info.body));
  assert.equal(info.body.result.structuredReplies, true);
  assert.equal(info.body.result.export.size, N.harbour.size);
  const range = await call('nbd', 'read', { ...kit, offset: 12_345, length: 200_000 });
  assert.equal(range.body.result.structuredReplies, true);
  assert.equal(range.body.result.sha256, sha256(harbour.subarray(12_345, 212_345)));
  const whole = await streamDownload(workerUrl('dev'), 'nbd', 'read', kit);
  assert.equal(whole.status, 200, JSON.stringify(whole.json));
  assert.equal(whole.sha256, sha256(harbour));
  const simple = await call('nbd', 'read', { ...kit, offset: 12_345, length: 200_000, structured: false });
  assert.deepEqual([simple.body.result.structuredReplies, simple.body.result.sha256], [false, range.body.result.sha256]);
});

test('nbd WRITE: inline with FUA and FLUSH, a 3 MiB streamed upload, each read back; TRIM; a read-only export and the end refuse', async () => {
  const scratch = { ...target, export: N.scratch.name };
  const small = randomBytes(4096 + 17);
  const w = await call('nbd', 'write', { ...scratch, offset: 512, content: small.toString('base64'), fua: true });
  assert.equal(w.status, 200, JSON.stringify(w.body));
  assert.deepEqual([w.body.result.bytes, w.body.result.fua, w.body.result.flushed], [small.length, true, true]);
  const back = await call('nbd', 'read', { ...scratch, offset: 512, length: small.length });
  assert.deepEqual(Buffer.from(back.body.result.base64, 'base64'), small);
  const file = join(ensureTransferDir(), `nbd-upload-${process.pid}.bin`);
  const big = randomBytes(3 * MiB + 5);
  writeFileSync(file, big);
  try {
    const up = await curlUpload(workerUrl('dev'), 'nbd', 'write', { ...scratch, offset: 4096 }, file);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.result.bytes, big.length);
  } finally {
    rmSync(file);
  }
  const down = await streamDownload(workerUrl('dev'), 'nbd', 'read', { ...scratch, offset: 4096, length: big.length });
  assert.equal(down.status, 206, JSON.stringify(down.json));
  assert.equal(down.headers.get('content-length'), String(big.length));
  assert.equal(down.headers.get('x-portolan-export-size'), String(N.scratch.size));
  assert.equal(down.sha256, sha256(big));
  const flush = await call('nbd', 'flush', scratch);
  assert.deepEqual(flush.body.result, { export: N.scratch.name, flushed: true });
  const trim = await call('nbd', 'trim', { ...scratch, offset: 0, length: 4096 });
  assert.equal(trim.status, 200, JSON.stringify(trim.body));
  const ro = await call('nbd', 'write', { ...target, export: N.harbour.name, content: 'aGk=' });
  assert.equal(ro.body.error.code, 'server_error');
  assert.match(ro.body.error.message, /read-only/);
  const end = await call('nbd', 'write', { ...scratch, offset: N.scratch.size - 1, content: 'aGk=' });
  assert.equal(end.body.error.code, 'server_error');
  assert.match(end.body.error.message, /pass the end of the export/);
});

test('nbd TLS: a force_tls server refuses options in its own words; after NBD_OPT_STARTTLS with a client certificate it serves; without one it closes', async () => {
  const plain = await call('nbd', 'exports', tlsTarget);
  assert.equal(plain.body.error.code, 'server_error');
  assert.match(plain.body.error.message, /NBD_OPT_LIST: NBD_REP_ERR_TLS_REQD \(TLS is required on this server\)/);
  const clientCertificate = { certPem: readFileSync(N.clientCertPath, 'utf8'), keyPem: readFileSync(N.clientKeyPath, 'utf8') };
  const list = await call('nbd', 'exports', { ...tlsTarget, tls: 'starttls', clientCertificate }, { transcript: true });
  assert.equal(list.status, 200, JSON.stringify(list.body));
  assert.deepEqual(list.body.result.exports.map((e: { name: string }) => e.name), [N.vault.name]);
  const notes = list.body.transcript.entries.map((e: { decode?: string }) => e.decode ?? '').join('\n');
  assert.match(notes, /NBD_OPT_STARTTLS/);
  assert.match(notes, /TLS established/);
  const vault = blockPattern(N.vault.size, N.vault.seed);
  const read = await streamDownload(workerUrl('dev'), 'nbd', 'read', { ...tlsTarget, tls: 'starttls', clientCertificate, export: N.vault.name });
  assert.equal(read.status, 200, JSON.stringify(read.json));
  assert.equal(read.sha256, sha256(vault));
  const noCert = await call('nbd', 'exports', { ...tlsTarget, tls: 'starttls' });
  assert.equal(noCert.body.error.code, 'closed', JSON.stringify(noCert.body));
});
