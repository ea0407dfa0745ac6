// rsh, rexec and rlogin against netkit rsh-server: through the Node host running as root (privileged source
// ports; standard error on the connection the server opens back), and through workerd (rexec execMerged runs; the
// rest are refused with the reason).
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

type Entry = { dir: string; conn: number; hex?: string; decode?: string };
const hexOf = (text: string) => Buffer.from(text).toString('hex');
/** The connection ids whose received bytes contain `text`. */
const connsReceiving = (entries: Entry[], text: string) => [...new Set(entries.filter((e) => e.dir === 'in' && e.hex?.includes(hexOf(text))).map((e) => e.conn))];

const BOTH = 'echo out; echo err >&2; exit 3';

/** Runs BOTH with `exec` through the Node host and checks standard output, standard error and the status apart. */
async function execBoth(protocol: 'rsh' | 'rexec', target: Record<string, unknown>) {
  const res = await callNode(node, protocol, 'exec', { ...target, command: BOTH }, { transcript: true });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const x = res.body.result;
  assert.equal(x.stdout, 'out\n');
  assert.equal(x.stderr, 'err\n');
  assert.equal(x.exitStatus, 3);
  return { x, entries: res.body.transcript.entries as Entry[] };
}

test('rsh exec: standard output, standard error on the connection rshd opens back, exit status — each apart', async () => {
  const { x, entries } = await execBoth('rsh', rsh);
  assert.ok(x.sourcePort >= 512 && x.sourcePort <= 1023, `source port ${x.sourcePort}`);
  // rshd refuses an unreserved second port, and connects back from one itself (rresvport).
  assert.ok(x.stderrChannel.listenPort >= 512 && x.stderrChannel.listenPort <= 1023, `listen port ${x.stderrChannel.listenPort}`);
  assert.ok(x.stderrChannel.serverPort >= 512 && x.stderrChannel.serverPort <= 1023, `server port ${x.stderrChannel.serverPort}`);
  // The transcript keeps both channels: "out" on the first connection, "err" on the one accepted back.
  assert.ok(entries.some((e) => e.decode === `rsh: standard error to port ${x.stderrChannel.listenPort}, ${r.trustedLocalUser} as ${r.user}: ${BOTH}`));
  const outConns = connsReceiving(entries, 'out\n');
  const errConns = connsReceiving(entries, 'err\n');
  assert.equal(outConns.length, 1);
  assert.equal(errConns.length, 1);
  assert.notEqual(outConns[0], errConns[0]);
  assert.ok(entries.some((e) => e.conn === errConns[0] && e.decode === `accepted standard error from 127.0.0.1:${x.stderrChannel.serverPort} on port ${x.stderrChannel.listenPort}`));
});

test('rsh execMerged: no second connection ("0"), standard error mixed into the output, exit status', async () => {
  const res = await callNode(node, 'rsh', 'execMerged', { ...rsh, command: `cat ${r.file}; echo oops >&2; exit 5` });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.result.stdout, `${r.fileText}oops\n`);
  assert.equal(res.body.result.stderr, null);
  assert.equal(res.body.result.stderrChannel, null);
  assert.equal(res.body.result.exitStatus, 5);
});

test('rsh: standard input reaches the command, then end of file', async () => {
  const res = await callNode(node, 'rsh', 'exec', { ...rsh, command: 'tr a-z A-Z; echo done', stdin: 'harbour lights\n' });
  assert.equal(res.body.result.stdout, 'HARBOUR LIGHTS\ndone\n');
  assert.equal(res.body.result.stderr, '');
  assert.equal(res.body.result.exitStatus, 0);
});

test('rsh: a local user .rhosts does not list is refused by rshd: auth_failed with its message', async () => {
  const res = await callNode(node, 'rsh', 'exec', { ...rsh, localUser: 'stranger', command: 'id' });
  assert.equal(res.status, 502);
  assert.equal(res.body.error.code, 'auth_failed');
  assert.equal(res.body.error.message, 'server refused: Permission denied.');
});

/** A raw rsh request from a reserved source port; resolves with what came back on both connections. */
function rawRsh(sourcePort: number, listen: { port: number }): Promise<{ main: Buffer; back: boolean }> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    let back = false;
    srv.on('connection', (c) => {
      back = true;
      c.destroy();
    });
    srv.listen(listen.port, '127.0.0.1', () => {
      const lp = (srv.address() as net.AddressInfo).port;
      const s = net.connect({ host: '127.0.0.1', port: ports.node.rsh, localPort: sourcePort });
      const chunks: Buffer[] = [];
      s.on('connect', () => s.write(`${lp}\0${r.trustedLocalUser}\0${r.user}\0id\0`));
      s.on('data', (d) => chunks.push(d));
      const done = () => srv.close(() => resolve({ main: Buffer.concat(chunks), back }));
      s.on('close', done);
      // rshd resets the connection when it gives up.
      s.on('error', () => {});
    });
    srv.on('error', reject);
  });
}

test('rsh: rshd hangs up without connecting back when the standard-error port is not below 1024 — why exec listens on a reserved port', async () => {
  const got = await rawRsh(1000 + Math.floor(Math.random() * 20), { port: 0 });
  assert.equal(got.back, false);
  assert.equal(got.main.length, 0);
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

test('rsh and rlogin on workerd: 501 with privilegedPort (and listen for exec) missing, the reasons and the alternatives', async () => {
  const res = await call('rsh', 'exec', { ...rsh, command: 'id' });
  assert.equal(res.status, 501);
  assert.deepEqual(res.body.error.detail.missing, ['privilegedPort', 'listen']);
  assert.match(res.body.error.detail.reasons[0], /connect\(\) picks the source port/);
  assert.match(res.body.error.detail.reasons[1], /cannot accept inbound connections/);
  assert.ok(res.body.error.detail.alternatives.includes('Run the Node host as root.'));
  const merged = await call('rsh', 'execMerged', { ...rsh, command: 'id' });
  assert.equal(merged.status, 501);
  assert.deepEqual(merged.body.error.detail.missing, ['privilegedPort']);
});

test('rexec exec on the Node host: standard output, standard error from rexecd\'s connection back (any port), exit status; the password is masked', async () => {
  const { x, entries } = await execBoth('rexec', rexec);
  // rexecd binds no reserved port: it connects back from an ephemeral one, to the ephemeral port this host listened on.
  assert.ok(x.stderrChannel.listenPort > 1023 && x.stderrChannel.serverPort > 1023, JSON.stringify(x.stderrChannel));
  const json = JSON.stringify(entries);
  assert.ok(!json.includes(r.password) && !json.includes(hexOf(r.password)), 'password leaked');
  assert.ok(entries.some((e) => e.decode === `rexec: standard error to port ${x.stderrChannel.listenPort}, ${r.user} **** ${BOTH}`));
  assert.notDeepEqual(connsReceiving(entries, 'out\n'), connsReceiving(entries, 'err\n'));
});

test('rexec on workerd: exec is refused (a Worker cannot accept the connection back) naming execMerged; execMerged runs with standard error merged', async () => {
  const refused = await call('rexec', 'exec', { ...rexec, command: BOTH });
  assert.equal(refused.status, 501, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'unsupported_runtime');
  assert.deepEqual(refused.body.error.detail.missing, ['listen']);
  assert.match(refused.body.error.detail.reasons[0], /cannot accept inbound connections/);
  assert.match(refused.body.error.detail.alternatives[0], /rexec execMerged/);
  for (const run of [(i: Record<string, unknown>) => callNode(node, 'rexec', 'execMerged', i, { transcript: true }), (i: Record<string, unknown>) => call('rexec', 'execMerged', i, { transcript: true })]) {
    const res = await run({ ...rexec, command: `cat ${r.file}; echo err >&2; (exit 2)` });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.result.stdout, `${r.fileText}err\n`);
    assert.equal(res.body.result.stderr, null);
    assert.equal(res.body.result.exitStatus, 2);
    const json = JSON.stringify(res.body.transcript);
    assert.ok(!json.includes(r.password) && !json.includes(hexOf(r.password)), 'password leaked');
    assert.ok(res.body.transcript.entries.some((e: Entry) => e.decode === `rexec: no stderr channel (0), ${r.user} **** cat ${r.file}; echo err >&2; (exit 2)`));
  }
});

test('rexec: a wrong password is auth_failed, with and without the connection back', async () => {
  for (const operation of ['exec', 'execMerged']) {
    const res = await callNode(node, 'rexec', operation, { ...rexec, password: 'wrong', command: 'id' });
    assert.equal(res.status, 502, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'auth_failed');
  }
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
