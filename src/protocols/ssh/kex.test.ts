// Key exchange pieces: RFC 4253 7.1 negotiation, 7.2 key derivation and 8 exchange hash (checked against node:crypto),
// RFC 3526 MODP primes, agreement symmetry; host keys, fingerprints and known_hosts; private keys and bcrypt_pbkdf.
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { webCrypto } from '../../core/crypto.ts';
import { PortolanError } from '../../core/errors.ts';
import { bcryptPbkdf } from './bcrypt.ts';
import { checkHostKey, fingerprintSha256, parseKnownHosts, parsePublicKey, verifySignature } from './hostkey.ts';
import { deriveKey, deriveSessionKeys, dhAgreement, ecdhAgreement, exchangeHash, modpGroup, modPow, negotiate, x25519Agreement } from './kex.ts';
import { parsePrivateKey, publicKeyLine } from './keys.ts';
import { SshWriter } from './wire.ts';
import type { KexInit } from './codec.ts';

const crypto = webCrypto();
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

function sshString(b: Uint8Array | string): Buffer {
  const data = Buffer.from(b);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

function sshMpint(b: Uint8Array): Buffer {
  let at = 0;
  while (at < b.length && b[at] === 0) at++;
  let body = Buffer.from(b.subarray(at));
  if (body.length && body[0] & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return sshString(body);
}

test('exchange hash and key derivation equal an independent reading of RFC 4253 7.2 and 8', async () => {
  const parts = {
    vC: 'SSH-2.0-Portolan_1.0',
    vS: 'SSH-2.0-OpenSSH_9.2p1',
    iC: randomBytes(200),
    iS: randomBytes(300),
    hostKey: randomBytes(51),
    kind: 'ecdh' as const,
    clientPublic: randomBytes(32),
    serverPublic: randomBytes(32),
    sharedSecret: Buffer.concat([Buffer.from([0x80]), randomBytes(31)]),
  };
  const h = await exchangeHash(crypto, 'SHA-256', parts);
  const expectedH = createHash('sha256')
    .update(Buffer.concat([sshString(parts.vC), sshString(parts.vS), sshString(parts.iC), sshString(parts.iS), sshString(parts.hostKey), sshString(parts.clientPublic), sshString(parts.serverPublic), sshMpint(parts.sharedSecret)]))
    .digest();
  assert.equal(Buffer.from(h).toString('hex'), expectedH.toString('hex'));

  // K1 = HASH(K || H || "C" || session_id); K2 = HASH(K || H || K1): 64 bytes from SHA-256 needs two rounds.
  const sessionId = randomBytes(32);
  const k = sshMpint(parts.sharedSecret);
  const k1 = createHash('sha256').update(Buffer.concat([k, h, Buffer.from('C'), sessionId])).digest();
  const k2 = createHash('sha256').update(Buffer.concat([k, h, k1])).digest();
  const got = await deriveKey(crypto, 'SHA-256', parts.sharedSecret, h, 'C', sessionId, 64);
  assert.equal(Buffer.from(got).toString('hex'), Buffer.concat([k1, k2]).toString('hex'));

  const n = { kex: 'curve25519-sha256', hostKey: 'ssh-ed25519', cipherCS: 'chacha20-poly1305@openssh.com', cipherSC: 'aes128-ctr', macCS: null, macSC: 'hmac-sha2-512', compressionCS: 'none', compressionSC: 'none' };
  const s = await deriveSessionKeys(crypto, 'SHA-256', parts.sharedSecret, h, sessionId, n);
  assert.deepEqual([s.ivCS.length, s.ivSC.length, s.keyCS.length, s.keySC.length, s.macCS.length, s.macSC.length], [0, 16, 64, 16, 0, 64]);
  assert.deepEqual(s.keyCS, got);
});

test('sntrup761x25519-sha512: K goes into the exchange hash and the key derivation as a string, leading zero and high bit kept', async () => {
  // A 64-byte K that starts with 0x00 then 0x80: an mpint would drop the zero; a string keeps all 64 bytes.
  const sharedSecret = Buffer.concat([Buffer.from([0x00, 0x80]), randomBytes(62)]);
  const parts = { vC: 'c', vS: 's', iC: randomBytes(20), iS: randomBytes(20), hostKey: randomBytes(51), kind: 'ecdh' as const, clientPublic: randomBytes(1190), serverPublic: randomBytes(1071), sharedSecret, kString: true };
  const h = await exchangeHash(crypto, 'SHA-512', parts);
  const expected = createHash('sha512')
    .update(Buffer.concat([sshString('c'), sshString('s'), sshString(parts.iC), sshString(parts.iS), sshString(parts.hostKey), sshString(parts.clientPublic), sshString(parts.serverPublic), sshString(sharedSecret)]))
    .digest();
  assert.equal(Buffer.from(h).toString('hex'), expected.toString('hex'));
  const sessionId = randomBytes(64);
  const k1 = createHash('sha512').update(Buffer.concat([sshString(sharedSecret), h, Buffer.from('A'), sessionId])).digest();
  assert.equal(Buffer.from(await deriveKey(crypto, 'SHA-512', sharedSecret, h, 'A', sessionId, 32, true)).toString('hex'), k1.subarray(0, 32).toString('hex'));
});

test('DH exchange hash puts e and f as mpints, and group exchange adds min, n, max, p, g (RFC 4419 3)', async () => {
  const parts = { vC: 'a', vS: 'b', iC: new Uint8Array([1]), iS: new Uint8Array([2]), hostKey: new Uint8Array([3]), kind: 'dh' as const, clientPublic: new Uint8Array([0x85]), serverPublic: new Uint8Array([0, 5]), sharedSecret: new Uint8Array([9]), gex: { min: 2048, n: 3072, max: 8192, p: 23n, g: 5n } };
  const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  const expected = createHash('sha512')
    .update(Buffer.concat([sshString('a'), sshString('b'), sshString(parts.iC), sshString(parts.iS), sshString(parts.hostKey), u32(2048), u32(3072), u32(8192), sshMpint(new Uint8Array([23])), sshMpint(new Uint8Array([5])), sshMpint(parts.clientPublic), sshMpint(parts.serverPublic), sshMpint(parts.sharedSecret)]))
    .digest();
  assert.equal(Buffer.from(await exchangeHash(crypto, 'SHA-512', parts)).toString('hex'), expected.toString('hex'));
});

test('the RFC 3526 MODP primes computed from pi have the published first and last words and are safe primes', () => {
  const p14 = modpGroup(2048, 124476).toString(16).toUpperCase();
  assert.equal(p14.length, 512);
  assert.ok(p14.startsWith('FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1'));
  assert.ok(p14.endsWith('15728E5A8AACAA68FFFFFFFFFFFFFFFF'));
  const p16 = modpGroup(4096, 240904);
  assert.equal(p16.toString(16).length, 1024);
  // Fermat tests with a few bases on p and q = (p - 1) / 2.
  for (const p of [BigInt('0x' + p14), p16]) {
    for (const a of [2n, 3n, 5n]) {
      assert.equal(modPow(a, p - 1n, p), 1n);
      const q = (p - 1n) / 2n;
      assert.equal(modPow(a, q - 1n, q), 1n);
    }
  }
});

test('agreements are symmetric (X25519, ECDH P-256/384/521, DH group14)', async () => {
  const a = await x25519Agreement(crypto);
  const b = await x25519Agreement(crypto);
  assert.deepEqual(await a.sharedSecret(b.clientPublic), await b.sharedSecret(a.clientPublic));
  await assert.rejects(a.sharedSecret(new Uint8Array(32)), /X25519/);
  await assert.rejects(a.sharedSecret(new Uint8Array(31)), /31 bytes/);
  for (const curve of ['P-256', 'P-384', 'P-521'] as const) {
    const x = await ecdhAgreement(crypto, curve);
    const y = await ecdhAgreement(crypto, curve);
    assert.deepEqual(await x.sharedSecret(y.clientPublic), await y.sharedSecret(x.clientPublic));
    const off = y.clientPublic.slice();
    off[off.length - 1] ^= 1;
    await assert.rejects(x.sharedSecret(off), /not on the curve/);
  }
  const p = modpGroup(2048, 124476);
  const d1 = dhAgreement(crypto, p, 2n);
  const d2 = dhAgreement(crypto, p, 2n);
  assert.deepEqual(await d1.sharedSecret(d2.clientPublic), await d2.sharedSecret(d1.clientPublic));
  await assert.rejects(d1.sharedSecret(new Uint8Array([1])), /out of range/);
});

const init = (o: Partial<KexInit>): KexInit => ({
  cookie: new Uint8Array(16),
  kex: ['curve25519-sha256'],
  hostKey: ['ssh-ed25519'],
  cipherCS: ['aes128-ctr'],
  cipherSC: ['aes128-ctr'],
  macCS: ['hmac-sha2-256'],
  macSC: ['hmac-sha2-256'],
  compressionCS: ['none'],
  compressionSC: ['none'],
  languagesCS: [],
  languagesSC: [],
  firstKexFollows: false,
  ...o,
});

test('negotiation takes the first client algorithm the server has (RFC 4253 7.1); AEAD ignores the MAC', () => {
  const n = negotiate(init({ kex: ['ecdh-sha2-nistp256', 'curve25519-sha256', 'ext-info-c'], cipherCS: ['aes128-gcm@openssh.com', 'aes128-ctr'] }), init({ kex: ['curve25519-sha256', 'ecdh-sha2-nistp256'], cipherCS: ['aes128-ctr', 'aes128-gcm@openssh.com'], macCS: ['umac-64@openssh.com'] }));
  assert.equal(n.kex, 'ecdh-sha2-nistp256');
  assert.equal(n.cipherCS, 'aes128-gcm@openssh.com');
  assert.equal(n.macCS, null);
  assert.throws(() => negotiate(init({}), init({ hostKey: ['ssh-dss'] })), (e: PortolanError) => e.code === 'protocol_error' && /no common host key algorithm: we offer ssh-ed25519; the server offers ssh-dss/.test(e.message));
});

test('fingerprints are SHA256:base64 without padding, as ssh-keygen -l prints', async () => {
  const line = fixture('ed25519.pub').trim();
  const blob = Buffer.from(line.split(' ')[1], 'base64');
  const expected = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  assert.equal(await fingerprintSha256(crypto, blob), expected);
});

test('known_hosts: plain, bracketed port, hashed, wildcard and negated names; mismatch names both fingerprints', async () => {
  const line = fixture('ed25519.pub').trim().split(' ').slice(0, 2).join(' ');
  const blob = Buffer.from(line.split(' ')[1], 'base64');
  const other = fixture('ecdsa256-pem.pub').trim().split(' ').slice(0, 2).join(' ');
  const salt = randomBytes(20);
  const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[10.1.2.3]:2222').digest('base64')}`;
  const ok = async (text: string, host: string, port: number) =>
    checkHostKey(crypto, { fingerprints: [], knownHosts: parseKnownHosts(text) }, host, port, blob, 'ssh-ed25519').then(
      () => true,
      (e: PortolanError) => {
        assert.equal(e.code, 'untrusted_peer');
        return false;
      },
    );
  assert.equal(await ok(`example.org ${line}`, 'example.org', 22), true);
  assert.equal(await ok(`example.org ${line}`, 'EXAMPLE.org', 22), true);
  assert.equal(await ok(`example.org ${line}`, 'example.org', 2222), false);
  assert.equal(await ok(`[example.org]:2222 ${line}`, 'example.org', 2222), true);
  assert.equal(await ok(`${hashed} ${line}`, '10.1.2.3', 2222), true);
  assert.equal(await ok(`${hashed} ${line}`, '10.1.2.4', 2222), false);
  assert.equal(await ok(`*.example.org,!bad.example.org ${line}`, 'a.example.org', 22), true);
  assert.equal(await ok(`*.example.org,!bad.example.org ${line}`, 'bad.example.org', 22), false);
  assert.equal(await ok(`@revoked example.org ${line}\nexample.org ${line}`, 'example.org', 22), false);
  await assert.rejects(checkHostKey(crypto, { fingerprints: [], knownHosts: parseKnownHosts(`example.org ${other}`) }, 'example.org', 22, blob, 'ssh-ed25519'), (e: PortolanError) => {
    const fpOther = `SHA256:${createHash('sha256').update(Buffer.from(other.split(' ')[1], 'base64')).digest('base64').replace(/=+$/, '')}`;
    return e.code === 'untrusted_peer' && e.message.includes(fpOther) && e.message.includes(String(e.detail?.fingerprint));
  });
});

test('private keys: OpenSSH (plain and bcrypt-encrypted), PEM SEC1, PEM PKCS#1; signatures verify', async () => {
  for (const [file, pass] of [['ed25519', undefined], ['ed25519-enc', 'correct horse'], ['ecdsa256-pem', undefined], ['rsa1024-pem', undefined]] as const) {
    const key = await parsePrivateKey(crypto, fixture(file), pass);
    const pub = fixture(`${file}.pub`).trim().split(' ');
    // The public half we compute equals ssh-keygen's .pub (for the encrypted key this proves bcrypt_pbkdf and AES-CTR).
    assert.equal(publicKeyLine(key).split(' ').slice(0, 2).join(' '), `${pub[0]} ${pub[1]}`, file);
    const data = randomBytes(100);
    const alg = key.type === 'ssh-rsa' ? 'rsa-sha2-256' : key.type;
    const sig = await key.sign(alg, data);
    assert.equal(await verifySignature(crypto, parsePublicKey(key.publicBlob), alg, sig, data), true, file);
    assert.equal(await verifySignature(crypto, parsePublicKey(key.publicBlob), alg, sig, randomBytes(100)), false, file);
  }
  await assert.rejects(parsePrivateKey(crypto, fixture('ed25519-enc')), /passphrase: the private key is encrypted/);
  await assert.rejects(parsePrivateKey(crypto, fixture('ed25519-enc'), 'wrong'), /passphrase: wrong passphrase/);
  await assert.rejects(parsePrivateKey(crypto, fixture('ed25519.pub')), /this is a public key/);
});

test('malformed private keys are invalid_input, never anything else', async () => {
  const seed = fixture('ed25519');
  const b64 = seed.split('\n').slice(1, -2).join('');
  const raw = Buffer.from(b64, 'base64');
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: raw.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: raw.length }), async (at, byte, cut) => {
      const copy = Buffer.from(raw);
      copy[at] = byte;
      const text = `-----BEGIN OPENSSH PRIVATE KEY-----\n${copy.subarray(0, cut).toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
      try {
        await parsePrivateKey(crypto, text);
      } catch (e) {
        assert.ok(e instanceof PortolanError && e.code === 'invalid_input', String(e));
      }
    }),
    { numRuns: 200 },
  );
});

test('bcrypt_pbkdf interleaves its output blocks (keylen 48 = two blocks of 32, bytes alternate)', () => {
  const a = bcryptPbkdf(new TextEncoder().encode('pw'), new Uint8Array(16), 48, 2);
  const b = bcryptPbkdf(new TextEncoder().encode('pw'), new Uint8Array(16), 64, 2);
  // With stride 2 both outputs take byte i of block 1 at 2i and of block 2 at 2i + 1.
  assert.deepEqual(a.subarray(0, 48).filter((_, i) => i % 2 === 0), b.subarray(0, 48).filter((_, i) => i % 2 === 0));
  assert.notDeepEqual(bcryptPbkdf(new TextEncoder().encode('pw2'), new Uint8Array(16), 48, 2), a);
  assert.equal(new SshWriter().string(a).finish().length, 52);
});
