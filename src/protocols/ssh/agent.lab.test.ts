// Agent forwarding end to end: the page's SSH client (src/hosts/browser/ssh.ts, run here in Node over the Worker's
// /api/tunnel, as the page runs it) forwards an agent holding keys that never leave it; on the lab sshd, ssh-add
// lists them and ssh logs in to a second account with them, signing through the forwarded agent.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { ensureLab } from '../../../lab/index.ts';
import { clientKey, sshFacts } from '../../../lab/servers/ssh.ts';
import { call, workerUrl } from '../../../test/harness.ts';
import { runSshInBrowser } from '../../hosts/browser/ssh.ts';

before(() => ensureLab(['ssh'], { quiet: true }));

/** The SHA256 fingerprint of a lab key, as ssh-keygen -l prints it. */
function fingerprint(name: 'ed25519' | 'rsa'): string {
  const dir = mkdtempSync(join(tmpdir(), 'portolan-agent-'));
  try {
    const file = join(dir, 'key');
    writeFileSync(file, clientKey(name), { mode: 0o600 });
    return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], { encoding: 'utf8' }).split(' ')[1];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ssh from the server to itself as `user`, never asking for a password: only the forwarded agent can let it in. */
const secondHop = (user: string) => `ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o PasswordAuthentication=no -o LogLevel=ERROR -p ${sshFacts.port} ${user}@127.0.0.1 'echo ok from $USER via agent'`;

interface ExecResult {
  stdout: string;
  stderr: string;
  exitStatus: number;
  agent: { forwarded: boolean; keys: string[]; requests: { request: string; key?: string; algorithm?: string; answered: string }[] } | null;
}

async function inPage(input: Record<string, unknown>): Promise<ExecResult> {
  const a = await runSshInBrowser('exec', { host: '127.0.0.1', port: sshFacts.port, ...input }, { origin: workerUrl() });
  assert.ok(a.ok, JSON.stringify(!a.ok && a.error));
  assert.ok(a.relayedBytes > 1000, 'the connection went through the Worker\'s tunnel');
  return a.result as ExecResult;
}

describe('ssh agent forwarding, end to end', { timeout: 120_000 }, () => {
  test('ssh-add -l on the server lists the page\'s Ed25519 key, and ssh to a second account signs with it', async () => {
    const fp = fingerprint('ed25519');
    const r = await inPage({ username: sshFacts.users.ed25519.user, privateKey: clientKey('ed25519'), forwardAgent: true, command: `ssh-add -l; ${secondHop(sshFacts.users.ed25519.user)}` });
    assert.equal(r.exitStatus, 0, r.stderr);
    const [listed, hop] = r.stdout.trim().split('\n');
    assert.match(listed, new RegExp(`^256 ${fp.replace(/[+/]/g, '\\$&')} .* \\(ED25519\\)$`));
    assert.equal(hop, `ok from ${sshFacts.users.ed25519.user} via agent`);
    assert.equal(r.agent?.forwarded, true);
    assert.deepEqual(r.agent?.keys, [fp]);
    const signs = r.agent!.requests.filter((q) => q.request === 'sign');
    assert.deepEqual(signs, [{ request: 'sign', key: fp, algorithm: 'ssh-ed25519', answered: 'signature' }]);
    assert.ok(r.agent!.requests.some((q) => q.request === 'identities'));
  });

  test('an RSA key held only by the agent: the server\'s ssh asks for rsa-sha2-512 and gets it', async () => {
    const fp = fingerprint('rsa');
    const pw = sshFacts.users.password;
    const r = await inPage({ username: pw.user, password: pw.password, forwardAgent: true, agentKeys: [{ privateKey: clientKey('rsa') }], command: `ssh-add -l; ${secondHop(sshFacts.users.rsa.user)}` });
    assert.equal(r.exitStatus, 0, r.stderr);
    const [listed, hop] = r.stdout.trim().split('\n');
    assert.match(listed, new RegExp(`^3072 ${fp.replace(/[+/]/g, '\\$&')} .* \\(RSA\\)$`));
    assert.equal(hop, `ok from ${sshFacts.users.rsa.user} via agent`);
    assert.deepEqual(r.agent!.requests.filter((q) => q.request === 'sign'), [{ request: 'sign', key: fp, algorithm: 'rsa-sha2-512', answered: 'signature' }]);
  });

  test('without forwardAgent the server has no agent, and the second hop is refused', async () => {
    const r = await inPage({ username: sshFacts.users.ed25519.user, privateKey: clientKey('ed25519'), command: `ssh-add -l; echo "ssh-add exit $?"; ${secondHop(sshFacts.users.ed25519.user)}` });
    assert.match(r.stdout, /ssh-add exit 2/);
    assert.match(r.stderr, /Could not open a connection to your authentication agent/);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
    assert.notEqual(r.exitStatus, 0);
    assert.equal(r.agent, null);
  });

  test('the Worker refuses to hold agent keys: forwardAgent through the API is invalid_input', async () => {
    const { status, body } = await call('ssh', 'exec', { host: '127.0.0.1', port: sshFacts.port, username: sshFacts.users.ed25519.user, privateKey: clientKey('ed25519'), forwardAgent: true, command: 'true' });
    assert.equal(status, 400);
    assert.equal(body.error.code, 'invalid_input');
    assert.match(body.error.message, /^forwardAgent: runs end to end only/);
  });
});
