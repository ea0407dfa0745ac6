import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { concat, fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { webCrypto } from '../../core/crypto.ts';
import { ProtocolError } from '../../core/errors.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { AUTH_LEVEL, AUTH_TYPE, auth3Pdu, bindPdu, decodeEptLookupResponse, decodePdu, decodeTower, describeTower, EPMAPPER, eptLookupRequest, NDR, pduFrame, requestPdu, uuidBytes, uuidText } from './codec.ts';
import { FLAGS, NtlmSealing, Rc4, SEALING_FLAGS, authenticateMessage, decodeChallenge, md4, negotiateMessage, sealingKeys, signature, signingKeys, utf16le } from './ntlmssp.ts';

const fixture = (name: string) => fromHex(readFileSync(new URL(`./fixtures/${name}.hex`, import.meta.url), 'utf8'));
const crypto = webCrypto();

test('UUIDs go on the wire with their first three fields little endian (NDR)', () => {
  assert.equal(toHex(uuidBytes(EPMAPPER.uuid)), '0883afe11f5dc91191a408002b14a0fa');
  assert.equal(uuidText(uuidBytes('12345778-1234-abcd-ef00-0123456789ab')), '12345778-1234-abcd-ef00-0123456789ab');
  assert.throws(() => uuidBytes('not-a-uuid'), ProtocolError);
});

test('bind to the endpoint mapper v3.0 with NDR 2.0, byte for byte (C706 §12.6.4.3)', () => {
  const b = bindPdu({ callId: 1, contexts: [{ id: 0, abstract: EPMAPPER, transfer: [NDR] }] });
  assert.equal(
    toHex(b),
    '05000b0310000000' + '4800' + '0000' + '01000000' + 'b810b810' + '00000000' + '01000000' + '0000' + '01' + '00' + '0883afe11f5dc91191a408002b14a0fa' + '03000000' + '045d888aeb1cc9119fe808002b104860' + '02000000',
  );
  // With NTLMSSP: the body is padded to 4 bytes, then the sec_trailer (type 10, level 5, pad, reserved, context 0) and NEGOTIATE.
  const n = bindPdu({ callId: 1, contexts: [{ id: 0, abstract: EPMAPPER, transfer: [NDR] }], auth: { type: AUTH_TYPE.winnt, level: AUTH_LEVEL.integrity, contextId: 0, value: negotiateMessage() } });
  assert.equal(n.length, 72 + 8 + 32);
  assert.equal(toHex(n.subarray(10, 12)), '2000');
  assert.equal(toHex(n.subarray(72, 80)), '0a05000000000000');
  assert.equal(toHex(n.subarray(80, 88)), toHex(utf8('NTLMSSP\0')));
  const a3 = auth3Pdu(3, { type: AUTH_TYPE.winnt, level: AUTH_LEVEL.integrity, contextId: 0, value: new Uint8Array(4) });
  assert.equal(toHex(a3), '0500100310000000' + '2000' + '0400' + '03000000' + '00000000' + '0a050000' + '00000000' + '00000000');
});

test('a bind_ack and an ept_lookup response from Samba 4.17, whole, byte by byte and split', () => {
  const bytes = fixture('epm-bind-ack-lookup');
  const frames = assertSplitFeed(pduFrame(), bytes);
  assert.equal(frames.length, 2);
  const ack = decodePdu(frames[0]);
  assert.equal(ack.kind, 'bind_ack');
  if (ack.kind !== 'bind_ack') return;
  assert.equal(ack.secondaryAddress, '135');
  assert.equal(ack.maxXmitFrag, 4280);
  assert.deepEqual(ack.results, [{ result: 'acceptance', reason: '', transfer: NDR }]);
  const resp = decodePdu(frames[1]);
  assert.equal(resp.kind, 'response');
  if (resp.kind !== 'response') return;
  const page = decodeEptLookupResponse(resp.stub);
  assert.equal(page.entries.length, 4);
  assert.equal(page.status, 0);
  assert.ok(page.handle.some((b) => b !== 0), 'a handle to go on with');
  for (const e of page.entries) {
    assert.match(e.binding, /^(ncacn_np|ncacn_ip_tcp|ncalrpc|ncacn_http):/);
    assert.ok(e.annotation.length > 0);
    assert.ok(e.interface && /^[0-9a-f-]{36}$/.test(e.interface.uuid));
    assert.deepEqual(e.transfer, NDR);
  }
});

test('the NTLMSSP CHALLENGE in a bind_ack names the server (MS-NLMP §2.2.1.2)', () => {
  const ack = decodePdu(fixture('epm-bind-ack-ntlm'));
  assert.equal(ack.kind, 'bind_ack');
  if (ack.kind !== 'bind_ack') return;
  assert.equal(ack.auth?.type, AUTH_TYPE.winnt);
  const ch = decodeChallenge(ack.auth!.value);
  assert.equal(ch.targetName, 'PORTOLAN-LAB');
  assert.equal(ch.info.netbiosComputerName, 'PORTOLAN-LAB');
  assert.equal(ch.serverChallenge.length, 8);
  assert.match(ch.info.timestamp ?? '', /^20\d\d-/);
});

test('a provider rejection and a bind_nak keep the server\'s reason', () => {
  const rej = decodePdu(fixture('epm-bind-ack-rejected'));
  assert.equal(rej.kind, 'bind_ack');
  if (rej.kind === 'bind_ack') assert.deepEqual(rej.results, [{ result: 'provider_rejection', reason: 'abstract_syntax_not_supported', transfer: null }]);
  const nak = decodePdu(fixture('bind-nak'));
  assert.equal(nak.kind, 'bind_nak');
  if (nak.kind === 'bind_nak') {
    assert.equal(nak.reasonText, 'authentication type not recognized');
    assert.deepEqual(nak.versions, [{ major: 5, minor: 0 }]);
  }
});

test('towers read as string bindings (C706 appendix L)', () => {
  // ncacn_ip_tcp:10.0.0.5[49667] for lsarpc v0.0
  const tower = fromHex('0500' + '1300' + '0d' + toHex(uuidBytes('12345778-1234-abcd-ef00-0123456789ab')) + '0000' + '0200' + '0000' + '1300' + '0d' + toHex(uuidBytes(NDR.uuid)) + '0200' + '0200' + '0000' + '0100' + '0b' + '0200' + '0000' + '0100' + '07' + '0200' + 'c203' + '0100' + '09' + '0400' + '0a000005');
  const d = describeTower(decodeTower(tower));
  assert.equal(d.binding, 'ncacn_ip_tcp:10.0.0.5[49667]');
  assert.equal(d.interface?.uuid, '12345778-1234-abcd-ef00-0123456789ab');
  const pipe = fromHex('0400' + '1300' + '0d' + toHex(uuidBytes(EPMAPPER.uuid)) + '0300' + '0200' + '0000' + '1300' + '0d' + toHex(uuidBytes(NDR.uuid)) + '0200' + '0200' + '0000' + '0100' + '0b' + '0200' + '0000' + '0100' + '0f' + '0e00' + toHex(utf8('\\pipe\\epmapper\0')));
  assert.equal(describeTower(decodeTower(pipe)).binding, 'ncacn_np:[\\pipe\\epmapper]');
  assert.throws(() => decodeTower(fromHex('ff00')), /floors/);
});

test('ept_lookup request: all elements, all versions, the entry handle, max entries', () => {
  assert.equal(toHex(eptLookupRequest(new Uint8Array(20), 500)), '00000000' + '00000000' + '00000000' + '01000000' + '00'.repeat(20) + 'f4010000');
  const r = requestPdu({ callId: 2, contextId: 0, opnum: 2, stub: eptLookupRequest(new Uint8Array(20), 1) });
  assert.equal(toHex(r.subarray(0, 24)), '0500000310000000' + '4000' + '0000' + '02000000' + '28000000' + '0000' + '0200');
});

test('MD4 (RFC 1320 test suite) and NTLMv2 (MS-NLMP §4.2.4 test vectors)', () => {
  assert.equal(toHex(md4(new Uint8Array(0))), '31d6cfe0d16ae931b73c59d7e0c089c0');
  assert.equal(toHex(md4(utf8('abc'))), 'a448017aaf21d8525fc10ae87aa6729d');
  assert.equal(toHex(md4(utf8('message digest'))), 'd9130a8164549fe818874806e1c7014b');
  assert.equal(toHex(md4(utf8('1234567890'.repeat(8)))), 'e33b4ddc9c38f2199c3e7b164fcc0536');
  // §4.2.4: User/Domain/Password, server challenge 0123456789abcdef, client challenge aa*8, time 0, AV pairs Domain/Server.
  const targetInfo = fromHex('02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000');
  const ch = { flags: 0xe28a8233, serverChallenge: fromHex('0123456789abcdef'), targetName: 'Server', targetInfo, info: {} };
  const { message, sessionBaseKey } = authenticateMessage(crypto, { user: 'User', password: 'Password', domain: 'Domain' }, ch, -11644473600000, fromHex('aaaaaaaaaaaaaaaa'));
  assert.equal(toHex(sessionBaseKey), '8de40ccadbc14a82f15cb0ad0de95ca3');
  // NtChallengeResponse starts with NTProofStr; LMv2 is HMAC(NTOWFv2, server ‖ client challenge) ‖ client challenge.
  assert.ok(toHex(message).includes('68cd0ab851e51c96aabc927bebef6a1c'));
  assert.ok(toHex(message).includes('86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa'));
  assert.ok(!toHex(message).includes(toHex(utf8('Password'))));
  // Signatures: version 1, eight bytes of HMAC, the sequence number.
  const keys = signingKeys(crypto, sessionBaseKey);
  const sig = signature(crypto, keys.client, 7, utf8('payload'));
  assert.equal(toHex(sig.subarray(0, 4)), '01000000');
  assert.equal(toHex(sig.subarray(12)), '07000000');
  assert.notEqual(toHex(keys.client), toHex(keys.server));
});

test('RC4 known answers, and NTLM sealing with key exchange (MS-NLMP §4.2.4.3–4.2.4.4 test vectors)', () => {
  assert.equal(toHex(new Rc4(utf8('Key')).process(utf8('Plaintext'))), 'bbf316e8d940af0ad3');
  assert.equal(toHex(new Rc4(utf8('Secret')).process(utf8('Attack at dawn'))), '45a01f645fc35b383552544b9bf5');
  // RFC 6229 §2, 40-bit key 0x0102030405: the first 16 keystream bytes; the stream continues across calls.
  const rc4 = new Rc4(fromHex('0102030405'));
  assert.equal(toHex(concat([rc4.process(new Uint8Array(7)), rc4.process(new Uint8Array(9))])), 'b2396305f03dc027ccc3524a0a1118a8');
  // §4.2.4: RandomSessionKey 55*16, encrypted with the session base key; the sealing and signing keys; GSS_WrapEx("Plaintext").
  const targetInfo = fromHex('02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000');
  const ch = { flags: 0xe28a8233, serverChallenge: fromHex('0123456789abcdef'), targetName: 'Server', targetInfo, info: {} };
  const random = new Uint8Array(16).fill(0x55);
  const auth = authenticateMessage(crypto, { user: 'User', password: 'Password', domain: 'Domain' }, ch, -11644473600000, fromHex('aaaaaaaaaaaaaaaa'), { flags: SEALING_FLAGS, negotiate: negotiateMessage(SEALING_FLAGS), challenge: new Uint8Array(0) }, random);
  assert.ok(toHex(auth.message).includes('c5dad2544fc9799094ce1ce90bc9d03e'), 'EncryptedRandomSessionKey');
  assert.deepEqual(auth.exportedSessionKey, random);
  assert.equal(auth.mic, false, 'no MIC without a server timestamp');
  assert.equal(toHex(sealingKeys(crypto, random).client), '59f600973cc4960a25480a7c196e4c58');
  assert.equal(toHex(signingKeys(crypto, random).client), '4788dc861b4782f35d43fd98fe1a2d39');
  const sealing = new NtlmSealing(crypto, random);
  assert.equal(toHex(sealing.seal(utf16le('Plaintext'))), '01000000' + '7fb38ec5c55d4976' + '00000000' + '54e50165bf1936dc996020c1811b0f06fb5f');
  assert.equal(toHex(sealing.seal(utf8('x')).subarray(12, 16)), '01000000', 'the sequence number counts up');
});

test('NTLM AUTHENTICATE with a MIC when the CHALLENGE has a timestamp; sealing round trip; NEGOTIATE with VERSION', () => {
  const neg = negotiateMessage(SEALING_FLAGS);
  assert.equal(neg.length, 40);
  assert.equal(toHex(neg.subarray(32)), '000000000000000f');
  // MsvAvTimestamp (7) present: the blob's AV pairs gain MsvAvFlags 0x2 and the message has VERSION and a 16-byte MIC.
  const targetInfo = fromHex('01000c0053006500720076006500720007000800' + '0090d336b734c301' + '00000000');
  const challengeRaw = new Uint8Array(0);
  const ch = { flags: (SEALING_FLAGS | FLAGS.targetInfo) >>> 0, serverChallenge: fromHex('0123456789abcdef'), targetName: 'Server', targetInfo, info: {}, timestampRaw: fromHex('0090d336b734c301') };
  const key = new Uint8Array(16).fill(0x11);
  const a = authenticateMessage(crypto, { user: 'u', password: 'p', domain: '' }, ch, 0, fromHex('aaaaaaaaaaaaaaaa'), { flags: SEALING_FLAGS, negotiate: neg, challenge: challengeRaw }, key);
  assert.equal(a.mic, true);
  const m = a.message;
  assert.equal(new DataView(m.buffer, m.byteOffset).getUint32(16, true), 88, 'the payload starts after VERSION and the MIC');
  assert.ok(toHex(m).includes('060004000200000000000000'), 'MsvAvFlags 0x2 then MsvAvEOL');
  const zeroed = m.slice();
  zeroed.fill(0, 72, 88);
  assert.deepEqual(m.subarray(72, 88), crypto.hmacMd5(key, concat([neg, challengeRaw, zeroed])));
  // What one side seals with its outbound keys the other opens with its inbound ones: a server-side view of the same key.
  const client = new NtlmSealing(crypto, key);
  const sealed = client.seal(utf8('binding hash'));
  assert.throws(() => new NtlmSealing(crypto, key).unseal(sealed, 'test'), /does not verify/, 'client-to-server keys do not open as server-to-client');
  assert.throws(() => client.unseal(new Uint8Array(8), 'short'), /shorter than an NTLM signature/);
});

test('decoders take random and mutated bytes without crashing or looping', () => {
  const seeds = [fixture('epm-bind-ack-lookup'), fixture('epm-bind-ack-ntlm'), fixture('bind-nak'), fixture('epm-bind-ack-rejected')];
  assertFuzzSafe(pduFrame(), { seeds });
  const frame = (buf: Uint8Array) => {
    const got = pduFrame()(buf);
    if (got) decodePdu(got.value);
    return got;
  };
  assertFuzzSafe(frame, { seeds });
  const resp = decodePdu(new FrameDecoder(pduFrame()).feed(seeds[0])[1]);
  const stub = resp.kind === 'response' ? resp.stub : new Uint8Array(0);
  const ack = decodePdu(seeds[1]);
  const challenge = ack.kind === 'bind_ack' ? ack.auth!.value : new Uint8Array(0);
  for (const [decode, seed] of [[decodeEptLookupResponse, stub], [decodeChallenge, challenge], [decodeTower, stub.subarray(0, 80)]] as const) {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: seed.length }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: seed.length }), (pos, byte, cut) => {
        const copy = seed.slice(0, cut);
        if (pos < copy.length) copy[pos] = byte;
        try {
          (decode as (b: Uint8Array) => unknown)(copy);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      }),
      { numRuns: 400 },
    );
  }
  // A frag_length shorter than the header is refused at once.
  assert.throws(() => new FrameDecoder(pduFrame()).feed(fromHex('05000203100000000800000001000000')), /shorter than the header/);
});
