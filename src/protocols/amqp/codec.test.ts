// AMQP 0-9-1 codec: golden frames, method round trips with packed bits, field tables, content headers,
// frame-max enforcement, split feed and fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteReader, concat, fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import {
  HEARTBEAT_FRAME,
  amqplainResponse,
  decodeHeader,
  decodeMethod,
  encodeFrame,
  encodeHeaderPayload,
  encodeMethod,
  encodeMethodPayload,
  encodeTable,
  frameFrame,
  plainResponse,
  readTable,
} from './codec.ts';

const hex = (s: string) => fromHex(s.replace(/\s+/g, ''));
const frames = frameFrame(() => 131072);

describe('AMQP frames: golden bytes', () => {
  it('channel.open on channel 1 and a heartbeat', () => {
    assert.equal(
      toHex(encodeMethod(1, 'channel.open')),
      [
        '01', // method frame
        '0001', // channel 1
        '00000005', // payload size
        '0014 000a', // class 20 (channel), method 10 (open)
        '00', // reserved shortstr ""
        'ce', // frame end
      ].join('').replace(/\s/g, ''),
    );
    assert.equal(toHex(HEARTBEAT_FRAME), '08' + '0000' + '00000000' + 'ce');
    assert.deepEqual(assertSplitFeed(frames, concat([encodeMethod(1, 'channel.open'), HEARTBEAT_FRAME])), [
      { type: 1, channel: 1, payload: hex('0014000a00') },
      { type: 8, channel: 0, payload: new Uint8Array(0) },
    ]);
  });

  it('connection.tune-ok and basic.publish with its mandatory bit', () => {
    assert.equal(toHex(encodeMethodPayload('connection.tune-ok', { channelMax: 2047, frameMax: 131072, heartbeat: 60 })), '000a001f' + '07ff' + '00020000' + '003c');
    // reserved short 0, exchange "x", routing key "k", bits: mandatory=1 immediate=0 → 0x01
    assert.equal(toHex(encodeMethodPayload('basic.publish', { exchange: 'x', routingKey: 'k', mandatory: true })), '003c0028' + '0000' + '0178' + '016b' + '01');
  });

  it('queue.declare packs five bits into one octet and round-trips', () => {
    const payload = encodeMethodPayload('queue.declare', { queue: 'q', passive: false, durable: true, exclusive: false, autoDelete: true, noWait: false, arguments: { 'x-max-length': 10 } });
    const m = decodeMethod(payload);
    assert.equal(m.name, 'queue.declare');
    assert.deepEqual({ ...m.args }, { reserved1: 0, queue: 'q', passive: false, durable: true, exclusive: false, autoDelete: true, noWait: false, arguments: { 'x-max-length': 10 } });
    // bits: durable (bit 1) and auto-delete (bit 3) → 0b1010
    assert.ok(toHex(payload).includes('0a' + '00000012'), 'bits octet, then the arguments table of 18 bytes');
  });

  it('connection.start from RabbitMQ\'s layout decodes its properties and mechanisms', () => {
    const payload = encodeMethodPayload('connection.start', { versionMajor: 0, versionMinor: 9, serverProperties: { product: 'RabbitMQ', capabilities: { publisher_confirms: true } }, mechanisms: utf8('AMQPLAIN PLAIN'), locales: utf8('en_US') });
    const [f] = assertSplitFeed(frames, encodeFrame(1, 0, payload));
    const m = decodeMethod(f.payload);
    assert.equal(m.name, 'connection.start');
    assert.deepEqual(m.args.serverProperties, { product: 'RabbitMQ', capabilities: { publisher_confirms: true } });
    assert.deepEqual(m.args.mechanisms, utf8('AMQPLAIN PLAIN'));
  });
});

describe('AMQP field tables', () => {
  it('every RabbitMQ field type decodes', () => {
    const body = hex(
      [
        '01 61 74 01', // a: t true
        '01 62 62 ff', // b: b -1
        '01 63 42 ff', // c: B 255
        '01 64 73 ff fe', // d: s -2
        '01 65 75 ff fe', // e: u 65534
        '01 66 49 ff ff ff fd', // f: I -3
        '01 67 69 ff ff ff fd', // g: i 4294967293
        '01 68 6c 00 00 01 00 00 00 00 00', // h: l 2^40
        '01 69 64 3f f8 00 00 00 00 00 00', // i: d 1.5
        '01 6a 44 02 00 00 04 d2', // j: D scale 2, 1234 → 12.34
        '01 6b 53 00 00 00 02 68 69', // k: S "hi"
        '01 6c 41 00 00 00 03 62 01 56', // l: A [b 1, V]
        '01 6d 54 00 00 00 00 65 53 f1 00', // m: T 1700000000
        '01 6e 46 00 00 00 00', // n: F {}
        '01 6f 56', // o: V null
        '01 70 78 00 00 00 02 00 ff', // p: x bytes
      ].join(''),
    );
    const table = new Uint8Array(4 + body.length);
    new DataView(table.buffer).setUint32(0, body.length);
    table.set(body, 4);
    assert.deepEqual(readTable(new ByteReader(table)), {
      a: true,
      b: -1,
      c: 255,
      d: -2,
      e: 65534,
      f: -3,
      g: 4294967293,
      h: 2 ** 40,
      i: 1.5,
      j: { decimal: '12.34' },
      k: 'hi',
      l: [1, null],
      m: { timestamp: 1_700_000_000 },
      n: {},
      o: null,
      p: { bytes: hex('00ff') },
    });
  });

  it('tables round-trip; nesting deeper than 16 is refused', () => {
    const t = { s: 'x', n: 1, big: 2 ** 40, f: 0.5, yes: false, none: null, list: [1, 'a', { k: 'v' }] };
    assert.deepEqual(readTable(new ByteReader(encodeTable(t))), t);
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 20; i++) deep = { d: deep };
    assert.throws(() => encodeTable(deep as never), /nested deeper than 16/);
  });

  it('AMQPLAIN is a table body without its length; PLAIN is NUL-separated', () => {
    assert.equal(toHex(amqplainResponse('u', 'p')), '054c4f47494e530000000175' + '0850415353574f52445300000001' + '70');
    assert.equal(toHex(plainResponse('guest', 'pw')), '00' + toHex(utf8('guest')) + '00' + toHex(utf8('pw')));
  });
});

describe('AMQP content header', () => {
  it('properties by flag bits round-trip', () => {
    const props = { contentType: 'text/plain', headers: { a: 1 }, deliveryMode: 2, priority: 9, correlationId: 'c', timestamp: 1_700_000_000, appId: 'app' };
    const payload = encodeHeaderPayload(5, props);
    assert.equal(toHex(payload.subarray(0, 14)), '003c' + '0000' + '0000000000000005' + 'bc48', 'flags: content-type (15), headers (13), delivery-mode, priority, correlation-id, timestamp, app-id');
    assert.deepEqual(decodeHeader(payload, 100), { classId: 60, bodySize: 5, properties: props });
  });

  it('a body size over the limit is refused from the header', () => {
    assert.throws(() => decodeHeader(encodeHeaderPayload(2 ** 40, {}), 1 << 20), /exceeds the 1048576-byte limit/);
  });
});

describe('AMQP framing limits', () => {
  it('a frame over frame-max fails from its 7-byte header, before the payload is buffered', () => {
    const d = new FrameDecoder(frameFrame(() => 4096));
    assert.throws(() => d.feed(hex('03 0001 7fffffff')), /exceeds the negotiated frame-max of 4096/);
  });

  it('a wrong frame-end octet, an unknown frame type and a protocol header answer are errors', () => {
    assert.throws(() => new FrameDecoder(frames).feed(hex('0800000000000000ff')), /frame end octet/);
    assert.throws(() => new FrameDecoder(frames).feed(hex('0900000000000000ce')), /unknown AMQP frame type 9/);
    assert.throws(() => new FrameDecoder(frames).feed(hex('414d515000000901')), /answered with protocol header AMQP 0-0-9-1/);
  });

  it('random bytes only ever produce ProtocolError, in frames and in method payloads', () => {
    const seeds = [encodeMethod(0, 'connection.tune', { channelMax: 1, frameMax: 4096, heartbeat: 60 }), encodeFrame(2, 1, encodeHeaderPayload(3, { headers: { a: [1, 2] } })), HEARTBEAT_FRAME];
    assertFuzzSafe(frameFrame(() => 1 << 16), { seeds });
    assertFuzzSafe((buf) => ({ value: decodeMethod(buf), size: buf.length }), { seeds: seeds.map((s) => s.subarray(7, -1)) });
    assertFuzzSafe((buf) => ({ value: decodeHeader(buf, 1 << 20), size: buf.length }), { seeds: [encodeHeaderPayload(3, { headers: { a: { b: 'c' } }, contentType: 'x' })] });
  });
});
