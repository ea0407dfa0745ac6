// ActiveMQ OpenWire against Debian's activemq 5.17 in the lab, through the HTTP API of workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { activemqFacts } from '../../../lab/servers/messaging-activemq.ts';

const p = ports['messaging-activemq'];

test('activemq probe: WireFormatInfo from the broker, negotiation, and its BrokerInfo', async () => {
  const r = await call('activemq', 'probe', { host: '127.0.0.1', port: p.openwire }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const x = r.body.result;
  assert.equal(x.provider, 'ActiveMQ');
  assert.equal(x.providerVersion, '5.17.2');
  assert.equal(x.platform, 'Java');
  assert.equal(x.version, 12);
  assert.equal(x.negotiatedVersion, 12);
  assert.equal(x.options.TightEncodingEnabled, true);
  assert.equal(x.options.MaxInactivityDuration, 30000);
  assert.equal(x.broker.name, activemqFacts.brokerName);
  assert.equal(x.broker.url, `tcp://127.0.0.1:${p.openwire}`);
  assert.match(x.broker.id, /^ID:/);
  assert.deepEqual(x.broker.peers, []);
  const decodes = r.body.transcript.entries.map((e: any) => e.decode ?? '');
  assert.ok(decodes.some((d: string) => d.startsWith('BrokerInfo portolan-lab')));
});

test('activemq probe on a port that is not OpenWire is a protocol error, not a hang', async () => {
  const r = await call('activemq', 'probe', { host: '127.0.0.1', port: p.stomp, timeoutMs: 3000 });
  assert.equal(r.status >= 500, true);
  assert.ok(['io_timeout', 'protocol_error', 'closed'].includes(r.body.error.code), JSON.stringify(r.body));
});
