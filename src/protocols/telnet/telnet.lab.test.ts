// Telnet against inetutils telnetd: negotiation read back, login-and-run, and a terminal over the WebSocket,
// on the Node host and on workerd alike (Telnet needs only TCP).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ports } from '../../../lab/index.ts';
import { nodeFacts } from '../../../lab/servers/node.ts';
import { call, workerUrl } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';

const r = nodeFacts.remote;
const target = { host: '127.0.0.1', port: ports.node.telnet };
const node = useNodeHost();

const hosts = () => [
  ['Node host', (op: string, input: Record<string, unknown>, o?: { transcript?: boolean }) => callNode(node, 'telnet', op, input, o), node.url],
  ['workerd', (op: string, input: Record<string, unknown>, o?: { transcript?: boolean }) => call('telnet', op, input, o), workerUrl()],
] as const;

test('telnet: the server negotiates terminal type, window size and echo; our answers are read back', async () => {
  for (const [name, run] of hosts()) {
    const res = await run('negotiate', { ...target, terminalType: 'vt220', cols: 132, rows: 43 });
    assert.equal(res.status, 200, `${name}: ${JSON.stringify(res.body)}`);
    const x = res.body.result;
    assert.equal(x.prompt, true, name);
    assert.match(x.banner, /login: $/);
    for (const line of ['< IAC DO TERMINAL-TYPE', '> IAC WILL TERMINAL-TYPE', '< IAC SB TERMINAL-TYPE SEND IAC SE', '< IAC DO NEW-ENVIRON', '> IAC WONT NEW-ENVIRON', '> IAC SB TERMINAL-TYPE IS vt220 IAC SE', '< IAC DO NAWS', '> IAC SB NAWS 132x43 IAC SE', '< IAC WILL ECHO', '> IAC DO ECHO', '> IAC DO END-OF-RECORD', '< IAC WONT END-OF-RECORD', '< IAC DO LINEMODE', '> IAC WILL LINEMODE']) {
      assert.ok(x.negotiation.includes(line), `${name}: ${line} missing from ${JSON.stringify(x.negotiation)}`);
    }
    assert.deepEqual(x.options.remote.sort(), ['ECHO', 'SUPPRESS-GO-AHEAD']);
    assert.ok(x.options.local.includes('NAWS') && x.options.local.includes('TERMINAL-TYPE'));
  }
});

test('telnet: NEW-ENVIRON gives USER when asked, and the transcript names every option both ways', async () => {
  for (const [name, run] of hosts()) {
    const res = await run('negotiate', { ...target, user: r.user, terminalType: 'xterm', cols: 100, rows: 30 }, { transcript: true });
    assert.equal(res.status, 200, `${name}: ${JSON.stringify(res.body)}`);
    const x = res.body.result;
    for (const line of ['< IAC DO NEW-ENVIRON', '> IAC WILL NEW-ENVIRON', '< IAC SB NEW-ENVIRON SEND IAC SE', `> IAC SB NEW-ENVIRON IS VAR USER VALUE "${r.user}" IAC SE`, '> IAC SB NAWS 100x30 IAC SE', '> IAC SB TERMINAL-TYPE IS xterm IAC SE', '< IAC WILL SUPPRESS-GO-AHEAD', '< IAC WILL ECHO', '< IAC DO LINEMODE', '> IAC WILL LINEMODE']) {
      assert.ok(x.negotiation.includes(line), `${name}: ${line} missing from ${JSON.stringify(x.negotiation)}`);
    }
    assert.ok(x.options.local.includes('NEW-ENVIRON'));
    // inetutils telnetd takes USER only after authentication: its login still asks for the name.
    assert.match(x.banner, /login: $/);
    const transcript = JSON.stringify(res.body.transcript);
    for (const text of ['received IAC DO NAWS', 'received IAC WILL ECHO', 'received IAC DO TERMINAL-TYPE', 'received IAC SB NEW-ENVIRON SEND IAC SE', 'IAC SB NAWS 100x30 IAC SE', 'IAC WILL NEW-ENVIRON']) {
      assert.ok(transcript.includes(text), `${name}: transcript lacks ${text}`);
    }
  }
});

test('telnet: with NEW-ENVIRON refused, inetutils telnetd falls back to the old ENVIRON (RFC 1408), answered with USER', async () => {
  for (const [name, run] of hosts()) {
    const res = await run('negotiate', { ...target, user: r.user, oldEnviron: true }, { transcript: true });
    assert.equal(res.status, 200, `${name}: ${JSON.stringify(res.body)}`);
    const x = res.body.result;
    for (const line of ['< IAC DO NEW-ENVIRON', '> IAC WONT NEW-ENVIRON', '< IAC DO ENVIRON', '> IAC WILL ENVIRON', '< IAC SB ENVIRON SEND IAC SE', `> IAC SB ENVIRON IS VAR USER VALUE "${r.user}" IAC SE`, '< IAC DO LINEMODE', '> IAC WILL LINEMODE']) {
      assert.ok(x.negotiation.includes(line), `${name}: ${line} missing from ${JSON.stringify(x.negotiation)}`);
    }
    assert.ok(x.options.local.includes('ENVIRON') && !x.options.local.includes('NEW-ENVIRON'), name);
    assert.match(x.banner, /login: $/);
    // The server asks for both; with NEW-ENVIRON on, ENVIRON is refused and USER goes once.
    const plain = await run('negotiate', { ...target, user: r.user });
    const both = plain.body.result.negotiation;
    assert.ok(both.includes('> IAC WILL NEW-ENVIRON') && both.includes('> IAC WONT ENVIRON'), `${name}: ${JSON.stringify(both)}`);
    assert.ok(!both.some((l: string) => l.startsWith('> IAC SB ENVIRON')), name);
  }
});

test('telnets: Telnet over TLS from the first byte against telnetd-ssl, log in and run a command', async () => {
  const secure = { host: '127.0.0.1', port: ports.sshftp.telnets, tls: 'implicit' };
  for (const [name, run] of hosts()) {
    const neg = await run('negotiate', { ...secure }, { transcript: true });
    assert.equal(neg.status, 200, `${name}: ${JSON.stringify(neg.body)}`);
    assert.equal(neg.body.result.prompt, true, `${name}: ${JSON.stringify(neg.body.result)}`);
    assert.ok(neg.body.result.negotiation.includes('< IAC DO NEW-ENVIRON'), name);
    // netkit telnetd hands USER from NEW-ENVIRON to login, which then asks only for the password.
    const withUser = await run('negotiate', { ...secure, user: r.user });
    assert.match(withUser.body.result?.banner ?? '', /Password: ?$/, `${name}: ${JSON.stringify(withUser.body)}`);
    assert.ok(withUser.body.result.negotiation.includes(`> IAC SB NEW-ENVIRON IS VAR USER VALUE "${r.user}" IAC SE`), name);
    const ok = await run('exec', { ...secure, user: r.user, password: r.password, command: `cat ${r.file}; (exit 3)` }, { transcript: true });
    assert.equal(ok.status, 200, `${name}: ${JSON.stringify(ok.body)}`);
    assert.equal(ok.body.result.output, r.fileText);
    assert.equal(ok.body.result.exitStatus, 3);
    assert.ok(!JSON.stringify(ok.body.transcript).includes(r.password), `${name}: password leaked`);
    const bad = await run('exec', { ...secure, user: r.user, password: 'wrong-one', command: 'id', timeoutMs: 20_000 });
    assert.equal(bad.body.error?.code, 'auth_failed', `${name}: ${JSON.stringify(bad.body)}`);
    assert.match(bad.body.error.message, /^login refused: Login incorrect/);
  }
  // The plain port is not TLS: the handshake fails as tls_error, not a hang.
  const plain = await call('telnet', 'negotiate', { ...target, tls: 'implicit', timeoutMs: 10_000 });
  assert.ok(['tls_error', 'closed', 'protocol_error'].includes(plain.body.error?.code), JSON.stringify(plain.body));
});

test('telnet AUTH SSL (RFC 2941, type SSL): telnetd-ssl offers it, ACCEPT starts TLS, the login runs inside it; a server without it is tls_error', async () => {
  const upgrade = { host: '127.0.0.1', port: ports.sshftp.telnetAuthSsl, tls: 'starttls' };
  for (const [name, run] of hosts()) {
    const neg = await run('negotiate', { ...upgrade }, { transcript: true });
    assert.equal(neg.status, 200, `${name}: ${JSON.stringify(neg.body)}`);
    const x = neg.body.result;
    for (const line of ['< IAC DO AUTHENTICATION', '> IAC WILL AUTHENTICATION', '> IAC SB AUTHENTICATION IS SSL 0 START IAC SE', '< IAC SB AUTHENTICATION REPLY SSL 0 ACCEPT IAC SE']) {
      assert.ok(x.negotiation.includes(line), `${name}: ${line} in ${JSON.stringify(x.negotiation)}`);
    }
    assert.ok(x.negotiation.some((l: string) => /^< IAC SB AUTHENTICATION SEND .*SSL/.test(l)), `${name}: SEND lists SSL`);
    assert.equal(x.prompt, true, `${name}: login prompt inside TLS: ${JSON.stringify(x.banner)}`);
    const ok = await run('exec', { ...upgrade, user: r.user, password: r.password, command: `cat ${r.file}; (exit 4)` }, { transcript: true });
    assert.equal(ok.status, 200, `${name}: ${JSON.stringify(ok.body)}`);
    assert.equal(ok.body.result.output, r.fileText);
    assert.equal(ok.body.result.exitStatus, 4);
    // The password goes only after the handshake, and never into the transcript.
    const entries = ok.body.transcript.entries as { decode?: string; dir?: string }[];
    const tlsAt = entries.findIndex((e) => /TLS/i.test(e.decode ?? ''));
    const passwordAt = entries.findIndex((e) => (e.decode ?? '').includes('(password)'));
    assert.ok(tlsAt >= 0 && passwordAt > tlsAt, `${name}: TLS at ${tlsAt}, password at ${passwordAt}`);
    assert.ok(!JSON.stringify(ok.body.transcript).includes(r.password), `${name}: password leaked`);
  }
  // inetutils telnetd has no AUTH SSL: said so, before anything is typed.
  const none = await call('telnet', 'negotiate', { ...target, tls: 'starttls', timeoutMs: 10_000 });
  assert.equal(none.body.error?.code, 'tls_error', JSON.stringify(none.body));
  assert.match(none.body.error.message, /does not offer AUTH SSL|does not speak AUTH SSL/);
});

test('telnet: log in, run a command, get its output and exit status; the password stays out of the transcript', async () => {
  for (const [name, run] of hosts()) {
    const ok = await run('exec', { ...target, user: r.user, password: r.password, command: `cat ${r.file}` }, { transcript: true });
    assert.equal(ok.status, 200, `${name}: ${JSON.stringify(ok.body)}`);
    assert.equal(ok.body.result.output, r.fileText);
    assert.equal(ok.body.result.exitStatus, 0);
    assert.ok(!JSON.stringify(ok.body.transcript).includes(r.password), `${name}: password leaked`);
    assert.ok(!JSON.stringify(ok.body.transcript).includes(Buffer.from(r.password).toString('hex')), `${name}: password hex leaked`);
    const failing = await run('exec', { ...target, user: r.user, password: r.password, command: 'echo to-stdout; (exit 7)' }, { transcript: true });
    assert.equal(failing.status, 200, `${name}: ${JSON.stringify(failing.body)}`);
    assert.equal(failing.body.result.output, 'to-stdout\n');
    assert.equal(failing.body.result.exitStatus, 7);
  }
});

test('telnet: a wrong password is auth_failed with the server\'s words', async () => {
  const res = await callNode(node, 'telnet', 'exec', { ...target, user: r.user, password: 'wrong-one', command: 'id', timeoutMs: 15_000 });
  assert.equal(res.status, 502);
  assert.equal(res.body.error.code, 'auth_failed');
  assert.equal(res.body.error.message, 'login refused: Login incorrect');
});

/** Drives the terminal session over a WebSocket like the UI does. */
/** Terminals a failed test left open are closed when the file ends, so it ends. */
const terminals: WebSocket[] = [];
after(() => terminals.forEach((ws) => ws.close()));

async function terminal(base: string) {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/api/telnet/terminal`);
  terminals.push(ws);
  ws.binaryType = 'arraybuffer';
  let screen = '';
  const control: { type: string; [k: string]: unknown }[] = [];
  const waiters: (() => void)[] = [];
  ws.addEventListener('message', (e) => {
    if (typeof e.data === 'string') control.push(JSON.parse(e.data));
    else screen += new TextDecoder().decode(e.data as ArrayBuffer);
    waiters.splice(0).forEach((w) => w());
  });
  const closed = new Promise<void>((resolve) => ws.addEventListener('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new Error('websocket error')));
  });
  const until = async (pred: () => boolean, what: string) => {
    const deadline = Date.now() + 15_000;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`terminal: no ${what}; screen: ${JSON.stringify(screen.slice(-300))} control: ${JSON.stringify(control)}`);
      await new Promise<void>((res) => {
        waiters.push(res);
        setTimeout(res, 200);
      });
    }
  };
  const type = (text: string) => ws.send(new TextEncoder().encode(text));
  return { ws, control, closed, until, type, get screen() { return screen; }, mark: () => screen.length };
}

test('telnet: an interactive terminal over the WebSocket — login, window size, resize, exit — on both hosts', async () => {
  for (const [name, , base] of hosts()) {
    const t = await terminal(base);
    t.ws.send(JSON.stringify({ type: 'start', input: { ...target, cols: 100, rows: 30, terminalType: 'xterm-256color' } }));
    await t.until(() => /login: $/.test(t.screen), `${name}: login prompt`);
    t.type(`${r.user}\r`);
    await t.until(() => /Password: ?$/.test(t.screen), `${name}: password prompt`);
    t.type(`${r.password}\r`);
    await t.until(() => /\$ $/.test(t.screen), `${name}: shell prompt`);
    let at = t.mark();
    t.type('stty size; echo "term=$TERM"\r');
    await t.until(() => /term=xterm-256color/.test(t.screen.slice(at)) && /\$ $/.test(t.screen), `${name}: stty output`);
    assert.match(t.screen.slice(at), /30 100\r\n/, `${name}: NAWS 100x30 reached the pty`);
    t.ws.send(JSON.stringify({ type: 'resize', cols: 120, rows: 40 }));
    await new Promise((res) => setTimeout(res, 300));
    at = t.mark();
    t.type('stty size\r');
    await t.until(() => /40 120\r\n/.test(t.screen.slice(at)), `${name}: resized pty`);
    assert.ok(t.control.some((c) => c.type === 'options' && (c.local as string[]).includes('NAWS')), `${name}: options announced`);
    t.type('exit\r');
    await t.until(() => t.control.some((c) => c.type === 'end'), `${name}: end of session`);
    const end = t.control.find((c) => c.type === 'end') as unknown as { result: { ended: string; options: { remote: string[] } } };
    assert.equal(end.result.ended, 'server');
    assert.ok(end.result.options.remote.includes('ECHO'));
    await t.closed;
  }
});

test('telnet LINEMODE (RFC 1184): telnetd --linemode hands line editing to the client while cat reads lines; a word erased here never reaches it; ^D ends cat as IAC EOF', async () => {
  const lm = { host: '127.0.0.1', port: ports.node.telnetLinemode };
  for (const [name, run, base] of hosts()) {
    // The default telnetd asks for LINEMODE and MODE EDIT|TRAPSIG, and drops it when login takes the pty (it clears EXTPROC).
    const plain = await run('negotiate', { ...target });
    for (const line of ['< IAC DO LINEMODE', '> IAC WILL LINEMODE', '< IAC SB LINEMODE MODE EDIT|TRAPSIG IAC SE', '> IAC SB LINEMODE MODE EDIT|TRAPSIG|ACK IAC SE']) {
      assert.ok(plain.body.result.negotiation.includes(line), `${name}: ${line} in ${JSON.stringify(plain.body.result.negotiation)}`);
    }
    const t = await terminal(base);
    t.ws.send(JSON.stringify({ type: 'start', input: { ...lm, cols: 100, rows: 30 } }));
    await t.until(() => /login: $/.test(t.screen), `${name}: login prompt`);
    t.type(`${r.user}\r`);
    await t.until(() => /Password: ?$/.test(t.screen), `${name}: password prompt`);
    let at = t.mark();
    t.type(`${r.password}\r`);
    await t.until(() => /\$ $/.test(t.screen), `${name}: shell prompt`);
    assert.ok(!t.screen.slice(at).includes(r.password), `${name}: the password was echoed`);
    // cat reads whole lines (ICANON): the server asks for EDIT, and the line is edited here: the screen shows this
    // side's rub-out of the erased word, and cat prints the line as it was sent. The line is typed once the shell has
    // started cat ("cat reads" printed): under EXTPROC a read takes whatever the pty holds, so a line typed sooner
    // could reach the shell (sh reads the pty itself) in the same read as "cat".
    t.type("echo 'cat 'reads; cat\r");
    const editing = () => t.control.filter((c) => c.type === 'options').at(-1) as { linemode?: { mode: string[]; keys: Record<string, string> } } | undefined;
    await t.until(() => editing()?.linemode?.mode.includes('EDIT') === true && /\r\ncat reads\r\n$/.test(t.screen), `${name}: EDIT for cat`);
    assert.deepEqual([editing()!.linemode!.keys.IP, editing()!.linemode!.keys.EW], ['^C', '^W'], name);
    at = t.mark();
    t.type('hello wor\x17world\r');
    await t.until(() => /world\r\nhello world\r\n/.test(t.screen.slice(at)), `${name}: cat's line`);
    // The rub-out is this side's.
    assert.ok(t.screen.slice(at).includes(`hello wor${'\b \b'.repeat(3)}world\r\n`), `${name}: ${JSON.stringify(t.screen.slice(at))}`);
    // ^D on an empty line is IAC EOF (RFC 1184 2.5): the server hands cat its end of input, and cat ends with status 0.
    t.type('\x04');
    await t.until(() => /\$ $/.test(t.screen), `${name}: prompt after ^D`);
    at = t.mark();
    t.type('echo "status=$?"\r');
    await t.until(() => /status=\d+/.test(t.screen.slice(at)), `${name}: status`);
    assert.match(t.screen.slice(at), /status=0/, name);
    t.type('exit\r');
    await t.until(() => t.control.some((c) => c.type === 'end'), `${name}: end of session`);
    const end = t.control.find((c) => c.type === 'end') as unknown as { result: { negotiation: string[] } };
    assert.ok(end.result.negotiation.some((l) => /^> IAC SB LINEMODE MODE EDIT\|TRAPSIG.*\|ACK IAC SE$/.test(l)), name);
    await t.closed;
  }
});
