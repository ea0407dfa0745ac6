// A resolver for the target guard over DNS over HTTPS in wire format, RFC 8484 §4.1 (POST, or GET with
// ?dns=), asking A (RFC 1035) and AAAA (RFC 3596) at once and following CNAME chains in the answer
// (RFC 1034 §3.6.2). It uses the host's fetch() (a Worker cannot open its own TLS to every resolver, and the
// guard runs before any operation), and this folder's codec to build and read the messages.
import { toBase64 } from '../../core/bytes.ts';
import { PortolanError, classify } from '../../core/errors.ts';
import { decodeMessage, encodeMessage, type DnsMessage } from './codec.ts';
import { normalizeName, sameName } from './names.ts';

/** Same shape as the guard's Resolver: a host name to its addresses; PortolanError('refused') when it cannot. */
export interface Resolver {
  resolve(name: string, signal?: AbortSignal): Promise<string[]>;
}

/** The part of fetch() this resolver uses; `(url, init) => fetch(url, init)` fits. */
export type WireFetch = (
  url: string,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: Uint8Array<ArrayBuffer>; signal: AbortSignal },
) => Promise<{ ok: boolean; status: number; headers: { get(name: string): string | null }; arrayBuffer(): Promise<ArrayBuffer> }>;

export interface WireResolverOptions {
  /** Bound on the whole lookup (both queries), in ms. */
  timeoutMs?: number;
  method?: 'POST' | 'GET';
}

const MAX_CNAME_HOPS = 8;

export function dohWireResolver(url: string, fetchFn: WireFetch, opts: WireResolverOptions = {}): Resolver {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const method = opts.method ?? 'POST';
  return {
    async resolve(name: string, signal?: AbortSignal): Promise<string[]> {
      let qname: string;
      try {
        qname = normalizeName(name);
      } catch (e) {
        throw new PortolanError('refused', `could not resolve ${name}: ${classify(e).message}`);
      }
      const lookup = new AbortController();
      const deadline = AbortSignal.any([lookup.signal, AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])]);
      const ask = async (type: 'A' | 'AAAA'): Promise<{ addresses: string[]; nxdomain: boolean }> => {
        // RFC 8484 §4.1: ID 0 so HTTP caches can share answers.
        const query = encodeMessage({ id: 0, flags: { rd: true }, questions: [{ name: qname, type, class: 'IN' }] });
        const headers: Record<string, string> = { accept: 'application/dns-message' };
        let target = url;
        if (method === 'POST') headers['content-type'] = 'application/dns-message';
        else target = `${url}${url.includes('?') ? '&' : '?'}dns=${toBase64(query).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
        let message: DnsMessage;
        try {
          const res = await fetchFn(target, { method, headers, body: method === 'POST' ? new Uint8Array(query) : undefined, signal: deadline });
          if (!res.ok) throw new PortolanError('refused', `could not resolve ${name}: the DNS-over-HTTPS resolver answered HTTP ${res.status}`);
          const type = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
          if (type !== 'application/dns-message') throw new PortolanError('refused', `could not resolve ${name}: the resolver answered ${type || 'no content type'}, not application/dns-message`);
          message = decodeMessage(new Uint8Array(await res.arrayBuffer()));
        } catch (e) {
          if (e instanceof PortolanError && e.code === 'refused') throw e;
          if (deadline.aborted) {
            if (signal?.aborted) throw classify(signal.reason);
            throw new PortolanError('refused', `could not resolve ${name}: the DNS-over-HTTPS resolver did not answer within ${timeoutMs} ms`);
          }
          throw new PortolanError('refused', `could not resolve ${name}: ${classify(e).message}`);
        }
        if (message.rcode === 'NXDOMAIN') return { addresses: [], nxdomain: true };
        if (message.rcode !== 'NOERROR') throw new PortolanError('refused', `could not resolve ${name}: the resolver answered ${message.rcode} for ${type}`);
        return { addresses: addressesOf(message, qname, type), nxdomain: false };
      };
      let a, aaaa;
      try {
        [a, aaaa] = await Promise.all([ask('A'), ask('AAAA')]);
      } finally {
        lookup.abort(); // a failed query cancels its twin
      }
      const addresses = [...a.addresses, ...aaaa.addresses];
      if (addresses.length === 0) {
        throw new PortolanError('refused', `could not resolve ${name}: ${a.nxdomain && aaaa.nxdomain ? 'no such name (NXDOMAIN)' : 'no A or AAAA records'}`);
      }
      return addresses;
    },
  };
}

/** Addresses of `name` in an answer, through its CNAME chain. */
export function addressesOf(message: DnsMessage, name: string, type: 'A' | 'AAAA'): string[] {
  let current = name;
  for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
    const cname = message.answers.find((r) => r.type === 'CNAME' && sameName(r.name, current));
    if (!cname) break;
    current = String(cname.data.target);
  }
  return message.answers.filter((r) => r.type === type && sameName(r.name, current)).map((r) => String(r.data.address));
}
