import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ByteWriter, fromHex, toHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import {
  CIPHERS,
  COMMAND,
  decodeDirectoryEntries,
  decodeHeader,
  decodeNegotiateResponse,
  DIALECTS,
  encodeHeader,
  filetime,
  negotiateBody,
  readBody,
  renameInformation,
  smbFrame,
  statusName,
  transportFrame,
  utf16le,
} from './codec.ts';
import { decodeSpnegoMechs, decodeSpnegoResponse, deriveKeys, gmacNonce, kdf, messageSecurity, nonceLength, spnegoInit, spnegoResponse, type SigningAlgorithm } from './security.ts';
import { cmac, gcm } from '@noble/ciphers/aes.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { decodeNetShareEnumResponse, netShareEnumRequest } from './srvsvc.ts';

const fixture = (name: string) => fromHex(readFileSync(new URL(`./fixtures/${name}.hex`, import.meta.url), 'utf8').trim());

test('the SMB2 header and a 3.1.1 NEGOTIATE request, byte for byte ([MS-SMB2] §2.2.1.2, §2.2.3)', () => {
  const h = encodeHeader({ command: COMMAND.read, creditCharge: 16, credits: 256, messageId: 7n, treeId: 3, sessionId: 0x1122334455667788n }).finish();
  assert.equal(toHex(h), 'fe534d42' + '4000' + '1000' + '00000000' + '0800' + '0001' + '00000000' + '00000000' + '0700000000000000' + '00000000' + '03000000' + '8877665544332211' + '00'.repeat(16));
  const body = negotiateBody({ dialects: [0x0202, 0x0311], securityMode: 1, capabilities: 0x44, clientGuid: new Uint8Array(16).fill(0xaa), salt: new Uint8Array(32).fill(0x55), ciphers: [2], signing: [2, 1] });
  // Fixed part: size 36, 2 dialects, signing enabled, capabilities, GUID, contexts at 64+36+4 → padded to 104, 3 of them.
  assert.equal(toHex(body.subarray(0, 12)), '2400' + '0200' + '0100' + '0000' + '44000000');
  assert.equal(toHex(body.subarray(28, 40)), '68000000' + '0300' + '0000' + '0202' + '1103');
  assert.equal(toHex(body.subarray(40, 48)), '0100' + '2600' + '00000000');
  assert.equal(toHex(body.subarray(48, 54)), '0100' + '2000' + '0100');
});

test('Samba 4.17\'s NEGOTIATE response, whole, byte by byte and split: dialect, contexts, SPNEGO mechanisms', () => {
  const bytes = fixture('samba-negotiate-response');
  const [msg] = assertSplitFeed(smbFrame(), bytes);
  const h = decodeHeader(msg);
  assert.equal(h.command, COMMAND.negotiate);
  assert.equal(h.status, 0);
  const n = decodeNegotiateResponse(msg);
  assert.equal(n.dialect, DIALECTS['3.1.1']);
  assert.equal(n.preauthHash, 1);
  assert.equal(n.cipher, 2);
  assert.equal(n.signingAlgorithm, 2);
  assert.equal(n.maxReadSize, 8 * 1024 * 1024);
  assert.deepEqual(decodeSpnegoMechs(n.securityBlob), ['1.3.6.1.4.1.311.2.2.10']);
  assert.equal(toHex(transportFrame(msg)), toHex(bytes));
});

test('transport framing: a non-zero first byte, a message over the cap, a message shorter than a header are protocol errors', () => {
  assert.throws(() => smbFrame()(Uint8Array.of(0x81, 0, 0, 4)), ProtocolError);
  assert.throws(() => smbFrame(1000)(Uint8Array.of(0, 0, 0x10, 0)), /exceeds/);
  assert.throws(() => smbFrame()(Uint8Array.of(0, 0, 0, 2)), ProtocolError);
  assert.equal(smbFrame()(Uint8Array.of(0, 0, 0, 8, 0xfe)), undefined);
  assertFuzzSafe(smbFrame(), { seeds: [fixture('samba-negotiate-response')] });
});

test('a 2^32-byte READ answer is refused: the data length may not exceed what was asked', async () => {
  const { decodeReadResponse } = await import('./codec.ts');
  const msg = new ByteWriter(128).bytes(encodeHeader({ command: COMMAND.read, creditCharge: 1, credits: 1, messageId: 1n }).finish()).u16le(17).u8(80).u8(0).u32le(0xffffffff).u32le(0).u32le(0).finish();
  assert.throws(() => decodeReadResponse(msg, 65536), /announces 4294967295 bytes/);
  assert.equal(readBody(new Uint8Array(16), 0n, 1).length, 49);
});

function dirEntry(name: string, next: number, size: bigint, attributes: number): Uint8Array {
  const n = utf16le(name);
  const w = new ByteWriter(128).u32le(next).u32le(0).u64le(132000000000000000n).u64le(0n).u64le(132000000000000000n).u64le(0n).u64le(size).u64le(4096n).u32le(attributes).u32le(n.length).u32le(0).u8(0).u8(0).bytes(new Uint8Array(24)).u16le(0).u64le(42n).bytes(n);
  return w.finish();
}

test('FileIdBothDirectoryInformation entries chained by NextEntryOffset; an offset outside the buffer and a 70,000-byte name are refused', () => {
  const a = dirEntry('a.txt', 0, 5n, 0x20);
  const first = dirEntry('sub', 0, 0n, 0x10);
  const padded = new Uint8Array(Math.ceil(first.length / 8) * 8);
  padded.set(first);
  new DataView(padded.buffer).setUint32(0, padded.length, true);
  const both = new Uint8Array(padded.length + a.length);
  both.set(padded);
  both.set(a, padded.length);
  const entries = decodeDirectoryEntries(both);
  assert.deepEqual(entries.map((e) => [e.name, e.endOfFile, e.attributes]), [['sub', 0n, 0x10], ['a.txt', 5n, 0x20]]);
  assert.equal(filetime(entries[0].created), '2019-04-17T18:40:00.000Z');
  const bad = padded.slice();
  new DataView(bad.buffer).setUint32(0, 4096, true);
  assert.throws(() => decodeDirectoryEntries(bad), /NextEntryOffset/);
  const huge = dirEntry('x', 0, 0n, 0);
  new DataView(huge.buffer).setUint32(60, 140_000, true);
  assert.throws(() => decodeDirectoryEntries(huge), ProtocolError);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
      try {
        decodeDirectoryEntries(b);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
  );
});

test('SPNEGO: NegTokenInit carries the NTLMSSP token; NegTokenResp gives it back', () => {
  const token = Uint8Array.of(1, 2, 3);
  const init = spnegoInit(token);
  assert.equal(toHex(init.subarray(0, 2)), '6023');
  assert.deepEqual(decodeSpnegoMechs(init), ['1.3.6.1.4.1.311.2.2.10']);
  assert.deepEqual([...decodeSpnegoResponse(spnegoResponse(token)).token!], [1, 2, 3]);
});

test('signing: HMAC-SHA256, AES-CMAC and AES-GMAC signatures on WebCrypto equal the reference algorithms, verify without changing the message, and fail when one byte changes', async () => {
  const key = new Uint8Array(16).fill(7);
  const keys = { signing: key, encryption: new Uint8Array(0), decryption: new Uint8Array(0) };
  const reference: Record<SigningAlgorithm, (m: Uint8Array) => Uint8Array> = {
    'HMAC-SHA256': (m) => hmac(sha256, key, m).subarray(0, 16),
    'AES-CMAC': (m) => cmac(m, key),
    'AES-GMAC': (m) => gcm(key, gmacNonce(m), m).encrypt(new Uint8Array(0)),
  };
  for (const alg of ['HMAC-SHA256', 'AES-CMAC', 'AES-GMAC'] as SigningAlgorithm[]) {
    const security = await messageSecurity(globalThis.crypto.subtle, alg, keys, null);
    // Lengths around the block size exercise CMAC's two subkeys (a whole last block, a padded one).
    for (const size of [64, 65, 79, 80, 96, 1000]) {
      const m = new Uint8Array(size).map((_, i) => (i * 31 + size) & 0xff);
      assert.equal(toHex(await security.signature(m)), toHex(reference[alg](m)), `${alg}, ${size} bytes`);
    }
    const msg = new ByteWriter(128).bytes(encodeHeader({ command: COMMAND.echo, creditCharge: 0, credits: 1, messageId: 9n }).finish()).u16le(4).u16le(0).finish();
    await security.sign(msg);
    assert.equal(msg[16] & 8, 8, 'SMB2_FLAGS_SIGNED');
    const signed = msg.slice();
    assert.ok(await security.verify(msg));
    assert.deepEqual(msg, signed, `${alg}: verify leaves the message as it was, signature included`);
    msg[66] ^= 1;
    assert.ok(!(await security.verify(msg)), alg);
    assert.deepEqual(msg.subarray(48, 64), signed.subarray(48, 64), `${alg}: a failed verify puts the signature back too`);
  }
});

test('key derivation: SP800-108 counter mode with HMAC-SHA256; 3.1.1 keys depend on the preauth hash, 3.0 keys do not', () => {
  const sk = new Uint8Array(16).fill(1);
  const a = deriveKeys(0x0311, sk, new Uint8Array(64).fill(2), 2);
  const b = deriveKeys(0x0311, sk, new Uint8Array(64).fill(3), 2);
  assert.notEqual(toHex(a.signing), toHex(b.signing));
  assert.equal(a.encryption.length, 16);
  assert.equal(deriveKeys(0x0311, sk, new Uint8Array(64), 4).encryption.length, 32);
  assert.equal(toHex(deriveKeys(0x0300, sk, new Uint8Array(64).fill(9), null).signing), toHex(deriveKeys(0x0300, sk, new Uint8Array(64), null).signing));
  assert.equal(toHex(deriveKeys(0x0210, sk, new Uint8Array(64), null).signing), toHex(sk));
  assert.equal(kdf(sk, Uint8Array.of(0x41, 0), Uint8Array.of(0x42, 0), 128).length, 16);
});

test('encryption: a transform message opens with the same key and session, and an altered byte fails the tag (AES-GCM and AES-CCM)', async () => {
  const key = new Uint8Array(16).fill(5);
  const keys = { signing: key, encryption: key, decryption: key };
  const ccm = await messageSecurity(globalThis.crypto.subtle, 'AES-CMAC', keys, CIPHERS['AES-128-CCM']);
  const gcmSession = await messageSecurity(globalThis.crypto.subtle, 'AES-GMAC', keys, CIPHERS['AES-128-GCM']);
  for (const [name, cipher, security, other] of [['AES-128-GCM', CIPHERS['AES-128-GCM'], gcmSession, ccm], ['AES-128-CCM', CIPHERS['AES-128-CCM'], ccm, gcmSession]] as const) {
    const inner = encodeHeader({ command: COMMAND.echo, creditCharge: 0, credits: 1, messageId: 1n }).finish();
    const sealed = await security.seal(new Uint8Array(nonceLength(cipher)).fill(1), 77n, inner);
    assert.equal(toHex(sealed.subarray(0, 4)), 'fd534d42');
    // §2.2.41: the nonce field is 16 bytes; the cipher's nonce (12 or 11 bytes) first, zeros after.
    assert.equal(toHex(sealed.subarray(20, 36)), '01'.repeat(nonceLength(cipher)) + '00'.repeat(16 - nonceLength(cipher)), name);
    assert.equal(toHex(await security.open(sealed, 77n)), toHex(inner), name);
    await assert.rejects(security.open(sealed, 78n), ProtocolError);
    await assert.rejects(other.open(sealed, 77n), /tag mismatch/);
    sealed[sealed.length - 1] ^= 1;
    await assert.rejects(security.open(sealed, 77n), new RegExp(`${name} tag mismatch`));
  }
  // GCM on WebCrypto equals the reference AES-GCM over the same header.
  const inner = new Uint8Array(100).fill(3);
  const nonce = new Uint8Array(12).fill(9);
  const sealed = await gcmSession.seal(nonce, 5n, inner);
  const ref = gcm(key, nonce, sealed.subarray(20, 52)).encrypt(inner);
  assert.equal(toHex(sealed.subarray(52)), toHex(ref.subarray(0, 100)));
  assert.equal(toHex(sealed.subarray(4, 20)), toHex(ref.subarray(100)));
});

test('rename information and NTSTATUS names', () => {
  assert.equal(toHex(renameInformation('a', true)), '01' + '00'.repeat(7) + '00'.repeat(8) + '02000000' + '6100');
  assert.equal(statusName(0xc000006d), 'STATUS_LOGON_FAILURE');
  assert.equal(statusName(0xc0000022), 'STATUS_ACCESS_DENIED');
  assert.equal(statusName(0xc0001234), 'NTSTATUS 0xc0001234');
});

test('srvsvc NetrShareEnum level 1: the request stub, and a response with two shares (one special) decoded', () => {
  const req = netShareEnumRequest('h');
  assert.equal(toHex(req.subarray(0, 16)), '00000200' + '04000000' + '00000000' + '04000000');
  const str = (s: string) => {
    const u = utf16le(`${s}\0`);
    const w = new ByteWriter(64).u32le(s.length + 1).u32le(0).u32le(s.length + 1).bytes(u);
    while (w.length % 4) w.u8(0);
    return w.finish();
  };
  const w = new ByteWriter(256).u32le(1).u32le(1).u32le(0x20000).u32le(2).u32le(0x20004).u32le(2);
  w.u32le(0x20008).u32le(0).u32le(0x2000c).u32le(0x20010).u32le(0x80000003).u32le(0x20014);
  w.bytes(str('files')).bytes(str('User files')).bytes(str('IPC$')).bytes(str('IPC'));
  w.u32le(2).u32le(0x20018).u32le(0).u32le(0);
  const out = decodeNetShareEnumResponse(w.finish());
  assert.deepEqual(out.shares, [
    { name: 'files', type: 'disk', special: false, temporary: false, comment: 'User files' },
    { name: 'IPC$', type: 'ipc', special: true, temporary: false, comment: 'IPC' },
  ]);
  assert.equal(out.total, 2);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      try {
        decodeNetShareEnumResponse(b);
      } catch (e) {
        if (!(e instanceof ProtocolError) && !(e as Error).name.includes('ServerError')) throw e;
      }
    }),
  );
});

test('NEGOTIATE responses of random bytes after a valid header end in ProtocolError only', () => {
  const head = encodeHeader({ command: COMMAND.negotiate, creditCharge: 0, credits: 1, messageId: 0n }).finish();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      const msg = new Uint8Array(head.length + b.length);
      msg.set(head);
      msg.set(b, head.length);
      try {
        decodeNegotiateResponse(msg);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
  );
});
