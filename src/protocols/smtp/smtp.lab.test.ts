// SMTP, Submission, SMTPS and LMTP against postfix and dovecot from the lab, through workerd's HTTP API.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { maildirMessages, mailFacts } from '../../../lab/servers/mail.ts';
import { call } from '../../../test/harness.ts';

const host = '127.0.0.1';
const p = ports.mail;
const { alice, bob, carol } = mailFacts.users;

before(() => ensureLab(['mail']));

/** The message as dovecot's Maildir stores it: LF line ends. */
const asStored = (message: string) => Buffer.from(message.replace(/\r\n/g, '\n'));

/** Waits until a message with this Message-ID sits in the user's Maildir; returns its bytes. */
async function delivered(address: string, messageId: string, timeoutMs = 15_000): Promise<Buffer> {
  return arrived(address, (bytes) => bytes.includes(`Message-ID: <${messageId}>`) || bytes.includes(`Message-Id: <${messageId}>`), messageId, timeoutMs);
}

/** Waits until a message that `matches` sits in the user's Maildir; returns its bytes. */
async function arrived(address: string, matches: (bytes: Buffer) => boolean, what: string, timeoutMs = 15_000): Promise<Buffer> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const file of maildirMessages(address)) {
      const bytes = readFileSync(file);
      if (matches(bytes)) return bytes;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no message ${what} in ${address}'s Maildir within ${timeoutMs} ms`);
}

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

test('probe on the MX-style port: banner, STARTTLS offered, no AUTH on a plain connection', async () => {
  const { status, body } = await call('smtp', 'probe', { host, port: p.smtp });
  assert.equal(status, 200, JSON.stringify(body));
  const r = body.result;
  assert.match(r.banner, /^mail\.lab\.portolan\.test ESMTP Portolan lab/);
  assert.equal(r.tls.offered, true);
  assert.equal(r.tls.active, false);
  assert.equal(r.capabilities.size, mailFacts.messageSizeLimit);
  assert.equal(r.capabilities.pipelining, true);
  assert.equal(r.capabilities.chunking, true);
  assert.equal(r.capabilities.smtpUtf8, true);
  assert.deepEqual(r.authBefore, []);
  assert.equal(r.capabilitiesAfterStartTls, null);
});

test('probe submission with STARTTLS: AUTH appears only after the upgrade', async () => {
  const { status, body } = await call('smtp', 'probe', { host, port: p.submission, tls: 'starttls' });
  assert.equal(status, 200, JSON.stringify(body));
  const r = body.result;
  assert.equal(r.tls.active, true);
  assert.deepEqual(r.authBefore, []);
  assert.deepEqual([...r.authAfter].sort(), ['CRAM-MD5', 'LOGIN', 'PLAIN', 'SCRAM-SHA-256']);
  assert.equal(r.capabilitiesAfterStartTls.starttls, false, 'STARTTLS is not offered again inside TLS');
  assert.ok(typeof body.timing.tlsMs === 'number');
});

test('probe SMTPS (implicit TLS): AUTH offered at once', async () => {
  const { status, body } = await call('smtp', 'probe', { host, port: p.smtps, tls: 'implicit' });
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.result.tls.active, true);
  assert.deepEqual([...body.result.authBefore].sort(), ['CRAM-MD5', 'LOGIN', 'PLAIN', 'SCRAM-SHA-256']);
});

test('submission + STARTTLS + AUTH PLAIN: a MIME message arrives byte for byte', async () => {
  const id = `${unique()}@lab.portolan.test`;
  const input = {
    host,
    port: p.submission,
    tls: 'starttls',
    username: alice.address,
    password: alice.password,
    authMechanism: 'PLAIN',
    from: `Zoë Ålice <${alice.address}>`,
    to: [`Bob Büchner <${bob.address}>`],
    subject: `Grüße, ${id}`,
    text: '.this first line starts with a dot\n.\nand the line above is a lone dot\n',
    html: '<p>Grüße ✓</p>',
    attachments: [{ filename: 'données.bin', contentBase64: Buffer.from([0, 1, 2, 0x2e, 0x0d, 0x0a, 0x2e, 255]).toString('base64') }],
    messageId: id,
  };
  const { status, body } = await call('smtp', 'send', input, { transcript: true });
  assert.equal(status, 200, JSON.stringify(body.error));
  const r = body.result;
  assert.equal(r.tls, true);
  assert.equal(r.auth, 'PLAIN');
  assert.deepEqual(r.envelope.recipients.map((x: any) => [x.address, x.accepted, x.code]), [[bob.address, true, 250]]);
  assert.equal(r.data.code, 250);
  assert.equal(r.data.enhanced, '2.0.0');
  assert.match(r.queueId, /^[0-9A-F]+$/);
  // The password never reaches the transcript.
  assert.ok(!JSON.stringify(body.transcript).includes(Buffer.from(alice.password).toString('hex')));
  assert.ok(body.transcript.entries.some((e: any) => e.decode === 'AUTH PLAIN ****'));
  // The DATA payload on the wire is dot-stuffed.
  const data = body.transcript.entries.find((e: any) => e.dir === 'out' && /dot-stuffed/.test(e.decode ?? ''));
  assert.ok(Buffer.from(data.hex, 'hex').toString('latin1').includes('\r\n\r\n..this first line starts with a dot\r\n..\r\n'));
  const stored = await delivered(bob.address, id);
  const sent = asStored(r.message);
  assert.ok(stored.subarray(stored.length - sent.length).equals(sent), 'the stored message ends with the exact bytes sent');
  assert.ok(stored.toString('latin1').includes('by mail.lab.portolan.test (Postfix) with ESMTPSA'));
});

test('SMTPS with AUTH LOGIN and BDAT; CRAM-MD5 and SCRAM-SHA-256 on submission', async () => {
  const id1 = `${unique()}@lab.portolan.test`;
  const a = await call('smtp', 'send', {
    host, port: p.smtps, tls: 'implicit', username: alice.address, password: alice.password, authMechanism: 'LOGIN',
    from: alice.address, to: [bob.address], subject: 'login + bdat', text: 'x', messageId: id1, transfer: 'bdat',
  });
  assert.equal(a.status, 200, JSON.stringify(a.body.error));
  assert.equal(a.body.result.auth, 'LOGIN');
  assert.ok((await delivered(bob.address, id1)).toString('latin1').endsWith(asStored(a.body.result.message).toString('latin1')));

  for (const authMechanism of ['CRAM-MD5', 'SCRAM-SHA-256']) {
    const id = `${unique()}@lab.portolan.test`;
    const b = await call('smtp', 'send', {
      host, port: p.submission, tls: 'starttls', username: alice.address, password: alice.password, authMechanism,
      from: alice.address, to: [bob.address], subject: authMechanism, text: 'y', messageId: id,
    });
    assert.equal(b.status, 200, JSON.stringify(b.body.error));
    assert.equal(b.body.result.auth, authMechanism);
    await delivered(bob.address, id);
  }
});

test('wrong password: auth_failed with the server reply', async () => {
  const { status, body } = await call('smtp', 'send', {
    host, port: p.submission, tls: 'starttls', username: alice.address, password: 'wrong', from: alice.address, to: [bob.address], text: 'x',
  });
  assert.equal(status, 502);
  assert.equal(body.error.code, 'auth_failed');
  assert.match(body.error.message, /535 5\.7\.8 .*authentication failed/i);
  assert.equal(body.error.detail.code, 535);
});

test('AUTH on a plain submission connection: no mechanism offered, auth_failed says to use TLS', async () => {
  const { status, body } = await call('smtp', 'send', { host, port: p.submission, username: alice.address, password: alice.password, from: alice.address, to: [bob.address], text: 'x' });
  assert.equal(status, 502);
  assert.equal(body.error.code, 'auth_failed');
  assert.match(body.error.message, /no AUTH mechanism on a plain connection/);
});

test('a reply the operation cannot continue from: server_error with code and text', async () => {
  // Submission requires TLS before MAIL (smtpd_tls_security_level=encrypt).
  const { status, body } = await call('smtp', 'send', { host, port: p.submission, from: alice.address, to: [bob.address], text: 'x' });
  assert.equal(status, 502);
  assert.equal(body.error.code, 'server_error');
  assert.equal(body.error.detail.code, 530);
  assert.match(body.error.message, /MAIL FROM refused: 530 5\.7\.0 Must issue a STARTTLS command first/);
});

test('per-recipient results: one unknown user is refused, the known one gets the message', async () => {
  const id = `${unique()}@lab.portolan.test`;
  const { status, body } = await call('smtp', 'send', { host, port: p.smtp, from: 'outside@example.net', to: [bob.address, mailFacts.unknownUser], subject: 'mx', text: 'via port 25-style smtpd', messageId: id });
  assert.equal(status, 200, JSON.stringify(body.error));
  const [ok, refused] = body.result.envelope.recipients;
  assert.deepEqual([ok.address, ok.accepted, ok.code], [bob.address, true, 250]);
  assert.deepEqual([refused.address, refused.accepted, refused.code, refused.enhanced], [mailFacts.unknownUser, false, 550, '5.1.1']);
  assert.match(refused.text, /User unknown in virtual mailbox table/);
  await delivered(bob.address, id);

  const none = await call('smtp', 'send', { host, port: p.smtp, from: 'outside@example.net', to: [mailFacts.unknownUser], text: 'x' });
  assert.equal(none.status, 502);
  assert.equal(none.body.error.code, 'server_error');
  assert.equal(none.body.error.detail.code, 550);
  assert.match(none.body.error.message, /no recipient accepted: nobody@lab\.portolan\.test: 550 5\.1\.1/);
});

test('relay to another domain is refused: server_error 554 Relay access denied', async () => {
  const { body } = await call('smtp', 'send', { host, port: p.smtp, from: alice.address, to: ['someone@example.org'], text: 'x' });
  assert.equal(body.error.code, 'server_error');
  assert.equal(body.error.detail.code, 554);
  assert.match(body.error.message, /Relay access denied/);
});

test('raw message, sent as is with CRLF line ends', async () => {
  const id = `${unique()}@lab.portolan.test`;
  const raw = `From: ${alice.address}\nTo: ${bob.address}\nSubject: raw\nMessage-ID: <${id}>\n\n.raw dot line\nend\n`;
  const { status, body } = await call('smtp', 'send', { host, port: p.smtp, tls: 'starttls', raw, to: [bob.address] });
  assert.equal(status, 200, JSON.stringify(body.error));
  assert.equal(body.result.tls, true);
  assert.equal(body.result.message, raw.replace(/\n/g, '\r\n'));
  assert.ok((await delivered(bob.address, id)).toString('latin1').endsWith(raw));
});

test('port 25 is refused on Workers with the platform reason', async () => {
  const { status, body } = await call('smtp', 'probe', { host, port: 25 });
  assert.equal(status, 403);
  assert.equal(body.error.code, 'target_blocked');
  assert.match(body.error.message, /port 25/);
});

test('LMTP: LHLO, STARTTLS, one delivery reply per recipient', async () => {
  const probe = await call('lmtp', 'probe', { host, port: p.lmtp, tls: 'starttls' });
  assert.equal(probe.status, 200, JSON.stringify(probe.body.error));
  assert.equal(probe.body.result.tls.active, true);
  assert.ok(probe.body.result.capabilities.pipelining);

  const id = `${unique()}@lab.portolan.test`;
  const { status, body } = await call('lmtp', 'send', { host, port: p.lmtp, from: alice.address, to: [carol.address, bob.address, mailFacts.unknownUser], subject: 'lmtp ✓', text: '.dot\n', messageId: id });
  assert.equal(status, 200, JSON.stringify(body.error));
  const r = body.result;
  assert.deepEqual(r.envelope.recipients.map((x: any) => [x.address, x.accepted]), [[carol.address, true], [bob.address, true], [mailFacts.unknownUser, false]]);
  assert.equal(r.envelope.recipients[2].code, 550);
  assert.deepEqual(r.delivery.map((x: any) => [x.address, x.accepted, x.code, x.enhanced]), [[carol.address, true, 250, '2.0.0'], [bob.address, true, 250, '2.0.0']]);
  assert.equal(r.data, null);
  for (const who of [carol.address, bob.address]) assert.ok((await delivered(who, id)).toString('latin1').endsWith(asStored(r.message).toString('latin1')));
});

test('PIPELINING: MAIL, every RCPT and DATA in one write; turned off, one command per write', async () => {
  const id = `${unique()}@lab.portolan.test`;
  const on = await call('smtp', 'send', { host, port: p.smtp, from: alice.address, to: [bob.address, carol.address, mailFacts.unknownUser], subject: 'pipelined', text: 'p', messageId: id }, { transcript: true });
  assert.equal(on.status, 200, JSON.stringify(on.body.error));
  const r = on.body.result;
  assert.equal(r.pipelining.used, true);
  assert.deepEqual(r.pipelining.groups[0], [`MAIL FROM:<${alice.address}> SIZE=${r.size}`, `RCPT TO:<${bob.address}>`, `RCPT TO:<${carol.address}>`, `RCPT TO:<${mailFacts.unknownUser}>`, 'DATA']);
  const writes = on.body.transcript.entries.filter((e: any) => e.dir === 'out' && /^MAIL FROM/.test(e.decode ?? ''));
  assert.equal(writes.length, 1);
  assert.equal(writes[0].decode, r.pipelining.groups[0].join(' | '));
  assert.deepEqual(r.envelope.recipients.map((x: any) => [x.address, x.code]), [[bob.address, 250], [carol.address, 250], [mailFacts.unknownUser, 550]]);
  for (const who of [bob.address, carol.address]) await delivered(who, id);

  const off = await call('smtp', 'send', { host, port: p.smtp, from: alice.address, to: [bob.address], text: 'q', pipelining: false });
  assert.equal(off.status, 200, JSON.stringify(off.body.error));
  assert.equal(off.body.result.pipelining.used, false);
  assert.deepEqual(off.body.result.pipelining.groups.map((g: string[]) => g.length), [1, 1, 1]);
});

test('BDAT in chunks (CHUNKING, RFC 3030), pipelined: the message arrives byte for byte', async () => {
  const id = `${unique()}@lab.portolan.test`;
  const text = Array.from({ length: 40 }, (_, i) => `.line ${i} ✓ with 8-bit bytes`).join('\n');
  const { status, body } = await call('smtp', 'send', { host, port: p.smtp, from: alice.address, to: [bob.address], subject: 'chunks', text, messageId: id, transfer: 'bdat', chunkSize: 300 }, { transcript: true });
  assert.equal(status, 200, JSON.stringify(body.error));
  const r = body.result;
  assert.equal(r.chunks, Math.ceil(r.size / 300));
  assert.ok(r.chunks > 3);
  assert.deepEqual(r.pipelining.groups.at(-1), Array.from({ length: r.chunks }, (_, i) => (i === r.chunks - 1 ? `BDAT ${r.size - 300 * i} LAST` : 'BDAT 300')));
  assert.equal(r.data.code, 250);
  const stored = await delivered(bob.address, id);
  assert.ok(stored.toString('latin1').endsWith(asStored(r.message).toString('latin1')), 'no dot-stuffing, no chunk boundary shows');
});

test('8BITMIME: a raw message with 8-bit bytes goes with BODY=8BITMIME; BINARYMIME, which postfix lacks, is refused before MAIL', async () => {
  const id = `${unique()}@lab.portolan.test`;
  const raw = `From: ${alice.address}\nTo: ${bob.address}\nSubject: eight\nMessage-ID: <${id}>\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGrüße aus dem Labor\n`;
  const { status, body } = await call('smtp', 'send', { host, port: p.smtp, raw, to: [bob.address] });
  assert.equal(status, 200, JSON.stringify(body.error));
  assert.ok(body.result.mailParams.includes('BODY=8BITMIME'));
  assert.ok(!body.result.mailParams.includes('SMTPUTF8'), 'the headers are ASCII');
  assert.ok((await delivered(bob.address, id)).toString('utf8').endsWith('Grüße aus dem Labor\n'));

  const bin = await call('smtp', 'send', { host, port: p.smtp, raw, to: [bob.address], transfer: 'bdat', body: 'BINARYMIME' });
  assert.equal(bin.status, 502);
  assert.equal(bin.body.error.code, 'server_error');
  assert.match(bin.body.error.message, /does not offer BINARYMIME/);
  const dataBin = await call('smtp', 'send', { host, port: p.smtp, raw, to: [bob.address], body: 'BINARYMIME' });
  assert.equal(dataBin.status, 400);
  assert.match(dataBin.body.error.message, /transfer/);
});

test('SMTPUTF8: a UTF-8 local part reaches its mailbox; without SMTPUTF8 the address is refused before MAIL', async () => {
  const zoe = mailFacts.users.zoe;
  const id = `${unique()}@lab.portolan.test`;
  const { status, body } = await call('smtp', 'send', { host, port: p.smtp, from: `Zoë <${alice.address}>`, to: [`Zoë <${zoe.address}>`], subject: 'für zoë', text: 'ünïcödé', messageId: id }, { transcript: true });
  assert.equal(status, 200, JSON.stringify(body.error));
  const r = body.result;
  assert.ok(r.mailParams.includes('SMTPUTF8'));
  assert.deepEqual(r.envelope.recipients.map((x: any) => [x.address, x.code]), [[zoe.address, 250]]);
  const rcpt = body.transcript.entries.find((e: any) => e.dir === 'out' && /RCPT TO/.test(e.decode ?? ''));
  assert.ok(Buffer.from(rcpt.hex, 'hex').includes(Buffer.from(`RCPT TO:<${zoe.address}>`, 'utf8')), 'the address goes as UTF-8 on the wire');
  await delivered(zoe.address, id);

  const never = await call('smtp', 'send', { host, port: p.smtp, from: alice.address, to: [zoe.address], text: 'x', smtputf8: 'never' });
  assert.equal(never.status, 400);
  assert.match(never.body.error.message, /smtputf8/);
});

test('DSN (RFC 3461): NOTIFY=SUCCESS brings a delivery report, NOTIFY=FAILURE a failure report, both with the ENVID', async () => {
  const envid = `env-${unique()}`;
  const ok = await call('smtp', 'send', { host, port: p.smtp, from: alice.address, to: [bob.address], subject: 'dsn success', text: 'x', dsn: { notify: ['SUCCESS', 'FAILURE'], ret: 'HDRS', envid } });
  assert.equal(ok.status, 200, JSON.stringify(ok.body.error));
  assert.deepEqual(ok.body.result.mailParams.slice(1), ['RET=HDRS', `ENVID=${envid}`]);
  assert.deepEqual(ok.body.result.rcptParams, ['NOTIFY=SUCCESS,FAILURE', `ORCPT=rfc822;${bob.address}`]);
  const report = (await arrived(alice.address, (b) => b.includes(`Original-Envelope-Id: ${envid}`), `report for ${envid}`)).toString('latin1');
  assert.match(report, /Content-Type: multipart\/report; report-type=delivery-status/);
  assert.match(report, new RegExp(`Original-Recipient: rfc822;${bob.address}`));
  // Dovecot's LMTP does not announce DSN, so postfix reports the hand-off to it (RFC 3461 6.2.1 "relayed").
  assert.match(report, /Action: relayed/);
  assert.match(report, /Status: 2\.0\.0/);

  const envid2 = `env-${unique()}`;
  const bad = await call('smtp', 'send', { host, port: p.smtp, from: alice.address, to: [mailFacts.ghost], subject: 'dsn failure', text: 'y', dsn: { notify: ['FAILURE'], ret: 'FULL', envid: envid2 } });
  assert.equal(bad.status, 200, JSON.stringify(bad.body.error));
  assert.equal(bad.body.result.envelope.recipients[0].code, 250, 'accepted at RCPT, fails at delivery');
  const failure = (await arrived(alice.address, (b) => b.includes(`Original-Envelope-Id: ${envid2}`), `report for ${envid2}`)).toString('latin1');
  assert.match(failure, /Action: failed/);
  assert.match(failure, /Status: 5\.\d\.\d/);
  assert.match(failure, /Subject: dsn failure/, 'RET=FULL returns the message');
});

test('REQUIRETLS (RFC 8689): refused before MAIL on a plain session, and on TLS because postfix does not offer it', async () => {
  const plain = await call('smtp', 'send', { host, port: p.smtp, from: alice.address, to: [bob.address], text: 'x', requireTls: true });
  assert.equal(plain.status, 400);
  assert.match(plain.body.error.message, /requireTls/);
  const tls = await call('smtp', 'send', { host, port: p.smtp, tls: 'starttls', from: alice.address, to: [bob.address], text: 'x', requireTls: true }, { transcript: true });
  assert.equal(tls.status, 502);
  assert.equal(tls.body.error.code, 'server_error');
  assert.match(tls.body.error.message, /does not offer REQUIRETLS/);
  assert.ok(!tls.body.transcript.entries.some((e: any) => /MAIL FROM/.test(e.decode ?? '')), 'no MAIL was sent');
});
