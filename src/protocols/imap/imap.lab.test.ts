// IMAP and IMAPS against dovecot from the lab, through workerd's HTTP API; mail arrives through postfix (submission) too.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { mailFacts } from '../../../lab/servers/mail.ts';
import { call, openSession, workerUrl } from '../../../test/harness.ts';
import { streamDownload } from '../../../test/files.ts';
import { createHash, randomBytes } from 'node:crypto';

const host = '127.0.0.1';
const p = ports.mail;
const { alice, dave } = mailFacts.users;
const login = { username: dave.address, password: dave.password };
const plain = { host, port: p.imap, ...login };

/** Deletes messages of this file's large-message tests, so runs against a long-lived lab stay under Dave's quota. */
async function discard(uids: number[]) {
  if (uids.length === 0) return;
  await ok('store', { ...plain, uids: uids.join(','), mode: 'add', flags: ['\\Deleted'] });
  await ok('expunge', { ...plain, uids: uids.join(',') });
}

before(async () => {
  await ensureLab(['mail']);
  for (const prefix of ['file ', 'compressed ']) await discard((await ok('search', { ...plain, subject: prefix })).uids);
});

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

async function ok(op: string, input: Record<string, unknown>, protocol = 'imap') {
  const { status, body } = await call(protocol, op, input);
  assert.equal(status, 200, `${protocol} ${op}: ${JSON.stringify(body.error)}`);
  return body.result;
}

test('capabilities in every TLS mode: STARTTLS upgrade, IMAPS, after login, server ID', async () => {
  const off = await ok('capabilities', { host, port: p.imap });
  assert.equal(off.greeting, mailFacts.imapGreeting);
  assert.ok(off.capabilities.includes('STARTTLS'));
  assert.equal(off.tls, false);
  assert.equal(off.capabilitiesAfterStartTls, null);

  const st = await ok('capabilities', { host, port: p.imap, tls: 'starttls', ...login });
  assert.equal(st.tls, true);
  assert.ok(!st.capabilitiesAfterStartTls.includes('STARTTLS'), 'no STARTTLS inside TLS');
  assert.deepEqual([...st.authMechanisms].sort(), ['CRAM-MD5', 'LOGIN', 'PLAIN', 'SCRAM-SHA-256']);
  assert.equal(st.authMethod, 'AUTHENTICATE PLAIN');
  for (const cap of ['IDLE', 'MOVE', 'UIDPLUS', 'ID']) assert.ok(st.capabilitiesAfterLogin.includes(cap), cap);
  assert.equal(st.serverId.name, 'Dovecot');

  for (const authMethod of ['LOGIN', 'AUTHENTICATE LOGIN']) {
    const imaps = await ok('capabilities', { host, port: p.imaps, tls: 'implicit', ...login, authMethod });
    assert.equal(imaps.tls, true);
    assert.equal(imaps.authMethod, authMethod);
    assert.ok(imaps.capabilitiesAfterLogin.includes('IDLE'));
  }

  const scram = await ok('capabilities', { host, port: p.imap, ...login });
  assert.equal(scram.authMethod, 'AUTHENTICATE SCRAM-SHA-256', 'a plain connection prefers SCRAM, which never sends the password');
  const cram = await ok('capabilities', { host, port: p.imap, ...login, authMethod: 'AUTHENTICATE CRAM-MD5' });
  assert.equal(cram.authMethod, 'AUTHENTICATE CRAM-MD5');
});

test('wrong password: auth_failed with the server reply, for LOGIN and AUTHENTICATE', async () => {
  for (const authMethod of ['LOGIN', 'AUTHENTICATE PLAIN', 'AUTHENTICATE CRAM-MD5']) {
    const { status, body } = await call('imap', 'status', { host, port: p.imap, username: dave.address, password: 'wrong', authMethod });
    assert.equal(status, 502, authMethod);
    assert.equal(body.error.code, 'auth_failed', authMethod);
    assert.match(body.error.message, /NO \[AUTHENTICATIONFAILED\] Authentication failed\./, authMethod);
  }
});

test('a NO the operation cannot continue from: server_error with the code and text', async () => {
  const { status, body } = await call('imap', 'select', { ...plain, mailbox: `missing-${unique()}` });
  assert.equal(status, 502);
  assert.equal(body.error.code, 'server_error');
  assert.equal(body.error.detail.status, 'NO');
  assert.match(body.error.message, /^EXAMINE failed: NO Mailbox doesn't exist: missing-/);
});

test('LIST with special-use attributes and STATUS; CREATE and DELETE a non-ASCII mailbox', async () => {
  const name = `Reisen/Zürich ${unique()}`;
  await ok('create', { ...plain, mailbox: name });
  const listed = await ok('mailboxes', { ...plain, withStatus: true });
  const byName = new Map(listed.mailboxes.map((m: any) => [m.name, m]));
  for (const f of mailFacts.folders) assert.ok(byName.has(f), f);
  assert.ok((byName.get('Archive') as any).attributes.includes('\\Archive'));
  assert.ok((byName.get('Trash') as any).attributes.includes('\\Trash'));
  const made = byName.get(name) as any;
  assert.ok(made, 'the new mailbox is listed under its Unicode name');
  assert.match(made.rawName, /&AP w-|&APw-/);
  assert.equal(made.delimiter, '/');
  assert.equal(made.status.messages, 0);
  assert.equal(typeof (byName.get('INBOX') as any).status.uidValidity, 'number');
  await ok('delete', { ...plain, mailbox: name });
  const after = await ok('mailboxes', { ...plain, pattern: 'Reisen/*' });
  assert.ok(!after.mailboxes.some((m: any) => m.name === name));
});

test('APPEND a MIME message, FETCH it back byte for byte, with ENVELOPE, BODYSTRUCTURE, parts and partial bodies', async () => {
  const tag = unique();
  const attachment = Buffer.from([0, 1, 2, 3, 0x2e, 0x0d, 0x0a, 0xff, 0xfe]);
  const appended = await ok('append', {
    ...plain,
    tls: 'starttls',
    mailbox: 'INBOX',
    from: `Zoë <${alice.address}>`,
    to: [dave.address],
    subject: `Prüfung ${tag} ✓`,
    text: '.a line starting with a dot\nGrüße\n',
    html: '<p>Grüße</p>',
    attachments: [{ filename: 'données.bin', contentBase64: attachment.toString('base64') }],
    flags: ['\\Seen', 'portolan'],
  });
  assert.equal(typeof appended.uid, 'number');
  assert.equal(typeof appended.uidValidity, 'number');

  const full = await ok('fetch', { ...plain, uids: String(appended.uid), body: 'full', bodyStructure: true });
  const [m] = full.messages;
  assert.equal(m.uid, appended.uid);
  assert.equal(m.body.text, appended.message, 'FETCH BODY[] returns exactly the appended bytes');
  assert.equal(m.size, appended.size);
  assert.deepEqual(m.flags.filter((f: string) => f !== '\\Recent').sort(), ['\\Seen', 'portolan']);
  assert.equal(m.envelope.subject, `Prüfung ${tag} ✓`);
  assert.deepEqual(m.envelope.from, [{ name: 'Zoë', mailbox: 'alice', host: 'lab.portolan.test', address: alice.address }]);
  assert.equal(m.envelope.messageId, `<${appended.messageId}>`);
  const tree = m.bodyStructure;
  assert.equal(`${tree.type}/${tree.subtype}`, 'multipart/mixed');
  assert.deepEqual(tree.parts[0].parts.map((x: any) => `${x.section} ${x.type}/${x.subtype}`), ['1.1 text/plain', '1.2 text/html']);
  assert.equal(tree.parts[1].section, '2');
  assert.equal(tree.parts[1].disposition.type, 'attachment');
  assert.equal(tree.parts[1].disposition.params['filename'], 'données.bin');

  const part = await ok('fetch', { ...plain, tls: 'implicit', port: p.imaps, uids: String(appended.uid), body: '2', envelope: false });
  assert.equal(Buffer.from(part.messages[0].body.text.replace(/\r\n/g, ''), 'base64').toString('hex'), attachment.toString('hex'));

  const partial = await ok('fetch', { ...plain, uids: String(appended.uid), body: 'full', partial: { offset: 6, length: 20 }, envelope: false });
  assert.equal(partial.messages[0].body.origin, 6);
  assert.equal(partial.messages[0].body.text, appended.message.slice(6, 26));

  const header = await ok('fetch', { ...plain, uids: String(appended.uid), body: 'header', envelope: false });
  assert.equal(header.messages[0].body.text, appended.message.slice(0, appended.message.indexOf('\r\n\r\n') + 4));
});

test('SEARCH from fields (UTF-8 subject, from, flags), STORE, COPY, MOVE, EXPUNGE', async () => {
  const tag = unique();
  const a = await ok('append', { ...plain, from: alice.address, to: [dave.address], subject: `Suche ${tag} — äöü`, text: 'one' });
  const b = await ok('append', { ...plain, from: alice.address, to: [dave.address], subject: `Suche ${tag} plain`, text: 'two' });

  const bySubject = await ok('search', { ...plain, subject: `${tag} — äöü` });
  assert.deepEqual(bySubject.uids, [a.uid]);
  const both = await ok('search', { ...plain, subject: tag, from: 'alice' });
  assert.deepEqual(both.uids, [a.uid, b.uid]);

  const stored = await ok('store', { ...plain, uids: `${a.uid}`, mode: 'add', flags: ['\\Flagged', 'portolan-test'] });
  assert.ok(stored.messages[0].flags.includes('\\Flagged'));
  assert.deepEqual((await ok('search', { ...plain, subject: tag, flagged: true })).uids, [a.uid]);
  assert.deepEqual((await ok('search', { ...plain, subject: tag, keyword: 'portolan-test' })).uids, [a.uid]);
  const removed = await ok('store', { ...plain, uids: `${a.uid}`, mode: 'remove', flags: ['\\Flagged'] });
  assert.ok(!removed.messages[0].flags.includes('\\Flagged'));

  const copied = await ok('copy', { ...plain, uids: `${a.uid}`, destination: 'Archive' });
  assert.equal(copied.method, 'UID COPY');
  assert.equal(copied.copyUid.source, String(a.uid));
  const inArchive = await ok('search', { ...plain, mailbox: 'Archive', subject: tag });
  assert.deepEqual(inArchive.uids, [Number(copied.copyUid.destination)]);

  const moved = await ok('move', { ...plain, uids: `${b.uid}`, destination: 'Trash' });
  assert.equal(moved.method, 'UID MOVE');
  assert.deepEqual((await ok('search', { ...plain, subject: tag })).uids, [a.uid], 'moved message left INBOX');
  assert.deepEqual((await ok('search', { ...plain, mailbox: 'Trash', subject: tag })).uids, [Number(moved.copyUid.destination)]);

  await ok('store', { ...plain, uids: `${a.uid}`, flags: ['\\Deleted'] });
  const ex = await ok('expunge', { ...plain, uids: `${a.uid}` });
  assert.equal(ex.expunged.length, 1);
  assert.deepEqual((await ok('search', { ...plain, subject: tag })).uids, []);
});

test('SELECT (read-write) and EXAMINE (read-only) report the mailbox state', async () => {
  const rw = await ok('select', { ...plain, readOnly: false });
  assert.equal(rw.readOnly, false);
  assert.ok(rw.permanentFlags.includes('\\*'));
  const ro = await ok('select', { ...plain });
  assert.equal(ro.readOnly, true);
  assert.equal(ro.uidValidity, rw.uidValidity);
  const st = await ok('status', { ...plain });
  assert.equal(st.messages, ro.exists);
  assert.equal(st.uidNext, ro.uidNext);
});

test('SMTP submission to IMAP: the message sent is read back byte for byte', async () => {
  const id = `${unique()}@lab.portolan.test`;
  const sent = await ok(
    'send',
    {
      host, port: p.submission, tls: 'starttls', username: alice.address, password: alice.password,
      from: `Älice <${alice.address}>`, to: [dave.address], subject: `über SMTP ${id}`,
      text: '.dot first\nzweite Zeile äöü\n.\n', attachments: [{ filename: 'a.txt', content: 'attached ✓' }], messageId: id,
    },
    'smtp',
  );
  let uids: number[] = [];
  for (let i = 0; i < 100 && uids.length === 0; i++) {
    uids = (await ok('search', { ...plain, header: [{ name: 'Message-ID', value: id }] })).uids;
    if (uids.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(uids.length, 1, 'delivered once');
  const got = await ok('fetch', { ...plain, tls: 'starttls', uids: String(uids[0]), body: 'full' });
  const text: string = got.messages[0].body.text;
  assert.ok(text.endsWith(sent.message), 'IMAP returns the sent bytes after the Received headers the servers added');
  assert.match(text.slice(0, text.length - sent.message.length), /^Return-Path: <alice@lab\.portolan\.test>\r\nDelivered-To: dave@lab\.portolan\.test\r\n/);
  assert.equal(got.messages[0].envelope.subject, `über SMTP ${id}`);
});

test('IDLE as a POST: reports the EXISTS a delivery causes', async () => {
  const before = await ok('status', { ...plain });
  const waiting = call('imap', 'idle', { ...plain, waitMs: 15_000, timeoutMs: 20_000 });
  await new Promise((r) => setTimeout(r, 1000));
  await ok('send', { host, port: p.lmtp, from: alice.address, to: [dave.address], subject: 'idle', text: 'wake up' }, 'lmtp');
  const { status, body } = await waiting;
  assert.equal(status, 200, JSON.stringify(body.error));
  assert.equal(body.result.idle, true);
  assert.ok(body.result.events.some((e: any) => e.type === 'exists' && e.count >= before.messages + 1), JSON.stringify(body.result.events));
  assert.ok(body.result.exists >= before.messages + 1);
});

test('IDLE as a WebSocket session: ready, a delivered message pushed with its envelope, fetch on demand, stop', async () => {
  const s = await openSession('imap', 'idle', { ...plain, tls: 'starttls', timeoutMs: 120_000 });
  const ready = await s.next((m) => m.type === 'ready');
  assert.equal(ready.mailbox, 'INBOX');
  assert.ok(ready.capabilities.includes('IDLE'));
  const subject = `idle session ${unique()} ✓`;
  await ok('send', { host, port: p.lmtp, from: alice.address, to: [dave.address], subject, text: 'pushed' }, 'lmtp');
  const exists = await s.next((m) => m.type === 'exists');
  assert.ok(exists.count > ready.exists);
  const pushed = await s.next((m) => m.type === 'messages');
  assert.equal(pushed.messages[0].envelope.subject, subject);
  const uid = pushed.messages[0].uid;
  assert.ok(uid >= ready.uidNext);
  s.send({ type: 'fetch', uids: String(uid) });
  const fetched = await s.next((m) => m.type === 'messages');
  assert.equal(fetched.messages[0].uid, uid);
  assert.equal(fetched.messages[0].bodyStructure.type, 'text');
  s.send({ type: 'nonsense' });
  assert.match((await s.next((m) => m.type === 'error')).error.message, /expected \{"type":"fetch"/);
  s.send({ type: 'stop' });
  const end = await s.next((m) => m.type === 'end');
  assert.equal(end.result.ended, 'client');
  assert.equal(end.result.fetched, 2);
});

test('IDLE session with a wrong password: an error message with auth_failed, then the socket closes', async () => {
  const s = await openSession('imap', 'idle', { ...plain, password: 'wrong', authMethod: 'LOGIN' });
  const err = await s.next((m) => m.type === 'error');
  assert.equal(err.error.code, 'auth_failed');
  assert.match(err.error.message, /AUTHENTICATIONFAILED/);
});

test('FETCH as a file: one MIME part decoded (BINARY) and the whole message (.eml) stream with their sizes first; a missing UID before any byte', async () => {
  const attachment = randomBytes(300_000);
  const appended = await ok('append', {
    ...plain,
    mailbox: 'INBOX',
    from: alice.address,
    to: [dave.address],
    subject: `file ${unique()}`,
    text: 'see the attachment\n',
    attachments: [{ filename: 'données.bin', contentBase64: attachment.toString('base64') }],
  });
  const input = { ...plain, mailbox: 'INBOX', uids: String(appended.uid) };
  const part = await streamDownload(workerUrl('dev'), 'imap', 'fetch', { ...input, body: '2' });
  assert.equal(part.status, 200, JSON.stringify(part.json));
  assert.equal(part.error, null);
  assert.equal(part.headers.get('content-length'), String(attachment.length), 'the decoded size, from the BINARY literal');
  assert.equal(part.headers.get('content-disposition'), `attachment; filename="donn_es.bin"; filename*=UTF-8''donn%C3%A9es.bin`);
  assert.equal(part.headers.get('x-portolan-encoding'), 'base64');
  assert.equal(part.sha256, createHash('sha256').update(attachment).digest('hex'));
  const whole = await streamDownload(workerUrl('dev'), 'imap', 'fetch', { ...input, body: 'full' });
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get('content-type'), 'message/rfc822');
  assert.equal(whole.headers.get('content-length'), String(appended.size));
  assert.equal(whole.sha256, createHash('sha256').update(appended.message).digest('hex'), 'the .eml is the appended message, byte for byte');
  const missing = await streamDownload(workerUrl('dev'), 'imap', 'fetch', { ...input, uids: '999999', body: 'full' });
  assert.equal(missing.status, 502);
  assert.equal(missing.json.error.message, 'no message with UID 999999 in the mailbox');
  const noPart = await streamDownload(workerUrl('dev'), 'imap', 'fetch', { ...input, body: '9' });
  assert.equal(noPart.json.error.message, `message ${appended.uid} has no part 9`);
  const many = await streamDownload(workerUrl('dev'), 'imap', 'fetch', { ...input, uids: '1:*', body: 'full' });
  assert.equal(many.status, 400);
  assert.equal(many.json.error.message, 'uids: a download is one message: give one UID');
  await discard([appended.uid]);
});

test('NAMESPACE, QUOTA and SPECIAL-USE: the personal namespace, the quota in use, only the special-use mailboxes', async () => {
  const ns = await ok('namespace', plain);
  assert.deepEqual(ns, { personal: [{ prefix: '', delimiter: '/' }], otherUsers: [], shared: [] });

  const before = await ok('quota', { ...plain, mailbox: 'INBOX' });
  assert.deepEqual(before.roots, ['User quota']);
  const res = (r: any, name: string) => r.quotas[0].resources.find((x: any) => x.name === name);
  assert.equal(res(before, 'STORAGE').limit, mailFacts.quotaKiB);
  assert.equal(res(before, 'MESSAGE').limit, mailFacts.quotaMessages);
  await ok('append', { ...plain, from: alice.address, to: [dave.address], subject: 'quota', text: 'x'.repeat(4000) });
  const after = await ok('quota', { ...plain, mailbox: 'INBOX' });
  assert.equal(res(after, 'MESSAGE').usage, res(before, 'MESSAGE').usage + 1);
  assert.ok(res(after, 'STORAGE').usage >= res(before, 'STORAGE').usage + 3, 'about 4 KB more in KiB');

  const special = await ok('mailboxes', { ...plain, specialUseOnly: true });
  assert.deepEqual(special.mailboxes.map((m: any) => m.name).sort(), ['Archive', 'Drafts', 'Sent', 'Trash']);
  assert.ok(special.mailboxes.find((m: any) => m.name === 'Sent').attributes.includes('\\Sent'));
});

test('ACL: the owner\'s rights, SETACL for another user read back with GETACL, DELETEACL removes it', async () => {
  const box = `Shared ${unique()}`;
  await ok('create', { ...plain, mailbox: box });
  const own = await ok('acl', { ...plain, mailbox: box });
  assert.match(own.myRights, /^(?=.*l)(?=.*r)(?=.*a)/);
  assert.deepEqual(own.entries.map((e: any) => e.identifier), [dave.address]);
  const set = await ok('acl', { ...plain, mailbox: box, set: { identifier: alice.address, rights: 'lrs' } });
  assert.deepEqual(set.entries.find((e: any) => e.identifier === alice.address), { identifier: alice.address, rights: 'lrs' });
  const gone = await ok('acl', { ...plain, mailbox: box, set: { identifier: alice.address, rights: null } });
  assert.ok(!gone.entries.some((e: any) => e.identifier === alice.address));
  const bad = await call('imap', 'acl', { ...plain, mailbox: box, set: { identifier: alice.address, rights: 'lr!' } });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /set\.rights/);
  await ok('delete', { ...plain, mailbox: box });
});

test('SORT and THREAD on the server; CONDSTORE and QRESYNC report flag changes and expunges since a mod-sequence', async () => {
  const box = `Threads ${unique()}`;
  await ok('create', { ...plain, mailbox: box });
  const msg = (id: string, date: string, subject: string, refs?: string) =>
    `From: ${alice.address}\r\nTo: ${dave.address}\r\nDate: ${date}\r\nSubject: ${subject}\r\nMessage-ID: <${id}@lab>\r\n${refs ? `In-Reply-To: <${refs}@lab>\r\nReferences: <${refs}@lab>\r\n` : ''}\r\nbody\r\n`;
  const a = await ok('append', { ...plain, mailbox: box, raw: msg('a', 'Thu, 1 Jan 2026 10:00:00 +0000', 'b topic') });
  const b = await ok('append', { ...plain, mailbox: box, raw: msg('b', 'Sat, 3 Jan 2026 10:00:00 +0000', 'Re: b topic', 'a') });
  const c = await ok('append', { ...plain, mailbox: box, raw: msg('c', 'Fri, 2 Jan 2026 10:00:00 +0000', 'a other') });

  assert.deepEqual((await ok('sort', { ...plain, mailbox: box, sort: [{ key: 'DATE' }] })).uids, [a.uid, c.uid, b.uid]);
  assert.deepEqual((await ok('sort', { ...plain, mailbox: box })).uids, [b.uid, c.uid, a.uid], 'newest first by default');
  assert.deepEqual((await ok('sort', { ...plain, mailbox: box, sort: [{ key: 'SUBJECT' }, { key: 'DATE', reverse: true }] })).uids, [c.uid, b.uid, a.uid], 'base subjects: "a other" before "b topic"');
  assert.deepEqual((await ok('sort', { ...plain, mailbox: box, sort: [{ key: 'DATE' }], subject: 'topic' })).uids, [a.uid, b.uid]);
  const threads = await ok('thread', { ...plain, mailbox: box });
  assert.deepEqual(threads.threads, [{ uid: a.uid, children: [{ uid: b.uid, children: [] }] }, { uid: c.uid, children: [] }]);

  // The baseline a client would keep: everything since mod-sequence 0, and the mailbox's HIGHESTMODSEQ.
  const st = await ok('status', { ...plain, mailbox: box });
  const base = await ok('changes', { ...plain, mailbox: box, sinceModSeq: 0, uidValidity: st.uidValidity });
  assert.deepEqual(base.changed.map((x: any) => x.uid), [a.uid, b.uid, c.uid]);
  const sel = { highestModSeq: base.highestModSeq, uidValidity: base.uidValidity };
  assert.ok(sel.highestModSeq > 0);
  await ok('store', { ...plain, mailbox: box, uids: `${b.uid}`, flags: ['\\Flagged'] });
  await ok('store', { ...plain, mailbox: box, uids: `${c.uid}`, flags: ['\\Deleted'] });
  await ok('expunge', { ...plain, mailbox: box, uids: `${c.uid}` });

  const q = await ok('changes', { ...plain, mailbox: box, sinceModSeq: sel.highestModSeq, uidValidity: sel.uidValidity });
  assert.equal(q.method, 'ENABLE QRESYNC + EXAMINE (QRESYNC)');
  assert.equal(q.uidValidityChanged, false);
  assert.ok(q.highestModSeq > sel.highestModSeq);
  assert.deepEqual(q.changed.map((x: any) => [x.uid, x.flags.includes('\\Flagged')]), [[b.uid, true]]);
  assert.equal(q.vanished, String(c.uid));

  const cs = await ok('changes', { ...plain, mailbox: box, sinceModSeq: sel.highestModSeq });
  assert.equal(cs.method, 'EXAMINE (CONDSTORE) + UID FETCH CHANGEDSINCE');
  assert.deepEqual(cs.changed.map((x: any) => x.uid), [b.uid]);
  assert.ok(cs.changed[0].modSeq > sel.highestModSeq);
  assert.equal(cs.vanished, null);

  const stale = await ok('changes', { ...plain, mailbox: box, sinceModSeq: sel.highestModSeq, uidValidity: sel.uidValidity + 1 });
  assert.equal(stale.uidValidityChanged, true);
  assert.deepEqual(stale.changed, []);
  await ok('delete', { ...plain, mailbox: box });
});

test('COMPRESS=DEFLATE: after login both directions deflated; a large message appended and fetched back byte for byte', async () => {
  const caps = await ok('capabilities', { ...plain, compress: true });
  assert.equal(caps.compression, 'deflate');
  assert.ok(caps.capabilitiesAfterLogin.includes('COMPRESS=DEFLATE'));
  // Over TLS too (STARTTLS, then COMPRESS inside it), with a body of 2 MiB that spans many deflate pieces.
  const tag = unique();
  const text = Array.from({ length: 12_000 }, (_, i) => `line ${i} of ${tag}: ${'abcdefghij'.repeat(i % 7)}`).join('\n');
  const appended = await ok('append', { ...plain, tls: 'starttls', compress: true, mailbox: 'INBOX', from: alice.address, to: [dave.address], subject: `compressed ${tag}`, text });
  const full = await ok('fetch', { ...plain, tls: 'starttls', compress: true, uids: String(appended.uid), body: 'full', envelope: false });
  assert.equal(full.messages[0].body.text, appended.message);
  assert.ok(appended.message.length > 600_000, `${appended.message.length} bytes`);
  const found = await ok('search', { ...plain, compress: true, subject: `compressed ${tag}` });
  assert.deepEqual(found.uids, [appended.uid]);
  await discard([appended.uid]);
  // COMPRESS is an authenticated-state command: without a login it is refused, naming the field.
  const { status, body } = await call('imap', 'capabilities', { host, port: p.imap, compress: true });
  assert.equal(status, 400);
  assert.match(body.error.message, /compress/);
});
