// SSH lab server: OpenSSH sshd from Debian (RFC 4251-4254) on 127.0.0.1, with every host key type,
// users for password, keyboard-interactive (PAM) and each public key type, and test client keys.
import { createHash, createPublicKey } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { labDir } from '../runner.ts';
import { exchange, expectIncludes } from '../probe.ts';
import type { LabContext, LabServer } from '../server.ts';

const p = ports.ssh;
const dir = join(labDir, 'sshd');

/** Client key files under `<labDir>/sshd/keys/`, by name: format and passphrase. */
const clientKeys = {
  ed25519: { type: 'ed25519', format: 'openssh', user: 'sshed25519' },
  ed25519Enc: { type: 'ed25519', format: 'openssh', user: 'sshed25519', passphrase: 'portolan passphrase' },
  ed25519EncGcm: { type: 'ed25519', format: 'openssh', user: 'sshed25519', passphrase: 'portolan passphrase', cipher: 'aes256-gcm@openssh.com' },
  ed25519Pkcs8: { type: 'ed25519', format: 'pkcs8', user: 'sshed25519' },
  ecdsa256: { type: 'ecdsa', bits: 256, format: 'openssh', user: 'sshecdsa' },
  ecdsa384: { type: 'ecdsa', bits: 384, format: 'openssh', user: 'sshecdsa' },
  ecdsa521: { type: 'ecdsa', bits: 521, format: 'openssh', user: 'sshecdsa' },
  ecdsa256Enc: { type: 'ecdsa', bits: 256, format: 'openssh', user: 'sshecdsa', passphrase: 'portolan passphrase' },
  ecdsa256Pem: { type: 'ecdsa', bits: 256, format: 'pem', user: 'sshecdsa' },
  ecdsa384Pkcs8: { type: 'ecdsa', bits: 384, format: 'pkcs8', user: 'sshecdsa' },
  rsa: { type: 'rsa', bits: 3072, format: 'openssh', user: 'sshrsa' },
  rsaEnc: { type: 'rsa', bits: 2048, format: 'openssh', user: 'sshrsa', passphrase: 'portolan passphrase' },
  rsaPem: { type: 'rsa', bits: 2048, format: 'pem', user: 'sshrsa' },
  rsaPkcs8: { type: 'rsa', bits: 2048, format: 'pkcs8', user: 'sshrsa' },
} as const;

/** Keys of the certificate user: no authorized_keys line, only certificates from the user CA let them in. */
const certUserKeys = {
  cert: { type: 'ed25519', format: 'openssh', user: 'sshcert' },
  certRsa: { type: 'rsa', bits: 2048, format: 'openssh', user: 'sshcert' },
} as const;

/** OpenSSH CAs (ssh-keygen -s): one signs host certificates, one user certificates, one nobody trusts. */
const certAuthorities = ['hostCa', 'userCa', 'otherCa'] as const;

/** User certificates under `<labDir>/sshd/certs/<name>-cert.pub`: the key they certify, the CA, validity. */
const userCerts = {
  cert: { key: 'cert', ca: 'userCa', principals: 'sshcert', validity: 'always:forever' },
  certRsa: { key: 'certRsa', ca: 'userCa', principals: 'sshcert', validity: 'always:forever' },
  certExpired: { key: 'cert', ca: 'userCa', principals: 'sshcert', validity: '20200101:20200102' },
  certOtherCa: { key: 'cert', ca: 'otherCa', principals: 'sshcert', validity: 'always:forever' },
  certOtherUser: { key: 'cert', ca: 'userCa', principals: 'sshpass', validity: 'always:forever' },
} as const;

/** Host certificates of the certificate sshd, by host key: the ECDSA P-256 one has expired. */
const hostCerts = {
  ed25519: { validity: 'always:forever' },
  rsa: { validity: 'always:forever' },
  ecdsa256: { validity: '20200101:20200102' },
} as const;

export type ClientKeyName = keyof typeof clientKeys | keyof typeof certUserKeys;

/** What the SSH lab serves, for tests to assert against. */
export const sshFacts = {
  port: p.sshd,
  /** The same sshd configuration, but the server re-keys every 32 KiB (RekeyLimit 32K). */
  rekeyPort: p.sshdRekey,
  /** The same again, with host certificates (HostCertificate) and a user CA (TrustedUserCAKeys). */
  certPort: p.sshdCert,
  /** Principals of the host certificates. */
  hostCertPrincipals: ['localhost', '127.0.0.1'],
  dir,
  users: {
    password: { user: 'sshpass', password: 'portolan-pass-1' },
    keyboardInteractive: { user: 'sshkbd', password: 'portolan-kbd-2' },
    ed25519: { user: 'sshed25519' },
    ecdsa: { user: 'sshecdsa' },
    rsa: { user: 'sshrsa' },
    certificate: { user: 'sshcert' },
  },
  passphrase: 'portolan passphrase',
  clientKeys,
  hostKeyTypes: ['ed25519', 'ecdsa256', 'ecdsa384', 'ecdsa521', 'rsa'] as const,
  /** A 50 MiB file of deterministic bytes in sshpass's home. */
  bigFile: { path: '/home/sshpass/big.bin', size: 50 * 1024 * 1024 },
  /** A small text file with known content in sshpass's home. */
  helloFile: { path: '/home/sshpass/hello.txt', content: 'hello from the Portolan SSH lab\n' },
  banner: 'Portolan SSH lab: authorised testing only',
} as const;

/** The private key file's text. */
export function clientKey(name: ClientKeyName): string {
  return readFileSync(join(dir, 'keys', `id_${name}`), 'utf8');
}

/** The public key line (`type base64 comment`) of a client key. */
export function clientPublicKey(name: ClientKeyName): string {
  return readFileSync(join(dir, 'keys', `id_${name}.pub`), 'utf8').trim();
}

/** A user certificate line (`type base64 comment`), as ssh-keygen -s wrote it. */
export function userCertificate(name: keyof typeof userCerts): string {
  return readFileSync(join(dir, 'certs', `${name}-cert.pub`), 'utf8').trim();
}

/** The public key line of a lab CA. */
export function caPublicKey(name: (typeof certAuthorities)[number]): string {
  return readFileSync(join(dir, 'ca', `${name}.pub`), 'utf8').trim();
}

/** The host public key line of a type (ed25519, ecdsa256, ecdsa384, ecdsa521, rsa). */
export function hostPublicKey(type: (typeof sshFacts.hostKeyTypes)[number]): string {
  return readFileSync(join(dir, `ssh_host_${type}_key.pub`), 'utf8').trim();
}

/** OpenSSH's SHA256 fingerprint of a public key line, computed here independently of the code under test. */
export function fingerprintOf(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.split(/\s+/)[1], 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

const bigFiles = new Map<number, Buffer>();

/**
 * The deterministic bytes of the big file (SHA-256 in counter mode), so tests can compare without reading it over
 * SSH. Computed once per size: 50 MiB takes seconds. Callers must not write into it.
 */
export function bigFileBytes(size: number = sshFacts.bigFile.size): Buffer {
  let out = bigFiles.get(size);
  if (out) return out;
  out = Buffer.alloc(size);
  bigFiles.set(size, out);
  for (let at = 0, block = 0; at < size; at += 32, block++) {
    const h = createHash('sha256').update(`portolan-ssh-lab-${block}`).digest();
    h.copy(out, at, 0, Math.min(32, size - at));
  }
  return out;
}

const PAM_SERVICE = 'portolan-sshd';

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

async function ensureUser(ctx: LabContext, user: string, password?: string): Promise<{ uid: number; gid: number; home: string }> {
  const exists = await ctx.exec('getent', ['passwd', user]).then(
    () => true,
    () => false,
  );
  if (!exists) await ctx.exec('useradd', ['--create-home', '--shell', '/bin/bash', user]);
  if (password) await ctx.exec('chpasswd', [], { input: `${user}:${password}\n` });
  else await ctx.exec('usermod', ['--password', '*', user]);
  const [, , uid, gid, , home] = (await ctx.exec('getent', ['passwd', user])).trim().split(':');
  return { uid: Number(uid), gid: Number(gid), home };
}

async function makeKey(ctx: LabContext, path: string, spec: { type: string; bits?: number; format: string; passphrase?: string; cipher?: string }, comment: string): Promise<void> {
  if (existsSync(path) && existsSync(`${path}.pub`)) return;
  rmSync(path, { force: true });
  rmSync(`${path}.pub`, { force: true });
  if (spec.type === 'ed25519' && spec.format === 'pkcs8') {
    // ssh-keygen cannot write Ed25519 as PKCS#8; openssl can, and ssh-keygen -y reads it back.
    await ctx.exec('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', path]);
  } else {
    const args = ['-q', '-t', spec.type, '-f', path, '-N', spec.passphrase ?? '', '-C', comment];
    if (spec.bits) args.push('-b', String(spec.bits));
    if (spec.format === 'pem') args.push('-m', 'PEM');
    if (spec.format === 'pkcs8') args.push('-m', 'PKCS8');
    if (spec.cipher) args.push('-Z', spec.cipher);
    await ctx.exec('ssh-keygen', args);
  }
  if (spec.format === 'pkcs8' && spec.type === 'ed25519') {
    // OpenSSH 9.2 cannot read it either: build the ssh-ed25519 public blob (RFC 8709 4) from the raw key.
    const x = Buffer.from(createPublicKey(readFileSync(path)).export({ format: 'jwk' }).x!, 'base64url');
    const name = Buffer.from('ssh-ed25519');
    const blob = Buffer.concat([u32(name.length), name, u32(x.length), x]);
    writeFileSync(`${path}.pub`, `ssh-ed25519 ${blob.toString('base64')} ${comment}\n`);
  }
  await ctx.exec('chmod', ['0644', path]);
}

const sshd: LabServer = {
  name: 'sshd',
  area: 'ssh',
  packages: ['openssh-server', 'openssh-client', 'openssl'],
  ports: [p.sshd, p.sshdRekey, p.sshdCert],
  async start(ctx) {
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    // Host keys of every type (sshd wants them private to root).
    const hostKeys: Record<string, string[]> = { ed25519: ['-t', 'ed25519'], ecdsa256: ['-t', 'ecdsa', '-b', '256'], ecdsa384: ['-t', 'ecdsa', '-b', '384'], ecdsa521: ['-t', 'ecdsa', '-b', '521'], rsa: ['-t', 'rsa', '-b', '3072'] };
    for (const [name, args] of Object.entries(hostKeys)) {
      const path = join(ctx.dir, `ssh_host_${name}_key`);
      if (!existsSync(path)) await ctx.exec('ssh-keygen', ['-q', ...args, '-f', path, '-N', '', '-C', `portolan-lab-${name}`]);
      await ctx.exec('chmod', ['0600', path]);
    }
    // Client keys for the tests (world-readable: they are test keys).
    mkdirSync(join(ctx.dir, 'keys'), { recursive: true, mode: 0o755 });
    for (const [name, spec] of Object.entries({ ...clientKeys, ...certUserKeys })) await makeKey(ctx, join(ctx.dir, 'keys', `id_${name}`), spec, `portolan-${name}`);

    // OpenSSH CAs, and the certificates they sign (rewritten at each start: they are cheap).
    mkdirSync(join(ctx.dir, 'ca'), { recursive: true, mode: 0o755 });
    for (const name of certAuthorities) {
      await makeKey(ctx, join(ctx.dir, 'ca', name), { type: 'ed25519', format: 'openssh' }, `portolan-${name}`);
      await ctx.exec('chmod', ['0600', join(ctx.dir, 'ca', name)]);
    }
    const certDir = join(ctx.dir, 'certs');
    rmSync(certDir, { recursive: true, force: true });
    mkdirSync(certDir, { mode: 0o755 });
    for (const [name, spec] of Object.entries(userCerts)) {
      const pub = join(certDir, `${name}.pub`);
      writeFileSync(pub, readFileSync(join(ctx.dir, 'keys', `id_${spec.key}.pub`)));
      await ctx.exec('ssh-keygen', ['-q', '-s', join(ctx.dir, 'ca', spec.ca), '-I', `portolan-${name}`, '-n', spec.principals, '-V', spec.validity, '-z', '7', pub]);
    }
    for (const [name, spec] of Object.entries(hostCerts)) {
      const pub = join(certDir, `host_${name}.pub`);
      writeFileSync(pub, readFileSync(join(ctx.dir, `ssh_host_${name}_key.pub`)));
      await ctx.exec('ssh-keygen', ['-q', '-s', join(ctx.dir, 'ca', 'hostCa'), '-h', '-I', `portolan-host-${name}`, '-n', sshFacts.hostCertPrincipals.join(','), '-V', spec.validity, '-z', '9', pub]);
    }

    // Users, authorized keys and files.
    const authDir = join(ctx.dir, 'authorized_keys');
    mkdirSync(authDir, { recursive: true, mode: 0o755 });
    const { uid, gid, home } = await ensureUser(ctx, sshFacts.users.password.user, sshFacts.users.password.password);
    await ensureUser(ctx, sshFacts.users.keyboardInteractive.user, sshFacts.users.keyboardInteractive.password);
    await ensureUser(ctx, sshFacts.users.certificate.user);
    for (const user of ['sshed25519', 'sshecdsa', 'sshrsa']) {
      await ensureUser(ctx, user);
      const lines = Object.entries(clientKeys)
        .filter(([, spec]) => spec.user === user)
        .map(([name]) => readFileSync(join(ctx.dir, 'keys', `id_${name}.pub`), 'utf8').trim());
      writeFileSync(join(authDir, user), `${lines.join('\n')}\n`, { mode: 0o644 });
    }
    const big = sshFacts.bigFile.path;
    if (!existsSync(big) || readFileSync(big).length !== sshFacts.bigFile.size) writeFileSync(big, bigFileBytes());
    writeFileSync(sshFacts.helloFile.path, sshFacts.helloFile.content);
    for (const f of [big, sshFacts.helloFile.path]) chownSync(f, uid, gid);
    rmSync(join(home, 'sftp-work'), { recursive: true, force: true });
    mkdirSync(join(home, 'sftp-work'), { mode: 0o755 });
    chownSync(join(home, 'sftp-work'), uid, gid);

    // sshd takes its PAM service name from argv[0]: a link named portolan-sshd uses our own minimal
    // PAM stack (pam_unix only), leaving Debian's /etc/pam.d/sshd (with pam_loginuid) alone.
    writeFileSync(
      `/etc/pam.d/${PAM_SERVICE}`,
      ['auth required pam_unix.so', 'account required pam_unix.so', 'password required pam_unix.so', 'session required pam_unix.so', ''].join('\n'),
    );
    const binary = join(ctx.dir, PAM_SERVICE);
    rmSync(binary, { force: true });
    symlinkSync('/usr/sbin/sshd', binary);
    ctx.writeFile('banner.txt', `${sshFacts.banner}\n`);
    const configText = (port: number, extra: string) => `# Portolan lab sshd
Port ${port}
${extra}
ListenAddress 127.0.0.1
${Object.keys(hostKeys)
  .map((name) => `HostKey ${join(ctx.dir, `ssh_host_${name}_key`)}`)
  .join('\n')}
PidFile ${join(ctx.dir, `sshd-${port}.pid`)}
LogLevel VERBOSE
UsePAM yes
StrictModes no
PermitRootLogin no
MaxStartups 200
MaxSessions 64
MaxAuthTries 10
LoginGraceTime 30
AuthorizedKeysFile ${authDir}/%u
PasswordAuthentication yes
KbdInteractiveAuthentication yes
PubkeyAuthentication yes
HostKeyAlgorithms +ssh-rsa
PubkeyAcceptedAlgorithms +ssh-rsa
AllowTcpForwarding yes
PermitTTY yes
AcceptEnv LANG LC_* PORTOLAN_*
PrintMotd no
Banner ${join(ctx.dir, 'banner.txt')}
Subsystem sftp internal-sftp
Match User ${sshFacts.users.password.user}
  AuthenticationMethods password
Match User ${sshFacts.users.keyboardInteractive.user}
  AuthenticationMethods keyboard-interactive
Match User sshed25519,sshecdsa,sshrsa,${sshFacts.users.certificate.user}
  AuthenticationMethods publickey
`;
    const config = ctx.writeFile('sshd_config', configText(p.sshd, ''));
    const rekeyConfig = ctx.writeFile('sshd_config_rekey', configText(p.sshdRekey, 'RekeyLimit 32K'));
    const certConfig = ctx.writeFile(
      'sshd_config_cert',
      configText(p.sshdCert, [...Object.keys(hostCerts).map((name) => `HostCertificate ${join(certDir, `host_${name}-cert.pub`)}`), `TrustedUserCAKeys ${join(ctx.dir, 'ca', 'userCa.pub')}`].join('\n')),
    );
    await ctx.exec(binary, ['-t', '-f', certConfig]);
    await ctx.exec(binary, ['-t', '-f', config]);
    await ctx.spawnDaemon({ command: binary, args: ['-D', '-e', '-f', config] });
    await ctx.spawnDaemon({ label: 'sshd-rekey', command: binary, args: ['-D', '-e', '-f', rekeyConfig] });
    await ctx.spawnDaemon({ label: 'sshd-cert', command: binary, args: ['-D', '-e', '-f', certConfig] });
  },
  async health() {
    for (const port of [p.sshd, p.sshdRekey, p.sshdCert]) {
      const greeting = await exchange(port, { until: (b) => b.includes('\n') });
      expectIncludes(`sshd version line on ${port}`, greeting, 'SSH-2.0-OpenSSH');
    }
  },
};

export const servers: LabServer[] = [sshd];
