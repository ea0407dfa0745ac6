// The TLS codec: golden bytes of records and a ClientHello, frames fed whole, byte by byte and at random splits,
// the limits, and every decoder under fuzz (it returns, or throws ProtocolError — nothing else, never a hang).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { fromHex, toHex } from '../bytes.ts';
import { ProtocolError } from '../errors.ts';
import * as hs from './handshake.ts';
import { expandLabel, prf12 } from './keys.ts';
import { ecdsaDerToRaw, ecdsaRawToDer } from './primitives.ts';
import { plainRecords, protection12, protection13, recordFrame } from './record.ts';
import { parseCertificate } from './x509.ts';
import { cipherSuite } from './wire.ts';

// A ClientHello with fixed values, annotated.
const HELLO: hs.ClientHelloParams = {
  random: new Uint8Array(32).fill(0x11),
  sessionId: new Uint8Array(0),
  cipherSuites: [0x1301, 0xc02b],
  serverName: 'a.example',
  groups: [0x001d],
  keyShares: [{ group: 0x001d, key: new Uint8Array(32).fill(0x22) }],
  signatureSchemes: [0x0403],
  alpn: ['h2'],
  versions: [0x0304, 0x0303],
  tls12: true,
};
const HELLO_HEX = [
  '0303', '11'.repeat(32), // legacy_version, random
  '00', // legacy_session_id: empty
  '0004 1301 c02b', // cipher_suites
  '01 00', // legacy_compression_methods: null
  '0073', // extensions, 115 bytes
  '0000 000e 000c 00 0009 612e6578616d706c65', // server_name: host_name "a.example"
  '000b 0002 01 00', // ec_point_formats: uncompressed
  '0017 0000', // extended_master_secret
  'ff01 0001 00', // renegotiation_info: empty
  '000a 0004 0002 001d', // supported_groups: x25519
  '000d 0004 0002 0403', // signature_algorithms: ecdsa_secp256r1_sha256
  '0010 0005 0003 02 6832', // ALPN: h2
  '002b 0005 04 0304 0303', // supported_versions: 1.3, 1.2
  '002d 0002 01 01', // psk_key_exchange_modes: psk_dhe_ke
  '0033 0026 0024 001d 0020 ' + '22'.repeat(32), // key_share: x25519
].join('').replace(/\s/g, '');

test('tls codec: a ClientHello encodes to its golden bytes and decodes back', () => {
  const body = hs.encodeClientHello(HELLO);
  assert.equal(toHex(body), HELLO_HEX);
  const ch = hs.decodeClientHello(body);
  assert.equal(ch.serverName, 'a.example');
  assert.deepEqual(ch.cipherSuites, [0x1301, 0xc02b]);
  assert.deepEqual(ch.versions, [0x0304, 0x0303]);
  assert.deepEqual(ch.alpn, ['h2']);
  assert.deepEqual(ch.keyShares.map((k) => k.group), [0x001d]);
});

test('tls codec: records — golden header, fed whole, byte by byte and at random splits', () => {
  const message = hs.handshakeMessage(1, hs.encodeClientHello(HELLO));
  const [record] = plainRecords(22, message, 0x0301);
  assert.equal(toHex(record.subarray(0, 5)), `160301${message.length.toString(16).padStart(4, '0')}`);
  const three = new Uint8Array([...record, ...fromHex('1503030002022f'), ...fromHex('1703030000')]);
  const got = assertSplitFeed(recordFrame, three);
  assert.deepEqual(got.map((r) => [r.type, r.version, r.fragment.length]), [[22, 0x0301, message.length], [21, 0x0303, 2], [23, 0x0303, 0]]);
});

test('tls codec: handshake messages split across records reassemble, capped at 128 KiB', () => {
  const a = hs.handshakeMessage(2, new Uint8Array(300).fill(7));
  const b = hs.handshakeMessage(20, new Uint8Array(32).fill(9));
  const got = assertSplitFeed(hs.handshakeFrame, new Uint8Array([...a, ...b]));
  assert.deepEqual(got.map((m) => [m.type, m.body.length]), [[2, 300], [20, 32]]);
  assert.throws(() => hs.handshakeFrame(fromHex('0b020001')), (e: ProtocolError) => /exceeds the 131072-byte limit/.test(e.message));
});

test('tls codec: a record past 2^14 + 2048 is record_overflow; bytes that are not TLS are named at once', () => {
  assert.throws(() => recordFrame(fromHex('1703034801')), (e: ProtocolError) => e.detail?.alert === 22 && /record_overflow/.test(e.message));
  assert.throws(() => recordFrame(new TextEncoder().encode('SSH-2.0-OpenSSH')), (e: ProtocolError) => /not a TLS record \(they start 53 53 48 2d 32\)/.test(e.message));
  assert.throws(() => recordFrame(Uint8Array.of(0x48)), /not a TLS record/);
  assert.equal(recordFrame(Uint8Array.of(0x16, 0x03)), undefined);
});

test('tls codec: ServerHello and HelloRetryRequest decode; a repeated extension is illegal_parameter', () => {
  const sh = fromHex(['0303', 'ab'.repeat(32), '00', '1301', '00', '002e', '002b00020304', '00330024001d0020' + 'cd'.repeat(32)].join(''));
  const d = hs.decodeServerHello(sh);
  assert.equal(d.retry, false);
  assert.equal(d.cipherSuite, 0x1301);
  assert.equal(d.selectedVersion, 0x0304);
  assert.equal(d.keyShare?.group, 0x001d);
  const hrr = fromHex(['0303', 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', '00', '1302', '00', '000c', '002b00020304', '003300020017'].join(''));
  const r = hs.decodeServerHello(hrr);
  assert.equal(r.retry, true);
  assert.deepEqual(r.keyShare, { group: 0x0017 });
  assert.match(hs.describeServerHello(r), /HelloRetryRequest TLSv1\.3, TLS_AES_256_GCM_SHA384, wants key_share secp256r1/);
  const twice = fromHex(['0303', 'ab'.repeat(32), '00', '1301', '00', '000c', '002b00020304', '002b00020304'].join(''));
  assert.throws(() => hs.decodeServerHello(twice), (e: ProtocolError) => e.detail?.alert === 47 && /supported_versions twice/.test(e.message));
});

test('tls codec: HKDF-Expand-Label and the TLS 1.2 PRF against node:crypto', async () => {
  const { createHmac } = await import('node:crypto');
  const secret = new Uint8Array(32).fill(3);
  // HkdfLabel for "key", empty context, 16 bytes: 0010 09 "tls13 key" 00.
  const info = fromHex('001009746c73313320' + '6b6579' + '00');
  // HKDF-Expand (RFC 5869 §2.3) of up to one block is T(1) = HMAC(PRK, info ‖ 0x01).
  const t1 = createHmac('sha256', secret).update(Buffer.concat([Buffer.from(info), Buffer.of(1)])).digest();
  assert.equal(toHex(expandLabel('SHA-256', secret, 'key', new Uint8Array(0), 16)), t1.subarray(0, 16).toString('hex'));
  // P_SHA256 (RFC 5246 §5) for 100 bytes, computed directly.
  const seed = new TextEncoder().encode('test labelseed');
  let a: Buffer = Buffer.from(seed);
  let out = Buffer.alloc(0);
  while (out.length < 100) {
    a = createHmac('sha256', secret).update(a).digest();
    out = Buffer.concat([out, createHmac('sha256', secret).update(Buffer.concat([a, seed])).digest()]);
  }
  assert.equal(toHex(prf12('SHA-256', secret, 'test label', new TextEncoder().encode('seed'), 100)), out.subarray(0, 100).toString('hex'));
});

test('tls codec: record protection round-trips for every AEAD, and a flipped bit is bad_record_mac', async () => {
  for (const id of [0x1301, 0x1302, 0x1303, 0xc02b, 0xcca9]) {
    const suite = cipherSuite(id)!;
    const key = new Uint8Array(suite.keyLength).fill(5);
    const iv = new Uint8Array(suite.version === 0x0304 || suite.aead === 'CHACHA20-POLY1305' ? 12 : 4).fill(6);
    const make = suite.version === 0x0304 ? protection13 : protection12;
    const tx = await make(crypto.subtle, suite, key, iv);
    const rx = await make(crypto.subtle, suite, key, iv);
    for (const text of ['first', 'second record']) {
      const record = await tx.seal(23, new TextEncoder().encode(text));
      const frame = recordFrame(record)!.value;
      const opened = await rx.open(frame);
      assert.equal(new TextDecoder().decode(opened.content), text, suite.name);
      assert.equal(opened.type, 23);
    }
    const bad = await tx.seal(23, new TextEncoder().encode('tampered'));
    bad[bad.length - 1] ^= 1;
    await assert.rejects(rx.open(recordFrame(bad)!.value), /bad_record_mac/);
  }
});

test('tls codec: ECDSA signatures convert between DER and r ‖ s', () => {
  const raw = new Uint8Array(64);
  raw[0] = 0x80; // high bit: DER needs a zero byte in front
  raw[63] = 1;
  const der = ecdsaRawToDer(raw);
  assert.equal(toHex(der.subarray(0, 6)), '302602210080');
  assert.deepEqual(ecdsaDerToRaw(der, 32), raw);
  assert.equal(ecdsaDerToRaw(fromHex('3006020101020101ff'), 32), undefined);
});

const seeds = [
  hs.encodeClientHello(HELLO),
  fromHex(['0303', 'ab'.repeat(32), '00', '1301', '00', '002e', '002b00020304', '00330024001d0020' + 'cd'.repeat(32)].join('')),
  hs.encodeCertificate([fromHex('3003020101')], true),
  fromHex('000a0010000802000000000000000d00080006040305030804'),
];

test('tls codec: every decoder under fuzz returns or throws ProtocolError', () => {
  assertFuzzSafe(recordFrame, { seeds: [plainRecords(22, hs.handshakeMessage(1, seeds[0]))[0]] });
  assertFuzzSafe(hs.handshakeFrame, { seeds: seeds.map((s) => hs.handshakeMessage(2, s)) });
  const decoders: ((b: Uint8Array) => unknown)[] = [
    hs.decodeClientHello,
    hs.decodeServerHello,
    hs.decodeEncryptedExtensions,
    (b) => hs.decodeCertificate(b, true),
    (b) => hs.decodeCertificate(b, false),
    hs.decodeCertificateRequest13,
    hs.decodeCertificateRequest12,
    hs.decodeCertificateVerify,
    hs.decodeNewSessionTicket13,
    hs.decodeNewSessionTicket12,
    hs.decodeKeyUpdate,
    hs.decodeServerKeyExchange,
    parseCertificate,
  ];
  const mutated = fc.tuple(fc.constantFrom(...seeds), fc.integer({ min: 0, max: 4096 }), fc.integer({ min: 0, max: 255 })).map(([s, at, byte]) => {
    const copy = s.slice();
    copy[at % copy.length] = byte;
    return copy.subarray(0, (at * 13) % (copy.length + 1));
  });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), mutated), (bytes) => {
      for (const decode of decoders) {
        try {
          decode(bytes);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      }
    }),
    { numRuns: 2000 },
  );
});
