// Name resolution for the guard: the Resolver port, and DNS over HTTPS with the JSON API that Cloudflare
// (cloudflare-dns.com/dns-query) and Google (dns.google/resolve) serve; record types per RFC 1035 §3.2.2 (A = 1)
// and RFC 3596 §2.1 (AAAA = 28), response codes per RFC 1035 §4.1.1.
import { PortolanError, classify } from '../core/errors.ts';
import { formatIp, parseIpv4Strict, parseIpv6 } from '../core/ip.ts';

/** Turns a host name into its addresses (A and AAAA). Throws PortolanError('refused') when it cannot. */
export interface Resolver {
  resolve(name: string, signal?: AbortSignal): Promise<string[]>;
}

/** The part of fetch() the resolver uses, so tests and hosts can hand in their own. */
export type FetchLike = (
  url: string,
  init: { headers: Record<string, string>; signal: AbortSignal },
) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

export const CLOUDFLARE_DOH_JSON = 'https://cloudflare-dns.com/dns-query';
export const GOOGLE_DOH_JSON = 'https://dns.google/resolve';

export interface DohOptions {
  /** Bound on the whole lookup (both queries), in ms. */
  timeoutMs?: number;
}

const RECORD_TYPES = { A: 1, AAAA: 28 } as const;
const RCODE_NAMES: Record<number, string> = { 1: 'FORMERR', 2: 'SERVFAIL', 4: 'NOTIMP', 5: 'REFUSED' };
const NXDOMAIN = 3;
const MAX_ANSWERS = 64;

interface DohAnswer {
  type?: unknown;
  data?: unknown;
}

/** DNS over HTTPS, JSON form: `GET url?name=&type=A|AAAA` with `accept: application/dns-json`, both at once. */
export function dohResolver(url: string, fetchFn: FetchLike, opts: DohOptions = {}): Resolver {
  const timeoutMs = opts.timeoutMs ?? 5000;
  return {
    async resolve(name: string, signal?: AbortSignal): Promise<string[]> {
      const lookup = linkedController(signal, timeoutMs);
      const deadline = lookup.signal;
      const query = async (type: keyof typeof RECORD_TYPES): Promise<{ addresses: string[]; nxdomain: boolean }> => {
        const target = new URL(url);
        target.searchParams.set('name', name);
        target.searchParams.set('type', type);
        let body: unknown;
        try {
          const res = await fetchFn(target.toString(), { headers: { accept: 'application/dns-json' }, signal: deadline });
          if (!res.ok) throw new PortolanError('refused', `could not resolve ${name}: the DNS-over-HTTPS resolver answered HTTP ${res.status}`);
          body = await res.json();
        } catch (e) {
          if (e instanceof PortolanError) throw e;
          if (deadline.aborted) {
            if (signal?.aborted) throw classify(signal.reason);
            throw new PortolanError('refused', `could not resolve ${name}: the DNS-over-HTTPS resolver did not answer within ${timeoutMs} ms`);
          }
          throw new PortolanError('refused', `could not resolve ${name}: ${classify(e).message}`);
        }
        return readAnswer(name, type, body);
      };
      let a, aaaa;
      try {
        [a, aaaa] = await Promise.all([query('A'), query('AAAA')]);
      } finally {
        lookup.abort(); // a failed query cancels its twin
      }
      const addresses = [...a.addresses, ...aaaa.addresses];
      if (addresses.length === 0) {
        const why = a.nxdomain && aaaa.nxdomain ? 'no such name (NXDOMAIN)' : 'no A or AAAA records';
        throw new PortolanError('refused', `could not resolve ${name}: ${why}`);
      }
      return addresses;
    },
  };
}

/** Reads one JSON answer: the addresses of the asked type (CNAME and other records are skipped). */
function readAnswer(name: string, type: keyof typeof RECORD_TYPES, body: unknown): { addresses: string[]; nxdomain: boolean } {
  const malformed = (why: string) => new PortolanError('refused', `could not resolve ${name}: the DNS-over-HTTPS answer ${why}`);
  if (typeof body !== 'object' || body === null) throw malformed('is not a JSON object');
  const { Status: status, Answer: answer } = body as { Status?: unknown; Answer?: unknown };
  if (typeof status !== 'number') throw malformed('has no Status');
  if (status === NXDOMAIN) return { addresses: [], nxdomain: true };
  if (status !== 0) {
    throw new PortolanError('refused', `could not resolve ${name}: the resolver answered ${RCODE_NAMES[status] ?? `rcode ${status}`} for ${type}`);
  }
  if (answer === undefined) return { addresses: [], nxdomain: false };
  if (!Array.isArray(answer)) throw malformed('has an Answer that is not a list');
  const family = type === 'A' ? 4 : 6;
  const addresses: string[] = [];
  for (const record of answer.slice(0, MAX_ANSWERS) as DohAnswer[]) {
    if (typeof record !== 'object' || record === null || record.type !== RECORD_TYPES[type]) continue;
    const data = typeof record.data === 'string' ? record.data : '';
    const addr = type === 'A' ? parseIpv4Strict(data) : /^[0-9a-f:.]+$/i.test(data) ? parseIpv6(data) : null;
    if (!addr) throw malformed(`has an ${type} record that is not an IPv${family} address`);
    addresses.push(formatIp(addr));
  }
  return { addresses, nxdomain: false };
}

/** A controller that also aborts on the caller's abort or after `ms`, whichever comes first. */
function linkedController(signal: AbortSignal | undefined, ms: number): AbortController {
  const timeout = AbortSignal.timeout(ms);
  const controller = new AbortController();
  const fire = (reason: unknown) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  if (signal?.aborted) fire(signal.reason);
  signal?.addEventListener('abort', () => fire(signal.reason), { once: true });
  timeout.addEventListener('abort', () => fire(timeout.reason), { once: true });
  return controller;
}
