import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';

const idl = readFileSync(new URL('../../../lab/services-b/lab.thrift', import.meta.url), 'utf8');
const servers = [
  { host: '127.0.0.1', port: ports['services-b'].thriftBinary, protocol: 'binary', transport: 'buffered' },
  { host: '127.0.0.1', port: ports['services-b'].thriftCompact, protocol: 'compact', transport: 'framed' },
];

for (const server of servers) {
  const name = `${server.protocol}/${server.transport}`;
  const thrift = (method: string, args: Record<string, unknown> = {}) => call('thrift', 'call', { ...server, idl, method, args });

  test(`thrift ${name}: scalars, a struct in and out, list in and map of lists out, a set, void`, async () => {
    assert.deepEqual((await thrift('ping')).body.result, { method: 'ping', outcome: 'success', result: 'pong', seqid: 1 });
    assert.equal((await thrift('add', { a: 2, b: 40 })).body.result.result, 42);
    assert.deepEqual((await thrift('move', { p: { x: 1, y: 2, label: 'pier' }, dx: 3, dy: -4 })).body.result.result, { x: 4, y: -2, label: 'pier' });
    assert.deepEqual((await thrift('lengths', { words: ['harbour', 'hull', 'sail'] })).body.result.result, { h: [7, 4], s: [4] });
    assert.deepEqual((await thrift('evens', { below: 7 })).body.result.result, [0, 2, 4, 6]);
    assert.equal((await thrift('forget', { name: 'x' })).body.result.outcome, 'void');
  });

  test(`thrift ${name}: a struct with enum, nested struct, list, map, bool, i64 and binary; a declared exception`, async () => {
    const r = await thrift('lookup', { name: 'Portolan Light' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.result.result, {
      name: 'Portolan Light',
      kind: 'LIGHTHOUSE',
      where: { x: 3, y: -7, label: 'north pier' },
      tags: ['light', 'harbour'],
      depths: { low: 2.5, high: 6.25 },
      lit: true,
      visitors: 2 ** 40,
      flag: { base64: 'AP9QTA==', bytes: 4 },
    });
    const missing = await thrift('lookup', { name: 'nowhere' });
    assert.equal(missing.status, 200);
    assert.deepEqual(missing.body.result.exception, { field: 'notFound', type: 'NotFound', value: { message: 'no place named nowhere', code: 404 } });
  });
}

test('thrift: a method the server lacks is its TApplicationException; bad arguments name the field', async () => {
  const extra = `${idl}\nservice Other { string missing() }`;
  const r = await call('thrift', 'call', { ...servers[0], idl: extra, service: 'Other', method: 'missing' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'server_error');
  assert.match(r.body.error.message, /TApplicationException UNKNOWN_METHOD: Unknown function missing/);
  const bad = await call('thrift', 'call', { ...servers[0], idl, method: 'add', args: { a: 'two', b: 1 } });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /args\.a: must be a whole number/);
});

test('thrift: the compact protocol against a binary server does not pass for a reply', async () => {
  const r = await call('thrift', 'call', { ...servers[0], protocol: 'compact', idl, method: 'ping', timeoutMs: 3000 });
  assert.ok(['closed', 'protocol_error', 'io_timeout'].includes(r.body.error?.code), JSON.stringify(r.body));
});
