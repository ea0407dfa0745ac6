import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';
import { ports } from '../../../lab/index.ts';
import { grpcFacts } from '../../../lab/grpc/facts.ts';

const p = ports.http;
const h2c = { host: '127.0.0.1', port: p.grpc };
const ship = grpcFacts.ships[0];

const node = useNodeHost();

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('grpc', op, input);
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 2000));
  return r.body.result;
}

test('grpc: services and their methods through server reflection v1 (h2c, workerd)', async () => {
  const r = await ok('services', h2c);
  assert.equal(r.reflection, 'v1');
  const harbour = r.services.find((s: { name: string }) => s.name === grpcFacts.service);
  assert.deepEqual(harbour.methods.map((m: { name: string }) => m.name), grpcFacts.methods);
  const list = harbour.methods.find((m: { name: string }) => m.name === 'ListShips');
  assert.equal(list.kind, 'server-streaming');
  assert.equal(list.proto, 'rpc ListShips(portolan.lab.v1.ListShipsRequest) returns (stream portolan.lab.v1.Ship);');
  assert.ok(r.services.some((s: { name: string }) => s.name === 'grpc.health.v1.Health'));
});

test('grpc: reflection v1alpha gives the same answer', async () => {
  const r = await ok('services', { ...h2c, reflection: 'v1alpha' });
  assert.equal(r.reflection, 'v1alpha');
  assert.ok(r.services.some((s: { name: string; methods: unknown[] }) => s.name === grpcFacts.service && s.methods.length === 4));
});

test('grpc: describe a method, a message and an enum', async () => {
  const m = await ok('describe', { ...h2c, symbol: `${grpcFacts.service}/GetShip` });
  assert.equal(m.kind, 'method');
  assert.equal(m.method.kind, 'unary');
  const fields = Object.fromEntries(m.output.fields.map((f: { name: string; type: string }) => [f.name, f.type]));
  assert.deepEqual(fields, {
    name: 'string',
    kind: 'portolan.lab.v1.ShipKind',
    crew: 'int32',
    tonnage: 'int64',
    in_port: 'bool',
    ports_of_call: 'repeated string',
    position: 'portolan.lab.v1.Position',
    tags: 'map<string, string>',
    flag: 'bytes',
    launched: 'google.protobuf.Timestamp',
    goods: 'string',
    passengers: 'uint32',
  });
  assert.equal(m.output.fields.find((f: { name: string }) => f.name === 'goods').oneof, 'cargo');
  const msg = await ok('describe', { ...h2c, symbol: 'portolan.lab.v1.Position' });
  assert.deepEqual(msg.message.fields.map((f: { name: string }) => f.name), ['latitude', 'longitude']);
  const en = await ok('describe', { ...h2c, symbol: 'portolan.lab.v1.ShipKind' });
  assert.deepEqual(en.values.map((v: { name: string }) => v.name), ['SHIP_KIND_UNSPECIFIED', 'SHIP_KIND_CARAVEL', 'SHIP_KIND_GALLEON', 'SHIP_KIND_CUTTER']);
});

test('grpc: a unary call with JSON in and out — every field type back as the server has it', async () => {
  const r = await ok('call', { ...h2c, method: `${grpcFacts.service}/GetShip`, request: { name: ship.name } });
  assert.deepEqual(r.status, { code: 0, name: 'OK', message: 'OK' });
  assert.deepEqual(r.messages, [
    {
      name: ship.name,
      kind: ship.kind,
      crew: ship.crew,
      tonnage: ship.tonnage,
      inPort: true,
      portsOfCall: ship.portsOfCall,
      position: ship.position,
      tags: ship.tags,
      flag: ship.flagBase64,
      launched: ship.launched,
      goods: ship.goods,
    },
  ]);
  assert.ok(r.headers.some((h: { name: string; value: string }) => h.name === 'x-lab-server' && h.value === grpcFacts.serverHeader));
});

test('grpc: Echo re-encodes what we sent (int64 past 2^53, map, bytes, Timestamp, oneof)', async () => {
  const request = { name: 'Test', kind: 'SHIP_KIND_CUTTER', crew: 1, tonnage: '9007199254740993', tags: { a: 'b' }, flag: 'AP8=', launched: '2020-01-02T03:04:05Z', passengers: 7 };
  const r = await ok('call', { ...h2c, method: `${grpcFacts.service}/Echo`, request });
  assert.deepEqual(r.messages, [{ ...request, crew: 2 }]);
});

test('grpc: server streaming, and a stream cut after maxMessages', async () => {
  const r = await ok('call', { ...h2c, method: `${grpcFacts.service}/ListShips`, request: { kind: 'SHIP_KIND_CARAVEL' } });
  assert.deepEqual(r.messages.map((m: { name: string }) => m.name), grpcFacts.ships.filter((s) => s.kind === 'SHIP_KIND_CARAVEL').map((s) => s.name));
  assert.ok(r.trailers.some((t: { name: string; value: string }) => t.name === 'x-lab-count' && t.value === '2'));
  const all = await ok('call', { ...h2c, method: `${grpcFacts.service}/ListShips`, request: {} });
  assert.equal(all.messages.length, grpcFacts.ships.length);
});

test('grpc: an error status with its message and trailers, binary ones decoded', async () => {
  const r = await ok('call', { ...h2c, method: `${grpcFacts.service}/Fail`, request: { code: 9, message: 'no ships today ⚓ 100%' } });
  assert.deepEqual(r.status, { code: 9, name: 'FAILED_PRECONDITION', message: 'no ships today ⚓ 100%' });
  assert.deepEqual(r.messages, []);
  const all = [...r.headers, ...r.trailers];
  assert.ok(all.some((t: { name: string; value: string }) => t.name === 'x-lab-detail' && t.value === grpcFacts.failDetail));
  assert.ok(all.some((t: { name: string; bytes?: string }) => t.name === 'x-lab-detail-bin' && t.bytes === grpcFacts.failDetailBinHex));
  const missing = await ok('call', { ...h2c, method: `${grpcFacts.service}/GetShip`, request: { name: 'Flying Dutchman' } });
  assert.equal(missing.status.name, 'NOT_FOUND');
  assert.equal(missing.status.message, 'no ship named Flying Dutchman');
});

test('grpc: a request that does not fit the message type is invalid input', async () => {
  const r = await call('grpc', 'call', { ...h2c, method: `${grpcFacts.service}/GetShip`, request: { nom: 'x' } });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /request: not a valid portolan\.lab\.v1\.GetShipRequest/);
  const unknown = await call('grpc', 'call', { ...h2c, method: `${grpcFacts.service}/Sink`, request: {} });
  assert.equal(unknown.status, 502);
  assert.match(unknown.body.error.message, /has no method Sink/);
});

test('grpc: health Check and Watch (grpc.health.v1)', async () => {
  for (const [service, status] of Object.entries(grpcFacts.health)) {
    const r = await ok('health', { ...h2c, service });
    assert.equal(r.status, status, service);
  }
  const unknown = await ok('health', { ...h2c, service: 'no.such.Service' });
  assert.equal(unknown.status, null);
  assert.equal(unknown.grpcStatus.name, 'NOT_FOUND');
  const watch = await ok('health', { ...h2c, service: grpcFacts.service, watch: true });
  assert.equal(watch.status, 'SERVING');
  assert.equal(watch.grpcStatus.name, 'CANCELLED');
});

test("grpc: over TLS with ALPN h2 on workerd (Portolan's TLS engine) and on the Node host; the runtime's TLS on Workers is 501", async () => {
  const tlsTarget = { host: '127.0.0.1', port: p.grpcTls, tls: 'implicit' };
  const w = await ok('call', { ...tlsTarget, method: `${grpcFacts.service}/GetShip`, request: { name: ship.name } });
  assert.equal(w.messages[0].tonnage, ship.tonnage);
  const ws = await ok('services', tlsTarget);
  assert.equal(ws.alpn, 'h2');
  assert.ok(ws.services.some((s: { name: string }) => s.name === grpcFacts.service));
  assert.equal((await ok('health', tlsTarget)).status, 'SERVING');
  const runtime = await call('grpc', 'health', { ...tlsTarget, tlsEngine: 'runtime' });
  assert.equal(runtime.status, 501);
  assert.deepEqual(runtime.body.error.detail.missing, ['alpn']);
  const r = await callNode(node, 'grpc', 'call', { ...tlsTarget, method: `${grpcFacts.service}/GetShip`, request: { name: ship.name } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.messages[0].tonnage, ship.tonnage);
  const s = await callNode(node, 'grpc', 'services', tlsTarget);
  assert.equal(s.body.result.alpn, 'h2');
  const h = await callNode(node, 'grpc', 'health', tlsTarget);
  assert.equal(h.body.result.status, 'SERVING');
});
