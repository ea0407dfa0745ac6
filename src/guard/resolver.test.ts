import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortolanError } from '../core/errors.ts';
import { CLOUDFLARE_DOH_JSON, GOOGLE_DOH_JSON, dohResolver, type FetchLike } from './resolver.ts';

type Reply = { status?: number; body: unknown } | 'hang' | Error;

/** An in-memory DoH server: answers per record type, records every request. No packet leaves the process. */
function fakeDoh(replies: Record<string, Reply>) {
  const requests: Array<{ url: URL; headers: Record<string, string> }> = [];
  const fetchFn: FetchLike = async (url, init) => {
    const parsed = new URL(url);
    requests.push({ url: parsed, headers: init.headers });
    const reply = replies[parsed.searchParams.get('type') ?? ''];
    if (reply instanceof Error) throw reply;
    if (reply === 'hang') {
      // Node does not wait for AbortSignal.timeout timers; a pending request keeps the test alive, as a socket would.
      const keepAlive = setTimeout(() => {}, 60_000);
      return new Promise((_, reject) =>
        init.signal.addEventListener('abort', () => (clearTimeout(keepAlive), reject(init.signal.reason)), { once: true }),
      );
    }
    const status = reply?.status ?? 200;
    return { ok: status >= 200 && status < 300, status, json: async () => reply?.body };
  };
  return { fetchFn, requests };
}

const answer = (type: number, ...data: string[]) => ({
  Status: 0,
  Answer: data.map((d) => ({ name: 'example.test.', type, TTL: 300, data: d })),
});

const refusedWith = (pattern: RegExp) => (e: unknown) => e instanceof PortolanError && e.code === 'refused' && pattern.test(e.message);

test('asks for A and AAAA with the JSON media type and returns both', async () => {
  const doh = fakeDoh({ A: { body: answer(1, '93.184.215.14') }, AAAA: { body: answer(28, '2606:2800:21f:cb07:6820:80da:af6b:8b2c') } });
  const addrs = await dohResolver(CLOUDFLARE_DOH_JSON, doh.fetchFn).resolve('example.test');
  assert.deepEqual(addrs, ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c']);
  assert.equal(doh.requests.length, 2);
  for (const { url, headers } of doh.requests) {
    assert.equal(`${url.origin}${url.pathname}`, CLOUDFLARE_DOH_JSON);
    assert.equal(url.searchParams.get('name'), 'example.test');
    assert.equal(headers.accept, 'application/dns-json');
  }
  assert.deepEqual(doh.requests.map((r) => r.url.searchParams.get('type')).sort(), ['A', 'AAAA']);
});

test('skips CNAME records, keeps every address, canonicalises IPv6', async () => {
  const a = { Status: 0, Answer: [{ type: 5, data: 'alias.example.test.' }, { type: 1, data: '192.0.2.1' }, { type: 1, data: '198.51.100.7' }] };
  const doh = fakeDoh({ A: { body: a }, AAAA: { body: answer(28, '2001:DB8:0:0::1') } });
  assert.deepEqual(await dohResolver(GOOGLE_DOH_JSON, doh.fetchFn).resolve('www.example.test'), ['192.0.2.1', '198.51.100.7', '2001:db8::1']);
});

test('a configured URL keeps its own query parameters', async () => {
  const doh = fakeDoh({ A: { body: answer(1, '192.0.2.1') }, AAAA: { body: { Status: 0 } } });
  await dohResolver('https://doh.example.test/resolve?ct=application/dns-json', doh.fetchFn).resolve('a.example.test');
  assert.equal(doh.requests[0].url.searchParams.get('ct'), 'application/dns-json');
  assert.equal(doh.requests[0].url.searchParams.get('name'), 'a.example.test');
});

test('a name that does not resolve is refused with "could not resolve"', async () => {
  const nx = fakeDoh({ A: { body: { Status: 3 } }, AAAA: { body: { Status: 3 } } });
  await assert.rejects(dohResolver(CLOUDFLARE_DOH_JSON, nx.fetchFn).resolve('nope.example.test'), refusedWith(/^could not resolve nope\.example\.test: no such name \(NXDOMAIN\)$/));
  const empty = fakeDoh({ A: { body: { Status: 0 } }, AAAA: { body: { Status: 0, Answer: [] } } });
  await assert.rejects(dohResolver(CLOUDFLARE_DOH_JSON, empty.fetchFn).resolve('bare.example.test'), refusedWith(/could not resolve bare\.example\.test: no A or AAAA records/));
});

test('one family missing is fine; a failing query is not', async () => {
  const v6only = fakeDoh({ A: { body: { Status: 0 } }, AAAA: { body: answer(28, '2001:db8::5') } });
  assert.deepEqual(await dohResolver(CLOUDFLARE_DOH_JSON, v6only.fetchFn).resolve('v6.example.test'), ['2001:db8::5']);
  const servfail = fakeDoh({ A: { body: answer(1, '192.0.2.1') }, AAAA: { body: { Status: 2 } } });
  await assert.rejects(dohResolver(CLOUDFLARE_DOH_JSON, servfail.fetchFn).resolve('x.example.test'), refusedWith(/SERVFAIL for AAAA/));
  const http = fakeDoh({ A: { status: 503, body: null }, AAAA: { body: { Status: 0 } } });
  await assert.rejects(dohResolver(CLOUDFLARE_DOH_JSON, http.fetchFn).resolve('x.example.test'), refusedWith(/answered HTTP 503/));
  const network = fakeDoh({ A: new TypeError('fetch failed'), AAAA: { body: { Status: 0 } } });
  await assert.rejects(dohResolver(CLOUDFLARE_DOH_JSON, network.fetchFn).resolve('x.example.test'), refusedWith(/could not resolve x\.example\.test: fetch failed/));
});

test('malformed answers are refused, never half-read', async () => {
  for (const body of [null, 'text', { Answer: [] }, { Status: 0, Answer: {} }, { Status: 0, Answer: [{ type: 1, data: '0x7f.1' }] }, { Status: 0, Answer: [{ type: 1, data: '::1' }] }]) {
    const doh = fakeDoh({ A: { body }, AAAA: { body: { Status: 0 } } });
    await assert.rejects(dohResolver(CLOUDFLARE_DOH_JSON, doh.fetchFn).resolve('x.example.test'), refusedWith(/DNS-over-HTTPS answer/), JSON.stringify(body));
  }
  const wrongFamily = fakeDoh({ A: { body: { Status: 0 } }, AAAA: { body: answer(28, '192.0.2.1') } });
  await assert.rejects(dohResolver(CLOUDFLARE_DOH_JSON, wrongFamily.fetchFn).resolve('x.example.test'), refusedWith(/AAAA record that is not an IPv6 address/));
});

test('the lookup is bounded in time, and the caller can abort it', async () => {
  const hang = fakeDoh({ A: 'hang', AAAA: 'hang' });
  const t0 = performance.now();
  await assert.rejects(dohResolver(CLOUDFLARE_DOH_JSON, hang.fetchFn, { timeoutMs: 50 }).resolve('slow.example.test'), refusedWith(/did not answer within 50 ms/));
  assert.ok(performance.now() - t0 < 2000);
  const controller = new AbortController();
  const pending = dohResolver(CLOUDFLARE_DOH_JSON, hang.fetchFn, { timeoutMs: 10_000 }).resolve('slow.example.test', controller.signal);
  controller.abort(new PortolanError('io_timeout', 'operation did not finish within 5 ms'));
  await assert.rejects(pending, (e: unknown) => e instanceof PortolanError && e.code === 'io_timeout');
});
