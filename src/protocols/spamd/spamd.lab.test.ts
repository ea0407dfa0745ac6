// SpamAssassin 4's spamd (lab area shares, shipped rules, no network tests) through workerd's API: PING, CHECK,
// SYMBOLS, REPORT, PROCESS on a clean message and on GTUBE, TELL learning a message into Bayes and forgetting it.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { spamdFacts } from '../../../lab/servers/shares.ts';
import { call } from '../../../test/harness.ts';

const target = { host: '127.0.0.1', port: ports.shares.spamd };
const ham = 'From: Harbour Master <master@harbour.example>\r\nTo: crew@harbour.example\r\nSubject: Tide tables for next week\r\nDate: Mon, 1 Jan 2024 09:00:00 +0000\r\nMessage-ID: <tide-1@harbour.example>\r\n\r\nHigh tide is at 06:12 on Monday.\r\n';
const spam = `From: a@b.example\r\nTo: c@d.example\r\nSubject: offer\r\nDate: Mon, 1 Jan 2024 09:00:00 +0000\r\nMessage-ID: <x@b.example>\r\n\r\n${spamdFacts.gtube}\r\n`;

before(() => ensureLab(['shares']));

test('spamd PING; CHECK of a plain message (ham) and of GTUBE (spam, 1000 points and more)', async () => {
  const ping = await call('spamd', 'ping', target);
  assert.deepEqual(ping.body.result, { version: '1.5', reply: 'PONG' });
  const h = await call('spamd', 'check', { ...target, message: ham });
  assert.equal(h.status, 200, JSON.stringify(h.body));
  assert.equal(h.body.result.spam, false);
  assert.equal(h.body.result.threshold, spamdFacts.threshold);
  assert.ok(h.body.result.score < spamdFacts.threshold);
  const s = await call('spamd', 'check', { ...target, message: spam });
  assert.equal(s.body.result.spam, true);
  assert.ok(s.body.result.score >= 1000, String(s.body.result.score));
});

test('spamd SYMBOLS, REPORT and PROCESS of GTUBE: the rule named, its points and description, the X-Spam headers', async () => {
  const sym = await call('spamd', 'symbols', { ...target, message: spam });
  assert.ok(sym.body.result.symbols.includes('GTUBE'), sym.body.result.symbols.join(','));
  const rep = await call('spamd', 'report', { ...target, message: spam });
  const gtube = rep.body.result.rules.find((r: any) => r.rule === 'GTUBE');
  assert.equal(gtube.points, 1000);
  assert.match(gtube.description, /Generic Test for Unsolicited Bulk Email/);
  const proc = await call('spamd', 'process', { ...target, message: spam });
  assert.equal(proc.body.result.spam, true);
  assert.match(proc.body.result.message, /^X-Spam-Flag: YES\r?$/m);
  assert.match(proc.body.result.message, /X-Spam-Status: Yes, score=\d+/);
  const clean = await call('spamd', 'process', { ...target, message: ham });
  assert.match(clean.body.result.message, /X-Spam-Status: No/);
  assert.match(clean.body.result.message, /High tide is at 06:12 on Monday\./);
});

test('spamd TELL: a new message learned as spam (DidSet: local), learned again changes nothing, then forgotten (DidRemove: local)', async () => {
  const message = `From: x@y.example\r\nTo: z@y.example\r\nSubject: cargo ${process.pid}-${Date.now()}\r\nDate: Mon, 1 Jan 2024 09:00:00 +0000\r\nMessage-ID: <${process.pid}.${Date.now()}@y.example>\r\n\r\nCheap containers ${Date.now()}\r\n`;
  const learn = await call('spamd', 'tell', { ...target, message, class: 'spam', timeoutMs: 30_000 });
  assert.equal(learn.status, 200, JSON.stringify(learn.body));
  assert.deepEqual(learn.body.result.didSet, ['local']);
  const again = await call('spamd', 'tell', { ...target, message, class: 'spam', timeoutMs: 30_000 });
  assert.deepEqual(again.body.result.didSet, []);
  const forget = await call('spamd', 'tell', { ...target, message, class: 'spam', action: 'forget', timeoutMs: 30_000 });
  assert.deepEqual(forget.body.result.didRemove, ['local']);
});

test('spamd over TLS (--listen ssl:): CHECK of GTUBE', async () => {
  const r = await call('spamd', 'check', { ...target, port: ports.shares.spamdTls, tls: 'implicit', message: spam });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.spam, true);
});
