// The TLS engine's lab (src/core/tls): OpenSSL's `openssl s_server` and GnuTLS's `gnutls-serv`, one per key type
// (RSA-2048, ECDSA P-256 and P-384, Ed25519) and one that asks for a client certificate, for the interoperability
// matrix; one s_server per certificate the verifier must refuse; an s_server that renegotiates on request; and a
// man in the middle in front of an s_server for the refusals no honest server produces (lab/tls-engine/tamper.ts).
//
// How it works: the certificates come from lab/tls-engine/certificates.ts (openssl, into this area's directory).
// s_server listens on 127.0.0.1 itself. gnutls-serv cannot be told an address, so all its instances run in a network
// namespace of their own (`unshare -n`, only a loopback) and lab/tls-engine/relay.ts puts each port on the host's
// 127.0.0.1 through Unix sockets. -rev (OpenSSL) and --echo (GnuTLS) answer what a client writes, so a test sees
// data cross both ways.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { ports } from '../ports.ts';
import { labDir } from '../runner.ts';
import type { LabContext, LabServer } from '../server.ts';
import { makeCertificates, type CertificateCorpus, type Identity, type RefusalCase } from '../tls-engine/certificates.ts';

const p = ports['tls-engine'];
const dir = join(labDir, 'tls-engine-certificates');

/** The corpus, made once into the lab directory (tests read the same files). */
export function tlsEngineCertificates(): CertificateCorpus {
  return makeCertificates(dir);
}

/** What each server presents, for the tests to assert against. */
export const tlsEngineFacts = {
  openssl: {
    rsa: { port: p.opensslRsa, key: 'rsa' as const },
    ecdsa256: { port: p.opensslP256, key: 'ecdsa256' as const },
    ecdsa384: { port: p.opensslP384, key: 'ecdsa384' as const },
    ed25519: { port: p.opensslEd25519, key: 'ed25519' as const },
  },
  gnutls: {
    rsa: { port: p.gnutlsRsa, key: 'rsa' as const },
    ecdsa256: { port: p.gnutlsP256, key: 'ecdsa256' as const },
    ecdsa384: { port: p.gnutlsP384, key: 'ecdsa384' as const },
    ed25519: { port: p.gnutlsEd25519, key: 'ed25519' as const },
  },
  refusals: {
    expired: p.expired,
    notYetValid: p.notYetValid,
    wrongHost: p.wrongHost,
    selfSigned: p.selfSigned,
    unknownRoot: p.unknownRoot,
    incompleteChain: p.incompleteChain,
    caWithoutBasicConstraints: p.caWithoutBasicConstraints,
    leafAsCa: p.leafAsCa,
    nameConstraints: p.nameConstraints,
    sha1: p.sha1,
    rsa1024: p.rsa1024,
  } satisfies Record<RefusalCase, number>,
  tamper: { suite: p.tamperSuite, group: p.tamperGroup, downgrade: p.tamperDowngrade, oversized: p.tamperOversized },
};

/** One TLS connection: handshake, write `send`, resolve with what arrived once `until` holds. */
function tlsExchange(port: number, opts: { send: string; until: (got: string) => boolean; client?: Identity; ciphers?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      rejectUnauthorized: false,
      ...(opts.ciphers ? { ciphers: opts.ciphers } : {}),
      ...(opts.client ? { cert: readFileSync(opts.client.cert), key: readFileSync(opts.client.key) } : {}),
    });
    const timer = setTimeout(() => done(new Error(`127.0.0.1:${port}: no answer within 3 s (got ${JSON.stringify(got.slice(0, 200))})`)), 3000);
    const done = (e?: Error) => {
      clearTimeout(timer);
      s.destroy();
      if (e) reject(e);
      else resolve(got);
    };
    s.on('secureConnect', () => s.write(opts.send));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (opts.until(got)) done();
    });
    s.on('error', (e) => done(new Error(`127.0.0.1:${port}: ${e.message}`)));
    s.on('close', () => done(opts.until(got) ? undefined : new Error(`127.0.0.1:${port}: closed after ${JSON.stringify(got.slice(0, 200))}`)));
  });
}

/** A TCP connection is accepted on 127.0.0.1:port. */
function accepts(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve();
    });
    s.on('error', (e) => reject(new Error(`127.0.0.1:${port}: ${e.message}`)));
  });
}

const reversed = (port: number, client?: Identity) => tlsExchange(port, { send: 'portolan\n', until: (g) => g.includes('nalotrop'), client });

/** An `openssl s_server` on 127.0.0.1 presenting `id`; `mode` -rev answers each line reversed, -www an HTTP status page. */
async function sServer(ctx: LabContext, label: string, port: number, id: Identity, mode: '-rev' | '-www', extra: string[] = []): Promise<void> {
  const args = ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', id.cert, '-key', id.key, ...(id.chain ? ['-cert_chain', id.chain] : []), mode, '-quiet', ...extra];
  await ctx.spawnDaemon({ label, command: '/usr/bin/openssl', args });
}

const opensslInterop: LabServer = {
  name: 'openssl-s-server',
  area: 'tls-engine',
  packages: ['openssl'],
  ports: [p.opensslRsa, p.opensslP256, p.opensslP384, p.opensslEd25519, p.opensslClientAuth, p.opensslRenegotiate],
  async start(ctx) {
    const c = tlsEngineCertificates();
    await sServer(ctx, 's_server-rsa', p.opensslRsa, c.good.rsa, '-rev');
    await sServer(ctx, 's_server-p256', p.opensslP256, c.good.ecdsa256, '-rev');
    await sServer(ctx, 's_server-p384', p.opensslP384, c.good.ecdsa384, '-rev');
    await sServer(ctx, 's_server-ed25519', p.opensslEd25519, c.good.ed25519, '-rev');
    // -Verify: a client certificate from the client CA is required (both versions); -www shows the one it verified.
    await sServer(ctx, 's_server-client-auth', p.opensslClientAuth, c.good.ecdsa256, '-www', ['-Verify', '2', '-CAfile', c.clientCa]);
    // -www answers GET /reneg by renegotiating (a HelloRequest), which only TLS 1.2 has.
    await sServer(ctx, 's_server-renegotiate', p.opensslRenegotiate, c.good.rsa, '-www', ['-tls1_2']);
  },
  async health() {
    const c = tlsEngineCertificates();
    for (const port of [p.opensslRsa, p.opensslP256, p.opensslP384, p.opensslEd25519]) await reversed(port);
    await tlsExchange(p.opensslClientAuth, { send: 'GET / HTTP/1.0\r\n\r\n', until: (g) => g.includes('HTTP/1.0 200 ok'), client: c.client.ecdsa });
    await tlsExchange(p.opensslRenegotiate, { send: 'GET / HTTP/1.0\r\n\r\n', until: (g) => g.includes('HTTP/1.0 200 ok') });
  },
};

const refusals: LabServer = {
  name: 'openssl-refusals',
  area: 'tls-engine',
  packages: ['openssl'],
  ports: [...Object.values(tlsEngineFacts.refusals), p.opensslSelfSignedWww],
  async start(ctx) {
    const c = tlsEngineCertificates();
    for (const [name, port] of Object.entries(tlsEngineFacts.refusals) as [RefusalCase, number][]) {
      // Debian's OpenSSL refuses to load a SHA-1-signed or RSA-1024 certificate at its default security level 2.
      const weak = name === 'sha1' || name === 'rsa1024' ? ['-cipher', 'DEFAULT:@SECLEVEL=0'] : [];
      await sServer(ctx, `s_server-${name}`, port, c.bad[name], '-www', weak);
    }
    await sServer(ctx, 's_server-self-signed-www', p.opensslSelfSignedWww, c.bad.selfSigned, '-www');
  },
  async health() {
    for (const [name, port] of Object.entries(tlsEngineFacts.refusals)) {
      const weak = name === 'sha1' || name === 'rsa1024' ? 'DEFAULT:@SECLEVEL=0' : undefined;
      await tlsExchange(port, { send: 'GET / HTTP/1.0\r\n\r\n', until: (g) => g.includes('HTTP/1.0 200 ok'), ciphers: weak });
    }
    await tlsExchange(p.opensslSelfSignedWww, { send: 'GET / HTTP/1.0\r\n\r\n', until: (g) => g.includes('HTTP/1.0 200 ok') });
  },
};

const GNUTLS_PORTS = [p.gnutlsRsa, p.gnutlsP256, p.gnutlsP384, p.gnutlsEd25519, p.gnutlsClientAuth];

const gnutls: LabServer = {
  name: 'gnutls-serv',
  area: 'tls-engine',
  packages: ['gnutls-bin', 'iproute2', 'util-linux'],
  ports: GNUTLS_PORTS,
  async start(ctx) {
    const c = tlsEngineCertificates();
    const sockets = join(ctx.dir, 'sockets');
    mkdirSync(sockets, { recursive: true });
    // gnutls-serv reads the chain from one file: the leaf, then the intermediate.
    const chainFile = (name: string, id: Identity) => {
      const path = join(ctx.dir, `${name}-chain.pem`);
      writeFileSync(path, readFileSync(id.cert, 'utf8') + (id.chain ? readFileSync(id.chain, 'utf8') : ''));
      return path;
    };
    const serv = (port: number, name: string, id: Identity, extra: string) => `gnutls-serv --port ${port} --echo --x509certfile ${chainFile(name, id)} --x509keyfile ${id.key} ${extra} > ${join(ctx.dir, `gnutls-${name}.log`)} 2>&1 &`;
    const script = [
      'ip link set lo up',
      serv(p.gnutlsRsa, 'rsa', c.good.rsa, '-a'),
      serv(p.gnutlsP256, 'p256', c.good.ecdsa256, '-a'),
      serv(p.gnutlsP384, 'p384', c.good.ecdsa384, '-a'),
      serv(p.gnutlsEd25519, 'ed25519', c.good.ed25519, '-a'),
      serv(p.gnutlsClientAuth, 'client-auth', c.good.ecdsa256, `-r --x509cafile ${c.clientCa}`),
      `exec ${process.execPath} --import tsx ${join(ctx.repoRoot, 'lab', 'tls-engine', 'relay.ts')} inside ${sockets} ${GNUTLS_PORTS.join(' ')}`,
    ].join('\n');
    await ctx.spawnDaemon({ label: 'gnutls-namespace', command: '/usr/bin/unshare', args: ['-n', '--', '/bin/sh', '-c', script], cwd: ctx.repoRoot });
    await ctx.spawnDaemon({ label: 'gnutls-relay', command: process.execPath, args: ['--import', 'tsx', join(ctx.repoRoot, 'lab', 'tls-engine', 'relay.ts'), 'outside', sockets, ...GNUTLS_PORTS.map(String)], cwd: ctx.repoRoot });
  },
  async health() {
    const c = tlsEngineCertificates();
    const echoed = (port: number, client?: Identity) => tlsExchange(port, { send: 'portolan\n', until: (g) => g.includes('portolan'), client });
    for (const port of GNUTLS_PORTS.slice(0, 4)) await echoed(port);
    await echoed(p.gnutlsClientAuth, c.client.ecdsa);
  },
};

const tamper: LabServer = {
  name: 'tls-tamper',
  area: 'tls-engine',
  packages: ['openssl'],
  ports: [p.tamperUpstream, p.tamperSuite, p.tamperGroup, p.tamperDowngrade, p.tamperOversized],
  async start(ctx) {
    const c = tlsEngineCertificates();
    await sServer(ctx, 's_server-tamper-upstream', p.tamperUpstream, c.good.ecdsa256, '-rev');
    const t = tlsEngineFacts.tamper;
    await ctx.spawnDaemon({
      label: 'tamper',
      command: process.execPath,
      args: ['--import', 'tsx', join(ctx.repoRoot, 'lab', 'tls-engine', 'tamper.ts'), String(p.tamperUpstream), `suite:${t.suite}`, `group:${t.group}`, `downgrade:${t.downgrade}`, `oversized:${t.oversized}`],
      cwd: ctx.repoRoot,
    });
  },
  async health() {
    await reversed(p.tamperUpstream);
    // Every proxy accepts connections (what each changes makes a handshake through it fail, by design).
    for (const port of Object.values(tlsEngineFacts.tamper)) await accepts(port);
  },
};

export const servers: LabServer[] = [opensslInterop, refusals, gnutls, tamper];
