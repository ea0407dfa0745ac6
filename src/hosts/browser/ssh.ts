// End-to-end SSH in the browser: the SSH client (src/protocols/ssh) runs in the page and the Worker only relays
// ciphertext over /api/tunnel. The guard here allows everything: the Worker's tunnel applies the real target policy.
import { webCrypto } from '../../core/crypto.ts';
import { classify } from '../../core/errors.ts';
import { runOperation, type Answer, type HostEnv } from '../../core/runner.ts';
import ssh from '../../protocols/ssh/index.ts';
import { tunnelDialer, type TunnelDialerOptions } from './tunnel.ts';

/** What the browser entry answers: the runner's answer, or the error the API would have answered with. */
export type BrowserAnswer = (Answer & { relayedBytes: number }) | { ok: false; error: { code: string; message: string; detail?: Record<string, unknown> }; relayedBytes: number };

export const E2E_OPERATIONS = ['exec', 'probe', 'sftp-ls', 'sftp-stat'] as const;
export type E2eOperation = (typeof E2E_OPERATIONS)[number];

/** Runs one SSH operation (request/response) in this page, over the Worker's tunnel. Never throws. */
export async function runSshInBrowser(operation: E2eOperation, input: Record<string, unknown>, opts: TunnelDialerOptions & { transcript?: boolean } = {}): Promise<BrowserAnswer> {
  let relayedBytes = 0;
  const env: HostEnv = {
    dialer: tunnelDialer({
      ...opts,
      onData(dir, bytes) {
        relayedBytes += bytes.length;
        opts.onData?.(dir, bytes);
      },
    }),
    guard: { check: async () => ({}) },
    crypto: webCrypto(),
  };
  try {
    const answer = await runOperation(env, ssh, ssh.operations[operation], input, { transcript: opts.transcript });
    return { ...answer, relayedBytes };
  } catch (e) {
    return { ok: false, error: classify(e).toJSON(), relayedBytes };
  }
}
