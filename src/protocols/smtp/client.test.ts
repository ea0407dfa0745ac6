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
