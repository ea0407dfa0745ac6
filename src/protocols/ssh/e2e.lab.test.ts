// End-to-end mode: the SSH client runs on the user's side (here Node stands in for the browser bundle) and
// workerd only relays bytes over /api/tunnel. Everything the Worker relays is recorded: it must be ciphertext.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ensureLab } from '../../../lab/index.ts';
import { sshFacts } from '../../../lab/servers/ssh.ts';
import { workerUrl } from '../../../test/harness.ts';
import type { Capability, DialOptions, Dialer, Transport } from '../../core/conn.ts';
import { webCrypto } from '../../core/crypto.ts';
import { runOperation } from '../../core/runner.ts';
import ssh from './index.ts';

before(() => ensureLab(['ssh'], { quiet: true }));

/** A Dialer over GET /api/tunnel (what src/hosts/browser will provide), recording every relayed byte. */
function tunnelDialer(relayed: Uint8Array[]): Dialer {
  return {
    runtime: 'browser',
    capabilities: new Set<Capability>(['tcp']),
    async dial(o: DialOptions): Promise<Transport> {
      const ws = new WebSocket(`${workerUrl().replace(/^http/, 'ws')}/api/tunnel?host=${o.host}&port=${o.port}`);
      ws.binaryType = 'arraybuffer';
      const queue: (Uint8Array | null)[] = [];
      let wake: (() => void) | undefined;
      const push = (v: Uint8Array | null) => {
        queue.push(v);
        wake?.();
      };
      await new Promise<void>((resolve, reject) => {
        ws.addEventListener('message', (e) => {
          if (typeof e.data === 'string') {
            const m = JSON.parse(e.data);
            if (m.type === 'open') resolve();
            else if (m.type === 'eof' || m.type === 'error') push(null);
            return;
          }
          const bytes = new Uint8Array(e.data as ArrayBuffer);
          relayed.push(bytes);
          ws.send(JSON.stringify({ type: 'ack', bytes: bytes.length }));
          push(bytes);
        });
        ws.addEventListener('close', () => push(null));
        ws.addEventListener('error', () => reject(new Error('tunnel failed')));
      });
      return {
        async read() {
          while (queue.length === 0) await new Promise<void>((r) => (wake = r));
          const next = queue.shift()!;
          if (next === null) queue.unshift(null);
          return next;
        },
        async write(bytes) {
          relayed.push(bytes.slice());
          ws.send(bytes);
        },
        startTls: () => Promise.reject(new Error('no TLS over the tunnel here')),
        async close() {
          ws.close();
        },
        info: () => ({ remoteAddress: `${o.host}:${o.port} via /api/tunnel` }),
      };
    },
  };
}

function contains(haystack: Uint8Array, needle: string): boolean {
  return Buffer.from(haystack).includes(Buffer.from(needle));
}

test('through /api/tunnel the Worker relays only ciphertext: no password, command or output in clear', async () => {
  const relayed: Uint8Array[] = [];
  const env = { dialer: tunnelDialer(relayed), guard: { check: async () => ({}) }, crypto: webCrypto() };
  const command = 'echo the-secret-output-$((40+2)); echo portolan-plaintext-marker';
  const answer = await runOperation(env, ssh, ssh.operations.exec, { host: '127.0.0.1', port: sshFacts.port, username: sshFacts.users.password.user, password: sshFacts.users.password.password, command });
  const result = answer.result as { stdout: string; server: { algorithms: { cipher: string } } };
  assert.equal(result.stdout, 'the-secret-output-42\nportolan-plaintext-marker\n');
  const all = Buffer.concat(relayed);
  assert.ok(all.length > 1000, `only ${all.length} bytes relayed`);
  // The version lines and KEXINIT are public by design; everything after NEWKEYS is encrypted.
  assert.ok(contains(all, 'SSH-2.0-OpenSSH'));
  for (const secret of [sshFacts.users.password.password, 'portolan-plaintext-marker', 'the-secret-output', 'echo the-secret', sshFacts.users.password.user]) {
    assert.ok(!contains(all, secret), `the Worker relayed ${JSON.stringify(secret)} in clear`);
  }
});
