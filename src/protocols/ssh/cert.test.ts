// OpenSSH certificates (PROTOCOL.certkeys): parsing, the CA signature, validity, the host CA check; fuzzed parser.
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { webCrypto } from '../../core/crypto.ts';
import { PortolanError, ProtocolError } from '../../core/errors.ts';
import { certAlgorithm, baseAlgorithm, checkHostCertificate, parseCertificate, validityProblem, verifyCertificateSignature } from './cert.ts';
import { parseKnownHosts } from './hostkey.ts';
import { SshWriter } from './wire.ts';
import { toBase64 } from '../../core/bytes.ts';

const crypto = webCrypto();

function ed25519() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return { blob: new SshWriter(64).string('ssh-ed25519').string(raw).finish(), raw, privateKey };
}

function packed(list: string[]): Uint8Array {
  const w = new SshWriter(64);
  for (const s of list) w.string(s);
  return w.finish();
}

/** A certificate built field by field as ssh-keygen -s writes it, signed by `ca`. */
function makeCert(ca: ReturnType<typeof ed25519>, opts: { role?: number; principals?: string[]; after?: bigint; before?: bigint } = {}) {
  const subject = ed25519();
  const w = new SshWriter(512)
    .string('ssh-ed25519-cert-v01@openssh.com')
    .string(new Uint8Array(32).fill(7))
    .string(subject.raw)
    .u64(42n)
    .u32(opts.role ?? 2)
    .string('web-1')
    .string(packed(opts.principals ?? ['db.example', '127.0.0.1']))
    .u64(opts.after ?? 0n)
    .u64(opts.before ?? 0xffffffffffffffffn)
    .string(new Uint8Array(0))
    .string(new SshWriter(64).string('permit-pty').string(new Uint8Array(0)).finish())
    .string(new Uint8Array(0))
    .string(ca.blob);
  const signed = w.finish();
  const sig = new SshWriter(96).string('ssh-ed25519').string(sign(null, signed, ca.privateKey)).finish();
  return { blob: new SshWriter(signed.length + 100).bytes(signed).string(sig).finish(), subject };
}

test('algorithm names: -cert-v01 on top of the signature algorithm', () => {
  assert.equal(certAlgorithm('rsa-sha2-512'), 'rsa-sha2-512-cert-v01@openssh.com');
  assert.equal(baseAlgorithm('ssh-ed25519-cert-v01@openssh.com'), 'ssh-ed25519');
  assert.equal(baseAlgorithm('ssh-ed25519'), null);
});

test('parses every field and verifies the CA signature', async () => {
  const ca = ed25519();
  const { blob, subject } = makeCert(ca);
  const c = await parseCertificate(crypto, blob);
  assert.equal(c.kind, 'host');
  assert.equal(c.keyId, 'web-1');
  assert.equal(c.serial, 42n);
  assert.deepEqual(c.principals, ['db.example', '127.0.0.1']);
  assert.deepEqual(c.extensions, ['permit-pty']);
  assert.deepEqual([...c.key.blob], [...subject.blob]);
  assert.equal(c.caType, 'ssh-ed25519');
  assert.equal(await verifyCertificateSignature(crypto, c), true);
  // One flipped bit in the key id breaks the signature.
  const bad = blob.slice();
  bad[bad.indexOf(0x77) /* 'w' of web-1 */] ^= 1;
  assert.equal(await verifyCertificateSignature(crypto, await parseCertificate(crypto, bad)), false);
});

test('validity window', async () => {
  const c = await parseCertificate(crypto, makeCert(ed25519(), { after: 1577836800n, before: 1577923200n }).blob);
  assert.equal(validityProblem(c, 1577836700), 'not valid before 2020-01-01T00:00:00Z');
  assert.equal(validityProblem(c, 1577900000), null);
  assert.equal(validityProblem(c, 1577923200), 'expired at 2020-01-02T00:00:00Z');
});

test('host CA check: trusted, other principal, user role, untrusted CA', async () => {
  const ca = ed25519();
  const policy = { fingerprints: [], knownHosts: parseKnownHosts(`@cert-authority *.example,127.0.0.1 ssh-ed25519 ${toBase64(ca.blob)}`) };
  const good = await parseCertificate(crypto, makeCert(ca).blob);
  assert.equal(await checkHostCertificate(crypto, policy, 'db.example', 22, good), true);
  await assert.rejects(checkHostCertificate(crypto, policy, 'www.example', 22, good), (e: PortolanError) => e.code === 'untrusted_peer' && /principals \(db\.example, 127\.0\.0\.1\) do not include www\.example/.test(e.message));
  const user = await parseCertificate(crypto, makeCert(ca, { role: 1 }).blob);
  await assert.rejects(checkHostCertificate(crypto, policy, 'db.example', 22, user), /it is a user certificate/);
  const other = await parseCertificate(crypto, makeCert(ed25519()).blob);
  assert.equal(await checkHostCertificate(crypto, policy, 'db.example', 22, other), false);
});

test('fuzz: random bytes and truncations only ever throw ProtocolError', async () => {
  const { blob } = makeCert(ed25519());
  const seeds = [blob, blob.subarray(0, 100), blob.subarray(0, blob.length - 1)];
  for (const s of seeds) await assert.rejects(parseCertificate(crypto, s.length === blob.length ? new Uint8Array([...s, 0]) : s), ProtocolError);
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.nat(blob.length), async (noise, at) => {
      for (const input of [noise, new Uint8Array([...blob.subarray(0, at), ...noise])]) {
        try {
          await parseCertificate(crypto, input);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      }
    }),
    { numRuns: 300 },
  );
});
