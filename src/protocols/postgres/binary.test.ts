// Binary-format values (format code 1): golden bytes from PostgreSQL 15's own send functions (numeric_send,
// interval_send, array_send … as `SELECT encode(x_send(v), 'hex')` printed them), each decoded to the JSON the
// text format gives; malformed values are ProtocolErrors; random bytes never crash a decoder.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fromHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { binaryDecoder } from './binary.ts';
import { OID } from './types.ts';

const decode = (oid: number, hex: string) => binaryDecoder(oid)!(fromHex(hex));

const GOLDEN: [string, number, string, unknown][] = [
  ['bool true', OID.bool, '01', true],
  ['bool false', OID.bool, '00', false],
  ['int2', OID.int2, 'fffe', -2],
  ['int4', OID.int4, '7fffffff', 2147483647],
  ['oid', OID.oid, 'ffffffff', 4294967295],
  ['int8 largest safe', OID.int8, '001fffffffffffff', 9007199254740991],
  ['int8 past safe', OID.int8, '0020000000000000', '9007199254740992'],
  ['int8 smallest', OID.int8, '8000000000000000', '-9223372036854775808'],
  ['float4 1.1', OID.float4, '3f8ccccd', 1.1],
  ['float4 max', OID.float4, '7f7fffff', 3.4028235e38],
  ['float4 denormal', OID.float4, '00000001', 1e-45],
  ['float4 NaN', OID.float4, '7fc00000', 'NaN'],
  ['float4 -Infinity', OID.float4, 'ff800000', '-Infinity'],
  ['float8 0.1', OID.float8, '3fb999999999999a', 0.1],
  ['float8 Infinity', OID.float8, '7ff0000000000000', 'Infinity'],
  ['numeric 0', OID.numeric, '0000000000000000', '0'],
  ['numeric -12.50', OID.numeric, '0002000040000002000c1388', '-12.50'],
  ['numeric big scale', OID.numeric, '0006000200000009000109291a850000000003e8', '123456789.000000001'],
  ['numeric NaN', OID.numeric, '00000000c0000000', 'NaN'],
  ['numeric Infinity', OID.numeric, '00000000d0000020', 'Infinity'],
  ['numeric -Infinity', OID.numeric, '00000000f0000020', '-Infinity'],
  ['numeric 0.00012', OID.numeric, '0002ffff00000005000107d0', '0.00012'],
  ['numeric 1e30', OID.numeric, '00010007000000000064', '1000000000000000000000000000000'],
  ['numeric -0.5', OID.numeric, '0001ffff400000011388', '-0.5'],
  ['numeric 10000', OID.numeric, '00010001000000000001', '10000'],
  ['text', OID.text, '612c62c3a9', 'a,bé'],
  ['bytea', OID.bytea, '00ff0a', { hex: '00ff0a' }],
  ['uuid', OID.uuid, 'a0eebc999c0b4ef8bb6d6bb9bd380a11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
  ['date epoch', OID.date, '00000000', '2000-01-01'],
  ['date before', OID.date, 'ffffffff', '1999-12-31'],
  ['date leap day', OID.date, '00002279', '2024-02-29'],
  ['date BC', OID.date, 'fff49d7b', '0044-03-15 BC'],
  ['date first', OID.date, 'ffda97cd', '4713-01-01 BC'],
  ['date last', OID.date, '7fda970c', '5874897-12-31'],
  ['date infinity', OID.date, '7fffffff', 'infinity'],
  ['time', OID.time, '000000036c97ca88', '04:05:06.789'],
  ['time midnight', OID.time, '0000000000000000', '00:00:00'],
  ['time 24:00', OID.time, '000000141dd76000', '24:00:00'],
  ['time last microsecond', OID.time, '000000141dd75fff', '23:59:59.999999'],
  ['timetz +02', OID.timetz, '000000036c8bc080ffffe3e0', '04:05:06+02'],
  ['timetz -08:30', OID.timetz, '000000036c8bc08000007788', '04:05:06-08:30'],
  ['timetz +05:30:15', OID.timetz, '0000000a0eebb000ffffb299', '12:00:00+05:30:15'],
  ['timetz +00', OID.timetz, '000000000000000000000000', '00:00:00+00'],
  ['timestamp', OID.timestamp, '0002b0ec8517d3b8', '2024-01-02T03:04:05.123'],
  ['timestamp 1970', OID.timestamp, 'fffca2fec4c82000', '1970-01-01T00:00:00'],
  ['timestamp 1900', OID.timestamp, 'fff4d827954abee0', '1900-06-30T23:59:59.5'],
  ['timestamp infinity', OID.timestamp, '7fffffffffffffff', 'infinity'],
  ['timestamp -infinity', OID.timestamp, '8000000000000000', '-infinity'],
  ['timestamp year 10000', OID.timestamp, '0380e70b913b8000', '10000-01-01T00:00:00'],
  ['timestamp BC', OID.timestamp, 'ff1af9e8fb46d000', '0044-03-15 12:00:00 BC'],
  ['timestamptz', OID.timestamptz, '0002b0ebae842fb8', '2024-01-02T02:04:05.123+00:00'],
  ['timestamptz a microsecond before 2000', OID.timestamptz, 'ffffffffffffffff', '1999-12-31T23:59:59.999999+00:00'],
  ['interval full', OID.interval, '000000036c97ca88000000030000000e', '1 year 2 mons 3 days 04:05:06.789'],
  ['interval zero', OID.interval, '00000000000000000000000000000000', '00:00:00'],
  ['interval -1 days', OID.interval, '0000000000000000ffffffff00000000', '-1 days'],
  ['interval -1 days +2h', OID.interval, '00000001ad274800ffffffff00000000', '-1 days +02:00:00'],
  ['interval 1 day -2h', OID.interval, 'fffffffe52d8b8000000000100000000', '1 day -02:00:00'],
  ['interval -3 mons', OID.interval, '000000000000000000000000fffffffd', '-3 mons'],
  ['interval mixed signs', OID.interval, 'fffffffca5b1700000000003fffffff2', '-1 years -2 mons +3 days -04:00:00'],
  ['interval 100 hours', OID.interval, '00000053d1ac10000000000000000000', '100:00:00'],
  ['interval 1 mon', OID.interval, '00000000000000000000000000000001', '1 mon'],
  ['interval 1 µs', OID.interval, '00000000000000010000000000000000', '00:00:00.000001'],
  ['inet v4', OID.inet, '02200004c0a80105', '192.168.1.5'],
  ['inet v4 net', OID.inet, '021000040a010000', '10.1.0.0/16'],
  ['inet ::1', OID.inet, '0380001000000000000000000000000000000001', '::1'],
  ['inet v6 /64', OID.inet, '0340001020010db8000000000000000000000001', '2001:db8::1/64'],
  ['inet v4-mapped', OID.inet, '0380001000000000000000000000ffff01020304', '::ffff:1.2.3.4'],
  ['inet ::', OID.inet, '0380001000000000000000000000000000000000', '::'],
  ['inet first of equal runs', OID.inet, '03800010fe800000000000000001000000000000', 'fe80::1:0:0:0'],
  ['inet v4-compatible', OID.inet, '038000100000000000000000000000000102030a', '::1.2.3.10'],
  ['cidr v4', OID.cidr, '020801040a000000', '10.0.0.0/8'],
  ['cidr v6', OID.cidr, '0320011020010db8000000000000000000000000', '2001:db8::/32'],
  ['json', OID.json, '7b2261223a317d', { a: 1 }],
  ['jsonb', OID.jsonb, '017b2261223a205b312c20325d7d', { a: [1, 2] }],
  ['int4[][] with NULL', 1007, '00000002000000010000001700000002000000010000000200000001000000040000000100000004000000020000000400000003ffffffff', [[1, 2], [3, null]]],
  ['int4[] empty', 1007, '000000000000000000000017', []],
  ['int4[]', 1007, '000000010000000000000017000000020000000100000004000000050000000400000006', [5, 6]],
  ['text[] with NULL', 1009, '000000010000000100000019000000030000000100000003612c62ffffffff00000002c3a9', ['a,b', null, 'é']],
];

test('binary values: golden bytes from the server decode to the JSON of the text format', () => {
  for (const [what, oid, hex, expected] of GOLDEN) assert.deepEqual(decode(oid, hex), expected, what);
});

test('binary values: only types with a decoder are asked for in binary', () => {
  for (const oid of [OID.money, OID.macaddr, OID.xml, OID.bit, 1040, 791, 12345]) assert.equal(binaryDecoder(oid), undefined, String(oid));
  for (const oid of [1000, 1001, 1016, 1021, 1115, 1182, 1185, 1187, 1231, 1270, 2951, 3807, 1041, 651]) assert.ok(binaryDecoder(oid), String(oid));
});

test('binary values: malformed values are ProtocolErrors naming the type', () => {
  const bad: [number, string, RegExp][] = [
    [OID.int4, '0001', /int4 binary value has 2 bytes, not 4/],
    [OID.numeric, '0002000000000000000c', /numeric binary value has 10 bytes for 2 digits/],
    [OID.numeric, '00010000000000002710', /numeric digit 10000/],
    [OID.numeric, '0000000012340000', /numeric sign 0x1234/],
    [OID.numeric, '000000000000ffff', /display scale 65535/],
    [OID.jsonb, '027b7d', /jsonb binary value has version 2/],
    [OID.inet, '04200004c0a80105', /family 4/],
    [OID.inet, '02210004c0a80105', /prefix \/33/],
    [1007, '000000070000000000000017', /7 dimensions/],
    [1007, '000000010000000000000019000000010000000100000000', /elements of type 25/],
    [1007, '0000000100000000000000170000000100000001ffffffff', /NULL element but says it has none/],
    [1007, '00000001000000000000001700000001000000010000ffff', /element of length 65535 runs past the value/],
    [1007, '00000001000000000000001700000001000000010000000400000001ff', /bytes after its last element/],
    [1007, '00000002000000000000001700001000000000010000100000000001', /more than 1000000 elements/],
  ];
  for (const [oid, hex, message] of bad) assert.throws(() => decode(oid, hex), (e: unknown) => e instanceof ProtocolError && message.test((e as Error).message), `${oid} ${hex}`);
});

test('fuzz: random bytes never crash or hang a binary decoder', () => {
  const oids = [OID.bool, OID.int2, OID.int4, OID.int8, OID.float4, OID.float8, OID.numeric, OID.text, OID.bytea, OID.uuid, OID.date, OID.time, OID.timetz, OID.timestamp, OID.timestamptz, OID.interval, OID.inet, OID.cidr, OID.json, OID.jsonb, 1007, 1009, 1231, 1185, 1187];
  const seeds = GOLDEN.map(([, oid, hex]) => ({ oid, bytes: fromHex(hex) }));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.tuple(fc.constantFrom(...oids), fc.uint8Array({ maxLength: 96 })).map(([oid, bytes]) => ({ oid, bytes })),
        fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat()).map(([seed, pos, byte, cut]) => {
          const bytes = seed.bytes.slice();
          if (bytes.length > 0) bytes[pos % bytes.length] = byte;
          return { oid: seed.oid, bytes: bytes.subarray(0, cut % (bytes.length + 1)) };
        }),
      ),
      ({ oid, bytes }) => {
        try {
          binaryDecoder(oid)!(bytes);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      },
    ),
    { numRuns: 3000 },
  );
});
