// rsh, rexec and rlogin against netkit rsh-server: through the Node host running as root (privileged source
// ports), and through workerd (rexec runs; rsh and rlogin are refused with the reason).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ports } from '../../../lab/index.ts';
import { nodeFacts } from '../../../lab/servers/node.ts';
import { call, workerUrl } from '../../../test/harness.ts';
import { callNode, startNodeHost, type RunningNodeHost } from '../../../test/node-host.ts';

const r = nodeFacts.remote;
const rsh = { host: '127.0.0.1', port: ports.node.rsh, user: r.user, localUser: r.trustedLocalUser };
const rexec = { host: '127.0.0.1', port: ports.node.rexec, user: r.user, password: r.password };
let node: RunningNodeHost;
before(async () => {
  node = await startNodeHost();
});
after(() => node?.stop());

test('rsh: a trusted user runs a command from a privileged port — output, stderr mixed in, exit status', async () => {
  const res = await callNode(node, 'rsh', 'exec', { ...rsh, command: `cat ${r.file}; echo oops >&2; exit 5` });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.result.output, `${r.fileText}oops\n`);
  assert.equal(res.body.result.exitStatus, 5);
  assert.equal(res.body.result.stderrChannel, false);
  assert.ok(res.body.result.sourcePort >= 512 && res.body.result.sourcePort <= 1023, `source port ${res.body.result.sourcePort}`);
});

test('rsh: standard input reaches the command, then end of file', async () => {
  const res = await callNode(node, 'rsh', 'exec', { ...rsh, command: 'tr a-z A-Z; echo done', stdin: 'harbour lights\n' });
  assert.equal(res.body.result.output, 'HARBOUR LIGHTS\ndone\n');
  assert.equal(res.body.result.exitStatus, 0);
});

test('rsh: a local user .rhosts does not list is refused by rshd: auth_failed with its message', async () => {
  const res = await callNode(node, 'rsh', 'exec', { ...rsh, localUser: 'stranger', command: 'id' });
  assert.equal(res.status, 502);
  assert.equal(res.body.error.code, 'auth_failed');
  assert.equal(res.body.error.message, 'server refused: Permission denied.');
});

test('rsh: rshd itself refuses an unprivileged source port — why the capability matters', async () => {
  const answer = await new Promise<Buffer>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: ports.node.rsh });
    const chunks: Buffer[] = [];
    s.on('connect', () => s.write(`0\0${r.trustedLocalUser}\0${r.user}\0id\0`));
    s.on('data', (d) => chunks.push(d));
    s.on('close', () => resolve(Buffer.concat(chunks)));
    // rshd may reset the connection instead of answering: a refusal too.
    s.on('error', () => resolve(Buffer.concat(chunks)));
  });
  assert.ok(!answer.toString().includes('uid='), 'rshd ran a command for an unprivileged port');
  assert.ok(answer.length === 0 || answer[0] === 1, `answer ${answer.toString('hex')}`);
});

test('rsh and rlogin on workerd: 501, privilegedPort missing, with the reason and the alternative', async () => {
  const res = await call('rsh', 'exec', { ...rsh, command: 'id' });
  assert.equal(res.status, 501);
  assert.deepEqual(res.body.error.detail.missing, ['privilegedPort']);
  assert.match(res.body.error.detail.reasons[0], /connect\(\) picks the source port/);
  assert.ok(res.body.error.detail.alternatives.includes('Run the Node host as root.'));
});

test('rexec: password login runs the command on the Node host and on workerd; the password is masked', async () => {
  for (const run of [(i: Record<string, unknown>) => callNode(node, 'rexec', 'exec', i, { transcript: true }), (i: Record<string, unknown>) => call('rexec', 'exec', i, { transcript: true })]) {
    const res = await run({ ...rexec, command: `cat ${r.file}; (exit 2)` });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.result.output, r.fileText);
    assert.equal(res.body.result.exitStatus, 2);
    const json = JSON.stringify(res.body.transcript);
    assert.ok(!json.includes(r.password) && !json.includes(Buffer.from(r.password).toString('hex')), 'password leaked');
    assert.ok(res.body.transcript.entries.some((e: { decode?: string }) => e.decode === `rexec: no stderr channel (0), ${r.user} **** cat ${r.file}; (exit 2)`));
  }
});

test('rexec: a wrong password is auth_failed', async () => {
  const res = await callNode(node, 'rexec', 'exec', { ...rexec, password: 'wrong', command: 'id' });
  assert.equal(res.status, 502);
  assert.equal(res.body.error.code, 'auth_failed');
});

test('rlogin: a terminal over the WebSocket on the Node host — trusted login, window size, exit', async () => {
  const ws = new WebSocket(`${node.url.replace('http', 'ws')}/api/rlogin/login`);
  ws.binaryType = 'arraybuffer';
  let screen = '';
  const control: { type: string; [k: string]: unknown }[] = [];
  ws.addEventListener('message', (e) => {
    if (typeof e.data === 'string') control.push(JSON.parse(e.data));
    else screen += new TextDecoder().decode(e.data as ArrayBuffer);
  });
  await new Promise<void>((res, rej) => {
    ws.addEventListener('open', () => res());
    ws.addEventListener('error', () => rej(new Error('websocket error')));
  });
  const until = async (pred: () => boolean, what: string) => {
    const deadline = Date.now() + 15_000;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`rlogin: no ${what}; screen ${JSON.stringify(screen.slice(-300))} control ${JSON.stringify(control)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  };
  ws.send(JSON.stringify({ type: 'start', input: { host: '127.0.0.1', port: ports.node.rlogin, user: r.user, localUser: r.trustedLocalUser, cols: 90, rows: 33 } }));
  await until(() => /\$ $/.test(screen), 'shell prompt');
  assert.ok(!/Password:/.test(screen), '.rhosts trust: no password asked');
  let at = screen.length;
  ws.send(new TextEncoder().encode('stty size; echo "term=$TERM"\r'));
  await until(() => /term=xterm-256color/.test(screen.slice(at)), 'stty output');
  assert.match(screen.slice(at), /33 90\r\n/);
  ws.send(JSON.stringify({ type: 'resize', cols: 101, rows: 41 }));
  await new Promise((res) => setTimeout(res, 300));
  at = screen.length;
  ws.send(new TextEncoder().encode('stty size\r'));
  await until(() => /41 101\r\n/.test(screen.slice(at)), 'resized pty');
  ws.send(new TextEncoder().encode('exit\r'));
  await until(() => control.some((c) => c.type === 'end'), 'end');
  const end = control.find((c) => c.type === 'end') as unknown as { result: { ended: string; sourcePort: number } };
  assert.equal(end.result.ended, 'server');
  assert.ok(end.result.sourcePort < 1024);
  // The same session on workerd is refused before anything is dialled.
  const w = new WebSocket(`${workerUrl().replace('http', 'ws')}/api/rlogin/login`);
  const refusal = await new Promise<{ type: string; error?: { code: string; detail: { missing: string[] } } }>((res, rej) => {
    w.addEventListener('open', () => w.send(JSON.stringify({ type: 'start', input: { host: '127.0.0.1', port: ports.node.rlogin, user: r.user } })));
    w.addEventListener('message', (e) => res(JSON.parse(String(e.data))));
    w.addEventListener('error', () => rej(new Error('websocket error')));
  });
  assert.equal(refusal.type, 'error');
  assert.equal(refusal.error!.code, 'unsupported_runtime');
  assert.deepEqual(refusal.error!.detail.missing, ['privilegedPort']);
});
