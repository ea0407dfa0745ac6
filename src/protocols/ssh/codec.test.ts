// Unit tests of the SSH wire types (RFC 4251 5), packet framing (RFC 4253 6), KEXINIT (7.1) and version lines (4.2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fromHex, toHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { checkPacketLength, decodeKexInit, describePayload, encodeKexInit, pad, parseIdentification, plainPacketFrame, unpad, type KexInit } from './codec.ts';
import { SshReader, SshWriter } from './wire.ts';

const hex = (b: Uint8Array) => toHex(b);

test('mpint encodings are those of RFC 4251 section 5', () => {
  // RFC 4251 5, "Examples": value (hex) -> representation (hex).
  assert.equal(hex(new SshWriter().mpint(0n).finish()), '00000000');
  assert.equal(hex(new SshWriter().mpint(0x9a378f9b2e332a7n).finish()), '0000000809a378f9b2e332a7');
  assert.equal(hex(new SshWriter().mpint(0x80n).finish()), '000000020080');
  // Unsigned bytes with leading zeros are trimmed first.
  assert.equal(hex(new SshWriter().mpint(fromHex('000080')).finish()), '000000020080');
  assert.equal(new SshReader(fromHex('0000000809a378f9b2e332a7')).mpint(), 0x9a378f9b2e332a7n);
  assert.equal(new SshReader(fromHex('000000020080')).mpint(), 0x80n);
  // RFC 4251 5: -1234 is 00000002 fb2e; negative values are refused here.
  assert.throws(() => new SshReader(fromHex('00000002fb2e')).mpint(), ProtocolError);
});

test('name-lists are those of RFC 4251 section 5', () => {
  assert.equal(hex(new SshWriter().nameList([]).finish()), '00000000');
  assert.equal(hex(new SshWriter().nameList(['zlib']).finish()), '000000047a6c6962');
  assert.equal(hex(new SshWriter().nameList(['zlib', 'none']).finish()), '000000097a6c69622c6e6f6e65');
  assert.deepEqual(new SshReader(fromHex('000000097a6c69622c6e6f6e65')).nameList(), ['zlib', 'none']);
  assert.throws(() => new SshReader(fromHex('000000057a6c69622c')).nameList(), /empty name/);
  assert.throws(() => new SshReader(fromHex('000000027a00')).nameList(), /printable/);
});

// An unencrypted packet (RFC 4253 6): packet_length 0x0c, padding_length 4, payload "\x05" + ... here SERVICE_REQUEST is too long,
// so the golden packet carries IGNORE with an empty string: payload 02 00000000 (5 bytes), 6 bytes of padding to reach 16.
const golden = fromHex(
  '0000000c' + // packet_length = 12
    '06' + // padding_length = 6
    '0200000000' + // payload: SSH_MSG_IGNORE, string ""
    '000000000000', // padding
);

test('plain packet frame: golden bytes, split feed', () => {
  const payloads = assertSplitFeed(plainPacketFrame, new Uint8Array([...golden, ...golden]));
  assert.equal(payloads.length, 2);
  assert.equal(hex(payloads[0]), '0200000000');
});

test('pad produces RFC 4253 6 packets that unpad back, for every block size and length', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.constantFrom(8, 16), fc.boolean(), (payload, block, lengthInBlock) => {
      const packet = pad(payload, block, lengthInBlock, (n) => new Uint8Array(n).fill(0xaa));
      const len = new DataView(packet.buffer).getUint32(0);
      assert.equal(len, packet.length - 4);
      assert.ok(packet[4] >= 4 && packet[4] < 4 + block);
      assert.equal((len + (lengthInBlock ? 4 : 0)) % block, 0);
      checkPacketLength(len, block, lengthInBlock);
      assert.deepEqual(unpad(packet.subarray(4)), payload);
    }),
  );
});

test('packet lengths out of range are protocol errors naming the length', () => {
  assert.throws(() => plainPacketFrame(fromHex('fffffff000000000')), /packet length 4294967280 is out of range/);
  assert.throws(() => plainPacketFrame(fromHex('00000004')), /packet length 4 is out of range/);
  assert.throws(() => plainPacketFrame(fromHex('0000000d')), /not a multiple of the 8-byte cipher block/);
  // Padding shorter than 4 bytes (RFC 4253 6).
  assert.throws(() => plainPacketFrame(fromHex('0000000c' + '03' + '0200000000' + '000000000000')), /padding length 3/);
});

test('plain packet frame never throws anything but ProtocolError', () => {
  assertFuzzSafe(plainPacketFrame, { seeds: [golden] });
});

const kexInit: KexInit = {
  cookie: fromHex('00112233445566778899aabbccddeeff'),
  kex: ['curve25519-sha256', 'ext-info-c'],
  hostKey: ['ssh-ed25519'],
  cipherCS: ['aes128-gcm@openssh.com'],
  cipherSC: ['aes128-gcm@openssh.com'],
  macCS: ['hmac-sha2-256'],
  macSC: ['hmac-sha2-256'],
  compressionCS: ['none'],
  compressionSC: ['none'],
  languagesCS: [],
  languagesSC: [],
  firstKexFollows: false,
};

test('KEXINIT round-trips, with annotated golden bytes (RFC 4253 7.1)', () => {
  const bytes = encodeKexInit(kexInit);
  const expected =
    '14' + // SSH_MSG_KEXINIT
    '00112233445566778899aabbccddeeff' + // cookie
    '0000001c' + toHex(new TextEncoder().encode('curve25519-sha256,ext-info-c')) +
    '0000000b' + toHex(new TextEncoder().encode('ssh-ed25519')) +
    ('00000016' + toHex(new TextEncoder().encode('aes128-gcm@openssh.com'))).repeat(2) +
    ('0000000d' + toHex(new TextEncoder().encode('hmac-sha2-256'))).repeat(2) +
    ('00000004' + toHex(new TextEncoder().encode('none'))).repeat(2) +
    '00000000' + '00000000' + // languages
    '00' + // first_kex_packet_follows
    '00000000'; // reserved
  assert.equal(hex(bytes), expected);
  assert.deepEqual(decodeKexInit(bytes), kexInit);
  assert.match(describePayload(bytes), /^KEXINIT kex=curve25519-sha256,ext-info-c/);
});

test('KEXINIT decoding of fuzzed input throws only ProtocolError', () => {
  const seed = encodeKexInit(kexInit);
  const frame = (buf: Uint8Array) => ({ value: decodeKexInit(buf), size: buf.length });
  assertFuzzSafe(frame, { seeds: [seed] });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      try {
        describePayload(bytes);
      } catch (e) {
        assert.fail(`describePayload threw ${e}`);
      }
    }),
  );
});

test('version lines (RFC 4253 4.2)', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.deepEqual(parseIdentification(enc('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3')), {
    raw: 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3',
    protoVersion: '2.0',
    softwareVersion: 'OpenSSH_9.2p1',
    comments: 'Debian-2+deb12u3',
  });
  assert.equal(parseIdentification(enc('SSH-1.99-Cisco-1.25'))?.protoVersion, '1.99');
  assert.equal(parseIdentification(enc('Welcome, this is a preamble line')), undefined);
  assert.throws(() => parseIdentification(enc('SSH-2.0-bad\x01')), ProtocolError);
  assert.throws(() => parseIdentification(enc('SSH-2.0')), /malformed/);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      try {
        parseIdentification(new Uint8Array([0x53, 0x53, 0x48, 0x2d, ...bytes]));
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
  );
});
