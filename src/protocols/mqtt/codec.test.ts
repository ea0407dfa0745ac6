// MQTT codec: golden packets from the spec's layouts, round trips, split feed, fuzz, topic rules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteReader, ByteWriter, concat, fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import {
  decodePacket,
  encodeAck,
  encodeConnect,
  encodeDisconnect,
  encodeProperties,
  encodePublish,
  encodeSubscribe,
  encodeUnsubscribe,
  packetFrame,
  readProperties,
  readVarint,
  topicFilterProblem,
  topicMatches,
  topicNameProblem,
  writeVarint,
} from './codec.ts';

const hex = (s: string) => fromHex(s.replace(/\s+/g, ''));

describe('MQTT variable byte integer (§1.5.5)', () => {
  it('encodes the spec\'s boundary values in 1–4 bytes', () => {
    const cases: [number, string][] = [
      [0, '00'],
      [127, '7f'],
      [128, '8001'],
      [16383, 'ff7f'],
      [16384, '808001'],
      [2097151, 'ffff7f'],
      [2097152, '80808001'],
      [268435455, 'ffffff7f'],
    ];
    for (const [n, h] of cases) {
      assert.equal(toHex(writeVarint(new ByteWriter(), n).finish()), h);
      assert.equal(readVarint(new ByteReader(fromHex(h)), 'n'), n);
    }
    assert.throws(() => writeVarint(new ByteWriter(), 268435456), ProtocolError);
    assert.throws(() => readVarint(new ByteReader(hex('ffffffff7f')), 'n'), /longer than 4 bytes/);
  });
});

describe('MQTT 3.1.1 packets: golden bytes', () => {
  it('CONNECT with clean session, keep-alive 60, user and password', () => {
    const bytes = encodeConnect({ version: 4, clientId: 'c1', cleanStart: true, keepAlive: 60, username: 'u', password: utf8('p') });
    assert.equal(
      toHex(bytes),
      [
        '10 14', // CONNECT, remaining length 20
        '0004 4d515454', // "MQTT"
        '04', // level 4 = 3.1.1
        'c2', // flags: username, password, clean session
        '003c', // keep-alive 60
        '0002 6331', // client id "c1"
        '0001 75', // username "u"
        '0001 70', // password "p"
      ].join('').replace(/\s/g, ''),
    );
    const back = decodePacket(4, bytes[0], bytes.subarray(2));
    assert.deepEqual(back, { type: 'connect', version: 4, clientId: 'c1', cleanStart: true, keepAlive: 60, username: 'u', password: utf8('p') });
  });

  it('CONNACK accepted, and refused with 5 (not authorized)', () => {
    assert.deepEqual(assertSplitFeed(packetFrame(4), hex('20020000 20020105')), [
      { type: 'connack', sessionPresent: false, code: 0, properties: {} },
      { type: 'connack', sessionPresent: true, code: 5, properties: {} },
    ]);
  });

  it('PUBLISH QoS 1 retain, its PUBACK; QoS 2 flow packets; SUBSCRIBE and SUBACK', () => {
    const pub = encodePublish(4, { topic: 'a/b', payload: utf8('hi'), qos: 1, retain: true, packetId: 10 });
    assert.equal(toHex(pub), '3309' + '0003612f62' + '000a' + '6869');
    assert.equal(toHex(encodeAck(4, 'puback', 10)), '4002000a');
    assert.equal(toHex(encodeAck(4, 'pubrel', 10)), '6202000a', 'PUBREL carries flags 0010 (§3.6.1)');
    assert.equal(toHex(encodeSubscribe(4, 7, [{ filter: 'a/#', qos: 2 }])), '8208' + '0007' + '0003612f23' + '02');
    assert.equal(toHex(encodeUnsubscribe(4, 8, ['a/#'])), 'a207' + '0008' + '0003612f23');
    assert.equal(toHex(encodeDisconnect(4)), 'e000');
    const got = assertSplitFeed(packetFrame(4), concat([pub, hex('9004 0007 0280'), hex('5002000a 7002000a d000')]));
    assert.deepEqual(got, [
      { type: 'publish', dup: false, qos: 1, retain: true, topic: 'a/b', packetId: 10, properties: {}, payload: utf8('hi') },
      { type: 'suback', packetId: 7, codes: [2, 0x80], properties: {} },
      { type: 'pubrec', packetId: 10, code: 0, properties: {} },
      { type: 'pubcomp', packetId: 10, code: 0, properties: {} },
      { type: 'pingresp' },
    ]);
  });
});

describe('MQTT 5.0 packets: properties and reason codes', () => {
  it('CONNACK with server limits and a reason string', () => {
    // 20 len 00 00 props: receive max 20 (21 0014), max QoS 1 (24 01), retain available 0 (25 00), topic alias max 10 (22 000a), reason "ok" (1f 0002 6f6b)
    const props = '210014 2401 2500 22000a 1f00026f6b';
    const body = `0000 ${(hex(props).length).toString(16).padStart(2, '0')} ${props}`;
    const bytes = hex(`20 ${hex(body).length.toString(16).padStart(2, '0')} ${body}`);
    assert.deepEqual(assertSplitFeed(packetFrame(5), bytes), [
      { type: 'connack', sessionPresent: false, code: 0, properties: { receiveMaximum: 20, maximumQos: 1, retainAvailable: 0, topicAliasMaximum: 10, reasonString: 'ok' } },
    ]);
  });

  it('PUBLISH with content type, correlation data, user properties and expiry round-trips', () => {
    const properties = { messageExpiryInterval: 60, contentType: 'application/json', correlationData: hex('00ff'), userProperties: [['a', '1'], ['a', '2']] as [string, string][] };
    const bytes = encodePublish(5, { topic: 't', payload: utf8('{}'), qos: 2, packetId: 1, properties });
    const [p] = assertSplitFeed(packetFrame(5), bytes);
    assert.deepEqual(p, { type: 'publish', dup: false, qos: 2, retain: false, topic: 't', packetId: 1, properties, payload: utf8('{}') });
  });

  it('PUBACK without a reason code is Success; with 0x87 and a reason string it is read', () => {
    assert.deepEqual(assertSplitFeed(packetFrame(5), hex('40020001')), [{ type: 'puback', packetId: 1, code: 0, properties: {} }]);
    const withReason = hex('4009 0002 87 05 1f0002 6e6f');
    assert.deepEqual(assertSplitFeed(packetFrame(5), withReason), [{ type: 'puback', packetId: 2, code: 0x87, properties: { reasonString: 'no' } }]);
    assert.equal(toHex(encodeAck(5, 'puback', 2, 0x87, { reasonString: 'no' })), toHex(withReason));
  });

  it('server DISCONNECT with a reason; SUBSCRIBE options round-trip', () => {
    assert.deepEqual(assertSplitFeed(packetFrame(5), hex('e0028e00')), [{ type: 'disconnect', code: 0x8e, properties: {} }]);
    const sub = encodeSubscribe(5, 3, [{ filter: '$share/g/x/+', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 }]);
    assert.deepEqual(decodePacket(5, sub[0], sub.subarray(2)), { type: 'subscribe', packetId: 3, properties: {}, subscriptions: [{ filter: '$share/g/x/+', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 }] });
  });

  it('a repeated single-valued property and an unknown one are protocol errors', () => {
    assert.throws(() => readProperties(new ByteReader(hex('06 210001 210002')), 'X'), /receiveMaximum appears twice/);
    assert.throws(() => readProperties(new ByteReader(hex('02 7f00')), 'X'), /unknown property identifier 0x7f/);
    assert.deepEqual(readProperties(new ByteReader(encodeProperties({ subscriptionIdentifiers: [1, 300] })), 'X'), { subscriptionIdentifiers: [1, 300] });
  });
});

describe('MQTT framing limits', () => {
  it('a 2^28 remaining length fails from its header bytes alone, before any body is buffered', () => {
    const d = new FrameDecoder(packetFrame(4));
    assert.throws(() => d.feed(hex('30 ff ff ff ff 01')), /remaining length longer than 4 bytes/);
  });

  it('a remaining length over the packet limit fails before the body arrives', () => {
    const d = new FrameDecoder(packetFrame(4, 1024));
    assert.throws(() => d.feed(hex('30 ff ff ff 7f')), /exceeds the 1024-byte packet limit/);
  });

  it('reserved packet types and wrong flags are refused', () => {
    assert.throws(() => new FrameDecoder(packetFrame(4)).feed(hex('0000')), /reserved/);
    assert.throws(() => new FrameDecoder(packetFrame(4)).feed(hex('6002000a')), /PUBREL with fixed-header flags 0x0/);
    assert.throws(() => new FrameDecoder(packetFrame(4)).feed(hex('3603 0001 61')), /QoS 3/);
    assert.throws(() => new FrameDecoder(packetFrame(4)).feed(hex('f000')), /AUTH \(type 15\) is reserved in MQTT 3.1.1/);
  });

  it('random bytes only ever produce ProtocolError', () => {
    const seeds = [encodePublish(5, { topic: 'a', payload: utf8('x'), qos: 1, packetId: 1, properties: { contentType: 'c' } }), hex('20020000'), hex('9004 0007 0280')];
    assertFuzzSafe(packetFrame(5, 1 << 16), { seeds });
    assertFuzzSafe(packetFrame(4, 1 << 16), { seeds });
  });
});

describe('MQTT topics (§4.7)', () => {
  it('topic names take no wildcards', () => {
    assert.equal(topicNameProblem('a/b'), null);
    assert.match(topicNameProblem('a/+')!, /wildcard/);
    assert.match(topicNameProblem('')!, /empty/);
  });

  it('filters: # last and alone, + alone in its level, shared subscriptions', () => {
    for (const ok of ['#', 'a/#', '+', '+/+/c', 'a//b', '/', '$share/g/a/#', '$SYS/#']) assert.equal(topicFilterProblem(ok), null, ok);
    for (const bad of ['a/#/b', 'a#', 'a/b+', '+a', '$share/g', '$share/+/a']) assert.ok(topicFilterProblem(bad), bad);
  });

  it('matching follows §4.7.1 and $-topics need an explicit first level', () => {
    assert.ok(topicMatches('sport/#', 'sport'));
    assert.ok(topicMatches('sport/#', 'sport/tennis/player1'));
    assert.ok(topicMatches('sport/+', 'sport/'));
    assert.ok(!topicMatches('sport/+', 'sport'));
    assert.ok(topicMatches('+/+', '/finance'));
    assert.ok(!topicMatches('#', '$SYS/broker'));
    assert.ok(topicMatches('$SYS/#', '$SYS/broker'));
    assert.ok(topicMatches('$share/g/a/+', 'a/b'));
  });
});
