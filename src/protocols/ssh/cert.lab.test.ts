// Lab tests: OpenSSH certificates against the lab sshd with HostCertificate and TrustedUserCAKeys
// (lab/servers/ssh.ts, CAs made with ssh-keygen -s), driven through workerd's HTTP API.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { caPublicKey, clientKey, fingerprintOf, hostPublicKey, sshFacts, userCertificate } from '../../../lab/servers/ssh.ts';
import { call } from '../../../test/harness.ts';

const host = '127.0.0.1';
const port = sshFacts.certPort;
const pw = sshFacts.users.password;
const certUser = sshFacts.users.certificate.user;

before(() => ensureLab(['ssh'], { quiet: true }));

const caLine = (ca: 'hostCa' | 'userCa' | 'otherCa', patterns = `[${host}]:${port}`) => `@cert-authority ${patterns} ${caPublicKey(ca).split(' ').slice(0, 2).join(' ')}`;

function exec(input: Record<string, unknown>) {
  return call('ssh', 'exec', { host, port, command: 'id -un', ...input });
}

describe('host certificates checked against @cert-authority', () => {
  test('a host certificate from the trusted CA is accepted and shown', async () => {
    const { status, body } = await exec({ username: pw.user, password: pw.password, knownHosts: `# lab CA\n${caLine('hostCa')}\n` });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.result.stdout, `${pw.user}\n`);
    const key = body.result.server.hostKey;
    assert.equal(key.algorithm, 'ssh-ed25519-cert-v01@openssh.com');
    assert.equal(key.fingerprint, fingerprintOf(hostPublicKey('ed25519')));
    assert.equal(key.certificate.keyId, 'portolan-host-ed25519');
    assert.equal(key.certificate.serial, '9');
    assert.deepEqual(key.certificate.principals, sshFacts.hostCertPrincipals);
    assert.equal(key.certificate.validBefore, 'forever');
    assert.equal(key.certificate.ca, fingerprintOf(caPublicKey('hostCa')));
  });

  test('an RSA host certificate under rsa-sha2-512-cert-v01', async () => {
    const { body } = await exec({ username: pw.user, password: pw.password, knownHosts: caLine('hostCa', '127.0.0.1,[127.0.0.1]:*'), algorithms: { hostKey: ['rsa-sha2-512-cert-v01@openssh.com'] } });
    assert.equal(body.result?.stdout, `${pw.user}\n`, JSON.stringify(body));
    assert.equal(body.result.server.hostKey.certificate.keyId, 'portolan-host-rsa');
    assert.equal(body.result.server.hostKey.fingerprint, fingerprintOf(hostPublicKey('rsa')));
  });

  test('a host certificate from another CA is untrusted_peer naming its CA', async () => {
    const { status, body } = await exec({ username: pw.user, password: pw.password, knownHosts: caLine('otherCa') });
    assert.equal(status, 502);
    assert.equal(body.error.code, 'untrusted_peer');
    assert.ok(body.error.message.includes(`signed by CA ${fingerprintOf(caPublicKey('hostCa'))}, which no @cert-authority line`), body.error.message);
  });

  test('an expired host certificate from the trusted CA is untrusted_peer with its dates', async () => {
    const { body } = await exec({ username: pw.user, password: pw.password, knownHosts: caLine('hostCa'), algorithms: { hostKey: ['ecdsa-sha2-nistp256-cert-v01@openssh.com'] } });
    assert.equal(body.error?.code, 'untrusted_peer', JSON.stringify(body));
    assert.match(body.error.message, /host certificate "portolan-host-ecdsa256" \(serial 9\) signed by CA SHA256:\S+ is not valid: expired at 2020-01-02T00:00:00Z/);
  });

  test('the CA marked @revoked is untrusted_peer', async () => {
    const revoked = `@revoked * ${caPublicKey('hostCa').split(' ').slice(0, 2).join(' ')}`;
    const { body } = await exec({ username: pw.user, password: pw.password, knownHosts: `${caLine('hostCa')}\n${revoked}\n` });
    assert.equal(body.error?.code, 'untrusted_peer');
    assert.match(body.error.message, /CA key is marked @revoked/);
  });

  test('a plain known_hosts line still accepts the certified key', async () => {
    const line = `[${host}]:${port} ${hostPublicKey('ed25519').split(' ').slice(0, 2).join(' ')}`;
    const { body } = await exec({ username: pw.user, password: pw.password, knownHosts: `${caLine('otherCa')}\n${line}\n` });
    assert.equal(body.result?.stdout, `${pw.user}\n`, JSON.stringify(body));
    assert.equal(body.result.server.hostKey.certificate.keyId, 'portolan-host-ed25519');
  });
});

describe('user certificates (TrustedUserCAKeys)', () => {
  test('an Ed25519 key with its certificate logs in', async () => {
    const { status, body } = await exec({ username: certUser, privateKey: clientKey('cert'), certificate: userCertificate('cert') });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.result.stdout, `${certUser}\n`);
  });

  test('an RSA key with its certificate logs in (rsa-sha2-512-cert-v01)', async () => {
    const { body } = await call('ssh', 'exec', { host, port, username: certUser, privateKey: clientKey('certRsa'), certificate: userCertificate('certRsa'), command: 'id -un' }, { transcript: true });
    assert.equal(body.result?.stdout, `${certUser}\n`, JSON.stringify(body.error));
    assert.ok(JSON.stringify(body.transcript).includes('method=publickey rsa-sha2-512-cert-v01@openssh.com'));
  });

  test('the same key without its certificate is refused by the server', async () => {
    const { body } = await exec({ username: certUser, privateKey: clientKey('cert') });
    assert.equal(body.error?.code, 'auth_failed');
    assert.match(body.error.message, /the key was not accepted; the server offers publickey/);
  });

  test('a certificate from a CA the server does not trust is refused, naming the CA', async () => {
    const { body } = await exec({ username: certUser, privateKey: clientKey('cert'), certificate: userCertificate('certOtherCa') });
    assert.equal(body.error?.code, 'auth_failed');
    assert.ok(body.error.message.includes(`CA ${fingerprintOf(caPublicKey('otherCa'))}`), body.error.message);
    assert.match(body.error.message, /the server does not trust its CA for sshcert .*; the server offers publickey/);
  });

  test('an expired certificate is refused, with its dates', async () => {
    const { body } = await exec({ username: certUser, privateKey: clientKey('cert'), certificate: userCertificate('certExpired') });
    assert.equal(body.error?.code, 'auth_failed');
    assert.match(body.error.message, /certificate "portolan-certExpired" \(serial 7, .*valid 2020-01-01T00:00:00Z to 2020-01-02T00:00:00Z\): it has expired at 2020-01-02T00:00:00Z; the server offers publickey/);
  });

  test('a certificate for another principal is refused, naming the principals', async () => {
    const { body } = await exec({ username: certUser, privateKey: clientKey('cert'), certificate: userCertificate('certOtherUser') });
    assert.equal(body.error?.code, 'auth_failed');
    assert.match(body.error.message, /its principals \(sshpass\) do not include sshcert/);
  });

  test('a certificate of another key is invalid_input on certificate', async () => {
    const { status, body } = await exec({ username: certUser, privateKey: clientKey('certRsa'), certificate: userCertificate('cert') });
    assert.equal(status, 400);
    assert.equal(body.error.code, 'invalid_input');
    assert.match(body.error.message, /^certificate: certifies another key \(SHA256:/);
  });
});

/**
 * The certificate sshd as a jump host (`via`) for another protocol's operation: the jump host logs us in only
 * with a user certificate (sshcert has no authorized_keys line) and shows only its host certificate to a
 * knownHosts that names its CA. The operation behind it is an echo through a direct-tcpip channel.
 */
describe('certificates for a `via` jump host', () => {
  before(() => ensureLab(['foundation'], { quiet: true }));
  const echo = { host: '127.0.0.1', port: ports.foundation.echo };
  const via = { host, port, username: certUser, privateKey: clientKey('cert'), certificate: userCertificate('cert'), knownHosts: caLine('hostCa') };

  test('a user certificate logs in and a host certificate from the trusted CA is accepted', async () => {
    const { status, body } = await call('echo', 'send', { ...echo, data: 'through a certified bastion', via }, { transcript: true });
    assert.equal(status, 200, JSON.stringify(body.error));
    assert.equal(body.result.text, 'through a certified bastion');
    assert.match(JSON.stringify(body.transcript), new RegExp(`through SSH jump host 127\\.0\\.0\\.1:${port}`));
  });

  test('without the certificate the same key is refused by the jump host', async () => {
    const { status, body } = await call('echo', 'send', { ...echo, data: 'x', via: { ...via, certificate: undefined } });
    assert.equal(status, 502);
    assert.equal(body.error.code, 'auth_failed');
  });

  test('a user certificate from an untrusted CA is refused, naming the CA', async () => {
    const { body } = await call('echo', 'send', { ...echo, data: 'x', via: { ...via, certificate: userCertificate('certOtherCa') } });
    assert.equal(body.error?.code, 'auth_failed');
    assert.ok(body.error.message.includes(`CA ${fingerprintOf(caPublicKey('otherCa'))}`), body.error.message);
  });

  test('a host certificate from a CA knownHosts does not name is untrusted_peer', async () => {
    const { status, body } = await call('echo', 'send', { ...echo, data: 'x', via: { ...via, knownHosts: caLine('otherCa') } });
    assert.equal(status, 502);
    assert.equal(body.error.code, 'untrusted_peer');
    assert.ok(body.error.message.includes(`signed by CA ${fingerprintOf(caPublicKey('hostCa'))}, which no @cert-authority line`), body.error.message);
  });

  test('a certificate of another key is invalid_input on via.certificate', async () => {
    const { status, body } = await call('echo', 'send', { ...echo, data: 'x', via: { ...via, privateKey: clientKey('certRsa') } });
    assert.equal(status, 400);
    assert.equal(body.error.code, 'invalid_input');
    assert.match(body.error.message, /^via\.certificate: certifies another key \(SHA256:/);
  });
});
