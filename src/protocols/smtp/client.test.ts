// SMTP/LMTP sessions against a scripted in-memory server: HELO fallback (RFC 5321 3.2), no PIPELINING, the STARTTLS
// injection defence (RFC 3207 6), LMTP per-recipient DATA replies (RFC 2033 4.2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PortolanError } from '../../core/errors.ts';
import { runOperation } from '../../core/runner.ts';
import { memoryHost, pipe } from '../../../test/memory.ts';
import { scriptServer } from '../mail/fixtures/scripted.ts';
import smtp from './index.ts';
import lmtp from './lmtp.ts';
import { transactionParams, utf8AddrText, xtext } from './client.ts';
import { parseEhlo } from './codec.ts';

test('EHLO refused: HELO fallback, commands one at a time, the DATA payload stuffed', async () => {
  const p = pipe();
  let inData = false;
  const seen = scriptServer(p, (line, reply) => {
    if (inData) {
      if (line === '.') {
        inData = false;
        reply('250 Ok queued as ABC123\r\n');
      }
      return;
    }
    const verb = line.split(/[ :]/)[0];
    if (verb === 'EHLO') reply('502 5.5.2 Error: command not recognized\r\n');
    else if (verb === 'HELO') reply('250 old.example\r\n');
    else if (verb === 'MAIL' || verb === 'RCPT') reply('250 Ok\r\n');
    else if (verb === 'DATA') {
      inData = true;
      reply('354 go ahead\r\n');
    } else if (verb === 'QUIT') reply('221 Bye\r\n');
  });
  p.push('220 old.example SMTP\r\n');
  const answer = await runOperation(memoryHost([p]), smtp, smtp.operations.send, { host: 'h', port: 2525, raw: 'From: a@b.example\n\n.dot\n', to: ['c@d.example'] });
  const r = answer.result as any;
  assert.equal(r.queueId, 'ABC123');
  assert.deepEqual(r.capabilities.keywords, {});
  assert.deepEqual(seen, ['EHLO portolan.invalid', 'HELO portolan.invalid', 'MAIL FROM:<a@b.example>', 'RCPT TO:<c@d.example>', 'DATA', 'From: a@b.example', '', '..dot', '.', 'QUIT']);
});

test('bytes after the STARTTLS go-ahead are refused as a possible injection', async () => {
  const p = pipe();
  scriptServer(p, (line, reply) => {
    if (line.startsWith('EHLO')) reply('250-mx.example\r\n250 STARTTLS\r\n');
    if (line === 'STARTTLS') reply('220 2.0.0 Ready\r\n250-injected\r\n');
  });
  p.push('220 mx.example ESMTP\r\n');
  await assert.rejects(runOperation(memoryHost([p]), smtp, smtp.operations.probe, { host: 'h', port: 2525, tls: 'starttls' }), (e: PortolanError) => {
    assert.equal(e.code, 'protocol_error');
    assert.match(e.message, /after its STARTTLS go-ahead \(possible injection\)/);
    return true;
  });
});

test('STARTTLS asked for but not offered: tls_error naming the reason', async () => {
  const p = pipe();
  scriptServer(p, (line, reply) => {
    if (line.startsWith('EHLO')) reply('250-mx.example\r\n250 8BITMIME\r\n');
  });
  p.push('220 mx.example ESMTP\r\n');
  await assert.rejects(runOperation(memoryHost([p]), smtp, smtp.operations.probe, { host: 'h', port: 2525, tls: 'starttls' }), (e: PortolanError) => e.code === 'tls_error' && /does not offer STARTTLS/.test(e.message));
});

test('LMTP: one reply per accepted recipient, in RCPT order, a partial failure reported per recipient', async () => {
  const p = pipe();
  let inData = false;
  scriptServer(p, (line, reply) => {
    if (inData) {
      if (line === '.') {
        inData = false;
        reply('250 2.0.0 <a@x.example> Saved\r\n452 4.2.2 <c@x.example> Quota exceeded\r\n');
      }
      return;
    }
    if (line.startsWith('LHLO')) reply('250-store.example\r\n250 PIPELINING\r\n');
    else if (line.startsWith('MAIL')) reply('250 2.1.0 OK\r\n');
    else if (line.startsWith('RCPT TO:<b@')) reply('550 5.1.1 <b@x.example> User doesn\'t exist\r\n');
    else if (line.startsWith('RCPT')) reply('250 2.1.5 OK\r\n');
    else if (line === 'DATA') {
      inData = true;
      reply('354 OK\r\n');
    } else if (line === 'QUIT') reply('221 2.0.0 Bye\r\n');
  });
  p.push('220 store.example LMTP ready\r\n');
  const r = (await runOperation(memoryHost([p]), lmtp, lmtp.operations.send, { host: 'h', from: 's@x.example', to: ['a@x.example', 'b@x.example', 'c@x.example'], text: 'hi' })).result as any;
  assert.deepEqual(r.envelope.recipients.map((x: any) => [x.address, x.accepted, x.code]), [['a@x.example', true, 250], ['b@x.example', false, 550], ['c@x.example', true, 250]]);
  assert.deepEqual(r.delivery.map((x: any) => [x.address, x.accepted, x.code, x.enhanced]), [['a@x.example', true, 250, '2.0.0'], ['c@x.example', false, 452, '4.2.2']]);
});

test('transaction parameters: xtext ENVID, ORCPT in rfc822 and utf-8 forms, BODY and SMTPUTF8 from the message', () => {
  assert.equal(xtext('a+b=c d'), 'a+2Bb+3Dc+20d');
  assert.equal(utf8AddrText('zoë+x@ex.test'), 'zoë\\x{2B}x@ex.test');
  const caps = parseEhlo({ code: 250, enhanced: null, lines: ['mx', 'SIZE 100', '8BITMIME', 'DSN', 'SMTPUTF8', 'CHUNKING'] });
  const message = new TextEncoder().encode('Subject: grüße\r\n\r\nbody\r\n');
  const p = transactionParams(caps, message, ['a@x.test', 'zoë@x.test'], { body: 'auto', smtputf8: 'auto', transfer: 'data', dsn: { notify: ['FAILURE'], ret: 'HDRS', envid: 'id 1', orcpt: true } });
  assert.deepEqual(p.mail, [`SIZE=${message.length}`, 'BODY=8BITMIME', 'SMTPUTF8', 'RET=HDRS', 'ENVID=id+201']);
  assert.deepEqual(p.rcpt('zoë@x.test'), ['NOTIFY=FAILURE', 'ORCPT=utf-8;zoë@x.test']);
  assert.deepEqual(p.rcpt('b@x.test'), ['NOTIFY=FAILURE', 'ORCPT=rfc822;b@x.test']);
  assert.throws(() => transactionParams(caps, message, ['a@x.test'], { body: 'BINARYMIME', smtputf8: 'auto', transfer: 'bdat' }), /does not offer BINARYMIME/);
  assert.throws(() => transactionParams(caps, message, ['zoë@x.test'], { body: 'auto', smtputf8: 'never', transfer: 'data' }), /smtputf8/);
  const plain = parseEhlo({ code: 250, enhanced: null, lines: ['mx', 'PIPELINING'] });
  assert.throws(() => transactionParams(plain, new Uint8Array([0x41]), ['a@x.test'], { body: 'auto', smtputf8: 'auto', transfer: 'data', dsn: { notify: ['SUCCESS'], orcpt: true } }), /does not offer DSN/);
});
