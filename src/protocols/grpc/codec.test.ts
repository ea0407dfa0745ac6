import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, createFileRegistry, fromJson, toBinary, fromBinary, toJson } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { concat, fromHex, toHex, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import {
  decodeGrpcMessage,
  decodeHealthResponse,
  decodeReflectionResponse,
  encodeHealthRequest,
  encodeMessage,
  encodeReflectionRequest,
  encodeTimeout,
  messageFrame,
  metadataJson,
  readFields,
  splitMessages,
  statusFromHttp,
} from './codec.ts';
import { parseMethodName, qualifyTypeNames } from './client.ts';

// Two Length-Prefixed-Messages: flag 0, length 3, bytes; then flag 0, length 0 (an empty message).
const TWO = fromHex('00 00000003 0a0178' + '00 00000000');

test('Length-Prefixed-Message framing, split at every point', () => {
  const got = assertSplitFeed(messageFrame(), TWO);
  assert.deepEqual(got.map((m) => toHex(m.data)), ['0a0178', '']);
  assert.deepEqual(encodeMessage(fromHex('0a0178')), TWO.subarray(0, 8));
  assert.throws(() => messageFrame()(fromHex('02 00000000')), /compressed-flag 2/);
  assert.throws(() => messageFrame(10)(fromHex('00 00000100')), /exceeds 10/);
  assert.throws(() => splitMessages(fromHex('00 00000005 01')), /ends inside a message/);
  assertFuzzSafe(messageFrame(4096), { seeds: [TWO] });
});

test('status message percent-decoding, timeout encoding, HTTP status mapping', () => {
  assert.equal(decodeGrpcMessage('no%20ships%20today%20%E2%9A%93%20100%25'), 'no ships today ⚓ 100%');
  assert.equal(decodeGrpcMessage('bad %zz escape'), 'bad %zz escape');
  assert.equal(encodeTimeout(1500), '1500m');
  assert.equal(encodeTimeout(2e8), '200000S');
  assert.equal(statusFromHttp(404), 12); // UNIMPLEMENTED
  assert.equal(statusFromHttp(503), 14); // UNAVAILABLE
});

test('binary metadata is base64 on the wire and shown decoded', () => {
  assert.deepEqual(metadataJson([[':status', '200'], ['x-a', 'b'], ['x-d-bin', 'AP8Q/g']]), [
    { name: 'x-a', value: 'b', binary: false },
    { name: 'x-d-bin', value: 'AP8Q/g==', binary: true, bytes: '00ff10fe' },
  ]);
  assert.throws(() => metadataJson([['x-bad-bin', '!!']]), ProtocolError);
});

test('reflection requests and responses (grpc.reflection.v1 wire form)', () => {
  // list_services = 7 (tag 0x3a), "*".
  assert.equal(toHex(encodeReflectionRequest({ listServices: true })), '3a012a');
  // file_containing_symbol = 4 (tag 0x22).
  assert.equal(toHex(encodeReflectionRequest({ fileContainingSymbol: 'a.B' })), '2203612e42');
  // file_by_filename = 3 (tag 0x1a), with host = 1 (tag 0x0a).
  assert.equal(toHex(encodeReflectionRequest({ fileByFilename: 'x.proto' }, 'h')), '0a01681a07782e70726f746f');
  // list_services_response = 6 {service = 1 {name = 1}} ×2.
  const services = concat([fromHex('32 0e'), fromHex('0a05 0a03612e42'), fromHex('0a05 0a03632e44')]);
  assert.deepEqual(decodeReflectionResponse(services), { kind: 'services', services: ['a.B', 'c.D'] });
  // file_descriptor_response = 4 {file_descriptor_proto = 1} ×1.
  assert.deepEqual(decodeReflectionResponse(fromHex('2205 0a03 010203')), { kind: 'files', files: [fromHex('010203')] });
  // error_response = 7 {error_code = 1: 5, error_message = 2: "nope"}.
  assert.deepEqual(decodeReflectionResponse(fromHex('3a08 0805 12046e6f7065')), { kind: 'error', code: 5, message: 'nope' });
  assert.throws(() => decodeReflectionResponse(fromHex('0a0168')), /none of the known answers/);
  assertFuzzSafe(wholeFields, { seeds: [services, fromHex('3a08 0805 12046e6f7065')] });
});

/** readFields over a whole buffer, for the fuzz harness. */
const wholeFields: Frame<number> = (buf) => ({ value: readFields(buf).length, size: buf.length });

test('health: Check request and response (grpc.health.v1)', () => {
  assert.equal(toHex(encodeHealthRequest('')), '');
  assert.equal(toHex(encodeHealthRequest('a')), '0a0161');
  assert.equal(decodeHealthResponse(fromHex('0801')), 'SERVING');
  assert.equal(decodeHealthResponse(fromHex('0802')), 'NOT_SERVING');
  assert.equal(decodeHealthResponse(new Uint8Array(0)), 'UNKNOWN');
});

test('method names: slash, leading slash and dotted forms', () => {
  assert.deepEqual(parseMethodName('/pkg.v1.Svc/Do'), { service: 'pkg.v1.Svc', method: 'Do' });
  assert.deepEqual(parseMethodName('pkg.v1.Svc.Do'), { service: 'pkg.v1.Svc', method: 'Do' });
  assert.throws(() => parseMethodName('Svc'), ProtocolError);
});

test('descriptors as protobufjs serves them (relative names, no json_name, no imports) become a working registry', () => {
  // What @grpc/proto-loader hands @grpc/reflection: files named after packages, types referenced relatively.
  const ts = create(FileDescriptorProtoSchema, {
    name: 'google_protobuf.proto',
    package: 'google.protobuf',
    syntax: 'proto3',
    messageType: [{ name: 'Timestamp', field: [{ name: 'seconds', number: 1, type: 3, label: 1 }, { name: 'nanos', number: 2, type: 5, label: 1 }] }],
  });
  const lab = create(FileDescriptorProtoSchema, {
    name: 'lab_v1.proto',
    package: 'lab.v1',
    syntax: 'proto3',
    enumType: [{ name: 'Kind', value: [{ name: 'KIND_UNSPECIFIED', number: 0 }, { name: 'KIND_A', number: 1 }] }],
    messageType: [
      {
        name: 'Thing',
        field: [
          { name: 'in_port', number: 1, type: 8, label: 1 },
          { name: 'kind', number: 2, typeName: 'Kind', type: 14, label: 1 },
          { name: 'when', number: 3, typeName: 'google.protobuf.Timestamp', type: 11, label: 1 },
          { name: 'inner', number: 4, typeName: 'Thing.Inner', type: 11, label: 1 },
        ],
        nestedType: [{ name: 'Inner', field: [{ name: 'big_number', number: 1, type: 3, label: 1 }] }],
      },
    ],
    service: [{ name: 'Svc', method: [{ name: 'Get', inputType: 'Thing', outputType: 'Thing' }] }],
  });
  qualifyTypeNames([lab, ts]);
  assert.deepEqual(lab.dependency, ['google_protobuf.proto']);
  assert.equal(lab.messageType[0].field[2].typeName, '.google.protobuf.Timestamp');
  assert.equal(lab.messageType[0].field[3].typeName, '.lab.v1.Thing.Inner');
  assert.equal(lab.service[0].method[0].inputType, '.lab.v1.Thing');
  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: [ts, lab] }));
  const thing = registry.getMessage('lab.v1.Thing')!;
  const json = { inPort: true, kind: 'KIND_A', when: '1970-01-01T00:00:05.000000001Z', inner: { bigNumber: '9007199254740993' } };
  const bytes = toBinary(thing, fromJson(thing, json, { registry }));
  assert.deepEqual(toJson(thing, fromBinary(thing, bytes), { registry }), json);
  assert.equal(registry.getService('lab.v1.Svc')!.methods[0].input.typeName, 'lab.v1.Thing');
  assert.equal(utf8('x').length, 1);
});

import { gzip } from 'pako';
import protobuf from 'protobufjs';
import { compressMessage, decodeStatusDetails, decompressMessage } from './codec.ts';

test('gzip messages: compressed flag framed, inflated back, bounded, and refused under another encoding', () => {
  const data = utf8('Portolan '.repeat(500));
  const z = compressMessage(data, 'gzip');
  assert.ok(z.length < data.length / 10);
  assert.deepEqual(decompressMessage(z, 'gzip', 10_000), data);
  assert.equal(toHex(encodeMessage(z, true).subarray(0, 5)), `01${z.length.toString(16).padStart(8, '0')}`);
  const [m] = splitMessages(encodeMessage(z, true));
  assert.equal(m.compressed, true);
  // A bomb: 4 MiB of zeros in a few KiB, inflated only up to the cap.
  const bomb = gzip(new Uint8Array(4 * 1024 * 1024));
  assert.throws(() => decompressMessage(bomb, 'gzip', 64 * 1024), (e: unknown) => e instanceof ProtocolError && /gRPC message \(grpc-encoding gzip\): .*65536/.test(e.message));
  assert.throws(() => decompressMessage(z, undefined, 10_000), /Compressed-Flag 1 but grpc-encoding is absent/);
  assert.throws(() => decompressMessage(z, 'snappy', 10_000), /snappy, which we did not accept/);
  assert.throws(() => decompressMessage(fromHex('1f8b0800ffff'), 'gzip', 100), ProtocolError);
});

test('grpc-status-details-bin: google.rpc.Status with standard details decoded, unknown types raw', () => {
  const root = new protobuf.Root();
  root.resolvePath = (_o, t) => (t.startsWith('google/protobuf/') ? t : new URL(`../../../lab/grpc/protos/${t}`, import.meta.url).pathname);
  root.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
  const enc = (type: string, v: Record<string, unknown>) => {
    const t = root.lookupType(type);
    return { type_url: `type.googleapis.com/${type}`, value: t.encode(t.fromObject(v)).finish() };
  };
  const Status = root.lookupType('google.rpc.Status');
  const bytes = Status.encode(
    Status.fromObject({
      code: 3,
      message: 'bad manifest',
      details: [
        enc('google.rpc.BadRequest', { fieldViolations: [{ field: 'item', description: 'empty', reason: 'EMPTY' }] }),
        enc('google.rpc.ErrorInfo', { reason: 'R', domain: 'd.example', metadata: { a: '1', b: '2' } }),
        enc('google.rpc.RetryInfo', { retryDelay: { seconds: 2, nanos: 500_000_000 } }),
        enc('google.rpc.LocalizedMessage', { locale: 'en', message: 'no' }),
        { type_url: 'type.example/x.Y', value: fromHex('0801') },
      ],
    }),
  ).finish();
  assert.deepEqual(decodeStatusDetails(bytes), {
    code: 3,
    name: 'INVALID_ARGUMENT',
    message: 'bad manifest',
    details: [
      { typeUrl: 'type.googleapis.com/google.rpc.BadRequest', type: 'google.rpc.BadRequest', value: { fieldViolations: [{ field: 'item', description: 'empty', reason: 'EMPTY' }] } },
      { typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', type: 'google.rpc.ErrorInfo', value: { reason: 'R', domain: 'd.example', metadata: { a: '1', b: '2' } } },
      { typeUrl: 'type.googleapis.com/google.rpc.RetryInfo', type: 'google.rpc.RetryInfo', value: { retryDelay: '2.5s' } },
      { typeUrl: 'type.googleapis.com/google.rpc.LocalizedMessage', type: 'google.rpc.LocalizedMessage', value: { locale: 'en', message: 'no' } },
      { typeUrl: 'type.example/x.Y', type: 'x.Y', raw: 'CAE=' },
    ],
  });
  assert.throws(() => decodeStatusDetails(fromHex('1aff')), ProtocolError);
  assertFuzzSafe((buf) => (buf.length ? { value: decodeStatusDetails(buf), size: buf.length } : undefined), { seeds: [bytes] });
});
