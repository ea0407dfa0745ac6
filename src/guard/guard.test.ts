import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortolanError } from '../core/errors.ts';
import type { TargetGuard } from '../core/runner.ts';
import { cloudflareRange } from './cloudflare-ranges.ts';
import { createGuard, type GuardOptions } from './guard.ts';
import { parseIp } from '../core/ip.ts';
import { classifyHost } from './names.ts';
import { parsePolicy, type TargetPolicy } from './policy.ts';
import type { Resolver } from './resolver.ts';

/** An in-memory resolver: a zone of name → addresses, counting every lookup. */
function zone(records: Record<string, string[]>) {
  const lookups: string[] = [];
  const resolver: Resolver = {
    async resolve(name) {
      lookups.push(name);
      const addrs = records[name];
      if (!addrs) throw new PortolanError('refused', `could not resolve ${name}: no such name (NXDOMAIN)`);
      return addrs;
    },
  };
  return { resolver, lookups };
}

const ZONE = {
  'public.example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
  'mixed.example.com': ['93.184.215.14', '10.0.0.7'],
  'mixed6.example.com': ['93.184.215.14', 'fd00::7'],
  'rebind.example.com': ['127.0.0.1'],
  'metadata.example.com': ['169.254.169.254'],
  'mapped.example.com': ['::ffff:192.168.0.1'],
  'proxied.example.com': ['104.18.32.7', '2606:4700::6812:2007'],
  'proxied6.example.com': ['93.184.215.14', '2a06:98c0:3600::103'],
  'dup.example.com': ['93.184.215.14', '93.184.215.14'],
  'db.internal': ['10.1.2.3'],
  'printer.local': ['192.168.1.20'],
  'devbox.internal': ['127.0.0.1'],
  'cdn.internal': ['93.184.215.14'],
  'garbage.example.com': ['not-an-ip'],
  'empty.example.com': [],
};

function guardFor(overrides: Partial<GuardOptions> = {}, records: Record<string, string[]> = ZONE) {
  const dns = zone(records);
  const guard = createGuard({ policy: { allow: [] }, resolver: dns.resolver, runtime: 'node', cloudflareCheck: false, ...overrides });
  return { guard, lookups: dns.lookups };
}

const blocked = (pattern: RegExp) => (e: unknown) => e instanceof PortolanError && e.code === 'target_blocked' && pattern.test(e.message);
const code = (c: string, pattern = /./) => (e: unknown) => e instanceof PortolanError && e.code === c && pattern.test(e.message);
const check = (guard: TargetGuard, host: string, port = 443, hop: 'first' | 'second' = 'first') => guard.check(host, port, hop);

test('an IP literal is judged without any lookup, in every spelling', async () => {
  const { guard, lookups } = guardFor();
  await assert.rejects(check(guard, '127.0.0.1'), blocked(/^127\.0\.0\.1 is in 127\.0\.0\.0\/8 \(loopback\), which this deployment does not allow$/));
  await assert.rejects(check(guard, '2130706433'), blocked(/^2130706433 is 127\.0\.0\.1, in 127\.0\.0\.0\/8 \(loopback\)/));
  await assert.rejects(check(guard, '0x7f.1'), blocked(/^0x7f\.1 is 127\.0\.0\.1, in 127\.0\.0\.0\/8/));
  await assert.rejects(check(guard, '0251.0376.0251.0376'), blocked(/169\.254\.169\.254, in 169\.254\.0\.0\/16/));
  await assert.rejects(check(guard, '[::1]'), blocked(/^::1 is in ::1\/128 \(loopback\)/));
  await assert.rejects(check(guard, '[::ffff:127.0.0.1]'), blocked(/::ffff:0:0\/96 \(IPv4-mapped IPv6; the embedded 127\.0\.0\.1 is in 127\.0\.0\.0\/8, loopback\)/));
  await assert.rejects(check(guard, 'fe80::1%eth0'), blocked(/^fe80::1 is in fe80::\/10 \(link-local\)/));
  await assert.rejects(check(guard, '64:ff9b::a9fe:a9fe'), blocked(/64:ff9b::\/96/));
  await assert.rejects(check(guard, '2002:a00:1::1'), blocked(/2002::\/16 \(6to4; the embedded 10\.0\.0\.1/));
  assert.deepEqual(await check(guard, '0x5db8d70e'), { address: '93.184.215.14' });
  assert.deepEqual(await check(guard, '[2606:4700:4700:0:0:0:0:1111]'), { address: '2606:4700:4700::1111' });
  assert.deepEqual(lookups, []);
});

test('a leading zero is judged both as octal and as decimal', async () => {
  const { guard } = guardFor();
  // inet_aton reads 010.0.0.1 as 8.0.0.1 (public); a decimal reader would connect to 10.0.0.1.
  await assert.rejects(check(guard, '010.0.0.1'), blocked(/^010\.0\.0\.1 can also be read as 10\.0\.0\.1, in 10\.0\.0\.0\/8 \(private network\)/));
  await assert.rejects(check(guard, '0127.0.0.1'), blocked(/127\.0\.0\.1, in 127\.0\.0\.0\/8/)); // octal 87.0.0.1 is public
  assert.deepEqual(await check(guard, '08.8.8.8').catch((e) => e.code), 'invalid_input'); // octal 08 is invalid
});

test('a name is resolved once, and every address must be allowed', async () => {
  const { guard, lookups } = guardFor();
  assert.deepEqual(await check(guard, 'public.example.com'), { address: '93.184.215.14' });
  assert.deepEqual(lookups, ['public.example.com']);
  await assert.rejects(check(guard, 'mixed.example.com'), blocked(/^mixed\.example\.com resolves to 10\.0\.0\.7, in 10\.0\.0\.0\/8 \(private network\), which this deployment does not allow$/));
  await assert.rejects(check(guard, 'mixed6.example.com'), blocked(/resolves to fd00::7, in fc00::\/7 \(unique local\)/));
  await assert.rejects(check(guard, 'rebind.example.com'), blocked(/resolves to 127\.0\.0\.1, in 127\.0\.0\.0\/8 \(loopback\)/));
  await assert.rejects(check(guard, 'metadata.example.com'), blocked(/169\.254\.0\.0\/16/));
  await assert.rejects(check(guard, 'mapped.example.com'), blocked(/embedded 192\.168\.0\.1 is in 192\.168\.0\.0\/16/));
  assert.deepEqual(await check(guard, 'DUP.Example.COM.'), { address: '93.184.215.14' });
  assert.equal(lookups.length, 7, 'exactly one lookup per target');
  assert.equal(lookups.at(-1), 'dup.example.com', 'the name is normalised before the lookup');
});

test('the error detail carries host, address, range and reason', async () => {
  const { guard } = guardFor();
  const err = await check(guard, 'mixed.example.com', 5432).catch((e: PortolanError) => e);
  assert.ok(err instanceof PortolanError);
  assert.deepEqual(err.detail, { host: 'mixed.example.com', port: 5432, hop: 'first', address: '10.0.0.7', range: '10.0.0.0/8', reason: 'private network' });
});

test('names that do not resolve are refused, resolver junk too', async () => {
  const { guard } = guardFor();
  await assert.rejects(check(guard, 'missing.example.com'), code('refused', /^could not resolve missing\.example\.com/));
  await assert.rejects(check(guard, 'empty.example.com'), code('refused', /could not resolve empty\.example\.com: no A or AAAA records/));
  await assert.rejects(check(guard, 'garbage.example.com'), code('refused', /"not-an-ip", not an address/));
  const failing = createGuard({ policy: { allow: [] }, resolver: { resolve: async () => { throw new TypeError('socket hang up'); } }, runtime: 'node', cloudflareCheck: false });
  await assert.rejects(check(failing, 'x.example.com'), code('refused', /could not resolve x\.example\.com: socket hang up/));
});

test('localhost and local-only names are refused unless their resolution is allowed', async () => {
  const { guard, lookups } = guardFor();
  await assert.rejects(check(guard, 'localhost'), blocked(/^localhost resolves to 127\.0\.0\.1, in 127\.0\.0\.0\/8 \(loopback\)/));
  await assert.rejects(check(guard, 'api.localhost'), blocked(/127\.0\.0\.0\/8/));
  await assert.rejects(check(guard, 'LOCALHOST.'), blocked(/loopback/));
  await assert.rejects(check(guard, 'db.internal'), blocked(/^db\.internal is a private-use name \(\.internal, reserved by ICANN in 2024\), which this deployment does not allow$/));
  await assert.rejects(check(guard, 'printer.local'), blocked(/multicast DNS name \(RFC 6762\)/));
  await assert.rejects(check(guard, 'router.home.arpa'), blocked(/home network name/));
  await assert.rejects(check(guard, 'metadata.google.internal'), blocked(/\.internal/));
  await assert.rejects(check(guard, 'nas.lan'), blocked(/private-use name \(\.lan\)/));
  await assert.rejects(check(guard, 'metadata'), blocked(/single-label name/));
  await assert.rejects(check(guard, 'cdn.internal'), blocked(/private-use/), 'even when it would resolve to a public address');
  assert.deepEqual(lookups, [], 'nothing is looked up: nothing could be allowed');

  const dev = guardFor({ policy: parsePolicy({ ALLOW_TARGETS: 'loopback' }) });
  assert.deepEqual(await check(dev.guard, 'localhost'), { address: '127.0.0.1' });
  assert.deepEqual(await check(dev.guard, 'app.localhost'), { address: '127.0.0.1' });
  assert.deepEqual(await check(dev.guard, 'devbox.internal'), { address: '127.0.0.1' });
  await assert.rejects(check(dev.guard, 'db.internal'), blocked(/10\.0\.0\.0\/8/));
  await assert.rejects(check(dev.guard, 'cdn.internal'), blocked(/^cdn\.internal is a private-use name .*93\.184\.215\.14 is not in it/));
  assert.deepEqual(dev.lookups, ['devbox.internal', 'db.internal', 'cdn.internal'], 'localhost is never looked up (RFC 6761 §6.3)');
});

test('allow-listed private targets pass; the rest of the private space does not', async () => {
  const { guard } = guardFor({ policy: parsePolicy({ ALLOW_TARGETS: '10.1.0.0/16' }) });
  assert.deepEqual(await check(guard, 'db.internal'), { address: '10.1.2.3' });
  assert.deepEqual(await check(guard, '10.1.255.1'), { address: '10.1.255.1' });
  await assert.rejects(check(guard, '10.2.0.1'), blocked(/10\.0\.0\.0\/8/));
  await assert.rejects(check(guard, 'mixed.example.com'), blocked(/10\.0\.0\.7/));
});

test('second hops are checked exactly like first hops', async () => {
  const { guard, lookups } = guardFor();
  await assert.rejects(check(guard, '10.0.0.5', 20, 'second'), blocked(/^second hop: 10\.0\.0\.5 is in 10\.0\.0\.0\/8/));
  await assert.rejects(check(guard, 'mixed.example.com', 443, 'second'), blocked(/^second hop: mixed\.example\.com resolves to 10\.0\.0\.7/));
  assert.deepEqual(await check(guard, 'public.example.com', 40000, 'second'), { address: '93.184.215.14' });
  const err = await check(guard, '192.168.1.1', 21, 'second').catch((e: PortolanError) => e);
  assert.equal((err as PortolanError).detail?.hop, 'second');
  assert.equal(lookups.length, 2);
});

test('on Workers, Cloudflare-proxied targets are refused with the reason and the alternatives', async () => {
  const workers = guardFor({ runtime: 'workers', cloudflareCheck: true });
  await assert.rejects(
    check(workers.guard, 'proxied.example.com'),
    blocked(/^proxied\.example\.com resolves to 104\.18\.32\.7, in Cloudflare's 104\.16\.0\.0\/13\. Workers sockets cannot connect to Cloudflare-proxied hosts.*origin server's own address.*Node host/),
  );
  await assert.rejects(check(workers.guard, 'proxied6.example.com'), blocked(/2a06:98c0::\/29/), 'any one Cloudflare address is enough');
  await assert.rejects(check(workers.guard, '1.1.1.1'), blocked(/^1\.1\.1\.1 is in Cloudflare's 1\.1\.1\.0\/24/), 'the public resolver is Cloudflare too');
  await assert.rejects(check(workers.guard, '162.159.36.1'), blocked(/162\.158\.0\.0\/15/));
  await assert.rejects(check(workers.guard, '[::ffff:104.16.0.1]'), blocked(/104\.16\.0\.0\/13/));
  assert.deepEqual(await check(workers.guard, 'public.example.com'), { address: '93.184.215.14' }, 'the checked address is handed on (Workers dial TLS by name)');
  assert.deepEqual(await check(workers.guard, '0x5db8d70e'), { address: '93.184.215.14' }, 'a literal is handed on canonical');
  assert.deepEqual(workers.lookups, ['proxied.example.com', 'proxied6.example.com', 'public.example.com'], 'one lookup serves policy and Cloudflare checks');
  const err = await check(workers.guard, 'proxied.example.com').catch((e: PortolanError) => e);
  assert.equal((err as PortolanError).detail?.range, '104.16.0.0/13');
  assert.equal(((err as PortolanError).detail?.alternatives as string[]).length, 2);

  // The Node host reaches Cloudflare like any other public network; so does a Worker with the check off.
  assert.deepEqual(await check(guardFor({ runtime: 'node', cloudflareCheck: true }).guard, 'proxied.example.com'), { address: '104.18.32.7' });
  assert.deepEqual(await check(guardFor({ runtime: 'workers', cloudflareCheck: false }).guard, 'proxied.example.com'), { address: '104.18.32.7' });
});

test('Cloudflare ranges: every published range is recognised, its neighbours are not', () => {
  for (const [inside, range] of [
    ['173.245.48.1', '173.245.48.0/20'], ['103.21.247.255', '103.21.244.0/22'], ['103.22.200.0', '103.22.200.0/22'],
    ['103.31.7.1', '103.31.4.0/22'], ['141.101.127.1', '141.101.64.0/18'], ['108.162.255.1', '108.162.192.0/18'],
    ['190.93.255.1', '190.93.240.0/20'], ['188.114.111.1', '188.114.96.0/20'], ['197.234.243.1', '197.234.240.0/22'],
    ['198.41.255.1', '198.41.128.0/17'], ['162.159.255.1', '162.158.0.0/15'], ['104.23.255.1', '104.16.0.0/13'],
    ['104.27.255.1', '104.24.0.0/14'], ['172.71.255.1', '172.64.0.0/13'], ['131.0.75.1', '131.0.72.0/22'],
    ['2400:cb00::1', '2400:cb00::/32'], ['2606:4700:ffff::1', '2606:4700::/32'], ['2803:f800::1', '2803:f800::/32'],
    ['2405:b500::1', '2405:b500::/32'], ['2405:8100::1', '2405:8100::/32'], ['2a06:98c7:ffff::1', '2a06:98c0::/29'],
    ['2c0f:f248::1', '2c0f:f248::/32'],
  ]) {
    assert.equal(cloudflareRange(parseIp(inside)!), range, inside);
  }
  for (const outside of ['104.15.255.255', '104.28.0.0', '172.72.0.0', '8.8.8.8', '2606:4701::1', '2a06:98bf::1', '2a06:98c8::1']) {
    assert.equal(cloudflareRange(parseIp(outside)!), null, outside);
  }
});

test('ports: 1 to 65535, and no port 25 on Workers', async () => {
  const node = guardFor().guard;
  for (const port of [0, -1, 65536, 1.5, Number.NaN]) {
    await assert.rejects(node.check('public.example.com', port, 'first'), code('invalid_input', /^port: .* is not a port/), String(port));
  }
  assert.deepEqual(await node.check('public.example.com', 25, 'first'), { address: '93.184.215.14' });
  assert.deepEqual(await node.check('public.example.com', 65535, 'first'), { address: '93.184.215.14' });
  const workers = guardFor({ runtime: 'workers', cloudflareCheck: true });
  await assert.rejects(workers.guard.check('public.example.com', 25, 'first'), blocked(/^port 25 is refused here\. .*port 25.*587.*465.*Node host/));
  await assert.rejects(workers.guard.check('93.184.215.14', 25, 'second'), blocked(/port 25/));
  assert.deepEqual(workers.lookups, [], 'a refused port costs no lookup');
  assert.deepEqual(await workers.guard.check('public.example.com', 587, 'first'), { address: '93.184.215.14' });
});

test('malformed hosts are invalid input, not lookups', async () => {
  const { guard, lookups } = guardFor();
  for (const host of ['', 'example.com:443', '[example.com]', 'exa mple.com', 'a..b', '-bad.example.com', 'bücher.de', 'x'.repeat(64) + '.com', '1.2.3.4.5', '999.1.1.1', 'example.0x1f', '::1%', 'http://example.com']) {
    await assert.rejects(check(guard, host), code('invalid_input', /^host: /), host);
  }
  assert.deepEqual(lookups, []);
  assert.deepEqual(classifyHost('_srv.Example.COM.'), { kind: 'name', name: '_srv.example.com', localOnly: null });
});

test('policies from the environment drive the guard', async () => {
  const policy: TargetPolicy = parsePolicy({ ALLOW_TARGETS: 'loopback' });
  const { guard } = guardFor({ policy });
  assert.deepEqual(await check(guard, '127.0.0.1'), { address: '127.0.0.1' });
  assert.deepEqual(await check(guard, '0x7f.1'), { address: '127.0.0.1' }, 'the host connects to the canonical address');
  assert.deepEqual(await check(guard, '[::1]'), { address: '::1' });
  assert.deepEqual(await check(guard, '::ffff:127.0.0.1'), { address: '::ffff:127.0.0.1' });
  assert.deepEqual(await check(guard, 'rebind.example.com'), { address: '127.0.0.1' });
  await assert.rejects(check(guard, '10.0.0.1'), blocked(/private network/));
  await assert.rejects(check(guard, '0.0.0.0'), blocked(/0\.0\.0\.0\/8/));
});
