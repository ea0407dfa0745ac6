import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, openSession } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { servicesFacts } from '../../../lab/servers/services-b.ts';

const facts = servicesFacts.jupyter;
const target = { host: '127.0.0.1', port: ports['services-b'].jupyter, token: facts.token };
/** The second server: HTTPS with the lab certificate, a password login instead of a token. */
const secure = { host: '127.0.0.1', port: ports['services-b'].jupyterTls, tls: 'implicit', password: servicesFacts.jupyterTls.password };

test('jupyter: status, kernel specs and contents with the token; the token stays out of the transcript', async () => {
  const s = await call('jupyter', 'status', target, { transcript: true });
  assert.equal(s.status, 200, JSON.stringify(s.body));
  assert.equal(s.body.result.version, '1.23.3');
  assert.ok(Date.parse(s.body.result.started) <= Date.now());
  const transcript = JSON.stringify(s.body.transcript);
  assert.ok(!transcript.includes(facts.token) && !transcript.includes(Buffer.from(facts.token).toString('hex')), 'token in the transcript');
  const request = s.body.transcript.entries.find((e: { decode?: string }) => (e.decode ?? '').startsWith('GET /api/status HTTP/1.1'));
  assert.ok(request && request.hex === undefined, 'the request head with the token is kept out of the transcript');
  const k = await call('jupyter', 'kernelspecs', target);
  assert.equal(k.body.result.default, 'python3');
  assert.deepEqual(k.body.result.kernelspecs.find((x: { name: string }) => x.name === 'python3'), { name: 'python3', displayName: 'Python 3 (ipykernel)', language: 'python' });
  const dir = await call('jupyter', 'contents', { ...target, path: facts.notebookDir });
  assert.deepEqual(dir.body.result.entries.map((e: { path: string; type: string }) => [e.path, e.type]), [[facts.file, 'file']]);
  const file = await call('jupyter', 'contents', { ...target, path: facts.file });
  assert.equal(file.body.result.text, facts.fileText);
  const sessions = await call('jupyter', 'sessions', target);
  assert.ok(Array.isArray(sessions.body.result.sessions));
});

test('jupyter: a wrong or missing token is auth_failed in the server\'s words; a missing file its 404; a big answer a protocol error', async () => {
  const wrong = await call('jupyter', 'kernels', { ...target, token: 'wrong' });
  assert.equal(wrong.status, 502);
  assert.equal(wrong.body.error.code, 'auth_failed');
  assert.match(wrong.body.error.message, /HTTP 403 Forbidden/);
  const none = await call('jupyter', 'kernels', { host: target.host, port: target.port });
  assert.equal(none.body.error.code, 'auth_failed');
  const missing = await call('jupyter', 'contents', { ...target, path: 'harbour/nope.txt' });
  assert.equal(missing.body.error.code, 'server_error');
  assert.match(missing.body.error.message, /404 file or directory does not exist/);
  // The listing of the harbour directory is about 600 bytes: a 1 KiB cap passes it, a bigger file is refused unread.
  const fits = await call('jupyter', 'contents', { ...target, path: facts.notebookDir, maxResponseBytes: 1024 });
  assert.equal(fits.status, 200, JSON.stringify(fits.body));
  const big = await call('jupyter', 'contents', { ...target, path: facts.bigFile, maxResponseBytes: 64 * 1024 });
  assert.equal(big.status, 502);
  assert.equal(big.body.error.code, 'protocol_error');
  assert.match(big.body.error.message, /larger than 65536 bytes/);
});

test('jupyter: execute starts a kernel, returns stdout, stderr and the result in order, and shuts the kernel down', async () => {
  const r = await call('jupyter', 'execute', { ...target, code: "import sys\nprint('hello harbour')\nprint('low tide', file=sys.stderr)\nsum(range(10))", timeoutMs: 60_000 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.status, 'ok');
  assert.equal(r.body.result.stdout, 'hello harbour\n');
  assert.equal(r.body.result.stderr, 'low tide\n');
  assert.deepEqual(r.body.result.outputs.map((o: { type: string }) => o.type), ['stream', 'stream', 'result']);
  assert.equal(r.body.result.outputs[2].data['text/plain'], '45');
  const kernels = await call('jupyter', 'kernels', target);
  assert.ok(!kernels.body.result.kernels.some((k: { id: string }) => k.id === r.body.result.kernel.id), 'the kernel was shut down');
});

test('jupyter: an exception comes back as an error output with its traceback', async () => {
  const r = await call('jupyter', 'execute', { ...target, code: "ships = {}\nships['Pinta']", timeoutMs: 60_000 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.status, 'error');
  const err = r.body.result.outputs.find((o: { type: string }) => o.type === 'error');
  assert.equal(err.ename, 'KeyError');
  assert.equal(err.evalue, "'Pinta'");
  assert.ok(err.traceback.some((l: string) => l.includes("----> 2 ships['Pinta']")), err.traceback.join('\n'));
  assert.ok(!err.traceback.join('').includes('\u001b['), 'ANSI colours stripped');
});

test('jupyter: a run session keeps one kernel across cells and streams each output', async () => {
  const s = await openSession('jupyter', 'run', target);
  const { kernel } = await s.next((m) => m.type === 'kernel', 30_000);
  const running = await call('jupyter', 'kernels', target);
  assert.ok(running.body.result.kernels.some((k: { id: string }) => k.id === kernel.id));
  s.send({ type: 'execute', code: 'import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.2)\nharbour = 41' });
  const first = await s.next((m) => m.type === 'output' && m.output.type === 'stream', 30_000);
  assert.equal(first.output.text, '0\n');
  await s.next((m) => m.type === 'done' && m.cell === 1, 30_000);
  s.send({ type: 'execute', code: 'harbour + 1' });
  const result = await s.next((m) => m.type === 'output' && m.cell === 2 && m.output.type === 'result', 30_000);
  assert.equal(result.output.data['text/plain'], '42');
  const done = await s.next((m) => m.type === 'done' && m.cell === 2);
  assert.equal(done.status, 'ok');
  s.close();
  await s.done;
});

test('jupyter over TLS with a password: the browser\'s login (XSRF cookie, session cookie), then the API and a kernel; the password stays masked', async () => {
  const s = await call('jupyter', 'status', secure, { transcript: true });
  assert.equal(s.status, 200, JSON.stringify(s.body));
  assert.equal(s.body.result.version, '1.23.3');
  assert.ok(s.body.timing.loginMs > 0);
  const transcript = JSON.stringify(s.body.transcript);
  assert.ok(!transcript.includes(secure.password) && !transcript.includes(Buffer.from(secure.password).toString('hex')), 'password in the transcript');
  const file = await call('jupyter', 'contents', { ...secure, path: facts.file });
  assert.equal(file.body.result.text, facts.fileText);
  const x = await call('jupyter', 'execute', { ...secure, code: 'print(6 * 7)', timeoutMs: 60_000 });
  assert.equal(x.status, 200, JSON.stringify(x.body));
  assert.equal(x.body.result.stdout, '42\n');
  const wrong = await call('jupyter', 'status', { ...secure, password: 'wrong' });
  assert.equal(wrong.body.error.code, 'auth_failed');
  assert.match(wrong.body.error.message, /Invalid credentials/);
  const plain = await call('jupyter', 'status', { ...secure, tls: 'off', timeoutMs: 3000 });
  assert.ok(['protocol_error', 'closed', 'server_error'].includes(plain.body.error.code), JSON.stringify(plain.body));
});
