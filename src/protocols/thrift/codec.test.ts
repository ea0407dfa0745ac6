import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { fromHex, toHex } from '../../core/bytes.ts';
import { InvalidInput } from '../../core/errors.ts';
import { MessageType, T, encodeMessage, messageFrame, type Wire } from './codec.ts';
import { findFunction, parseIdl } from './idl.ts';
import { fromWire, structFields } from './mapping.ts';

const idl = readFileSync(new URL('../../../lab/services-b/lab.thrift', import.meta.url), 'utf8');
const doc = parseIdl(idl);

// Written by python3-thrift 0.17 (TBinaryProtocol / TCompactProtocol, TMemoryBuffer, TFramedTransport).
const golden = {
  binary: {
    call: '80010001000000046d6f7665000000010c000108000100000001080002000000020b000300000004706965720008000200000003080003fffffffc00',
    reply:
      '80010002000000066c6f6f6b7570000000010c00000b00010000000e506f72746f6c616e204c69676874080002000000020c000308000100000003080002fffffff90b00030000000a6e6f7274682070696572000f00040b00000002000000056c6967687400000007686172626f75720d00050b0400000001000000036c6f774004000000000000020006010a000700000100000000000b00080000000400ff504c0000',
    exception: '80010002000000066c6f6f6b7570000000010c00010b0001000000086e6f20706c616365080002000001940000',
  },
  compact: {
    call: '822101046d6f76651c15021504180470696572001506150700',
    reply:
      '824101066c6f6f6b75700c00180e506f72746f6c616e204c6967687415041c1506150d180a6e6f7274682070696572001928056c6967687407686172626f75721b0187036c6f7700000000000004401116808080808040180400ff504c0000',
    exception: '824101066c6f6f6b75701c18086e6f20706c61636515a8060000',
  },
} as const;

const moveArgs = (): Wire & { t: 12 } => ({ t: T.STRUCT, fields: structFields(doc, findFunction(doc, undefined, 'move').params, { p: { x: 1, y: 2, label: 'pier' }, dx: 3, dy: -4 }, 'args') });

test('IDL: enums, structs, exceptions and a service with throws', () => {
  assert.deepEqual([...doc.enums.get('Kind')!], [['HARBOUR', 1], ['LIGHTHOUSE', 2]]);
  assert.deepEqual(doc.structs.get('Point')!.fields.map((f) => [f.id, f.name, f.requiredness]), [[1, 'x', 'default'], [2, 'y', 'default'], [3, 'label', 'optional']]);
  const lookup = findFunction(doc, 'Lab', 'lookup');
  assert.deepEqual(lookup.throws.map((f) => f.name), ['notFound']);
  assert.throws(() => findFunction(doc, 'Lab', 'nope'), /no function nope/);
  assert.throws(() => parseIdl('struct { 1: i32 x }'), (e) => e instanceof InvalidInput && /struct name/.test(e.message));
  assert.throws(() => parseIdl('typedef list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<i32>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>> deep'), /nested deeper/);
});

test('calls encode byte for byte as python3-thrift writes them, in both protocols and both transports', () => {
  for (const p of ['binary', 'compact'] as const) {
    const msg = { name: 'move', type: MessageType.CALL, seqid: 1, body: moveArgs() };
    assert.equal(toHex(encodeMessage(p, 'buffered', msg)), golden[p].call, p);
    const framed = toHex(encodeMessage(p, 'framed', msg));
    assert.equal(framed.slice(8), golden[p].call);
    assert.equal(parseInt(framed.slice(0, 8), 16), golden[p].call.length / 2);
  }
  assert.throws(() => structFields(doc, findFunction(doc, undefined, 'add').params, { a: 1, b: 2 ** 31 }, 'args'), /args\.b: must be a whole number in -2147483648–2147483647/);
  assert.throws(() => structFields(doc, findFunction(doc, undefined, 'add').params, { a: 1, c: 2 }, 'args'), /unknown field c/);
});

test('replies decode by the IDL, whole, byte by byte and framed: structs, enum names, lists, maps, bool, i64, binary', () => {
  const lookup = findFunction(doc, undefined, 'lookup');
  for (const p of ['binary', 'compact'] as const) {
    const [m] = assertSplitFeed(messageFrame(p, 'buffered', 1 << 20), fromHex(golden[p].reply));
    assert.equal(m.type, MessageType.REPLY);
    assert.deepEqual(fromWire(doc, lookup.returns, m.body.fields[0].value), {
      name: 'Portolan Light',
      kind: 'LIGHTHOUSE',
      where: { x: 3, y: -7, label: 'north pier' },
      tags: ['light', 'harbour'],
      depths: { low: 2.5 },
      lit: true,
      visitors: 2 ** 40,
      flag: { base64: 'AP9QTA==', bytes: 4 },
    });
    const [ex] = assertSplitFeed(messageFrame(p, 'buffered', 1 << 20), fromHex(golden[p].exception));
    assert.equal(ex.body.fields[0].id, 1);
    assert.deepEqual(fromWire(doc, lookup.throws[0].type, ex.body.fields[0].value), { message: 'no place', code: 404 });
    const body = fromHex(golden[p].reply);
    const framed = new Uint8Array([0, 0, body.length >> 8, body.length & 0xff, ...body]);
    assert.equal(assertSplitFeed(messageFrame(p, 'framed', 1 << 20), framed)[0].name, 'lookup');
  }
});

test('limits: a 2^31 string length, a huge frame and a huge list are protocol errors without allocating', () => {
  const hugeString = fromHex('80010002000000066c6f6f6b7570000000010c00000b00017fffffff');
  assert.throws(() => messageFrame('binary', 'buffered', 1 << 20)(hugeString), /string of 2147483647 bytes exceeds/);
  assert.throws(() => messageFrame('binary', 'framed', 1 << 20)(fromHex('7fffffff8001')), /frame of 2147483647 bytes exceeds/);
  const hugeList = fromHex('80010002000000066c6f6f6b7570000000010f00000b7fffffff');
  assert.throws(() => messageFrame('binary', 'buffered', 1 << 20)(hugeList), /list of 2147483647 elements/);
});

test('reply decoders: random bytes end in a message, a wait or a ProtocolError', () => {
  for (const p of ['binary', 'compact'] as const) {
    assertFuzzSafe(messageFrame(p, 'buffered', 1 << 16), { seeds: [fromHex(golden[p].reply), fromHex(golden[p].exception)] });
  }
});
