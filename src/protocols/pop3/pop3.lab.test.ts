// POP3 and POP3S against dovecot from the lab, through workerd's HTTP API; mail arrives through postfix (submission).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { mailFacts } from '../../../lab/servers/mail.ts';
import { call } from '../../../test/harness.ts';

const host = '127.0.0.1';
const p = ports.mail;
const { alice, erin } = mailFacts.users;
const login = { username: erin.address, password: erin.password };

before(() => ensureLab(['mail']));

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

async function ok(op: string, input: Record<string, unknown>, protocol = 'pop3') {
  const { status, body } = await call(protocol, op, input);
  assert.equal(status, 200, `${protocol} ${op}: ${JSON.stringify(body.error)}`);
  return body.result;
}

/** Sends through submission to erin and waits until POP3 lists it; returns the send result and its UIDL. */
async function deliver(fields: Record<string, unknown>): Promise<{ sent: any; uid: string; number: number }> {
  const id = `${unique()}@lab.portolan.test`;
  const sent = await ok('send', { host, port: p.submission, tls: 'starttls', username: alice.address, password: alice.password, from: alice.address, to: [erin.address], messageId: id, ...fields }, 'smtp');
  for (let i = 0; i < 100; i++) {
    const listed = await ok('list', { host, port: p.pop3, ...login, limit: 500 });
    const hit = listed.messages.find((m: any) => m.messageId === `<${id}>`);
    if (hit) return { sent, uid: hit.uid, number: hit.number };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`message ${id} never reached erin's maildrop`);
}

test('capabilities in every TLS mode: STLS, POP3S, APOP timestamp, CAPA after login', async () => {
  const off = await ok('capabilities', { host, port: p.pop3 });
  assert.match(off.greeting, /^Portolan lab POP3 ready\. <.+@.+>$/);
  assert.equal(off.apop, true);
  assert.deepEqual(off.capabilities.SASL, ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256']);
  assert.ok('STLS' in off.capabilities && 'UIDL' in off.capabilities && 'TOP' in off.capabilities);
  assert.equal(off.tls, false);

  const st = await ok('capabilities', { host, port: p.pop3, tls: 'starttls', ...login });
  assert.equal(st.tls, true);
  assert.ok(!('STLS' in st.capabilitiesAfterStls), 'no STLS inside TLS');
  assert.equal(st.authMethod, 'AUTH PLAIN');
  assert.ok('UIDL' in st.capabilitiesAfterLogin);

  const pop3s = await ok('capabilities', { host, port: p.pop3s, tls: 'implicit', ...login, authMethod: 'USER' });
  assert.equal(pop3s.tls, true);
  assert.equal(pop3s.authMethod, 'USER');
});

test('every login method: USER/PASS, APOP, AUTH PLAIN, AUTH LOGIN, AUTH CRAM-MD5, AUTH SCRAM-SHA-256', async () => {
  const plain = await ok('stat', { host, port: p.pop3, ...login });
  assert.equal(plain.authMethod, 'AUTH SCRAM-SHA-256', 'a plain connection prefers SCRAM, which never sends the password');
  for (const [authMethod, extra] of [
    ['USER', { tls: 'starttls' }],
    ['APOP', {}],
    ['AUTH PLAIN', { tls: 'implicit', port: p.pop3s }],
    ['AUTH LOGIN', { tls: 'starttls' }],
    ['AUTH CRAM-MD5', {}],
    ['AUTH SCRAM-SHA-256', { tls: 'implicit', port: p.pop3s }],
  ] as const) {
    const r = await ok('stat', { host, port: p.pop3, ...login, authMethod, ...extra });
    assert.equal(r.authMethod, authMethod);
    assert.equal(r.count, plain.count, authMethod);
  }
});

test('wrong password: auth_failed with the server reply', async () => {
  for (const authMethod of ['USER', 'APOP', 'AUTH PLAIN']) {
    const { status, body } = await call('pop3', 'stat', { host, port: p.pop3, username: erin.address, password: 'wrong', authMethod });
    assert.equal(status, 502, authMethod);
    assert.equal(body.error.code, 'auth_failed', authMethod);
    assert.match(body.error.message, /-ERR \[AUTH\] Authentication failed\./, authMethod);
  }
});

test('SMTP submission to POP3: RETR returns the sent bytes with byte-stuffing undone; TOP gives headers', async () => {
  const { sent, uid, number } = await deliver({
    from: `Ålice <${alice.address}>`,
    subject: 'Grüße über POP3 ✓',
    text: '.first line starts with a dot\n.\n..two dots\nend\n',
    attachments: [{ filename: 'data.bin', contentBase64: Buffer.from([0x2e, 0x0d, 0x0a, 0x2e, 0x2e, 0, 255]).toString('base64') }],
  });
  const r = await ok('retrieve', { host, port: p.pop3, tls: 'starttls', ...login, uid });
  assert.equal(r.number, number);
  assert.ok(r.text.endsWith(sent.message), 'RETR ends with exactly the bytes sent');
  assert.match(r.text.slice(0, r.text.length - sent.message.length), /^Return-Path: <alice@lab\.portolan\.test>\r\nDelivered-To: erin@lab\.portolan\.test\r\n/);
  assert.equal(r.subject, 'Grüße über POP3 ✓');
  assert.equal(r.from, `Ålice <${alice.address}>`);
  assert.ok(r.text.includes('\r\n\r\n.first line starts with a dot\r\n.\r\n..two dots\r\n'));

  const top = await ok('top', { host, port: p.pop3s, tls: 'implicit', ...login, uid, lines: 0 });
  assert.equal(top.text, r.text.slice(0, r.text.indexOf('\r\n\r\n') + 4), 'TOP n 0 is the header block and the blank line');
  const top2 = await ok('top', { host, port: p.pop3, ...login, number, lines: 3 });
  assert.ok(r.text.startsWith(top2.text));
  assert.ok(top2.text.length > top.text.length);
});

test('DELE then RSET keeps the message; DELE then QUIT removes it', async () => {
  const { uid } = await deliver({ subject: 'to delete', text: 'bye' });
  const before = await ok('stat', { host, port: p.pop3, ...login });
  const undone = await ok('delete', { host, port: p.pop3, ...login, uids: [uid], rset: true });
  assert.match(undone.marked[0].reply, /^\+OK/);
  assert.match(undone.rset, /^\+OK/);
  assert.equal(undone.countBeforeQuit, before.count);
  assert.ok((await ok('list', { host, port: p.pop3, ...login, headers: false })).messages.some((m: any) => m.uid === uid), 'still there after RSET');

  const gone = await ok('delete', { host, port: p.pop3, tls: 'starttls', ...login, uids: [uid] });
  assert.equal(gone.countBeforeQuit, before.count - 1, 'STAT leaves out messages marked deleted');
  assert.match(gone.quit, /^\+OK/);
  assert.ok(!(await ok('list', { host, port: p.pop3, ...login, headers: false })).messages.some((m: any) => m.uid === uid), 'removed after QUIT');
});

test('an -ERR the operation cannot continue from: server_error with the text', async () => {
  const { status, body } = await call('pop3', 'retrieve', { host, port: p.pop3, ...login, number: 999999 });
  assert.equal(status, 502);
  assert.equal(body.error.code, 'server_error');
  assert.match(body.error.message, /^RETR failed: -ERR There's no message 999999\./);
});

test('PIPELINING (CAPA lists it): the TOPs of LIST and several DELEs go out in one write, with the same answers as one by one', async () => {
  const { frank } = mailFacts.users;
  const own = { host, port: p.pop3, username: frank.address, password: frank.password };
  const tag = unique();
  for (const n of [1, 2, 3]) await ok('append', { host, port: p.imap, username: frank.address, password: frank.password, from: alice.address, to: [frank.address], subject: `pipe ${tag} ${n}`, text: `${n}` }, 'imap');
  const caps = await ok('capabilities', { host, port: p.pop3 });
  assert.ok('PIPELINING' in caps.capabilities);

  const { status, body } = await call('pop3', 'list', { ...own, limit: 3 }, { transcript: true });
  assert.equal(status, 200, JSON.stringify(body.error));
  const piped = body.result;
  assert.equal(piped.pipelined, true);
  const mine = piped.messages.filter((m: any) => m.subject?.startsWith(`pipe ${tag}`));
  assert.deepEqual(mine.map((m: any) => m.subject), [1, 2, 3].map((n) => `pipe ${tag} ${n}`));
  const numbers = piped.messages.slice(-3).map((m: any) => m.number);
  const write = body.transcript.entries.filter((e: any) => e.dir === 'out' && /^TOP /.test(e.decode ?? ''));
  assert.deepEqual(write.map((e: any) => e.decode), [numbers.map((n: number) => `TOP ${n} 0`).join(' | ')], 'one write carries every TOP');

  const serial = await ok('list', { ...own, limit: 3, pipelining: false });
  assert.equal(serial.pipelined, false);
  assert.deepEqual(serial.messages, piped.messages);

  const uids = mine.slice(0, 2).map((m: any) => m.uid);
  const gone = await ok('delete', { ...own, uids });
  assert.equal(gone.pipelined, true);
  assert.deepEqual(gone.marked.map((m: any) => [m.uid, /^\+OK/.test(m.reply)]), uids.map((u: string) => [u, true]));
  assert.equal(gone.countBeforeQuit, piped.count - 2);
  const left = await ok('list', { ...own, headers: false });
  assert.ok(!left.messages.some((m: any) => uids.includes(m.uid)));
  assert.ok(left.messages.some((m: any) => m.uid === mine[2].uid));
});
