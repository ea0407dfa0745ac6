import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ensureLab, ports } from '../../../lab/index.ts';
import { desktopFacts } from '../../../lab/servers/desktop.ts';

const p = ports.desktop;

before(() => ensureLab(['desktop']));

async function ok(input: Record<string, unknown>, transcript = false) {
  const r = await call('spice', 'probe', input, { transcript });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 2000));
  return transcript ? r.body : r.body.result;
}

function checkSession(r: any) {
  assert.equal(r.version, '2.2');
  assert.deepEqual(r.commonCaps, ['PROTOCOL_AUTH_SELECTION', 'AUTH_SPICE', 'MINI_HEADER']);
  assert.ok(r.mainCaps.includes('NAME_AND_UUID'), r.mainCaps.join(' '));
  assert.ok(r.session.sessionId > 0);
  assert.deepEqual(r.session.supportedMouseModes, ['server']);
  assert.equal(r.session.agentConnected, false);
  assert.deepEqual(r.channels.map((c: { name: string }) => c.name).sort(), ['cursor', 'display', 'inputs', 'playback', 'record']);
}

test('spice probe: QEMU links the main channel without a ticket, names the VM and lists its channels with their capabilities', async () => {
  const r = await ok({ host: '127.0.0.1', port: p.spice }, true);
  checkSession(r.result);
  assert.equal(r.result.name, desktopFacts.spiceName);
  assert.equal(r.result.uuid, desktopFacts.spiceUuid);
  const byName = Object.fromEntries(r.result.channels.map((c: { name: string }) => [c.name, c]));
  assert.deepEqual(byName.inputs.caps, ['KEY_SCANCODE']);
  assert.ok(byName.playback.caps.includes('VOLUME') && byName.record.caps.includes('OPUS'));
  assert.equal(byName.display.linked, false);
  const ticket = r.transcript.entries.find((e: { decode?: string }) => /ticket \(RSA-OAEP/.test(e.decode ?? ''));
  assert.ok(ticket, 'the ticket went out, masked');
  assert.equal(ticket.hex, undefined);
});

test('spice probe: the ticket server lets the right password in and refuses a wrong one (PERMISSION_DENIED)', async () => {
  const r = await ok({ host: '127.0.0.1', port: p.spiceTicket, password: desktopFacts.spicePassword, linkChannels: false });
  checkSession(r);
  assert.ok(r.channels.every((c: { result: string }) => c.result === 'not linked'));
  const bad = await call('spice', 'probe', { host: '127.0.0.1', port: p.spiceTicket, password: 'wrong' });
  assert.equal(bad.status, 502);
  assert.equal(bad.body.error.code, 'auth_failed');
  assert.match(bad.body.error.message, /PERMISSION_DENIED/);
});

test('spice probe: implicit TLS on the TLS port, through the runtime\'s TLS', async () => {
  const r = await ok({ host: '127.0.0.1', port: p.spiceTls, tls: 'implicit' });
  checkSession(r);
  assert.equal(r.name, desktopFacts.spiceName);
});

test('spice probe: an RFB server is not SPICE', async () => {
  const r = await call('spice', 'probe', { host: '127.0.0.1', port: p.vnc });
  assert.equal(r.body.error.code, 'protocol_error');
  assert.match(r.body.error.message, /speaks VNC \(RFB\), not SPICE/);
});
