// SFTP and SCP files of any size through workerd's API: a 1 GiB file each way over SFTP byte-identical
// (SHA-256), 64 MiB each way over SCP, resume from the middle (SFTP offset), a session the server drops
// never passing as a complete download, errors before any byte in the server's words.
import assert from 'node:assert/strict';
import { chmodSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ensureLab } from '../../../lab/index.ts';
import { sshFacts } from '../../../lab/servers/ssh.ts';
import { bigFile, curlUpload, GiB, MiB, processesWithOpen, scratchName, sha256File, streamDownload, transferDir } from '../../../test/files.ts';
import { workerUrl } from '../../../test/harness.ts';

const ssh = { host: '127.0.0.1', port: sshFacts.port, username: sshFacts.users.password.user, password: sshFacts.users.password.password };
const url = () => workerUrl('dev');

before(() => ensureLab(['ssh']));

test('SFTP: a 1 GiB file streams down byte-identical with its size announced, and back up byte-identical', async () => {
  const file = bigFile('sftp-1g.bin', GiB);
  const down = await streamDownload(url(), 'ssh', 'sftp-get', { ...ssh, path: file.path });
  assert.equal(down.status, 200, JSON.stringify(down.json));
  assert.equal(down.error, null);
  assert.equal(down.headers.get('content-length'), String(GiB));
  assert.equal(down.headers.get('x-portolan-mode'), '0644');
  assert.equal(down.sha256, file.sha256);
  const target = join(transferDir, `${scratchName('sftp-up')}.bin`);
  try {
    const up = await curlUpload(url(), 'ssh', 'sftp-put', { ...ssh, path: target }, file.path);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.result.bytes, GiB);
    assert.equal(up.body.result.size, GiB);
    assert.equal(await sha256File(target), file.sha256);
  } finally {
    rmSync(target, { force: true });
  }
});

test('SCP: 64 MiB down (scp -f) and up (scp -t) byte-identical; the size the C record announces is the Content-Length', async () => {
  const file = bigFile('scp-64m.bin', 64 * MiB);
  const down = await streamDownload(url(), 'ssh', 'scp-get', { ...ssh, path: file.path });
  assert.equal(down.status, 200, JSON.stringify(down.json));
  assert.equal(down.error, null);
  assert.equal(down.headers.get('content-length'), String(64 * MiB));
  assert.equal(down.sha256, file.sha256);
  const target = join(transferDir, `${scratchName('scp up')}.bin`);
  try {
    const up = await curlUpload(url(), 'ssh', 'scp-put', { ...ssh, path: target, size: 64 * MiB, mode: '0640' }, file.path);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.result.bytes, 64 * MiB);
    assert.equal(await sha256File(target), file.sha256);
    assert.equal(statSync(target).mode & 0o777, 0o640);
    // A streamed scp upload must know its size first; a wrong one fails.
    const short = await curlUpload(url(), 'ssh', 'scp-put', { ...ssh, path: target, size: 64 * MiB + 1 }, file.path);
    assert.equal(short.status, 400);
    assert.match(short.body.error.message, /size: the file ended after 67108864 of the 67108865 bytes announced/);
  } finally {
    rmSync(target, { force: true });
  }
});

test('SFTP: Range resumes from the middle (READ at an offset): 206, the rest byte-identical; SCP cannot resume and answers the whole file', async () => {
  const file = bigFile('sftp-resume.bin', 10 * MiB + 7);
  const half = 5 * MiB + 1;
  const rest = await streamDownload(url(), 'ssh', 'sftp-get', { ...ssh, path: file.path }, { range: `bytes=${half}-` });
  assert.equal(rest.status, 206, JSON.stringify(rest.json));
  assert.equal(rest.headers.get('content-range'), `bytes ${half}-${file.size - 1}/${file.size}`);
  assert.equal(rest.sha256, await sha256File(file.path, half));
  const whole = await streamDownload(url(), 'ssh', 'scp-get', { ...ssh, path: file.path }, { range: `bytes=${half}-` });
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get('accept-ranges'), null);
  assert.equal(whole.sha256, file.sha256);
});

test('SFTP and SCP: the server dropping the session mid-file is never a complete download', async () => {
  for (const op of ['sftp-get', 'scp-get']) {
    const file = bigFile(`${op}-cut.bin`, 256 * MiB);
    let killed: number[] = [];
    const down = await streamDownload(url(), 'ssh', op, { ...ssh, path: file.path }, {
      onBytes: (n) => {
        if (n < 8 * MiB || killed.length > 0) return;
        // The process reading the file (sshd's session with internal-sftp, or scp) dies under the transfer.
        killed = processesWithOpen(file.path);
        for (const pid of killed) process.kill(pid, 'SIGKILL');
      },
    });
    assert.ok(killed.length > 0, `${op}: found the server process reading the file`);
    assert.equal(down.status, 200);
    assert.ok(down.bytes < file.size, `${op}: got ${down.bytes} of ${file.size}`);
    assert.notEqual(down.error, null, `${op}: the body ends in an error, not a clean end`);
  }
});

test('SFTP and SCP: a missing path and a permission error answer JSON before any byte, in the server\'s words', async () => {
  const missing = '/tmp/portolan-lab/transfers/no such file.bin';
  const sftp = await streamDownload(url(), 'ssh', 'sftp-get', { ...ssh, path: missing });
  assert.equal(sftp.status, 502);
  assert.equal(sftp.json.error.code, 'server_error');
  assert.equal(sftp.json.error.message, `${missing}: No such file`);
  assert.equal(sftp.json.error.detail.status, 'NO_SUCH_FILE');
  const scp = await streamDownload(url(), 'ssh', 'scp-get', { ...ssh, path: missing });
  assert.equal(scp.status, 502);
  assert.equal(scp.json.error.message, `scp: ${missing}: No such file or directory`);
  const secret = join(transferDir, `${scratchName('secret')}.bin`);
  writeFileSync(secret, 'not yours\n');
  chmodSync(secret, 0o600);
  try {
    const denied = await streamDownload(url(), 'ssh', 'sftp-get', { ...ssh, path: secret });
    assert.equal(denied.json.error.message, `${secret}: Permission denied`);
    const deniedScp = await streamDownload(url(), 'ssh', 'scp-get', { ...ssh, path: secret });
    assert.equal(deniedScp.json.error.message, `scp: ${secret}: Permission denied`);
    const upload = await curlUpload(url(), 'ssh', 'sftp-put', { ...ssh, path: '/etc/portolan-denied.bin' }, '/etc/hostname');
    assert.equal(upload.status, 502);
    assert.equal(upload.body.error.message, '/etc/portolan-denied.bin: Permission denied');
  } finally {
    rmSync(secret, { force: true });
  }
});
