// BGP against FRR bgpd through workerd: the peer's OPEN and capabilities, the routes it announces
// (communities, large communities, IPv6 by MP_REACH, ADD-PATH ids), and its NOTIFICATION when refusing.
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { call } from '../../../test/harness.ts';
import { labDir } from '../../../lab/index.ts';
import { routingFacts } from '../../../lab/servers/edge-routing.ts';

const f = routingFacts.bgp;
const target = { host: '127.0.0.1', port: f.port };

// Each test is a new session from 127.0.0.1, a dynamic neighbour of bgpd: bgpd refuses it while it still holds the
// previous test's session (tearing it down and clearing its routes), so a test starts once bgpd lists no neighbour there.
beforeEach(async () => {
  const neighbours = () => JSON.parse(execFileSync('vtysh', ['--vty_socket', join(labDir, 'frr-bgpd'), '-d', 'bgpd', '-c', 'show bgp neighbors json'], { encoding: 'utf8', timeout: 5000 }) || '{}') as Record<string, unknown>;
  for (const end = Date.now() + 10_000; '127.0.0.1' in neighbours(); ) {
    if (Date.now() > end) throw new Error('bgpd still holds a session from 127.0.0.1 after 10 s');
    await new Promise((r) => setTimeout(r, 100));
  }
});

test('bgp open: FRR’s AS, identifier, hold time and capabilities; Established', async () => {
  const r = await call('bgp', 'open', { ...target, localAs: 4200000001 }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  const { peer, negotiated, established } = r.body.result;
  assert.equal(established, true);
  assert.equal(peer.version, 4);
  assert.equal(peer.as, f.as);
  assert.equal(peer.bgpId, f.routerId);
  assert.equal(peer.holdTime, f.holdTime);
  const names = peer.capabilities.map((c: { name: string }) => c.name);
  for (const n of ['multiprotocol', 'route-refresh', '4-octet-as', 'add-path', 'hostname']) assert.ok(names.includes(n), `${n} missing from ${names}`);
  assert.deepEqual(peer.capabilities.find((c: { name: string }) => c.name === 'hostname'), { code: 73, name: 'hostname', hostname: f.hostname, domain: '' });
  assert.deepEqual(negotiated, { holdTime: 90, families: ['ipv4-unicast', 'ipv6-unicast'], fourOctetAs: true, addPath: [] });
  assert.match(JSON.stringify(r.body.transcript), /NOTIFICATION Cease \/ Administrative Shutdown/);
});

test('bgp routes: the announced prefixes with AS path, next hop and communities, until End-of-RIB', async () => {
  const r = await call('bgp', 'routes', { ...target, localAs: 65010, durationMs: 8000 });
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  const res = r.body.result;
  assert.equal(res.ended, 'endOfRib');
  assert.deepEqual(res.endOfRib.sort(), ['ipv4-unicast', 'ipv6-unicast']);
  const byPrefix = Object.fromEntries(res.routes.map((x: { prefix: string }) => [x.prefix, x]));
  const tagged = byPrefix[f.routes.tagged.prefix];
  assert.ok(tagged, JSON.stringify(res.routes));
  assert.equal(tagged.asPath, String(f.as));
  assert.equal(tagged.origin, 'IGP');
  assert.deepEqual(tagged.communities, f.routes.tagged.communities);
  assert.deepEqual(tagged.largeCommunities, f.routes.tagged.largeCommunities);
  assert.equal(tagged.family, 'ipv4-unicast');
  assert.equal(byPrefix[f.routes.plain.prefix].asPath, String(f.as));
  assert.deepEqual(byPrefix[f.routes.plain.prefix].communities, []);
  const v6 = byPrefix[f.routes.ipv6.prefix];
  assert.equal(v6.family, 'ipv6-unicast');
  assert.ok(v6.nextHop.length >= 1, JSON.stringify(v6));
  assert.equal(Object.keys(byPrefix).length, 3);
});

test('bgp routes with ADD-PATH: each route carries a path identifier', async () => {
  const r = await call('bgp', 'routes', { ...target, localAs: 65011, families: ['ipv4-unicast'], addPath: true, durationMs: 8000 });
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  assert.deepEqual(r.body.result.negotiated.addPath, ['ipv4-unicast']);
  for (const x of r.body.result.routes) assert.equal(typeof x.pathId, 'number', JSON.stringify(x));
  assert.deepEqual(r.body.result.routes.map((x: { prefix: string }) => x.prefix).sort(), [f.routes.tagged.prefix, f.routes.plain.prefix].sort());
});

test('bgp: the peer’s own AS is refused with its NOTIFICATION; a non-BGP port is a protocol_error', async () => {
  const r = await call('bgp', 'open', { ...target, localAs: f.as });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'refused');
  assert.match(r.body.error.message, /OPEN Message Error \/ Bad Peer AS \(2\/2\)/);
  const notBgp = await call('bgp', 'open', { host: '127.0.0.1', port: 10013 });
  assert.equal(notBgp.body.error.code, 'protocol_error');
  assert.match(notBgp.body.error.message, /not a BGP speaker/);
});
