// SMPP against Kannel's drive_smpp SMSC (Debian's kannel-extras) in the lab, through the HTTP API of workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { call, openSession, type ApiResult } from '../../../test/harness.ts';
import { labDir, ports } from '../../../lab/index.ts';
import { driveSmppLog, smscFacts } from '../../../lab/servers/messaging-queues.ts';

const target = { host: '127.0.0.1', port: ports['messaging-queues'].smsc, systemId: 'portolan', password: 'lab' };

/** drive_smpp serves one ESME per run and restarts: a call right after another may find it restarting. */
async function smpp(op: string, input: Record<string, unknown>): Promise<ApiResult> {
  for (let attempt = 0; ; attempt++) {
    await new Promise((r) => setTimeout(r, 400));
    const r = await call('smpp', op, { ...target, ...input }, { transcript: true });
    if (r.status !== 502 || r.body.error.code !== 'refused' || attempt >= 5) return r;
  }
}

async function ok(op: string, input: Record<string, unknown>) {
  const r = await smpp(op, input);
  assert.equal(r.status, 200, JSON.stringify(r.body.error ?? r.body.result));
  return r.body;
}

test('smpp: bind as transmitter and receiver, enquire_link, unbind; the password stays out of the transcript', async () => {
  for (const mode of ['transmitter', 'receiver']) {
    const body = await ok('bind', { mode });
    assert.equal(body.result.mode, mode);
    assert.equal(body.result.unbound, true);
    assert.equal(typeof body.result.enquireLinkMs, 'number');
    const decodes = body.transcript.entries.map((e: { decode?: string }) => e.decode ?? '');
    assert.ok(decodes.some((d: string) => d.startsWith(`bind_${mode}_resp`)), decodes.join('\n'));
    assert.ok(decodes.some((d: string) => d.startsWith('unbind_resp')));
    assert.ok(decodes.some((d: string) => /password \*\*\*\*/.test(d)));
    assert.ok(!JSON.stringify(body.transcript).includes('"lab"'));
  }
});

test('smpp: submit_sm in each data coding is acknowledged; the SMSC logs the text it received', async () => {
  const marker = `portolan-${Date.now()}`;
  const ascii = await ok('submit', { destination: '447700900123', source: 'LAB', text: marker, dataCoding: 'ascii' });
  assert.deepEqual({ dataCoding: ascii.result.dataCoding, size: ascii.result.size, count: ascii.result.messageIds.length }, { dataCoding: 1, size: marker.length, count: 1 });
  await new Promise((r) => setTimeout(r, 300));
  assert.match(readFileSync(driveSmppLog(labDir), 'latin1'), new RegExp(`submit_sm: short_message = <${marker}>`));
  const gsm = await ok('submit', { destination: '447700900123', text: 'Prix: 5€ {ok}' });
  assert.deepEqual([gsm.result.dataCoding, gsm.result.size], [0, 16], 'GSM 03.38 with € { } from the extension table');
  const ucs2 = await ok('submit', { destination: '447700900123', text: '港口 ⚓', count: 3 });
  assert.deepEqual([ucs2.result.dataCoding, ucs2.result.size, ucs2.result.messageIds.length], [8, 8, 3]);
  const bin = await ok('submit', { destination: '447700900123', dataCoding: 'binary', data: { hex: '0605040b8423f0' } });
  assert.equal(bin.result.dataCoding, 4);
});

test('smpp: deliver_sm arrive in a receiver session, are acknowledged, and the session unbinds on stop', async () => {
  await new Promise((r) => setTimeout(r, 400));
  const s = await openSession('smpp', 'receive', { ...target });
  const bound = await s.next((m) => m.type === 'bound');
  assert.equal(bound.mode, 'receiver');
  const got = [];
  for (let i = 0; i < smscFacts.deliverCount; i++) got.push(await s.next((m) => m.type === 'message'));
  assert.deepEqual(got.map((m) => [m.source, m.destination, m.text]), [1, 2, 3].map((n) => [smscFacts.deliverSource, smscFacts.deliverDestination, String(n)]));
  assert.equal(got[0].subject, `${smscFacts.deliverSource} → ${smscFacts.deliverDestination}`);
  assert.equal(got[0].size, 1);
  assert.ok(Math.abs(Date.parse(got[0].time) - Date.now()) < 10_000);
  s.send({ type: 'stop' });
  const end = await s.next((m) => m.type === 'end');
  assert.deepEqual({ count: end.result.count, ended: end.result.ended, unbound: end.result.unbound }, { count: 3, ended: 'client', unbound: true });
});

test('smpp: drive_smpp does not answer bind_transceiver (the deadline ends it); bad input is 400', async () => {
  const r = await smpp('bind', { mode: 'transceiver', timeoutMs: 1000 });
  assert.equal(r.status, 504);
  assert.equal(r.body.error.code, 'io_timeout');
  const long = await call('smpp', 'bind', { ...target, systemId: 'x'.repeat(16) });
  assert.equal(long.status, 400);
  assert.match(long.body.error.message, /^systemId: /);
  const gsm = await call('smpp', 'submit', { ...target, destination: '1', text: '世界', dataCoding: 'gsm7' });
  assert.equal(gsm.status, 400);
  assert.match(gsm.body.error.message, /^text: has characters outside the GSM 03.38 alphabet/);
});
