// SNPP against HylaFAX's hfaxd in the lab, through the HTTP API of workerd; queued pages are read back from hfaxd's spool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { call } from '../../../test/harness.ts';
import { labDir, ports } from '../../../lab/index.ts';
import { hylafaxSpool, queueFacts } from '../../../lab/servers/messaging-queues.ts';

const sn = queueFacts.snpp;
const target = { host: '127.0.0.1', port: ports['messaging-queues'].snpp };
const login = { ...target, user: sn.user, password: sn.password };
/** hfaxd waits for delivery unless told to queue (there is no modem in the lab). */
const queue = { site: ['JQUEUE YES'] };

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('snpp', op, input);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result;
}

/** The job file hfaxd wrote for a queued page: its q<jobid> lines, and the text of its message. */
function queuedJob(jobId: string): { fields: Record<string, string>; text: string } {
  const spool = hylafaxSpool(labDir);
  const fields: Record<string, string> = {};
  for (const line of readFileSync(join(spool, 'sendq', `q${jobId}`), 'latin1').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !(line.slice(0, colon) in fields)) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  const doc = fields.data.split('::')[1];
  return { fields, text: readFileSync(join(spool, doc), 'utf8') };
}

test('snpp: the banner, HELP and STAT name hfaxd', async () => {
  const r = await ok('probe', { ...target, user: sn.anonymousUser });
  assert.match(r.banner, /SNPP server \(HylaFAX \(tm\) Version 6\.0\.7\) ready/);
  assert.ok(r.help.some((l: string) => /DATA/.test(l)));
  assert.ok(r.status.some((l: string) => /Logged in as user portolan/.test(l)));
});

test('snpp: a one-line page is queued with its level and subject, and its text is in hfaxd\'s spool', async () => {
  const message = `Disk almost full ${Date.now()}`;
  const r = await ok('send', { ...login, pagers: ['5550001'], message, subject: 'lab alert', level: 2, ...queue });
  assert.equal(r.sent.code, 250);
  assert.match(r.sent.text, /Message successfully queued/);
  assert.match(r.pagers[0].text, new RegExp(`provider: ${sn.provider} pin: 5550001`));
  assert.match(r.pagers[0].jobId, /^\d+$/);
  assert.deepEqual(r.steps.map((s: { command: string }) => s.command), ['LEVE', 'SITE', 'PAGE', 'SUBJ', 'MESS', 'SEND']);
  const job = queuedJob(r.pagers[0].jobId);
  assert.equal(job.fields.jobtype, 'pager');
  assert.equal(job.fields.owner, sn.user);
  assert.equal(job.fields.number, sn.provider);
  assert.match(job.text, new RegExp(message));
});

test('snpp: a multi-line page goes as DATA and arrives with its lines, a leading dot kept', async () => {
  const message = 'first line\n.a line starting with a dot\nlast line';
  const r = await ok('send', { ...target, user: sn.anonymousUser, pagers: ['5550002'], message, holdUntil: new Date(Date.now() + 120_000).toISOString(), ...queue });
  assert.ok(r.steps.some((s: { command: string }) => s.command === 'DATA'));
  assert.ok(r.steps.some((s: { command: string }) => s.command === 'HOLD'));
  assert.equal(queuedJob(r.pagers[0].jobId).text, 'first line\n.a line starting with a dot\nlast line\n');
  const dot = await call('snpp', 'send', { ...login, pagers: ['1'], message: 'a\n.\nb' });
  assert.equal(dot.status, 400);
  assert.match(dot.body.error.message, /^message: has a line that is a single "\."/);
});

test('snpp: wrong password is auth_failed; rejected pagers, bad levels and PING in the server\'s words', async () => {
  const bad = await call('snpp', 'send', { ...login, password: 'wrong', pagers: ['1'], message: 'x' });
  assert.equal(bad.status, 502);
  assert.equal(bad.body.error.code, 'auth_failed');
  assert.match(bad.body.error.message, /550 Login incorrect/);
  assert.doesNotMatch(bad.body.error.message, /wrong/);
  const rejected = await call('snpp', 'send', { ...login, pagers: [`${sn.rejectPrefix}-me`], message: 'x' });
  assert.equal(rejected.body.error.code, 'server_error');
  assert.match(rejected.body.error.message, /PAGE: 550 Invalid pager ID reject-me/);
  const level = await call('snpp', 'send', { ...login, pagers: ['1'], message: 'x', level: 11, holdUntil: '2001-01-01T00:00:00Z' });
  assert.match(level.body.error.message, /HOLD: 550 Invalid delivery date\/time; time in the past/);
  assert.deepEqual(await ok('ping', { ...login, pager: '5550003' }), { pager: '5550003', valid: true, code: 821, text: 'Valid pager ID, no location information available.' });
  const invalid = await ok('ping', { ...login, pager: `${sn.rejectPrefix}1` });
  assert.equal(invalid.valid, false);
  assert.equal(invalid.code, 550);
  const nl = await call('snpp', 'send', { ...login, pagers: ['1\r\nQUIT'], message: 'x' });
  assert.equal(nl.status, 400);
  assert.match(nl.body.error.message, /^pagers\.0: pager id must be one line/);
});
