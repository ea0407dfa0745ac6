// IMAP sessions against a scripted in-memory server: synchronising literals (RFC 9051 4.3) and their refusal,
// AUTHENTICATE without SASL-IR, and the IDLE WebSocket session driver (RFC 2177).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PortolanError } from '../../core/errors.ts';
import type { SessionMessage } from '../../core/protocol.ts';
import { runOperation } from '../../core/runner.ts';
import { memoryHost, pipe } from '../../../test/memory.ts';
import { scriptServer } from '../mail/fixtures/scripted.ts';
import imap from './index.ts';

const GREETING = '* OK [CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN UIDPLUS] ready\r\n';

test('APPEND without LITERAL+: waits for "+", sends the literal, reads APPENDUID', async () => {
  const p = pipe();
  let literalLines = 0;
  const seen = scriptServer(p, (line, reply) => {
    const [tag, cmd] = line.split(' ');
    if (cmd === 'LOGIN') reply(`${tag} OK [CAPABILITY IMAP4rev1 UIDPLUS] Logged in\r\n`);
    else if (cmd === 'APPEND') {
      assert.match(line, /^P002 APPEND INBOX \(\\Seen\) \{\d+\}$/);
      reply('+ Ready for literal data\r\n');
      literalLines = -1;
    } else if (literalLines < 0 && line === '') reply('P002 OK [APPENDUID 77 12] Append completed.\r\n');
    else if (cmd === 'LOGOUT') reply(`* BYE bye\r\n${tag} OK Logout completed.\r\n`);
  });
  p.push('* OK [CAPABILITY IMAP4rev1 UIDPLUS] ready\r\n');
  const r = (await runOperation(memoryHost([p]), imap, imap.operations.append, { host: 'h', username: 'u', password: 'p w"x', raw: 'Subject: x\n\nbody\n', flags: ['\\Seen'] })).result as any;
  assert.deepEqual([r.uid, r.uidValidity], [12, 77]);
  assert.equal(seen[0], 'P001 LOGIN u "p w\\"x"');
  assert.deepEqual(seen.slice(2, 5), ['Subject: x', '', 'body'], 'the literal went out after the go-ahead');
});

test('a literal the server refuses ends the command with its NO: server_error', async () => {
  const p = pipe();
  scriptServer(p, (line, reply) => {
    const [tag, cmd] = line.split(' ');
    if (cmd === 'LOGIN') reply(`${tag} OK Logged in\r\n`);
    else if (cmd === 'CAPABILITY') reply(`* CAPABILITY IMAP4rev1\r\n${tag} OK\r\n`);
    else if (cmd === 'APPEND') reply(`${tag} NO [OVERQUOTA] Quota exceeded (mailbox for user is full)\r\n`);
    else if (cmd === 'LOGOUT') reply(`${tag} OK\r\n`);
  });
  p.push('* OK [CAPABILITY IMAP4rev1] ready\r\n');
  await assert.rejects(runOperation(memoryHost([p]), imap, imap.operations.append, { host: 'h', username: 'u', password: 'p', raw: 'x\n' }), (e: PortolanError) => {
    assert.equal(e.code, 'server_error');
    assert.equal(e.message, 'APPEND failed: NO [OVERQUOTA] Quota exceeded (mailbox for user is full)');
    return true;
  });
});

test('AUTHENTICATE PLAIN without SASL-IR answers the empty "+" with the initial response', async () => {
  const p = pipe();
  const seen = scriptServer(p, (line, reply) => {
    const [tag, cmd] = line.split(' ');
    if (cmd === 'AUTHENTICATE') reply('+ \r\n');
    else if (line === Buffer.from('\0u\0secret').toString('base64')) reply('P001 OK [CAPABILITY IMAP4rev1 ID] done\r\n');
    else if (cmd === 'ID') reply(`* ID ("name" "Scripted")\r\n${tag} OK\r\n`);
    else if (cmd === 'LOGOUT') reply(`${tag} OK\r\n`);
  });
  p.push(GREETING);
  const answer = await runOperation(memoryHost([p]), imap, imap.operations.id, { host: 'h', username: 'u', password: 'secret', authMethod: 'AUTHENTICATE PLAIN' }, { transcript: true });
  assert.deepEqual((answer.result as any).serverId, { name: 'Scripted' });
  assert.equal(seen[0], 'P001 AUTHENTICATE PLAIN');
  assert.ok(!JSON.stringify(answer.transcript).includes(Buffer.from(Buffer.from('\0u\0secret').toString('base64')).toString('hex')));
});

/** A session channel fed by the test; what the driver sends is collected. */
function testChannel(clientMessages: (SessionMessage | null)[]) {
  const sent: any[] = [];
  let wake: (() => void) | undefined;
  const queue = [...clientMessages];
  return {
    sent,
    send: (m: SessionMessage) => sent.push(m),
    async receive(): Promise<SessionMessage | null> {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      return queue.shift()!;
    },
    push(m: SessionMessage | null) {
      queue.push(m);
      wake?.();
    },
  };
}

test('IDLE session: ready, a new message while idling is fetched, a client stop logs out', async () => {
  const p = pipe();
  const channel = testChannel([]);
  const sent = channel.sent;
  let idleTag = '';
  const seen = scriptServer(p, (line, reply) => {
    const [tag, cmd, arg] = line.split(' ');
    if (cmd === 'LOGIN') reply(`${tag} OK [CAPABILITY IMAP4rev1 IDLE UIDPLUS] Logged in\r\n`);
    else if (cmd === 'EXAMINE') reply(`* 1 EXISTS\r\n* OK [UIDVALIDITY 9] ok\r\n* OK [UIDNEXT 5] ok\r\n${tag} OK [READ-ONLY] done\r\n`);
    else if (cmd === 'IDLE') {
      idleTag = tag;
      reply('+ idling\r\n');
    } else if (line === 'DONE') reply(`${idleTag} OK Idle completed.\r\n`);
    else if (cmd === 'FETCH') {
      assert.equal(arg, '2:2');
      reply(`* 2 FETCH (UID 5)\r\n${tag} OK\r\n`);
    } else if (cmd === 'UID') {
      reply(`* 2 FETCH (UID 5 FLAGS (\\Recent) RFC822.SIZE 10 INTERNALDATE "02-Jan-2026 03:04:05 +0000" ENVELOPE (NIL "news" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n${tag} OK\r\n`);
    } else if (cmd === 'LOGOUT') reply(`* BYE\r\n${tag} OK\r\n`);
  });
  p.push(GREETING);
  const run = runOperation(memoryHost([p]), imap, imap.operations.idle, { host: 'h', timeoutMs: 5000, username: 'u', password: 'p', authMethod: 'LOGIN' }, { channel });
  const until = async (pred: () => boolean) => {
    for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(pred(), JSON.stringify(sent));
  };
  await until(() => seen.some((l) => l.endsWith(' IDLE')));
  p.push('* 2 EXISTS\r\n* 1 RECENT\r\n');
  await until(() => sent.some((m) => m.type === 'messages'));
  await until(() => seen.filter((l) => l.endsWith(' IDLE')).length === 2);
  channel.push({ type: 'stop' });
  const end = (await run).result as any;
  assert.deepEqual([end.ended, end.fetched], ['client', 1]);
  assert.deepEqual(sent[0], { type: 'ready', mailbox: 'INBOX', exists: 1, uidValidity: 9, uidNext: 5, capabilities: ['IMAP4REV1', 'IDLE', 'UIDPLUS'] });
  assert.deepEqual(sent[1], { type: 'exists', count: 2 });
  const msgs = sent.find((m) => m.type === 'messages');
  assert.equal(msgs.messages[0].uid, 5);
  assert.equal(msgs.messages[0].envelope.subject, 'news');
  assert.ok(seen.includes('DONE'));
  assert.match(seen.at(-1)!, / LOGOUT$/);
});

test('IDLE session: a login failure ends the session with auth_failed; a client gone ends it quietly', async () => {
  const p = pipe();
  const channel = testChannel([]);
  scriptServer(p, (line, reply) => {
    const [tag, cmd] = line.split(' ');
    if (cmd === 'LOGIN') reply(`${tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n`);
  });
  p.push(GREETING);
  await assert.rejects(runOperation(memoryHost([p]), imap, imap.operations.idle, { host: 'h', username: 'u', password: 'x', authMethod: 'LOGIN' }, { channel }), (e: PortolanError) => {
    assert.equal(e.code, 'auth_failed');
    assert.equal(e.message, 'LOGIN failed: NO [AUTHENTICATIONFAILED] Authentication failed.');
    return true;
  });

  const q = pipe();
  const gone = testChannel([null]);
  const seen = scriptServer(q, (line, reply) => {
    const [tag, cmd] = line.split(' ');
    if (cmd === 'LOGIN') reply(`${tag} OK [CAPABILITY IMAP4rev1 IDLE] ok\r\n`);
    else if (cmd === 'EXAMINE') reply(`* 0 EXISTS\r\n${tag} OK [READ-ONLY] done\r\n`);
    else if (cmd === 'IDLE') reply('+ idling\r\n');
    else if (line === 'DONE') reply(`${seen.find((l) => l.endsWith(' IDLE'))!.split(' ')[0]} OK\r\n`);
    else if (cmd === 'LOGOUT') reply(`${tag} OK\r\n`);
  });
  q.push(GREETING);
  const r = (await runOperation(memoryHost([q]), imap, imap.operations.idle, { host: 'h', username: 'u', password: 'p', authMethod: 'LOGIN' }, { channel: gone })).result as any;
  assert.equal(r.ended, 'client');
  assert.equal(gone.sent[0].type, 'ready');
  assert.match(seen.at(-1)!, / LOGOUT$/);
});

test('a BYE before the server hangs up is reported with its text', async () => {
  const p = pipe();
  scriptServer(p, (line, reply) => {
    const [tag, cmd] = line.split(' ');
    if (cmd === 'LOGIN') reply(`${tag} OK [CAPABILITY IMAP4rev1] ok\r\n`);
    else if (cmd === 'STATUS') {
      reply('* BYE Server shutting down.\r\n');
      p.end();
    }
  });
  p.push('* OK [CAPABILITY IMAP4rev1] ready\r\n');
  await assert.rejects(runOperation(memoryHost([p]), imap, imap.operations.status, { host: 'h', username: 'u', password: 'p', authMethod: 'LOGIN' }), (e: PortolanError) => {
    assert.equal(e.code, 'server_error');
    assert.equal(e.message, 'the server ended the session: BYE Server shutting down.');
    return true;
  });
});
