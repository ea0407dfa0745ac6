// The Node host's environment for the runner: its dialer, a guard that resolves with the system resolver
// and hands the dialer the checked address, and the crypto port. Shared by `portolan serve` and the CLI.
import { sshJumpHost } from '../../protocols/ssh/jump.ts';
import { proxyHandshake } from '../../protocols/socks/hop.ts';
import { lookup } from 'node:dns/promises';
import { webCrypto } from '../../core/crypto.ts';
import { PortolanError } from '../../core/errors.ts';
import type { HostEnv } from '../../core/runner.ts';
import { createGuard, parsePolicy, type Resolver, type TargetPolicy } from '../../guard/index.ts';
import { NodeDialer } from './dialer.ts';
import { capabilitiesFrom, type RuntimeProbe } from './probe.ts';
import { zlibCodecs } from '../zlib.ts';

const MAX_ADDRESSES = 32;

/**
 * node:dns lookup() (getaddrinfo: /etc/hosts, then the system's resolvers), every address of both families.
 * The guard checks all of them and the dialer connects to the first, so no second lookup can be rebound.
 */
export const systemResolver: Resolver = {
  async resolve(name: string): Promise<string[]> {
    try {
      const answers = await lookup(name, { all: true, verbatim: true });
      return answers.slice(0, MAX_ADDRESSES).map((a) => a.address);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOTFOUND' ? 'no such name' : code === 'EAI_AGAIN' ? 'the resolver did not answer' : (e as Error).message;
      throw new PortolanError('refused', `could not resolve ${name}: ${why}`);
    }
  },
};

export interface NodeEnvOptions {
  /** ALLOW_TARGETS syntax: comma-separated CIDRs, addresses or `loopback`. */
  allowTargets?: string;
  /** A policy that replaces ALLOW_TARGETS (the CLI allows every address: its user is the operator). */
  policy?: TargetPolicy;
  probe?: RuntimeProbe;
  resolver?: Resolver;
  /** false refuses operations that run code on the target (CODE_EXECUTION=off). */
  codeExecution?: boolean;
}

export function nodeHostEnv(opts: NodeEnvOptions = {}): HostEnv {
  const dialer = new NodeDialer(opts.probe ? capabilitiesFrom(opts.probe) : undefined);
  const guard = createGuard({
    policy: opts.policy ?? parsePolicy({ ALLOW_TARGETS: opts.allowTargets }),
    resolver: opts.resolver ?? systemResolver,
    runtime: 'node',
    cloudflareCheck: false,
  });
  return { dialer, guard, crypto: webCrypto(), codecs: zlibCodecs, jump: sshJumpHost, proxy: proxyHandshake, codeExecution: opts.codeExecution };
}

/** The CLI's policy: every address, since whoever runs it can open any socket anyway. */
export const OPEN_POLICY: TargetPolicy = { allow: ['0.0.0.0/0', '::/0'] };
