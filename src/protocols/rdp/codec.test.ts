import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concat, fromHex, toHex } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { webCrypto } from '../../core/crypto.ts';
import { negotiateMessage, SEALING_FLAGS } from '../dcerpc/ntlmssp.ts';
import { describeNtlm } from './client.ts';
import { clientBinding, decodeTsRequest, describeTsRequest, encodeTsCredentials, encodeTsRequest, errorCodeName, serverBindingMatches, subjectPublicKey } from './credssp.ts';
import { decodeConnectionConfirm, decodeMcsConnectResponse, describeConfirm, encodeConnectionRequest, encodeMcsConnectInitial, protocolNames, tpktFrame, type ConnectionConfirm } from './codec.ts';

const crypto = webCrypto();

// MS-RDPBCGR 4.1.1 layout: TPKT (03 00 len), X.224 CR (LI, e0, dst 0000, src 0000, class 00), cookie, RDP_NEG_REQ.
test('X.224 Connection Request with cookie and RDP_NEG_REQ (TLS|CredSSP)', () => {
  const cr = encodeConnectionRequest({ requested: 0x3, cookieUser: 'eltons' });
  assert.equal(
    toHex(cr),
    '0300002c' + '27' + 'e0' + '0000' + '0000' + '00' + toHex(new TextEncoder().encode('Cookie: mstshash=eltons\r\n')) + '01' + '00' + '0800' + '03000000',
  );
  assert.equal(toHex(encodeConnectionRequest({ requested: 0x1 })), '030000130ee000000000000100080001000000');
  assert.equal(toHex(encodeConnectionRequest({})), '0300000b06e00000000000');
  assert.throws(() => encodeConnectionRequest({ cookieUser: 'two words' }), ProtocolError);
});

// What the lab's xrdp answers (captured): TLS selected with EXTENDED_CLIENT_DATA_SUPPORTED; failure 1; MCS disconnect.
const SELECTED_TLS = fromHex('030000130ed000001234000201080001000000');
const FAILURE_SSL_REQUIRED = fromHex('030000130ed000001234000300080001000000');
const NO_NEGOTIATION = fromHex('0300000b06d00000123400');
const DISCONNECT = fromHex('0300000902f0802180');

test('Connection Confirm: selected protocol, failure code, none, and an MCS disconnect instead', () => {
  const all = assertSplitFeed(tpktFrame, concat([SELECTED_TLS, FAILURE_SSL_REQUIRED, NO_NEGOTIATION, DISCONNECT])).map(decodeConnectionConfirm);
  assert.deepEqual(all[0].negotiation, { kind: 'response', selected: 1, flags: 1 });
  assert.equal(all[0].sourceRef, 0x1234);
  assert.deepEqual(all[1].negotiation, { kind: 'failure', code: 1, flags: 0 });
  assert.deepEqual(all[2].negotiation, { kind: 'none' });
  assert.deepEqual(all[3].negotiation, { kind: 'disconnect', reason: 'rn-user-requested' });
  assert.deepEqual(all.map(describeConfirm), [
    'X.224 Connection Confirm, RDP_NEG_RSP selected tls [EXTENDED_CLIENT_DATA_SUPPORTED]',
    'X.224 Connection Confirm, RDP_NEG_FAILURE SSL_REQUIRED_BY_SERVER',
    'X.224 Connection Confirm, no negotiation data (standard RDP security)',
    'MCS Disconnect Provider Ultimatum (rn-user-requested) instead of a Connection Confirm',
  ]);
  assert.deepEqual(protocolNames(0xb), ['tls', 'hybrid', 'hybrid_ex']);
  assert.deepEqual(protocolNames(0), ['rdp']);
});

test('malformed answers are ProtocolErrors; the decoder survives fuzz', () => {
  assert.throws(() => tpktFrame(fromHex('160301')), /TLS record/);
  assert.throws(() => tpktFrame(fromHex('53534820')), /not a TPKT header/);
  assert.throws(() => decodeConnectionConfirm(fromHex('030000130ee000001234000201080001000000')), /0xe0/);
  assert.throws(() => decodeConnectionConfirm(fromHex('030000130ed000001234000901080001000000')), /unknown negotiation type/);
  assert.throws(() => decodeConnectionConfirm(fromHex('030000130ed000001234000201070001000000')), /length 7/);
  assertFuzzSafe(confirmFrame, { seeds: [SELECTED_TLS, FAILURE_SSL_REQUIRED, DISCONNECT] });
});

const confirmFrame: Frame<ConnectionConfirm> = (buf) => {
  const p = tpktFrame(buf);
  return p ? { value: decodeConnectionConfirm(p.value), size: p.size } : undefined;
};

// xrdp's MCS Connect Response over TLS (captured from the lab): result rt-successful, GCC "McDn",
// SC_CORE version 0x00080004 with clientRequestedProtocols TLS, SC_NET channel 1003, SC_SECURITY none.
const CONNECT_RESPONSE = fromHex(
  '0300006502f0807f665b0a0100020100301a020116020103020100020101020100020101020300fff80201020437000500147c00012a14760a01010001c0004d63446e8020010c0c000400080001000000030c0800eb030000020c0c000000000000000000',
);

test('MCS Connect Initial: TPKT, X.224 DT, BER Connect-Initial with the GCC request and our client data', () => {
  const pdu = encodeMcsConnectInitial(1);
  assert.equal((pdu[2] << 8) | pdu[3], pdu.length);
  assert.equal(toHex(pdu.subarray(4, 9)), '02f0807f65');
  const text = toHex(pdu);
  assert.ok(text.includes('000500147c0001'), 't124Identifier');
  assert.ok(text.includes('4475636180ec'), 'h221 key "Duca", then 236 bytes of client data');
  // TS_UD_CS_CORE (c001, 216 bytes) ending with serverSelectedProtocol = 1 (TLS); TS_UD_CS_SEC with no encryption.
  assert.ok(text.includes('01c0d800040008'));
  assert.ok(text.endsWith('0100000002c00c00000000000000000003c0080000000000'));
});

test('MCS Connect Response: server version, requested protocols echoed, channel id', () => {
  const d = decodeMcsConnectResponse(CONNECT_RESPONSE);
  assert.equal(d.resultName, 'rt-successful');
  assert.equal(d.version, 0x00080004);
  assert.equal(d.clientRequestedProtocols, 1);
  assert.equal(d.mcsChannelId, 1003);
  assert.deepEqual(d.blocks.map((b) => b.type), ['SC_CORE', 'SC_NET', 'SC_SECURITY']);
  assert.throws(() => decodeMcsConnectResponse(fromHex('0300000902f0802180')), /Disconnect Provider Ultimatum \(rn-user-requested\)/);
  assertFuzzSafe(responseFrame, { seeds: [CONNECT_RESPONSE] });
});

const responseFrame: Frame<unknown> = (buf) => {
  const p = tpktFrame(buf);
  return p ? { value: decodeMcsConnectResponse(p.value), size: p.size } : undefined;
};

// MS-CSSP 2.2.1: explicitly tagged DER.
test('TSRequest: DER encoding of version and negoTokens, every field round-trips, errorCode as an unsigned NTSTATUS', () => {
  assert.equal(toHex(encodeTsRequest({ version: 6, negoTokens: [fromHex('0102')] })), '3011' + 'a003020106' + 'a10a' + '3008' + '3006' + 'a004' + '04020102');
  const full = { version: 5, negoTokens: [fromHex('aa'), fromHex('bbcc')], authInfo: fromHex('01'), pubKeyAuth: fromHex('0203'), errorCode: 0xc000006d, clientNonce: new Uint8Array(32).fill(7) };
  const bytes = encodeTsRequest(full);
  assert.ok(toHex(bytes).includes('a40602' + '04c000006d'), 'errorCode is a signed INTEGER on the wire');
  assert.deepEqual(decodeTsRequest(bytes), full);
  assert.equal(errorCodeName(0xc000006d), 'STATUS_LOGON_FAILURE');
  assert.equal(errorCodeName(0x8009030c), 'SEC_E_LOGON_DENIED');
  assert.equal(describeTsRequest(decodeTsRequest(bytes), (t) => `${t.length}B`), `TSRequest v5, negoTokens [1B, 2B], pubKeyAuth (2 bytes, sealed), authInfo (1 bytes, sealed TSCredentials), errorCode 0xc000006d STATUS_LOGON_FAILURE, clientNonce ${'07'.repeat(32)}`);
  assert.equal(describeNtlm(negotiateMessage(SEALING_FLAGS)), 'NTLM NEGOTIATE flags 0xe2888235');
  assert.equal(describeNtlm(fromHex('4e544c4d53535000020000')), 'token of 11 bytes');
  assert.equal(describeNtlm(fromHex('4e544c4d5353500002000000')), 'NTLM CHALLENGE', 'too short for its flags');
  assert.throws(() => decodeTsRequest(fromHex('3003a10100')), ProtocolError);
  assert.throws(() => decodeTsRequest(fromHex('3000')), /without a version/);
  assertFuzzSafe((buf: Uint8Array) => (buf.length ? { value: decodeTsRequest(buf), size: buf.length } : undefined), { seeds: [bytes] });
});

test('TSCredentials with TSPasswordCreds in UTF-16LE; the SubjectPublicKey is the SPKI BIT STRING contents', () => {
  assert.equal(toHex(encodeTsCredentials({ domain: '', user: 'u', password: 'p' })), '301b' + 'a003020101' + 'a114' + '0412' + '3010' + 'a0020400' + 'a10404027500' + 'a20404027000');
  const pem = rootCertificates.find((c) => new X509Certificate(c).publicKey.asymmetricKeyType === 'rsa')!;
  const der = new Uint8Array(new X509Certificate(pem).raw);
  // For RSA the SubjectPublicKey is the PKCS #1 RSAPublicKey.
  const pkcs1 = new Uint8Array(createPublicKey(pem).export({ type: 'pkcs1', format: 'der' }));
  assert.deepEqual(subjectPublicKey(der), pkcs1);
});

test('pubKeyAuth binding: version 5+ hashes magic ‖ nonce ‖ key with SHA-256; earlier versions the key, the server adding one to its first byte', async () => {
  const key = fromHex('3082010a0282010100');
  const nonce = new Uint8Array(32).fill(1);
  const client = await clientBinding(crypto, 6, key, nonce);
  assert.equal(toHex(client), createHash('sha256').update('CredSSP Client-To-Server Binding Hash\0').update(nonce).update(key).digest('hex'));
  const server = createHash('sha256').update('CredSSP Server-To-Client Binding Hash\0').update(nonce).update(key).digest();
  assert.equal(await serverBindingMatches(crypto, 6, key, nonce, new Uint8Array(server)), true);
  assert.equal(await serverBindingMatches(crypto, 6, key, nonce, client), false);
  assert.deepEqual(await clientBinding(crypto, 4, key, undefined), key);
  assert.equal(await serverBindingMatches(crypto, 3, key, undefined, fromHex('3182010a0282010100')), true);
  assert.equal(await serverBindingMatches(crypto, 3, key, undefined, key), false);
});
