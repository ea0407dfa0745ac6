// FTP session driver against scripted servers (RFC 959 §5.4 sequences): EPSV→PASV fallback, the PASV address choice, 421, ACCT, transfer failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromUtf8 } from '../../core/bytes.ts';
import { PortolanError } from '../../core/errors.ts';
import { runOperation } from '../../core/runner.ts';
import { memoryHost, pipe, type Pipe } from '../../../test/memory.ts';
import ftp from './index.ts';

/** A control connection whose replies are queued up front: FTP answers every command in order. */
function control(replies: string[]): Pipe {
  const p = pipe();
  p.push(replies.map((r) => `${r}\r\n`).join(''));
  return p;
}

function data(bytes: string): Pipe {
  const p = pipe();
  if (bytes) p.push(bytes);
  p.end();
  return p;
}

function commands(p: Pipe): string[] {
  return p.written.map((b) => fromUtf8(b).trimEnd());
}

const login = ['220 scripted', '211-Features:\r\n EPSV\r\n211 End', '331 Password please', '230 Logged in'];

async function failure(promise: Promise<unknown>): Promise<PortolanError> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof PortolanError, String(e));
    return e;
  }
  assert.fail('expected a failure');
}

test('EPSV refused (502): PASV fallback, to the address PASV names', async () => {
  const ctl = control([...login, '257 "/" is cwd', '200 Type set to A', '502 EPSV not implemented', '227 Entering Passive Mode (198,51,100,7,117,48)', '150 Here it comes', '226 Done', '221 Bye']);
  const env = memoryHost([ctl, data('-rw-r--r-- 1 a b 5 Jan  1  2024 x.txt\r\n')]);
  const answer = await runOperation(env, ftp, ftp.operations.list, { host: '203.0.113.9', user: 'u', password: 'p' });
  const result = answer.result as { entries: { name: string; size: number }[]; transfer: { via: string; dataHost: string; dataPort: number } };
  assert.deepEqual(result.entries.map((e) => [e.name, e.size]), [['x.txt', 5]]);
  assert.deepEqual([result.transfer.via, result.transfer.dataHost, result.transfer.dataPort], ['PASV', '198.51.100.7', 30000]);
  assert.equal(env.dials[1].host, '198.51.100.7');
  assert.deepEqual(commands(ctl), ['FEAT', 'USER u', 'PASS p', 'PWD', 'TYPE A', 'EPSV', 'PASV', 'LIST', 'QUIT']);
});

test("pasvAddress control: the data connection goes to the control connection's host", async () => {
  const ctl = control([...login, '257 "/" is cwd', '200 Type set to A', '227 Entering Passive Mode (10,0,0,5,117,48)', '150 Here it comes', '226 Done', '221 Bye']);
  const env = memoryHost([ctl, data('')]);
  const answer = await runOperation(env, ftp, ftp.operations.list, { host: '203.0.113.9', passive: 'pasv', pasvAddress: 'control' }, { transcript: true });
  assert.equal(env.dials[1].host, '203.0.113.9');
  assert.equal(env.dials[1].port, 30000);
  assert.ok(JSON.stringify(answer.transcript).includes("PASV named 10.0.0.5; connecting to the control connection's host 203.0.113.9 instead"));
});

test('passive epsv: a refused EPSV is a server_error, not a silent PASV', async () => {
  const ctl = control([...login, '257 "/" is cwd', '200 Type set to A', '502 EPSV not implemented']);
  const err = await failure(runOperation(memoryHost([ctl]), ftp, ftp.operations.list, { host: '203.0.113.9', passive: 'epsv' }));
  assert.equal(err.code, 'server_error');
  assert.equal(err.message, 'EPSV: 502 EPSV not implemented');
});

test('421 at any point: server_error with the text', async () => {
  const err = await failure(runOperation(memoryHost([control(['421 Too many users, try later'])]), ftp, ftp.operations.login, { host: '203.0.113.9' }));
  assert.equal(err.code, 'server_error');
  assert.match(err.message, /421 Too many users, try later/);
});

test('332: ACCT is sent when an account is given, auth_failed when not', async () => {
  const ctl = control(['220 scripted', '500 FEAT?', '331 Password please', '332 Need account', '230 Logged in', '257 "/home" is cwd', '215 UNIX Type: L8', '221 Bye']);
  const answer = await runOperation(memoryHost([ctl]), ftp, ftp.operations.login, { host: '203.0.113.9', user: 'u', password: 'p', account: 'acct1' }, { transcript: true });
  assert.equal((answer.result as { cwd: string }).cwd, '/home');
  assert.deepEqual(commands(ctl).slice(0, 4), ['FEAT', 'USER u', 'PASS p', 'ACCT acct1']);
  assert.ok(!JSON.stringify(answer.transcript).includes(Buffer.from('acct1').toString('hex')), 'account in the transcript');
  const err = await failure(runOperation(memoryHost([control(['220 scripted', '500 FEAT?', '331 Password please', '332 Need account'])]), ftp, ftp.operations.login, { host: '203.0.113.9', user: 'u', password: 'p' }));
  assert.equal(err.code, 'auth_failed');
});

test('a transfer the server aborts (451 after 150): server_error with code and text', async () => {
  const ctl = control([...login, '200 Type set to I', '229 Entering Extended Passive Mode (|||30001|)', '150 Opening', '451 Local error in processing']);
  const err = await failure(runOperation(memoryHost([ctl, data('12345')]), ftp, ftp.operations.download, { host: '203.0.113.9', path: 'f.bin' }));
  assert.equal(err.code, 'server_error');
  assert.equal(err.detail?.code, 451);
  assert.equal(err.message, 'RETR f.bin: 451 Local error in processing');
});

test('a garbled reply is a protocol_error', async () => {
  const err = await failure(runOperation(memoryHost([control(['SSH-2.0-OpenSSH_9.2'])]), ftp, ftp.operations.probe, { host: '203.0.113.9' }));
  assert.equal(err.code, 'protocol_error');
});
