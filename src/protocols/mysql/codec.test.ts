import { latin1View } from '../../core/bytes.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, privateDecrypt, constants } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ByteReader, ByteWriter, fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { webCrypto } from '../../core/crypto.ts';
import { ProtocolError } from '../../core/errors.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { runOperation } from '../../core/runner.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { memoryHost, pipe } from '../../../test/memory.ts';
import mysql from './index.ts';

import { cachingSha2Password, ed25519Password, nativePassword, pemToSpki } from './auth.ts';
import {
  CLIENT,
  encodePacket,
  executePayload,
  handshakeResponsePayload,
  isEof,
  packetFrame,
  packetsFrame,
  parseAuthSwitch,
  parseBinaryRow,
  parseColumnCount,
  parseColumnDefinition,
  parseErr,
  parseHandshake,
  parseOk,
  parseTextRow,
  decodeTextValue,
  decodeTextRowAt,
  textColumnDecoder,
  readLenencInt,
  sslRequestPayload,
  TYPE,
  writeLenencInt,
  type ColumnDefinition,
} from './codec.ts';

const crypto = webCrypto();

// The first packet of MariaDB 10.11.19 (lab, no TLS): HandshakeV10.
//   64 00 00 00            payload length 100, sequence 0
//   0a                     protocol version 10
//   "5.5.5-10.11.19-MariaDB-0+deb12u1" 00
//   13 00 00 00            connection id 19
//   4e 3f 33 21 48 2b 3a 23   scramble part 1, then 00 filler
//   fe f7                  capabilities (lower): no CLIENT_SSL (0x0800)
//   2d                     charset 45 utf8mb4_general_ci
//   02 00                  status: autocommit
//   ff 81                  capabilities (upper)
//   15                     auth data length 21
//   00 00 00 00 00 00      reserved
//   1d 00 00 00            MariaDB extended capabilities (CLIENT_MYSQL off)
//   3f 54 66 27 2b 43 51 4c 68 49 73 28 00   scramble part 2 (12 + NUL)
//   "mysql_native_password" 00
const MARIADB_HANDSHAKE = fromHex(
  '640000000a352e352e352d31302e31312e31392d4d6172696144422d302b6465623132753100130000004e3f3321482b3a2300fef72d0200ff81150000000000001d0000003f5466272b43514c68497328006d7973716c5f6e61746976655f70617373776f726400',
);

// The answer to "SELECT 1 AS one, NULL AS n, _utf8mb4 0xC3A9 AS e, X'00FF' AS b": column count 4,
// four ColumnDefinition41, EOF, one text row (31 | fb | 02 c3a9 | 02 00ff), EOF.
const RESULT_SET = fromHex(
  '01000001041900000203646566000000036f6e65000c3f00010000000381000000001700000303646566000000016e000c3f000000000006800000000017000004036465660000000165000c2d0004000000fd010027000017000005036465660000000162000c3f0002000000fda10000000005000006fe00000200090000070131fb02c3a90200ff05000008fe00000200',
);

test('golden: a real MariaDB handshake decodes field by field', () => {
  const [p] = assertSplitFeed(packetFrame(), MARIADB_HANDSHAKE);
  assert.equal(p.seq, 0);
  const h = parseHandshake(p.payload);
  assert.equal(h.protocolVersion, 10);
  assert.equal(h.serverVersion, '5.5.5-10.11.19-MariaDB-0+deb12u1');
  assert.equal(h.connectionId, 19);
  assert.equal(toHex(h.scramble), '4e3f3321482b3a233f5466272b43514c68497328');
  assert.equal(h.scramble.length, 20);
  assert.equal(h.authPluginName, 'mysql_native_password');
  assert.equal(h.charset, 45);
  assert.equal(h.capabilities & CLIENT.SSL, 0);
  assert.ok(h.capabilities & CLIENT.PLUGIN_AUTH);
  assert.equal(h.mariadbCapabilities, 0x1d);
});

function RESULT_SET_DEFS(): ColumnDefinition[] {
  return new FrameDecoder(packetFrame()).feed(RESULT_SET).slice(1, 5).map((p) => parseColumnDefinition(p.payload));
}

test('golden: a text result set, packet by packet', () => {
  const packets = assertSplitFeed(packetFrame(), RESULT_SET);
  assert.deepEqual(packets.map((p) => p.seq), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(parseColumnCount(packets[0].payload), 4);
  const defs = packets.slice(1, 5).map((p) => parseColumnDefinition(p.payload));
  assert.deepEqual(defs.map((d) => [d.name, d.type, d.charset]), [['one', TYPE.LONG, 63], ['n', TYPE.NULL, 63], ['e', TYPE.VAR_STRING, 45], ['b', TYPE.VAR_STRING, 63]]);
  assert.ok(isEof(packets[5].payload));
  const row = parseTextRow(packets[6].payload, 4);
  assert.deepEqual(row.map((v, i) => (v === null ? null : decodeTextValue(defs[i], v))), [1, null, 'é', { hex: '00ff' }]);
  assert.ok(isEof(packets[7].payload));
  // Every packet buffered at once comes out as one batch with the same payloads.
  const [batch] = new FrameDecoder(packetsFrame()).feed(RESULT_SET);
  assert.deepEqual(batch.packets.map((p) => toHex(p.payload)), packets.map((p) => toHex(p.payload)));
  // Decoding the row in place gives the same JSON as decoding it value by value.
  const view = latin1View(batch.buf);
  assert.deepEqual(decodeTextRowAt(batch.buf, batch.packets[6].payload, defs.map(textColumnDecoder), view.latin1, view.ascii), [1, null, 'é', { hex: '00ff' }]);
  assert.equal(view.ascii, false);
});

test('golden: OK and ERR packets', () => {
  // OK: affected 3, insert id 1, status 0x0002, warnings 0, info (length-encoded).
  const ok = parseOk(fromHex('00 03 01 0200 0000 26' + toHex(utf8('Records: 3  Duplicates: 0  Warnings: 0'))));
  assert.deepEqual(ok, { kind: 'ok', affectedRows: 3, lastInsertId: 1, statusFlags: 2, warnings: 0, info: 'Records: 3  Duplicates: 0  Warnings: 0' });
  // ERR 1146, SQLSTATE 42S02.
  const err = parseErr(fromHex('ff 7a04 23 3432533032' + toHex(utf8("Table 't.x' doesn't exist"))));
  assert.deepEqual(err, { kind: 'err', code: 1146, sqlState: '42S02', message: "Table 't.x' doesn't exist" });
  // A pre-4.1 ERR (during the handshake) has no SQLSTATE.
  assert.deepEqual(parseErr(fromHex('ff 1004' + toHex(utf8('Too many connections')))), { kind: 'err', code: 1040, sqlState: null, message: 'Too many connections' });
});

test('golden: packets over 16 MiB are split and joined', () => {
  const payload = new Uint8Array(0xffffff + 10).fill(7);
  const { bytes, nextSeq } = encodePacket(payload, 3);
  assert.equal(nextSeq, 5);
  assert.equal(toHex(bytes.subarray(0, 4)), 'ffffff03');
  assert.equal(toHex(bytes.subarray(4 + 0xffffff, 8 + 0xffffff)), '0a000004');
  const [p] = new FrameDecoder(packetFrame(), 64 * 1024 * 1024).feed(bytes);
  assert.equal(p.payload.length, payload.length);
  assert.equal(p.seq, 4);
  // A payload of exactly 0xFFFFFF bytes is followed by an empty packet.
  assert.equal(encodePacket(new Uint8Array(0xffffff), 0).bytes.length, 0xffffff + 8);
});

test('golden: handshake response, SSL request, length-encoded integers', () => {
  const caps = CLIENT.PROTOCOL_41 | CLIENT.SECURE_CONNECTION | CLIENT.PLUGIN_AUTH | CLIENT.CONNECT_WITH_DB;
  const hr = handshakeResponsePayload({ capabilities: caps, user: 'bob', authResponse: new Uint8Array([1, 2]), database: 'db', authPluginName: 'p' });
  // caps, max packet 64 MiB, charset 45, 23 zero bytes, "bob\0", 02 0102, "db\0", "p\0"
  assert.equal(toHex(hr), '0882080000000004' + '2d' + '00'.repeat(23) + '626f6200' + '020102' + '646200' + '7000');
  assert.equal(sslRequestPayload(CLIENT.SSL | CLIENT.PROTOCOL_41).length, 32);
  assert.equal(toHex(sslRequestPayload(CLIENT.SSL | CLIENT.PROTOCOL_41).subarray(0, 9)), '000a0000000000042d');
  for (const [n, hex] of [[250, 'fa'], [251, 'fcfb00'], [65536, 'fd000001'], [2 ** 24, 'fe0000000100000000']] as const) {
    const w = new ByteWriter();
    writeLenencInt(w, n);
    assert.equal(toHex(w.finish()), hex);
    assert.equal(readLenencInt(new ByteReader(fromHex(hex))), n);
  }
  assert.equal(readLenencInt(new ByteReader(fromHex('fb'))), null);
  assert.throws(() => readLenencInt(new ByteReader(fromHex('ff'))), ProtocolError);
});

test('golden: COM_STMT_EXECUTE parameters and a binary row', () => {
  const exec = executePayload(1, [null, 5, 'hé', new Uint8Array([0, 255]), true, 0.5]);
  // 17 | stmt 1 | flags 0 | iterations 1 | null bitmap 01 | bound 1 | types | values
  assert.equal(
    toHex(exec),
    '17' + '01000000' + '00' + '01000000' + '01' + '01' + '0600' + '0800' + 'fd00' + 'fc00' + '0100' + '0500' + '0500000000000000' + '0368c3a9' + '0200ff' + '01' + '000000000000e03f',
  );
  const col = (type: number, flags = 0, decimals = 0): ColumnDefinition => ({ catalog: 'def', schema: '', table: '', orgTable: '', name: 'c', orgName: '', charset: 63, length: 0, type, flags, decimals });
  const cols = [col(TYPE.LONGLONG, 32), col(TYPE.TINY), col(TYPE.NULL), col(TYPE.DATETIME, 0, 3), col(TYPE.TIME), col(TYPE.BLOB), col(TYPE.DOUBLE)];
  // header 00, null bitmap (offset 2): column 2 is NULL → bit 4 → 0x10, second byte 0
  // 00 | NULL bitmap 1000 (column 2, offset 2 → bit 4) | u64 max | i8 -2 | datetime 11 bytes: 2024-03-04 05:06:07.123000
  // | time 8 bytes: negative, 1 day, 02:03:04 | blob 00ff | double 1.0
  const row = fromHex('00' + '1000' + 'ffffffffffffffff' + 'fe' + '0b' + 'e8070304050607' + '78e00100' + '08' + '01' + '01000000' + '020304' + '0200ff' + '000000000000f03f');
  assert.deepEqual(parseBinaryRow(row, cols), ['18446744073709551615', -2, null, '2024-03-04T05:06:07.123', '-26:03:04', { hex: '00ff' }, 1]);
  assert.throws(() => parseBinaryRow(fromHex('0000'), cols), ProtocolError);
});

test('malformed packets throw ProtocolError; fuzzing never crashes the decoders', () => {
  assert.throws(() => packetFrame(100)(fromHex('ff000000')), /exceeds the limit/);
  assert.throws(() => parseHandshake(fromHex('09')), /not 10/);
  assert.throws(() => parseColumnCount(fromHex('00')), /outside/);
  assert.throws(() => parseTextRow(fromHex('05616263'), 1), ProtocolError);
  assertFuzzSafe(packetFrame(1 << 16), { seeds: [MARIADB_HANDSHAKE, RESULT_SET] });
  assertFuzzSafe(packetsFrame(1 << 16), { seeds: [RESULT_SET] });
  const parse = (f: (b: Uint8Array) => unknown) => (buf: Uint8Array) => {
    f(buf);
    return { value: 0, size: buf.length };
  };
  assertFuzzSafe(parse(parseHandshake), { seeds: [MARIADB_HANDSHAKE.subarray(4)] });
  assertFuzzSafe(parse(parseColumnDefinition), { seeds: [RESULT_SET.subarray(9, 9 + 0x19)] });
  assertFuzzSafe(parse(parseOk), { seeds: [fromHex('0003010200000026')] });
  const defs = RESULT_SET_DEFS();
  assertFuzzSafe(parse((b) => decodeTextRowAt(b, b, defs.map(textColumnDecoder), latin1View(b).latin1, false)), { seeds: [fromHex('0131fb02c3a90200ff')] });
  assertFuzzSafe(parse((b) => parseBinaryRow(b, [parseColumnDefinition(RESULT_SET.subarray(9, 9 + 0x19))])), { seeds: [fromHex('000001000000')] });
});

test('mysql_native_password and caching_sha2_password scrambles match an independent computation', async () => {
  const scramble = fromHex('4e3f3321482b3a233f5466272b43514c68497328');
  const sha1 = (b: Uint8Array) => new Uint8Array(createHash('sha1').update(b).digest());
  const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
  const s1 = sha1(utf8('secret'));
  const expectNative = s1.map((b, i) => b ^ sha1(new Uint8Array([...scramble, ...sha1(s1)]))[i]);
  assert.deepEqual(nativePassword(crypto, 'secret', scramble), expectNative);
  assert.equal(nativePassword(crypto, '', scramble).length, 0);
  const p1 = sha256(utf8('secret'));
  const expectSha2 = p1.map((b, i) => b ^ sha256(new Uint8Array([...sha256(p1), ...scramble]))[i]);
  assert.deepEqual(await cachingSha2Password(crypto, 'secret', scramble), expectSha2);
});

test('client_ed25519: the signature verifies as Ed25519 under the key derived from SHA-512 of the password', async () => {
  const scramble = fromHex('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
  const { signature, publicKey } = await ed25519Password(crypto, 'ed25519-secret', scramble);
  assert.equal(signature.length, 64);
  assert.ok(ed25519.verify(signature, scramble, publicKey));
  assert.ok(!ed25519.verify(signature, scramble.map((b) => b ^ 1), publicKey));
  // Deterministic: the same password and scramble sign the same way.
  assert.deepEqual((await ed25519Password(crypto, 'ed25519-secret', scramble)).signature, signature);
});

// ---------------------------------------------------------------- caching_sha2_password exchanges (MySQL 8; MariaDB has no such plugin)

function packet(seq: number, payload: Uint8Array): Uint8Array {
  return encodePacket(payload, seq).bytes;
}

const SCRAMBLE = fromHex('0102030405060708090a0b0c0d0e0f1011121314');

function mysql8Handshake(tls: boolean): Uint8Array {
  const caps = CLIENT.LONG_PASSWORD | CLIENT.PROTOCOL_41 | CLIENT.SECURE_CONNECTION | CLIENT.PLUGIN_AUTH | CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT.MULTI_STATEMENTS | CLIENT.MULTI_RESULTS | CLIENT.CONNECT_WITH_DB | CLIENT.TRANSACTIONS | (tls ? CLIENT.SSL : 0);
  const w = new ByteWriter();
  w.u8(10).cstring('8.0.36').u32le(8).bytes(SCRAMBLE.subarray(0, 8)).u8(0).u16le(caps & 0xffff).u8(255).u16le(2).u16le(caps >>> 16).u8(21).bytes(new Uint8Array(10));
  w.bytes(SCRAMBLE.subarray(8)).u8(0).cstring('caching_sha2_password');
  return packet(0, w.finish());
}

const OK = (seq: number) => packet(seq, fromHex('00000002000000'));

async function runExchange(server: Uint8Array[], tls: boolean) {
  const p = pipe();
  for (const b of server) p.push(b);
  const env = memoryHost([p]);
  const answer = await runOperation(env, mysql, mysql.operations.query, { host: '192.0.2.1', user: 'app', password: 'pässword', sql: 'DO 1', tls: tls ? 'starttls' : 'off' });
  const written = p.written.map((b) => new FrameDecoder(packetFrame()).feed(b)[0]);
  return { answer, written };
}

test('caching_sha2_password fast path: scramble answer, 0x03, OK', async () => {
  const { answer, written } = await runExchange([mysql8Handshake(false), packet(2, fromHex('0103')), OK(3), OK(1)], false);
  const server = (answer.result as { server: { authPlugins: string[]; authPath: string } }).server;
  assert.deepEqual(server.authPlugins, ['caching_sha2_password']);
  assert.equal(server.authPath, 'fast');
  // The handshake response carries the 32-byte fast-path answer after the user name.
  const hr = written[0].payload;
  const at = hr.indexOf(0, 32) + 1;
  assert.equal(hr[at], 32);
  assert.deepEqual(hr.subarray(at + 1, at + 33), await cachingSha2Password(crypto, 'pässword', SCRAMBLE));
  assert.equal(written[1].payload[0], 0x03, 'then COM_QUERY');
});

test('caching_sha2_password full path over plain TCP: request the RSA key, send the OAEP-encrypted password', async () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const { answer, written } = await runExchange([mysql8Handshake(false), packet(2, fromHex('0104')), packet(4, new Uint8Array([1, ...utf8(pem)])), OK(6), OK(1)], false);
  assert.equal((answer.result as { server: { authPath: string } }).server.authPath, 'full-rsa');
  assert.deepEqual([written[1].seq, toHex(written[1].payload)], [3, '02']);
  assert.equal(written[2].seq, 5);
  const plain = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, written[2].payload);
  const expected = new Uint8Array([...utf8('pässword'), 0]).map((b, i) => b ^ SCRAMBLE[i % SCRAMBLE.length]);
  assert.deepEqual(new Uint8Array(plain), expected);
  // A PKCS#1 "RSA PUBLIC KEY" is accepted too.
  const pkcs1 = publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  assert.deepEqual(pemToSpki(pkcs1), new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })));
});

test('caching_sha2_password full path over TLS: the password goes in clear inside TLS', async () => {
  const { answer, written } = await runExchange([mysql8Handshake(true), packet(3, fromHex('0104')), OK(5), OK(1)], true);
  assert.equal((answer.result as { server: { authPath: string; tls: boolean } }).server.authPath, 'full-tls');
  assert.equal(written[0].payload.length, 32, 'SSLRequest first');
  assert.ok(new ByteReader(written[0].payload).u32le() & CLIENT.SSL);
  assert.deepEqual([written[2].seq, new TextDecoder().decode(written[2].payload)], [4, 'pässword\0']);
  // The transcript never holds it: every auth write is masked.
  const p2 = await runOperation(memoryHost([(() => { const p = pipe(); for (const b of [mysql8Handshake(true), packet(3, fromHex('0104')), OK(5), OK(1)]) p.push(b); return p; })()]), mysql, mysql.operations.query, { host: '192.0.2.1', user: 'app', password: 'pässword', sql: 'DO 1', tls: 'starttls' }, { transcript: true });
  assert.ok(!JSON.stringify(p2.transcript).includes(toHex(utf8('pässword'))));
});

test('auth switch from mysql_native_password to caching_sha2_password uses the new scramble', async () => {
  const fresh = fromHex('a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4');
  const sw = new ByteWriter().u8(0xfe).cstring('caching_sha2_password').bytes(fresh).u8(0).finish();
  const hs = mysql8Handshake(false);
  const native = fromHex(toHex(hs).replace(toHex(utf8('caching_sha2_password')), toHex(utf8('mysql_native_password'))));
  const { answer, written } = await runExchange([native, packet(2, sw), packet(4, fromHex('0103')), OK(5), OK(1)], false);
  assert.deepEqual((answer.result as { server: { authPlugins: string[] } }).server.authPlugins, ['mysql_native_password', 'caching_sha2_password']);
  assert.deepEqual(written[1].payload, await cachingSha2Password(crypto, 'pässword', fresh));
  assert.equal(written[1].seq, 3);
});

test('AuthSwitchRequest: a string scramble loses its NUL; client_ed25519 keeps all 32 bytes, a last byte of 0 included', () => {
  const sw = (plugin: string, data: Uint8Array) => parseAuthSwitch(Uint8Array.from([0xfe, ...utf8(plugin), 0, ...data]));
  const native = Uint8Array.from({ length: 20 }, (_, i) => 0x21 + i);
  assert.deepEqual(sw('mysql_native_password', Uint8Array.from([...native, 0])), { plugin: 'mysql_native_password', data: native });
  const nonce = Uint8Array.from({ length: 32 }, (_, i) => (i === 31 ? 0 : i + 1));
  assert.deepEqual(sw('client_ed25519', nonce), { plugin: 'client_ed25519', data: nonce });
});
