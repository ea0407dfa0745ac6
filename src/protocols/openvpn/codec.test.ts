// OpenVPN control-channel codec: a captured server reset, tls-auth and tls-crypt wrapping checked against
// node:crypto as an independent implementation, key direction, ClientHello/ServerHello, split feed, fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { concat, fromHex } from '../../core/bytes.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { OP, clientHello, directionKeys, frame, parseServerHello, parseStaticKey, streamFrame, unwrap, wrap, type Wrapping } from './codec.ts';

const hmacOf = (alg: string) => async (k: Uint8Array, d: Uint8Array) => new Uint8Array(createHmac(alg, k).update(d).digest());
const ctr = async (k: Uint8Array, iv: Uint8Array, d: Uint8Array) => {
  const c = createCipheriv('aes-256-ctr', k, iv);
  return new Uint8Array(Buffer.concat([c.update(d), c.final()]));
};
const KEY_FILE = `#\n# 2048 bit OpenVPN static key\n#\n-----BEGIN OpenVPN Static key V1-----\n${Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('hex').match(/.{32}/g)!.join('\n')}\n-----END OpenVPN Static key V1-----\n`;

describe('OpenVPN control channel', () => {
  it('a plain P_CONTROL_HARD_RESET_SERVER_V2 as OpenVPN 2.6 sent it', async () => {
    const [pkt] = assertSplitFeed(streamFrame, fromHex('001a4010cbfd34aa0577ef0100000000e3644f5eecf3a8f600000000'));
    const p = await unwrap(pkt, { kind: 'none', hmacLength: 0 }, undefined, hmacOf('sha1'), ctr);
    assert.equal(p.opcode, OP.HARD_RESET_SERVER_V2);
    assert.equal(Buffer.from(p.sessionId).toString('hex'), '10cbfd34aa0577ef');
    assert.deepEqual(p.acks, [0]);
    assert.equal(Buffer.from(p.remoteSessionId!).toString('hex'), 'e3644f5eecf3a8f6');
    assert.equal(p.messageId, 0);
  });

  it('static key files and key direction 1', () => {
    const key = parseStaticKey(KEY_FILE);
    assert.equal(key.length, 256);
    const k = directionKeys(key);
    assert.deepEqual([k.sendCipher[0], k.sendHmac[0], k.recvCipher[0], k.recvHmac[0]], [128, 192, 0, 64]);
    assert.throws(() => parseStaticKey('-----BEGIN OpenVPN Static key V1-----\nabcd\n-----END OpenVPN Static key V1-----'), /256 bytes/);
  });

  it('tls-auth: the HMAC over packet id, time, opcode, session id and the rest, placed after the session id', async () => {
    const keys = directionKeys(parseStaticKey(KEY_FILE));
    const sid = fromHex('0102030405060708');
    const w: Wrapping = { kind: 'tls-auth', hmacLength: 20 };
    const pkt = await wrap({ opcode: OP.HARD_RESET_CLIENT_V2, keyId: 0, sessionId: sid, acks: [], messageId: 0, payload: new Uint8Array(0) }, w, keys, { packetId: 1, time: 0x60000000 }, hmacOf('sha1'), ctr);
    const expected = createHmac('sha1', keys.sendHmac.subarray(0, 20)).update(fromHex('00000001600000003801020304050607080000000000')).digest();
    assert.equal(Buffer.from(pkt.subarray(9, 29)).toString('hex'), expected.toString('hex'));
    assert.equal(Buffer.from(pkt.subarray(29)).toString('hex'), '00000001600000000000000000');
    // The server's side: what we read back verifies with the receive key, which the server sends with.
    const serverKeys = { ...keys, recvHmac: keys.sendHmac };
    assert.equal((await unwrap(pkt, w, serverKeys, hmacOf('sha1'), ctr)).opcode, OP.HARD_RESET_CLIENT_V2);
    await assert.rejects(unwrap(pkt, w, keys, hmacOf('sha1'), ctr), /tls-auth HMAC does not verify/);
  });

  it('tls-crypt: AES-256-CTR with the tag’s first 16 bytes as IV, HMAC-SHA256 over header and plaintext', async () => {
    const keys = directionKeys(parseStaticKey(KEY_FILE));
    const w: Wrapping = { kind: 'tls-crypt', hmacLength: 32 };
    const payload = randomBytes(40);
    const pkt = await wrap({ opcode: OP.CONTROL, keyId: 0, sessionId: fromHex('0102030405060708'), acks: [3], remoteSessionId: fromHex('1112131415161718'), messageId: 1, payload }, w, keys, { packetId: 2, time: 7 }, hmacOf('sha256'), ctr);
    const plain = concat([fromHex('01000000031112131415161718' + '00000001'), payload]);
    const tag = createHmac('sha256', keys.sendHmac.subarray(0, 32)).update(concat([pkt.subarray(0, 9), fromHex('0000000200000007'), plain])).digest();
    assert.equal(Buffer.from(pkt.subarray(17, 49)).toString('hex'), tag.toString('hex'));
    assert.deepEqual(await ctr(keys.sendCipher.subarray(0, 32), tag.subarray(0, 16), pkt.subarray(49)), plain);
    const back = await unwrap(pkt, w, { ...keys, recvCipher: keys.sendCipher, recvHmac: keys.sendHmac }, hmacOf('sha256'), ctr);
    assert.deepEqual([back.acks, back.messageId, Buffer.from(back.payload).equals(payload)], [[3], 1, true]);
  });

  it('ClientHello offers TLS 1.3 and 1.2; a ServerHello’s version and suite are read', () => {
    const hello = clientHello(new Uint8Array(32), new Uint8Array(32), new Uint8Array(32));
    assert.deepEqual([hello[0], hello[5]], [22, 1]);
    // ServerHello: TLS 1.2 legacy version, supported_versions 0x0304, TLS_AES_256_GCM_SHA384.
    const body = concat([fromHex('0303'), new Uint8Array(32), fromHex('00' + '1302' + '00' + '0006' + '002b00020304')]);
    const hs = concat([fromHex('02'), fromHex(body.length.toString(16).padStart(6, '0')), body]);
    const rec = concat([fromHex('160303'), fromHex(hs.length.toString(16).padStart(4, '0')), hs]);
    assert.deepEqual(parseServerHello(rec), { version: 'TLSv1.3', cipherSuite: 'TLS_AES_256_GCM_SHA384' });
    assert.equal(frame(new Uint8Array(3)).length, 5);
  });

  it('fuzz: the stream frame', () => {
    assert.throws(() => streamFrame(fromHex('000aff00000000000000000000')), /not an OpenVPN server/);
    assertFuzzSafe(streamFrame, { seeds: [fromHex('001a4010cbfd34aa0577ef0100000000e3644f5eecf3a8f600000000')] });
  });
});
