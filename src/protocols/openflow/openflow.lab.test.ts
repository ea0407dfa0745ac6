// OpenFlow against Open vSwitch through workerd: version negotiation, FEATURES_REPLY and ports in every
// version's layout, and HELLO_FAILED from a bridge that speaks 1.0 only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { routingFacts } from '../../../lab/servers/edge-routing.ts';

const f = routingFacts.openflow;

test('openflow probe: 1.5 negotiated from all six; datapath id, tables, capabilities and ports', async () => {
  const r = await call('openflow', 'probe', { host: '127.0.0.1', port: f.port }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  const p = r.body.result;
  assert.equal(p.negotiated, '1.5');
  assert.deepEqual(p.switchVersions, ['1.0', '1.1', '1.2', '1.3', '1.4', '1.5']);
  assert.equal(p.datapathId, f.datapathId);
  assert.equal(p.nTables, 254);
  assert.ok(p.capabilities.includes('FLOW_STATS'));
  assert.deepEqual(p.ports.map((x: { number: string; name: string }) => [x.number, x.name]).sort(), [['1', 'p1'], ['2', 'p2'], ['LOCAL', 'ptbr0']]);
  assert.match(JSON.stringify(r.body.transcript), /MULTIPART_REQUEST PORT_DESC/);
});

for (const version of ['1.0', '1.1', '1.2', '1.3', '1.4'] as const) {
  test(`openflow probe offering only ${version}: the same switch and ports in that version’s layout`, async () => {
    const r = await call('openflow', 'probe', { host: '127.0.0.1', port: f.port, versions: [version] });
    assert.equal(r.status, 200, JSON.stringify(r.body.error));
    assert.equal(r.body.result.negotiated, version);
    assert.equal(r.body.result.datapathId, f.datapathId);
    const p1 = r.body.result.ports.find((x: { name: string }) => x.name === 'p1');
    assert.equal(p1.number, '1');
    assert.match(p1.hwAddr, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  });
}

test('openflow: a bridge that speaks 1.0 only refuses 1.3 and 1.4 with HELLO_FAILED; offered all, it settles on 1.0', async () => {
  const refused = await call('openflow', 'probe', { host: '127.0.0.1', port: f.port10, versions: ['1.3', '1.4'] });
  assert.equal(refused.status, 502);
  assert.equal(refused.body.error.code, 'refused');
  assert.match(refused.body.error.message, /version/i);
  const ok = await call('openflow', 'probe', { host: '127.0.0.1', port: f.port10 });
  assert.equal(ok.status, 200, JSON.stringify(ok.body.error));
  assert.equal(ok.body.result.negotiated, '1.0');
  assert.equal(ok.body.result.datapathId, f.datapathId10);
  assert.deepEqual(ok.body.result.ports.map((x: { name: string }) => x.name).sort(), ['ptbr1', 'q1']);
});
