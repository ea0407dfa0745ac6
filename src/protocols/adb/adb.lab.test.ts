import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, openSession } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';

const target = { host: '127.0.0.1', port: ports['services-b'].adb };
// The foundation's discard service accepts TCP and never answers: adb lists it as an offline device while it tries.
const silentDevice = `127.0.0.1:${ports.foundation.discard}`;

test('adb: host:version and an empty device list', async () => {
  const v = await call('adb', 'version', target);
  assert.equal(v.status, 200, JSON.stringify(v.body));
  assert.equal(v.body.result.version, 41);
  const d = await call('adb', 'devices', target);
  assert.equal(d.status, 200);
  assert.ok(Array.isArray(d.body.result.devices));
});

test('adb: track-devices reports a TCP device appearing offline and going away; connect gives the server\'s words', async () => {
  const session = await openSession('adb', 'track', target);
  const first = await session.next((m) => m.type === 'devices');
  assert.ok(!first.devices.some((d: { serial: string }) => d.serial === silentDevice));
  const connecting = call('adb', 'connect', { ...target, address: silentDevice, timeoutMs: 20_000 });
  const appeared = await session.next((m) => m.type === 'devices' && m.devices.some((d: { serial: string }) => d.serial === silentDevice));
  assert.equal(appeared.devices.find((d: { serial: string }) => d.serial === silentDevice).state, 'offline');
  const listed = await call('adb', 'devices', target);
  assert.equal(listed.body.result.devices.find((d: { serial: string }) => d.serial === silentDevice)?.state, 'offline');
  const connected = await connecting;
  assert.equal(connected.status, 200, JSON.stringify(connected.body));
  assert.equal(connected.body.result.connected, false);
  assert.match(connected.body.result.message, /failed to connect to .*10009/);
  const gone = await call('adb', 'disconnect', { ...target, address: silentDevice });
  assert.match(gone.body.result.message, /disconnected|no such device/);
  await session.next((m) => m.type === 'devices' && !m.devices.some((d: { serial: string }) => d.serial === silentDevice), 15_000);
  session.close();
  await session.done;
});

test('adb: a refused TCP device comes back in the server\'s words; a bad address is invalid_input', async () => {
  const refused = await call('adb', 'connect', { ...target, address: `127.0.0.1:${ports.foundation.closedPort}` });
  assert.equal(refused.body.result.connected, false);
  assert.match(refused.body.result.message, /Connection refused/);
  const bad = await call('adb', 'connect', { ...target, address: 'not an address' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /address/);
});
