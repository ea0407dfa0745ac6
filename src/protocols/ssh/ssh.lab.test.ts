// Lab tests: OpenSSH sshd from Debian (lab/servers/ssh.ts) driven through workerd's HTTP API.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ensureLab } from '../../../lab/index.ts';
import { bigFileBytes, clientKey, fingerprintOf, hostPublicKey, sshFacts } from '../../../lab/servers/ssh.ts';
import { call } from '../../../test/harness.ts';

const host = '127.0.0.1';
const port = sshFacts.port;
const pw = sshFacts.users.password;
const kbd = sshFacts.users.keyboardInteractive;

before(() => ensureLab(['ssh'], { quiet: true }));

function exec(input: Record<string, unknown>, opts: { transcript?: boolean } = {}) {
  return call('ssh', 'exec', { host, port, username: pw.user, password: pw.password, ...input }, opts);
}

describe('probe', () => {
  test('reports the banner, every KEXINIT list, each host key fingerprint, auth methods and weak algorithms', async () => {
    const { status, body } = await call('ssh', 'probe', { host, port, username: pw.user });
    assert.equal(status, 200, JSON.stringify(body));
    const r = body.result;
    assert.match(r.banner.version, /^SSH-2\.0-OpenSSH_9\.2p1 Debian/);
    assert.equal(r.banner.software, 'OpenSSH_9.2p1');
    assert.ok(r.kexinit.kex.includes('curve25519-sha256'));
    assert.ok(r.kexinit.kex.includes('sntrup761x25519-sha512@openssh.com'));
    assert.deepEqual(r.kexinit.hostKey, ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    assert.ok(r.kexinit.cipherClientToServer.includes('chacha20-poly1305@openssh.com'));
    assert.ok(r.kexinit.macServerToClient.includes('hmac-sha2-256-etm@openssh.com'));
    assert.equal(r.strictKex, true);
    // One fingerprint per host key the server holds, equal to what ssh-keygen computes from the .pub files.
    const byType = Object.fromEntries(r.hostKeys.map((k: { type: string; fingerprint: string }) => [k.type, k.fingerprint]));
    assert.deepEqual(byType, {
      'ssh-ed25519': fingerprintOf(hostPublicKey('ed25519')),
      'ecdsa-sha2-nistp256': fingerprintOf(hostPublicKey('ecdsa256')),
      'ecdsa-sha2-nistp384': fingerprintOf(hostPublicKey('ecdsa384')),
      'ecdsa-sha2-nistp521': fingerprintOf(hostPublicKey('ecdsa521')),
      'ssh-rsa': fingerprintOf(hostPublicKey('rsa')),
    });
    assert.equal(r.hostKeys.find((k: { type: string }) => k.type === 'ssh-rsa').bits, 3072);
    assert.deepEqual(r.authMethods, ['password']);
    assert.equal(r.authBanner, `${sshFacts.banner}\n`);
    const weak = r.weak.map((w: { algorithm: string }) => w.algorithm);
    for (const a of ['ssh-rsa', 'hmac-sha1', 'umac-64@openssh.com']) assert.ok(weak.includes(a), `${a} flagged`);
    assert.ok(!weak.includes('ssh-ed25519'));
    // The post-quantum hybrid OpenSSH prefers, under both its names, is one we speak; group18 (8192-bit) is not.
    assert.deepEqual(r.kexinit.kex.slice(0, 2), ['sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com']);
    assert.deepEqual(
      r.kexinit.kex.filter((k: string) => r.notSupportedHere.includes(k)),
      ['diffie-hellman-group18-sha512'],
    );
  });

  test('lists the methods another user may use', async () => {
    const { body } = await call('ssh', 'probe', { host, port, username: kbd.user });
    assert.deepEqual(body.result.authMethods, ['keyboard-interactive']);
  });
});

describe('post-quantum key exchange', () => {
  for (const kex of ['sntrup761x25519-sha512@openssh.com', 'sntrup761x25519-sha512']) {
    test(`${kex} runs a command`, async () => {
      const { status, body } = await exec({ command: 'echo "$((6 * 7))"; echo pq >&2', algorithms: { kex: [kex] } });
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.result.server.algorithms.kex, kex);
      assert.equal(body.result.stdout, '42\n');
      assert.equal(body.result.stderr, 'pq\n');
      assert.equal(body.result.exitStatus, 0);
    });
  }

  test('is our first offer, so OpenSSH and we agree on it by default', async () => {
    const { status, body } = await exec({ command: 'true' });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.result.server.algorithms.kex, 'sntrup761x25519-sha512@openssh.com');
  });
});

describe('exec with password', () => {
  test('keeps stdout and stderr apart and returns the exit status', async () => {
    const { status, body } = await exec({ command: 'echo out; echo err >&2; exit 7' });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.result.stdout, 'out\n');
    assert.equal(body.result.stderr, 'err\n');
    assert.equal(body.result.exitStatus, 7);
    assert.equal(body.result.exitSignal, null);
    assert.equal(body.result.auth.method, 'password');
    assert.equal(body.result.server.hostKey.fingerprint, fingerprintOf(hostPublicKey('ed25519')));
    assert.equal(body.result.server.algorithms.strictKex, true);
  });

  test('reports a signal', async () => {
    const { body } = await exec({ command: 'kill -TERM $$' });
    assert.equal(body.result.exitStatus, null);
    assert.equal(body.result.exitSignal.name, 'TERM');
  });

  test('passes stdin and accepted environment variables', async () => {
    const { body } = await exec({ command: 'cat; echo "[$PORTOLAN_LAB]"', stdin: 'line one\nline two\n', env: { PORTOLAN_LAB: 'yes please' } });
    assert.equal(body.result.stdout, 'line one\nline two\n[yes please]\n');
  });

  test('reads more output than the window, byte-exact, with flow control', async () => {
    // 6 MB is three times our 2 MiB window: the server must wait for WINDOW_ADJUST.
    const { body } = await exec({ command: 'seq 1 800000', maxOutputBytes: 16 * 1024 * 1024 });
    const expected = Array.from({ length: 800000 }, (_, i) => `${i + 1}\n`).join('');
    assert.equal(body.result.stdout.length, expected.length);
    assert.equal(body.result.stdout, expected);
    assert.equal(body.result.truncated, false);
  });

  test('caps output and says so', async () => {
    const { body } = await exec({ command: 'head -c 100000 /dev/zero | tr "\\0" x', maxOutputBytes: 10 });
    assert.equal(body.result.stdout, 'xxxxxxxxxx');
    assert.equal(body.result.truncated, true);
  });

  test('returns binary output as base64', async () => {
    const { body } = await exec({ command: 'printf "\\000\\001\\377"', encoding: 'base64' });
    assert.equal(body.result.stdout, 'AAH/');
  });

  test('the transcript never holds the password', async () => {
    const { body } = await exec({ command: 'true' }, { transcript: true });
    const text = JSON.stringify(body.transcript);
    assert.ok(!text.includes(pw.password));
    assert.ok(!text.includes(Buffer.from(pw.password).toString('hex')));
    assert.ok(text.includes('method=password password=****'));
  });
});

describe('re-keying (RFC 4253 9)', () => {
  test('the server re-keys every 32 KiB (RekeyLimit) while 600 KB flow; the output stays byte-exact', async () => {
    const { status, body } = await exec({ port: sshFacts.rekeyPort, command: 'seq 1 100000', maxOutputBytes: 1 << 20 });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.result.stdout, Array.from({ length: 100000 }, (_, i) => `${i + 1}\n`).join(''));
    assert.ok(body.result.server.keyExchanges >= 3, `only ${body.result.server.keyExchanges} key exchanges`);
  });

  test('we re-key after rekeyLimitBytes while sending 300 KB of stdin', async () => {
    const stdin = 'portolan\n'.repeat(30000);
    const { body } = await exec({ command: 'md5sum', stdin, rekeyLimitBytes: 32 * 1024 });
    assert.equal(body.result.stdout, `${createHash('md5').update(stdin).digest('hex')}  -\n`);
    assert.ok(body.result.server.keyExchanges >= 5, `only ${body.result.server.keyExchanges} key exchanges`);
  });

  test('rekeyIntervalSeconds re-keys a quiet connection on time (nothing sent, nothing received); the output after it is byte-exact', async () => {
    // The lab sshd has no time limit of its own, and we send nothing while the command sleeps: only our
    // timer can start the re-exchanges, once a second. Without it the count would be 2 at most (one more
    // started when we send CHANNEL_CLOSE at the end).
    const started = Date.now();
    const { status, body } = await exec({ command: 'sleep 2.5; seq 1 5000', rekeyIntervalSeconds: 1 }, { transcript: true });
    const ms = Date.now() - started;
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.result.stdout, Array.from({ length: 5000 }, (_, i) => `${i + 1}\n`).join(''));
    assert.equal(body.result.exitStatus, 0);
    const n = body.result.server.keyExchanges;
    assert.ok(n >= 3 && n <= 5, `${n} key exchanges in ${ms} ms`);
    // Both timed re-exchanges were started by us, before the command printed anything.
    const entries: Array<{ t: number; decode?: string }> = body.transcript.entries;
    const firstData = entries.find((e) => e.decode?.startsWith('← CHANNEL_DATA'));
    assert.ok(firstData, 'the transcript shows the channel data');
    const ours = entries.filter((e) => e.decode === 'starting key re-exchange');
    const quiet = ours.filter((e) => e.t < firstData.t);
    assert.ok(quiet.length >= 2, `re-exchanges started by us at ${ours.map((e) => Math.round(e.t)).join(', ')} ms; first data at ${Math.round(firstData.t)} ms`);
    assert.ok(quiet[1].t - quiet[0].t >= 900, `re-exchanges ${Math.round(quiet[1].t - quiet[0].t)} ms apart`);
    console.error(`# quiet exec: ${n} key exchanges, ours at ${ours.map((e) => Math.round(e.t)).join(', ')} ms, first data at ${Math.round(firstData.t)} ms, call ${ms} ms`);
  });

  test('rekeyIntervalSeconds below 1 is invalid input', async () => {
    const { status, body } = await exec({ command: 'true', rekeyIntervalSeconds: 0 });
    assert.equal(status, 400, JSON.stringify(body));
    assert.equal(body.error.code, 'invalid_input');
    assert.match(JSON.stringify(body.error), /rekeyIntervalSeconds/);
  });
});

/** The lab's host key file behind each host key algorithm (both RSA signature algorithms use the one RSA key). */
const HOST_KEY_FILE: Record<string, (typeof sshFacts.hostKeyTypes)[number]> = {
  'ssh-ed25519': 'ed25519',
  'ecdsa-sha2-nistp256': 'ecdsa256',
  'ecdsa-sha2-nistp384': 'ecdsa384',
  'ecdsa-sha2-nistp521': 'ecdsa521',
  'rsa-sha2-512': 'rsa',
  'rsa-sha2-256': 'rsa',
};

/**
 * The full cross product: every key exchange x every host key algorithm the lab sshd holds x every cipher/MAC
 * suite (810 connections), each its own connection through workerd with our offer restricted to that one
 * combination. 12 run at once (SSH_MATRIX_CONCURRENCY), far below the lab sshd's MaxStartups 200; on two
 * cores the sshd children are the bottleneck, not HTTP, so one API call per combination costs little.
 * They log in with an Ed25519 key: a password costs sshd a yescrypt hash (about 30 ms of CPU) per connection,
 * which made the matrix about 1.6 times slower, and password logins are tested above.
 */
describe('key exchange x host key x cipher/MAC matrix', { concurrency: Number(process.env.SSH_MATRIX_CONCURRENCY ?? 12) }, () => {
  const kex = ['sntrup761x25519-sha512@openssh.com', 'curve25519-sha256', 'curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp521', 'diffie-hellman-group14-sha256', 'diffie-hellman-group16-sha512', 'diffie-hellman-group-exchange-sha256'];
  const hostKeys = Object.keys(HOST_KEY_FILE);
  const suites: Array<{ cipher: string; mac: string | null }> = [
    ...['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com'].map((cipher) => ({ cipher, mac: null })),
    ...['aes128-ctr', 'aes192-ctr', 'aes256-ctr'].flatMap((cipher) => ['hmac-sha2-256', 'hmac-sha2-512', 'hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com'].map((mac) => ({ cipher, mac }))),
  ];
  const cases = kex.flatMap((k) => hostKeys.flatMap((h) => suites.map((s) => ({ kex: k, hostKey: h, ...s }))));

  test('covers 9 key exchanges x 6 host key algorithms x 15 cipher/MAC suites', () => {
    assert.equal(new Set(cases.map((c) => `${c.kex} ${c.hostKey} ${c.cipher} ${c.mac}`)).size, 9 * 6 * 15);
  });

  cases.forEach((c, i) => {
    test(`${c.kex} x ${c.hostKey} x ${c.cipher}${c.mac ? ` + ${c.mac}` : ''}`, async () => {
      // stdin comes back through `cat`: both directions carry it under the negotiated cipher and MAC; its length
      // differs from case to case, so the packets take many padding lengths.
      const stdin = `${i} ${c.kex} ${c.hostKey} ${c.cipher} ${c.mac} é€\n${'x'.repeat(i % 97)}\n`;
      const algorithms = { kex: [c.kex], hostKey: [c.hostKey], cipher: [c.cipher], ...(c.mac ? { mac: [c.mac] } : {}) };
      const { status, body } = await call('ssh', 'exec', { host, port, username: sshFacts.users.ed25519.user, privateKey: clientKey('ed25519'), command: 'cat', stdin, algorithms });
      assert.equal(status, 200, JSON.stringify(body.error ?? body));
      const server = body.result.server;
      assert.deepEqual(server.algorithms, { kex: c.kex, hostKey: c.hostKey, cipher: c.cipher, mac: c.mac, strictKex: true });
      assert.equal(server.hostKey.fingerprint, fingerprintOf(hostPublicKey(HOST_KEY_FILE[c.hostKey])));
      assert.equal(body.result.stdout, stdin);
      assert.equal(body.result.exitStatus, 0);
    });
  });
});

describe('algorithm offers', () => {
  test('ssh-rsa (SHA-1) only when asked for explicitly', async () => {
    const { body } = await exec({ command: 'true', algorithms: { hostKey: ['ssh-rsa'] } });
    assert.equal(body.result.server.algorithms.hostKey, 'ssh-rsa');
    const dflt = await exec({ command: 'true', algorithms: { hostKey: ['rsa-sha2-512', 'rsa-sha2-256'] } });
    assert.equal(dflt.body.result.server.algorithms.hostKey, 'rsa-sha2-512');
  });

  test('an algorithm we do not implement is invalid input', async () => {
    const { status, body } = await exec({ command: 'true', algorithms: { cipher: ['3des-cbc'] } });
    assert.equal(status, 400);
    assert.equal(body.error.code, 'invalid_input');
    assert.match(body.error.message, /algorithms\.cipher: 3des-cbc is not supported/);
  });
});

describe('publickey authentication', () => {
  const keys = Object.keys(sshFacts.clientKeys) as (keyof typeof sshFacts.clientKeys)[];
  for (const name of keys) {
    const spec = sshFacts.clientKeys[name];
    test(`${name} (${spec.type}, ${spec.format}${'passphrase' in spec ? ', encrypted' : ''}) logs in as ${spec.user}`, async () => {
      const { status, body } = await call('ssh', 'exec', {
        host,
        port,
        username: spec.user,
        privateKey: clientKey(name),
        ...('passphrase' in spec ? { passphrase: spec.passphrase } : {}),
        command: 'whoami',
        timeoutMs: 20000,
      });
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.result.stdout, `${spec.user}\n`);
      assert.equal(body.result.auth.method, 'publickey');
    });
  }

  test('a key the server does not know fails with auth_failed', async () => {
    const { status, body } = await call('ssh', 'exec', { host, port, username: 'sshrsa', privateKey: clientKey('ed25519'), command: 'true' });
    assert.equal(status, 502);
    assert.equal(body.error.code, 'auth_failed');
    assert.match(body.error.message, /the key was not accepted/);
  });

  test('an encrypted key without its passphrase is refused before connecting', async () => {
    const { status, body } = await call('ssh', 'exec', { host, port, username: 'sshed25519', privateKey: clientKey('ed25519Enc'), command: 'true' });
    assert.equal(status, 400);
    assert.equal(body.error.code, 'invalid_input');
    assert.equal(body.error.message, 'passphrase: the private key is encrypted: give its passphrase');
  });

  test('a wrong passphrase says so', async () => {
    const { body } = await call('ssh', 'exec', { host, port, username: 'sshed25519', privateKey: clientKey('ed25519Enc'), passphrase: 'not it', command: 'true' });
    assert.equal(body.error.code, 'invalid_input');
    assert.equal(body.error.message, 'passphrase: wrong passphrase for the private key');
  });

  test('an unsupported key format is invalid input naming the format', async () => {
    const { body } = await call('ssh', 'exec', { host, port, username: 'sshrsa', privateKey: 'PuTTY-User-Key-File-3: ssh-rsa\nEncryption: none\n', command: 'true' });
    assert.equal(body.error.code, 'invalid_input');
    assert.match(body.error.message, /PuTTY/);
  });
});

describe('keyboard-interactive and auth outcomes', () => {
  test('keyboard-interactive with explicit responses', async () => {
    const { body } = await call('ssh', 'exec', { host, port, username: kbd.user, responses: [kbd.password], command: 'whoami' });
    assert.equal(body.result.stdout, `${kbd.user}\n`);
    assert.equal(body.result.auth.method, 'keyboard-interactive');
  });

  test('keyboard-interactive answered with the password', async () => {
    const { body } = await call('ssh', 'exec', { host, port, username: kbd.user, password: kbd.password, command: 'whoami' });
    assert.equal(body.result.stdout, `${kbd.user}\n`);
  });

  test('a wrong password is auth_failed: wrong password', async () => {
    const { status, body } = await exec({ password: 'not the password', command: 'true' });
    assert.equal(status, 502);
    assert.equal(body.error.code, 'auth_failed');
    assert.match(body.error.message, /^authentication failed for sshpass: wrong password/);
    assert.equal(body.error.detail.reason, 'wrong_credentials');
  });

  test('a method the server does not allow is auth_failed: method_not_allowed', async () => {
    const { body } = await call('ssh', 'exec', { host, port, username: 'sshed25519', password: 'whatever', command: 'true' });
    assert.equal(body.error.code, 'auth_failed');
    assert.equal(body.error.detail.reason, 'method_not_allowed');
    assert.match(body.error.message, /does not allow password or keyboard-interactive for sshed25519; it offers publickey/);
  });
});

describe('host key pinning', () => {
  test('a matching fingerprint is accepted', async () => {
    const { body } = await exec({ command: 'echo pinned', hostKeyFingerprint: fingerprintOf(hostPublicKey('ed25519')) });
    assert.equal(body.result.stdout, 'pinned\n');
  });

  test('a wrong fingerprint is untrusted_peer naming both', async () => {
    const wrong = 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU';
    const { status, body } = await exec({ command: 'echo never', hostKeyFingerprint: wrong });
    assert.equal(status, 502);
    assert.equal(body.error.code, 'untrusted_peer');
    assert.ok(body.error.message.includes(fingerprintOf(hostPublicKey('ed25519'))));
    assert.ok(body.error.message.includes(wrong));
  });

  test('known_hosts lines: the matching type is preferred and accepted', async () => {
    const line = `[127.0.0.1]:${port} ${hostPublicKey('ecdsa384').split(' ').slice(0, 2).join(' ')}`;
    const { body } = await exec({ command: 'echo known', knownHosts: `# lab\n${line}\n` });
    assert.equal(body.result.stdout, 'known\n');
    assert.equal(body.result.server.algorithms.hostKey, 'ecdsa-sha2-nistp384');
  });

  test('known_hosts with another key for this host is untrusted_peer', async () => {
    const other = `[127.0.0.1]:${port} ${hostPublicKey('rsa').split(' ').slice(0, 2).join(' ')}`;
    const { body } = await exec({ command: 'true', knownHosts: other, algorithms: { hostKey: ['ssh-ed25519'] } });
    assert.equal(body.error.code, 'untrusted_peer');
    assert.ok(body.error.message.includes(fingerprintOf(hostPublicKey('ed25519'))));
    assert.ok(body.error.message.includes(fingerprintOf(hostPublicKey('rsa'))));
  });

  test('known_hosts without a line for this host is untrusted_peer', async () => {
    const { body } = await exec({ command: 'true', knownHosts: `example.org ${hostPublicKey('ed25519').split(' ').slice(0, 2).join(' ')}` });
    assert.equal(body.error.code, 'untrusted_peer');
    assert.match(body.error.message, /no line for \[127\.0\.0\.1\]:12222/);
  });
});

describe('bad peers', () => {
  const servers: net.Server[] = [];
  const fake = async (onConnect: (s: net.Socket) => void): Promise<number> => {
    const srv = net.createServer((s) => {
      s.on('error', () => {});
      onConnect(s);
    });
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return (srv.address() as net.AddressInfo).port;
  };
  after(() => {
    for (const s of servers) s.close();
  });

  test('a garbage banner is protocol_error; a greeting of another protocol is named', async () => {
    const http = await fake((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n' + 'x'.repeat(100)));
    const named = await call('ssh', 'probe', { host, port: http, timeoutMs: 3000 });
    assert.equal(named.body.error.code, 'protocol_error');
    assert.match(named.body.error.message, /^this port speaks HTTP\/1\.x, not SSH: it sent "HTTP\/1\.1 400 Bad Request"/);
    assert.match(named.body.error.detail.cause.message, /not an SSH server/);
    const p = await fake((s) => s.end('WHAT IS THIS\r\n\r\n' + 'x'.repeat(100)));
    const { body } = await call('ssh', 'probe', { host, port: p, timeoutMs: 3000 });
    assert.equal(body.error.code, 'protocol_error');
    assert.match(body.error.message, /not an SSH server/);
  });

  test('binary garbage is protocol_error', async () => {
    const p = await fake((s) => s.end(Buffer.alloc(3000, 0xfe)));
    const { body } = await call('ssh', 'probe', { host, port: p, timeoutMs: 3000 });
    assert.equal(body.error.code, 'protocol_error');
  });

  test('an absurd packet length is protocol_error', async () => {
    const p = await fake((s) => s.write(Buffer.concat([Buffer.from('SSH-2.0-Fake\r\n'), Buffer.from([0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0])])));
    const { body } = await call('ssh', 'probe', { host, port: p, timeoutMs: 3000 });
    assert.equal(body.error.code, 'protocol_error');
    assert.match(body.error.message, /packet length 4294967280 is out of range/);
  });

  test('a server closing mid-exchange is closed', async () => {
    const p = await fake((s) => s.end('SSH-2.0-Fake\r\n'));
    const { body } = await call('ssh', 'probe', { host, port: p, timeoutMs: 3000 });
    assert.equal(body.error.code, 'closed');
  });

  test('a silent server hits the deadline', async () => {
    const p = await fake(() => {});
    const t0 = Date.now();
    const { status, body } = await call('ssh', 'probe', { host, port: p, timeoutMs: 1000 });
    assert.equal(status, 504);
    assert.equal(body.error.code, 'io_timeout');
    assert.ok(Date.now() - t0 < 5000);
  });
});

describe('SFTP v3', () => {
  const auth = { host, port, username: pw.user, password: pw.password };
  const sftp = (op: string, input: Record<string, unknown>) => call('ssh', `sftp-${op}`, { ...auth, ...input });
  const work = `sftp-work/t-${process.pid}-${Date.now()}`;
  const local = (p: string) => `/home/${pw.user}/${p}`;

  before(async () => {
    const { status, body } = await sftp('mkdir', { path: work, mode: '755' });
    assert.equal(status, 200, JSON.stringify(body));
  });

  test('realpath and ls show the home directory with sizes and types', async () => {
    const rp = await sftp('realpath', { path: '.' });
    assert.equal(rp.body.result.realpath, `/home/${pw.user}`);
    const { body } = await sftp('ls', { path: '.' });
    const byName = Object.fromEntries(body.result.entries.map((e: { name: string }) => [e.name, e]));
    assert.equal(byName['hello.txt'].size, sshFacts.helloFile.content.length);
    assert.equal(byName['hello.txt'].type, 'file');
    assert.equal(byName['big.bin'].size, sshFacts.bigFile.size);
    assert.equal(byName['sftp-work'].type, 'directory');
  });

  test('get returns a file byte-exact', async () => {
    const { body } = await sftp('get', { path: 'hello.txt', output: 'utf8' });
    assert.equal(body.result.content, sshFacts.helloFile.content);
    assert.equal(body.result.sha256, createHash('sha256').update(sshFacts.helloFile.content).digest('hex'));
  });

  test('the 50 MiB file streams through pipelined reads: size and SHA-256 equal the lab file', async () => {
    const { status, body } = await sftp('get', { path: sshFacts.bigFile.path, output: 'none', timeoutMs: 120_000 });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.result.size, sshFacts.bigFile.size);
    assert.equal(body.result.sha256, createHash('sha256').update(bigFileBytes()).digest('hex'));
  });

  test('a range of the big file comes back byte-exact (offset and length)', async () => {
    const offset = 1_234_567;
    const length = 3 * 1024 * 1024 + 5;
    const { body } = await sftp('get', { path: 'big.bin', offset, length, output: 'base64', timeoutMs: 60_000 });
    const got = Buffer.from(body.result.content, 'base64');
    assert.equal(got.length, length);
    assert.ok(got.equals(bigFileBytes().subarray(offset, offset + length)));
  });

  test('put writes bytes that read back equal, on disk and over SFTP; append extends the file', async () => {
    const data = randomBytes(700 * 1024);
    const path = `${work}/upload.bin`;
    const put = await sftp('put', { path, content: data.toString('base64'), encoding: 'base64', mode: '600' });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.result.size, data.length);
    assert.ok(readFileSync(local(path)).equals(data));
    assert.equal(statSync(local(path)).mode & 0o777, 0o600);
    const back = await sftp('get', { path, output: 'base64' });
    assert.ok(Buffer.from(back.body.result.content, 'base64').equals(data));
    await sftp('put', { path, content: 'tail', append: true });
    assert.ok(readFileSync(local(path)).equals(Buffer.concat([data, Buffer.from('tail')])));
  });

  test('mkdir, rename, chmod, symlink, readlink, stat, rm and rmdir', async () => {
    const dir = `${work}/dir`;
    assert.equal((await sftp('mkdir', { path: dir })).status, 200);
    await sftp('put', { path: `${dir}/a.txt`, content: 'alpha\n' });
    const mv = await sftp('rename', { path: `${dir}/a.txt`, to: `${dir}/b.txt` });
    assert.equal(mv.status, 200);
    assert.equal(readFileSync(local(`${dir}/b.txt`), 'utf8'), 'alpha\n');
    const ch = await sftp('chmod', { path: `${dir}/b.txt`, mode: '640' });
    assert.equal(ch.body.result.mode, '0640');
    assert.equal(statSync(local(`${dir}/b.txt`)).mode & 0o777, 0o640);
    const ln = await sftp('symlink', { path: `${dir}/link`, target: 'b.txt' });
    assert.equal(ln.body.result.target, 'b.txt');
    assert.equal(readlinkSync(local(`${dir}/link`)), 'b.txt');
    assert.equal((await sftp('readlink', { path: `${dir}/link` })).body.result.target, 'b.txt');
    assert.equal((await sftp('stat', { path: `${dir}/link`, followSymlinks: false })).body.result.type, 'symlink');
    assert.equal((await sftp('stat', { path: `${dir}/link` })).body.result.size, 6);
    const busy = await sftp('rmdir', { path: dir });
    assert.equal(busy.body.error.code, 'server_error');
    for (const f of ['link', 'b.txt']) assert.equal((await sftp('rm', { path: `${dir}/${f}` })).status, 200);
    assert.equal((await sftp('rmdir', { path: dir })).status, 200);
    assert.equal(existsSync(local(dir)), false);
  });

  test('a missing file is server_error NO_SUCH_FILE naming the path', async () => {
    const { status, body } = await sftp('get', { path: `${work}/missing.txt` });
    assert.equal(status, 502);
    assert.equal(body.error.code, 'server_error');
    assert.equal(body.error.detail.status, 'NO_SUCH_FILE');
    assert.match(body.error.message, /missing\.txt: No such file/);
  });
});

describe('shell with a terminal (scripted)', () => {
  test('pty-req sets TERM and size, window-change resizes, Ctrl-C interrupts, exit status and an asciicast v2 recording come back', async () => {
    const r = await call('ssh', 'shell', {
      host,
      port,
      username: pw.user,
      password: pw.password,
      cols: 100,
      rows: 30,
      record: true,
      steps: [
        { expect: '\\$ $' },
        { send: 'stty size; echo "term=$TERM"\n' },
        { expect: 'term=xterm' },
        { resize: { cols: 132, rows: 40 } },
        { send: 'stty size\n' },
        { expect: '40 132' },
        { send: 'sleep 30; echo not-$((1+1))-interrupted\n' },
        { sleepMs: 300 },
        { send: '\u0003' },
        { send: 'exit 5\n' },
      ],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const out: string = r.body.result.output;
    assert.match(out, /30 100\r\nterm=xterm-256color\r\n/);
    assert.match(out, /40 132\r\n/);
    assert.ok(out.includes('^C'));
    assert.ok(!out.includes('not-2-interrupted'));
    assert.equal(r.body.result.exitStatus, 5);
    assert.equal(r.body.result.stillRunning, false);
    const lines = r.body.result.asciicast.trimEnd().split('\n');
    assert.deepEqual({ ...JSON.parse(lines[0]), timestamp: 0 }, { version: 2, width: 100, height: 30, timestamp: 0, env: { TERM: 'xterm-256color' } });
    const events = lines.slice(1).map((l: string) => JSON.parse(l));
    assert.ok(events.some((e: unknown[]) => e[1] === 'r' && e[2] === '132x40'));
    assert.equal(events.filter((e: unknown[]) => e[1] === 'o').map((e: unknown[]) => e[2]).join(''), out);
  });

  test('an expectation that never appears is io_timeout quoting the last output', async () => {
    const { status, body } = await call('ssh', 'shell', { host, port, username: pw.user, password: pw.password, expectTimeoutMs: 500, steps: [{ send: 'echo ready\n' }, { expect: 'never-printed' }] });
    assert.equal(status, 504);
    assert.match(body.error.message, /"never-printed" did not appear within 500 ms; last output: .*ready/);
  });
});

describe('direct-tcpip forwarding', () => {
  const servers: net.Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  test('bytes reach a TCP service next to the SSH server and the answer comes back', async () => {
    const srv = net.createServer((s) => s.on('data', (d) => s.end(Buffer.concat([Buffer.from('echo:'), d]))));
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const r = await call('ssh', 'direct-tcpip', { host, port, username: pw.user, password: pw.password, toHost: '127.0.0.1', toPort: (srv.address() as net.AddressInfo).port, send: 'through the tunnel' });
    assert.equal(r.body.result.received, 'echo:through the tunnel');
    assert.equal(r.body.result.closedByPeer, true);
  });

  test('a closed port behind the SSH server is refused with the server\'s reason', async () => {
    const { status, body } = await call('ssh', 'direct-tcpip', { host, port, username: pw.user, password: pw.password, toHost: '127.0.0.1', toPort: 1 });
    assert.equal(status, 502);
    assert.equal(body.error.code, 'refused');
    assert.match(body.error.message, /127\.0\.0\.1:1 via SSH: .*connect failed/);
  });
});
