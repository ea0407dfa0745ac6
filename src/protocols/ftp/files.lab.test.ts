// FTP and FTPS files of any size through workerd's API: a 1 GiB file each way byte-identical (SHA-256), FTPS
// (AUTH TLS and implicit) with 64 MiB each way, resume from the middle (REST), a data connection the server
// drops never passing as a complete download, a client that stops reading, errors before any byte.
import assert from 'node:assert/strict';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { ftpFacts } from '../../../lab/servers/ftp.ts';
import { bigFile, bytesRead, curlUpload, GiB, MiB, processesWithOpen, scratchName, sha256File, streamDownload, transferDir } from '../../../test/files.ts';
import { workerUrl } from '../../../test/harness.ts';

const ftp = { host: '127.0.0.1', port: ports.ftp.ftp, user: ftpFacts.user, password: ftpFacts.password };
const url = () => workerUrl('dev');

before(() => ensureLab(['ftp']));

test('FTP: a 1 GiB file streams down byte-identical with its size announced, and back up byte-identical', async () => {
  const file = bigFile('ftp-1g.bin', GiB);
  const down = await streamDownload(url(), 'ftp', 'download', { ...ftp, path: file.path });
  assert.equal(down.status, 200, JSON.stringify(down.json));
  assert.equal(down.error, null);
  assert.equal(down.headers.get('content-length'), String(GiB));
  assert.equal(down.headers.get('x-portolan-size'), String(GiB));
  assert.match(down.headers.get('content-disposition') ?? '', /^attachment; filename="ftp-1g\.bin"$/);
  assert.equal(down.bytes, GiB);
  assert.equal(down.sha256, file.sha256);
  const target = join(transferDir, `${scratchName('ftp-up')}.bin`);
  try {
    const up = await curlUpload(url(), 'ftp', 'upload', { ...ftp, path: target }, file.path);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.result.bytes, GiB);
    assert.equal(up.body.result.sizeOnServer, GiB);
    assert.equal(up.body.result.sha256, null);
    assert.equal(await sha256File(target), file.sha256);
  } finally {
    rmSync(target, { force: true });
  }
});

for (const [mode, extra] of [
  ['AUTH TLS', { tls: 'starttls' }],
  ['implicit TLS', { tls: 'implicit', port: ports.ftp.ftpsImplicit }],
] as const) {
  test(`FTPS (${mode}, PROT P): 64 MiB down and up byte-identical`, async () => {
    const file = bigFile('ftps-64m.bin', 64 * MiB);
    const down = await streamDownload(url(), 'ftp', 'download', { ...ftp, ...extra, path: file.path });
    assert.equal(down.status, 200, JSON.stringify(down.json));
    assert.equal(down.error, null);
    assert.equal(down.sha256, file.sha256);
    const target = join(transferDir, `${scratchName('ftps-up')}.bin`);
    try {
      const up = await curlUpload(url(), 'ftp', 'upload', { ...ftp, ...extra, path: target }, file.path);
      assert.equal(up.status, 200, JSON.stringify(up.body));
      assert.equal(up.body.result.transfer.dataTls, true);
      assert.equal(up.body.result.sizeOnServer, 64 * MiB);
      assert.equal(await sha256File(target), file.sha256);
    } finally {
      rmSync(target, { force: true });
    }
  });
}

test('FTP: Range resumes from the middle (REST): 206 with Content-Range, the second half byte-identical; past the end is 416', async () => {
  const file = bigFile('ftp-resume.bin', 24 * MiB + 5);
  const half = 12 * MiB + 3;
  const rest = await streamDownload(url(), 'ftp', 'download', { ...ftp, path: file.path }, { range: `bytes=${half}-` });
  assert.equal(rest.status, 206, JSON.stringify(rest.json));
  assert.equal(rest.headers.get('content-range'), `bytes ${half}-${file.size - 1}/${file.size}`);
  assert.equal(rest.headers.get('content-length'), String(file.size - half));
  assert.equal(rest.bytes, file.size - half);
  assert.equal(rest.sha256, await sha256File(file.path, half));
  const past = await streamDownload(url(), 'ftp', 'download', { ...ftp, path: file.path }, { range: `bytes=${file.size}-` });
  assert.equal(past.status, 416);
  assert.equal(past.headers.get('content-range'), `bytes */${file.size}`);
  assert.equal(past.json.error.code, 'invalid_input');
});

test('FTP: the server dropping the transfer mid-file is never a complete download: a short body after the announced length', async () => {
  const file = bigFile('ftp-cut.bin', 256 * MiB);
  let killed: number[] = [];
  const down = await streamDownload(url(), 'ftp', 'download', { ...ftp, path: file.path }, {
    onBytes: (n) => {
      if (n < 8 * MiB || killed.length > 0) return;
      // The vsftpd session serving this file (it has the file open) dies: its connections close under the transfer.
      killed = processesWithOpen(file.path);
      for (const pid of killed) process.kill(pid, 'SIGKILL');
    },
  });
  assert.ok(killed.length > 0, 'found the vsftpd session serving the file');
  assert.equal(down.status, 200);
  assert.equal(down.headers.get('content-length'), String(file.size));
  assert.ok(down.bytes < file.size, `got ${down.bytes} of ${file.size}`);
  assert.notEqual(down.error, null, 'the body ends in an error, not a clean end');
});

test('FTP: a client that stops reading pauses the transfer (the server stops reading the file), and the deadline still ends it', async () => {
  const file = bigFile('ftp-slow.bin', 512 * MiB);
  const res = await fetch(`${url()}/api/ftp/download`, { method: 'POST', headers: { accept: 'application/octet-stream' }, body: JSON.stringify({ ...ftp, path: file.path, timeoutMs: 8000 }) });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  let got = 0;
  while (got < 4 * MiB) got += (await reader.read()).value!.length;
  await new Promise((r) => setTimeout(r, 1500));
  const [pid] = processesWithOpen(file.path);
  assert.ok(pid, 'the vsftpd session is still there');
  const a = bytesRead(pid)!;
  await new Promise((r) => setTimeout(r, 2500));
  const b = bytesRead(pid)!;
  assert.ok(b - a < MiB, `the server read ${b - a} bytes of the file while the client read none`);
  assert.ok(b < 128 * MiB, `the server read ${b} bytes ahead of a client that took ${got}`);
  // Reading again: the deadline (8 s) has cut the transfer; the body ends short, in an error.
  await new Promise((r) => setTimeout(r, 5000));
  let error: unknown = null;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      got += r.value.length;
    }
  } catch (e) {
    error = e;
  }
  assert.ok(got < file.size, `got ${got} of ${file.size}`);
  assert.notEqual(error, null, 'a body cut by the deadline ends in an error');
});

test('FTP: a missing file is a JSON server_error naming the path before any byte; a file the server may not read, its own words', async () => {
  const missing = await streamDownload(url(), 'ftp', 'download', { ...ftp, path: '/tmp/portolan-lab/transfers/no such file.bin' });
  assert.equal(missing.status, 502);
  assert.equal(missing.json.error.code, 'server_error');
  assert.match(missing.json.error.message, /no such file\.bin: 550/);
  const secret = join(transferDir, `${scratchName('secret')}.bin`);
  writeFileSync(secret, 'not yours\n');
  chmodSync(secret, 0o600);
  try {
    const denied = await streamDownload(url(), 'ftp', 'download', { ...ftp, path: secret });
    assert.equal(denied.status, 502);
    assert.equal(denied.json.error.detail.code, 550);
    assert.equal(denied.json.error.detail.reply, 'Failed to open file.');
  } finally {
    rmSync(secret, { force: true });
  }
});
