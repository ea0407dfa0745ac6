// The target guard (ARCHITECTURE.md "Hosts and policy"): decides every dial, first and second hops alike.
//
// How it works: the port is checked first (no lookup for a refused port). An IP literal is judged as is,
// in every reading a connector might give it. A name is resolved once (A and AAAA together, no second
// lookup for the Cloudflare check) and EVERY address must pass: the policy, then on Workers the Cloudflare
// ranges. A name that only means something locally (`.internal`, single labels...) must resolve into the
// explicit allow list. The first address is returned so a host can connect to exactly what was checked
// (not on Workers, which connect by name; an IP literal is always returned in its canonical spelling).
import { InvalidInput, PortolanError, TargetBlocked } from '../core/errors.ts';
import type { TargetGuard } from '../core/runner.ts';
import { cloudflareRange } from './cloudflare-ranges.ts';
import { formatIp, parseIp, parseIpv4, sameAddress, type IpAddress } from '../core/ip.ts';
import { classifyHost, isLocalhostName } from './names.ts';
import { decideAddress, matchAllowList, type TargetPolicy } from './policy.ts';
import type { Resolver } from './resolver.ts';

export type GuardRuntime = 'workers' | 'node' | 'browser';

export interface GuardOptions {
  policy: TargetPolicy;
  resolver: Resolver;
  runtime: GuardRuntime;
  /** On Workers: refuse targets in Cloudflare's own ranges, which connect() cannot reach. */
  cloudflareCheck: boolean;
}

/** RFC 6761 §6.3: localhost names are the loopback address, without asking any resolver. */
const LOCALHOST_ADDRESSES = ['127.0.0.1', '::1'];

const SMTP_RELAY_PORT = 25;

const WORKERS_ALTERNATIVE = 'Or use the Node host (`portolan serve`), which has no such platform restriction.';

/** One address under judgement, and how the user spelled the target. */
interface Candidate {
  addr: IpAddress;
  /** How the message names it: "127.0.0.1 is", "0x7f.1 is 127.0.0.1,", "db.example resolves to 10.0.0.5,". */
  subject: string;
}

export function checkPort(port: number, runtime: GuardRuntime): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw InvalidInput.field('port', `${port} is not a port: use a whole number from 1 to 65535`);
  }
  if (runtime === 'workers' && port === SMTP_RELAY_PORT) {
    const reason = 'Cloudflare Workers may not open outbound connections to port 25: the platform blocks SMTP relay from Workers.';
    const alternatives = ['Use the submission ports 587 (STARTTLS) or 465 (implicit TLS).', WORKERS_ALTERNATIVE];
    throw new TargetBlocked(`port 25 is refused here. ${reason} ${alternatives.join(' ')}`, { port, runtime, reason, alternatives });
  }
}

export function createGuard(opts: GuardOptions): TargetGuard {
  const { policy, resolver, runtime } = opts;
  const cloudflareCheck = opts.cloudflareCheck && runtime === 'workers';

  const judge = (c: Candidate, host: string, port: number, hop: 'first' | 'second', localOnly: string | null): void => {
    const address = formatIp(c.addr);
    const lead = hop === 'second' ? 'second hop: ' : '';
    const decision = decideAddress(c.addr, policy);
    if (!decision.allowed) {
      throw new TargetBlocked(`${lead}${c.subject} in ${decision.range} (${decision.reason}), which this deployment does not allow`, {
        host,
        port,
        hop,
        address,
        range: decision.range,
        reason: decision.reason,
      });
    }
    if (localOnly !== null && matchAllowList(c.addr, policy) === null) {
      throw new TargetBlocked(`${lead}${host} is a ${localOnly}; such names must resolve into ALLOW_TARGETS, and ${address} is not in it`, {
        host,
        port,
        hop,
        address,
        reason: localOnly,
      });
    }
    const cloudflare = cloudflareCheck ? cloudflareRange(c.addr) : null;
    if (cloudflare !== null) {
      const reason =
        "Workers sockets cannot connect to Cloudflare-proxied hosts: the platform rejects connect() to Cloudflare's own addresses.";
      const alternatives = ["Connect to the origin server's own address (not the proxied name).", WORKERS_ALTERNATIVE];
      throw new TargetBlocked(`${lead}${c.subject} in Cloudflare's ${cloudflare}. ${reason} ${alternatives.join(' ')}`, {
        host,
        port,
        hop,
        address,
        range: cloudflare,
        runtime,
        reason,
        alternatives,
      });
    }
  };

  const resolve = async (name: string): Promise<IpAddress[]> => {
    let answers: string[];
    try {
      answers = isLocalhostName(name) ? LOCALHOST_ADDRESSES : await resolver.resolve(name);
    } catch (e) {
      if (e instanceof PortolanError) throw e;
      throw new PortolanError('refused', `could not resolve ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const addrs: IpAddress[] = [];
    for (const answer of answers) {
      const addr = typeof answer === 'string' ? parseIp(answer) : null;
      if (!addr) throw new PortolanError('refused', `could not resolve ${name}: the resolver returned ${JSON.stringify(answer)}, not an address`);
      if (!addrs.some((a) => sameAddress(a, addr))) addrs.push(addr);
    }
    if (addrs.length === 0) throw new PortolanError('refused', `could not resolve ${name}: no A or AAAA records`);
    return addrs;
  };

  return {
    async check(host: string, port: number, hop: 'first' | 'second'): Promise<{ address?: string }> {
      checkPort(port, runtime);
      const target = classifyHost(host);
      if (target.kind === 'ip') {
        const { addr } = target;
        const canonical = formatIp(addr);
        const spelled = host.replace(/^\[|\]$/g, '').split('%')[0] === canonical;
        judge({ addr, subject: spelled ? `${canonical} is` : `${host} is ${canonical},` }, host, port, hop, null);
        // A part with a leading zero is octal to inet_aton but decimal to some parsers: both readings must pass.
        const decimal = addr.family === 4 ? parseIpv4(host, { leadingZeroIsDecimal: true }) : null;
        if (decimal && !sameAddress(decimal, addr)) {
          judge({ addr: decimal, subject: `${host} can also be read as ${formatIp(decimal)},` }, host, port, hop, null);
        }
        return { address: addr.zone === undefined ? canonical : `${canonical}%${addr.zone}` };
      }
      const { name, localOnly } = target;
      if (localOnly !== null && policy.allow.length === 0 && !isLocalhostName(name)) {
        // Nothing could be allowed, and a public resolver has no answer for such a name: refuse without a lookup.
        throw new TargetBlocked(`${hop === 'second' ? 'second hop: ' : ''}${host} is a ${localOnly}, which this deployment does not allow`, {
          host,
          port,
          hop,
          reason: localOnly,
        });
      }
      const addrs = await resolve(name);
      for (const addr of addrs) judge({ addr, subject: `${host} resolves to ${formatIp(addr)},` }, host, port, hop, localOnly);
      // The checked address: hosts connect to it where they can (plain TCP everywhere, TLS on Node with
      // the name for SNI), so a second resolution cannot swap the target. Workers dial TLS by name,
      // since connect() validates the certificate against the name it is given.
      return { address: formatIp(addrs[0]) };
    },
  };
}
