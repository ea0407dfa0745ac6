import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, openSession, type SessionClient } from '../../../test/harness.ts';
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
  assert.ok(r.services.some((s: { name: string; methods: unknown[] }) => s.name === grpcFacts.service && s.methods.length === grpcFacts.methods.length));
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
  const st = await openSession('grpc', 'stream', { ...tlsTarget, method: `${grpcFacts.service}/Manifest`, requests: [{ item: 'silk', quantity: 1 }], end: true });
  try {
    assert.deepEqual((await st.next((m) => m.type === 'message')).message, { lines: 1, totalQuantity: 1, items: ['silk'] });
  } finally {
    st.close();
  }
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

const svc = grpcFacts.service;

async function stream(input: Record<string, unknown>, opts: { manualAck?: boolean } = {}): Promise<SessionClient> {
  const s = await openSession('grpc', 'stream', { ...h2c, ...input }, 'dev', opts);
  const open = await s.next((m) => m.type === 'open' || m.type === 'error');
  assert.equal(open.type, 'open', JSON.stringify(open));
  return s;
}

test('grpc stream: client streaming — each line sent as the user sends it, the summary after the half-close', async () => {
  const s = await stream({ method: `${svc}/Manifest` });
  try {
    const lines = [
      { item: 'salt', quantity: 3 },
      { item: 'spice', quantity: 5 },
      { item: 'timber', quantity: 11 },
    ];
    for (const line of lines) s.send({ type: 'send', message: line });
    s.send({ type: 'end' });
    const answer = await s.next((m) => m.type === 'message');
    assert.deepEqual(answer.message, { lines: 3, totalQuantity: 19, items: ['salt', 'spice', 'timber'] });
    const status = await s.next((m) => m.type === 'status');
    assert.deepEqual(status.status, { code: 0, name: 'OK', message: 'OK' });
    const end = await s.next((m) => m.type === 'end');
    assert.deepEqual({ sent: end.result.sent, received: end.result.received, ended: end.result.ended }, { sent: 3, received: 1, ended: 'server' });
  } finally {
    s.close();
  }
});

test('grpc stream: bidirectional — every answer pushed before the next request is sent, trailers at the end', async () => {
  // Credit is acknowledged by hand: an acknowledgement larger than what is outstanding clears it (the session keeps
  // no credit in advance), and an answer larger than the window, left unacknowledged, holds the session from
  // reading on, so the server's trailers wait while a message sent after the half-close is answered.
  const s = await stream({ method: `${svc}/Convoy`, window: 1024 }, { manualAck: true });
  const clear = () => s.send({ type: 'ack', bytes: 1 << 20 });
  try {
    clear();
    s.send({ type: 'send', message: { text: 'first' } });
    assert.deepEqual((await s.next((m) => m.type === 'message')).message, { text: 'first', seq: 1 });
    clear();
    s.send({ type: 'send', message: { text: 'second', repeat: 2 } });
    assert.deepEqual((await s.next((m) => m.type === 'message')).message, { text: 'second', seq: 2 });
    clear();
    assert.deepEqual((await s.next((m) => m.type === 'message')).message, { text: 'second', seq: 3 });
    clear();
    s.send({ type: 'send', message: { text: 'last', pad: 2000 } });
    const last = (await s.next((m) => m.type === 'message')).message;
    assert.deepEqual([last.text, last.seq], ['last', 4]);
    s.send({ type: 'end' });
    // No more messages after the half-close: an error, the call goes on.
    s.send({ type: 'send', message: { text: 'late' } });
    assert.match((await s.next((m) => m.type === 'error')).error.message, /half-closed/);
    clear();
    const status = await s.next((m) => m.type === 'status');
    assert.equal(status.status.name, 'OK');
    assert.ok(status.trailers.some((t: { name: string; value: string }) => t.name === 'x-lab-count' && t.value === '4'), JSON.stringify(status.trailers));
  } finally {
    s.close();
  }
});

test('grpc stream: a server faster than the browser is held at the session window, then delivers everything once acked', async () => {
  const total = 1500;
  const s = await stream({ method: `${svc}/Convoy`, window: 32 * 1024 }, { manualAck: true });
  try {
    s.send({ type: 'ack', bytes: 4096 });
    s.send({ type: 'send', message: { text: 'flood', repeat: total, pad: 1000 } });
    s.send({ type: 'end' });
    await s.next((m) => m.type === 'message');
    await new Promise((r) => setTimeout(r, 1000));
    const early = s.inbox.filter((m) => m.type === 'message').length + 1;
    // About 32 KiB of JSON messages of ~1.4 KB each went out before the session stopped reading.
    assert.ok(early < total / 10, `${early} of ${total} messages arrived before any ack`);
    let seen = early;
    s.send({ type: 'ack', bytes: 64 * 1024 });
    while (seen < total) {
      const m = await s.next((x) => x.type === 'message');
      assert.equal(m.message.text, 'flood');
      seen++;
      s.send({ type: 'ack', bytes: JSON.stringify(m).length + 64 });
    }
    const status = await s.next((m) => m.type === 'status');
    assert.equal(status.status.name, 'OK');
    const end = await s.next((m) => m.type === 'end');
    assert.equal(end.result.received, total);
  } finally {
    s.close();
  }
});

test('grpc: gzip request messages (grpc-encoding) are inflated by the server, in a call and in a stream', async () => {
  const request = { name: 'Compressed '.repeat(50), crew: 41 };
  const r = await ok('call', { ...h2c, method: `${svc}/Echo`, request, compression: 'gzip' });
  assert.deepEqual(r.messages, [{ ...request, crew: 42 }]);
  assert.deepEqual(r.status, { code: 0, name: 'OK', message: 'OK' });
  const s = await stream({ method: `${svc}/Manifest`, compression: 'gzip', requests: [{ item: 'wool', quantity: 2 }] });
  try {
    s.send({ type: 'send', message: { item: 'wine', quantity: 4 } });
    s.send({ type: 'end' });
    assert.deepEqual((await s.next((m) => m.type === 'message')).message, { lines: 2, totalQuantity: 6, items: ['wool', 'wine'] });
  } finally {
    s.close();
  }
});

test('grpc: deadlines — grpc-timeout from deadlineMs or the operation timeout, DEADLINE_EXCEEDED as the server says it', async () => {
  const r = await ok('call', { ...h2c, method: `${svc}/Slow`, request: { delayMs: 10_000 }, deadlineMs: 300 });
  assert.equal(r.grpcTimeout, '300m');
  assert.equal(r.status.code, 4);
  assert.equal(r.status.name, 'DEADLINE_EXCEEDED');
  assert.match(r.status.message, /deadline/i);
  const byTimeout = await ok('call', { ...h2c, method: `${svc}/Slow`, request: { delayMs: 10_000 }, timeoutMs: 2000 });
  assert.equal(byTimeout.grpcTimeout, '1600m');
  assert.equal(byTimeout.status.name, 'DEADLINE_EXCEEDED');
  const inTime = await ok('call', { ...h2c, method: `${svc}/Slow`, request: { delayMs: 10 }, deadlineMs: 8000 });
  assert.equal(inTime.status.name, 'OK');
  assert.equal(inTime.messages[0].name, ship.name);
  // A stream's deadline: the server ends the open call itself.
  const s = await stream({ method: `${svc}/Convoy`, deadlineMs: 500 });
  try {
    const status = await s.next((m) => m.type === 'status', 10_000);
    assert.equal(status.status.name, 'DEADLINE_EXCEEDED');
  } finally {
    s.close();
  }
});

test('grpc: rich error details — google.rpc.Status from grpc-status-details-bin, each detail by its type', async () => {
  const f = grpcFacts.reject;
  const r = await ok('call', { ...h2c, method: `${svc}/Reject`, request: {} });
  assert.deepEqual(r.status, { code: f.code, name: 'INVALID_ARGUMENT', message: f.message });
  assert.equal(r.details.code, f.code);
  assert.equal(r.details.message, f.message);
  assert.deepEqual(
    r.details.details.map((d: { type: string; value?: unknown; raw?: string }) => [d.type, d.value ?? d.raw]),
    [
      ['google.rpc.BadRequest', { fieldViolations: [f.violation] }],
      ['google.rpc.ErrorInfo', f.errorInfo],
      ['google.rpc.RetryInfo', { retryDelay: '2.5s' }],
      ['google.rpc.LocalizedMessage', f.localized],
      [f.unknown.typeUrl.split('/')[1], Buffer.from(f.unknown.valueHex, 'hex').toString('base64')],
    ],
  );
  assert.equal(r.details.details[4].typeUrl, f.unknown.typeUrl);
});

test('grpc: gzip answers from a server that compresses them (python3-grpcio), inflated; raw calls need no reflection', async () => {
  const raw = { host: '127.0.0.1', port: p.grpcRaw };
  const payload = Buffer.from('Portolan compresses its cargo. '.repeat(100));
  const r = await ok('call', { ...raw, method: 'portolan.lab.v1.Raw/Echo', rawRequests: [payload.toString('base64')] });
  assert.deepEqual(r.status, { code: 0, name: 'OK', message: '' });
  assert.deepEqual(r.compressed, { count: 1, encoding: 'gzip' });
  assert.deepEqual(r.messages, [{ base64: payload.toString('base64'), bytes: payload.length }]);
  assert.equal(r.method, null);
  // Both ways: our gzip request messages, its gzip answers.
  const parts = [Buffer.from('salt '.repeat(40)), Buffer.from('spice '.repeat(40))];
  const joined = await ok('call', { ...raw, method: 'portolan.lab.v1.Raw/Collect', rawRequests: parts.map((b) => b.toString('base64')), compression: 'gzip' });
  assert.equal(Buffer.from(joined.messages[0].base64, 'base64').toString(), Buffer.concat(parts).toString());
  assert.equal(joined.compressed.encoding, 'gzip');
  const stream = await ok('call', { ...raw, method: 'portolan.lab.v1.Raw/Repeat', rawRequests: [payload.toString('base64')], compression: 'gzip' });
  assert.equal(stream.messages.length, 3);
  assert.equal(stream.compressed.count, 3);
  assert.ok(stream.messages.every((m: { base64: string }) => m.base64 === payload.toString('base64')));
});
