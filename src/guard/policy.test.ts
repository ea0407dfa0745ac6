import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortolanError } from '../core/errors.ts';
import { cidrContains, formatCidr, formatIp, parseCidr, parseIp } from '../core/ip.ts';
import { BLOCKED_RANGES, decideAddress, matchAllowList, parsePolicy, type Decision, type TargetPolicy } from './policy.ts';

const OPEN: TargetPolicy = { allow: [] };
const LOCAL_DEV = parsePolicy({ ALLOW_TARGETS: 'loopback' });
const decide = (s: string, policy = OPEN): Decision => decideAddress(parseIp(s)!, policy);

/** The first, last and a middle address of a range. */
function samples(range: string): string[] {
  const cidr = parseCidr(range)!;
  const last = new Uint8Array(cidr.bytes);
  const middle = new Uint8Array(cidr.bytes);
  for (let bit = cidr.prefix; bit < cidr.bytes.length * 8; bit++) {
    last[bit >> 3] |= 0x80 >> (bit & 7);
    if (bit % 3 === 0) middle[bit >> 3] |= 0x80 >> (bit & 7);
  }
  return [cidr.bytes, middle, last].map((bytes) => formatIp({ family: cidr.family, bytes }));
}

const REQUIRED_V4 = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24',
  '192.0.2.0/24', '192.88.99.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24',
  '224.0.0.0/4', '240.0.0.0/4', '255.255.255.255/32',
];
const REQUIRED_V6 = ['::/128', '::1/128', '100::/64', '2001:db8::/32', 'fc00::/7', 'fe80::/10', 'fec0::/10', 'ff00::/8'];

test('every required range is blocked at its first, middle and last address, naming the narrowest range', () => {
  const required = [...REQUIRED_V4, ...REQUIRED_V6].map((r) => parseCidr(r)!);
  for (const range of required) {
    assert.ok(BLOCKED_RANGES.some((r) => r.range === formatCidr(range)), `${formatCidr(range)} is in the table`);
    for (const address of samples(formatCidr(range))) {
      const addr = parseIp(address)!;
      const narrowest = required.filter((r) => cidrContains(r, addr)).sort((a, b) => b.prefix - a.prefix)[0];
      const d = decideAddress(addr, OPEN);
      assert.equal(d.allowed, false, address);
      if (!d.allowed) assert.equal(d.range, formatCidr(narrowest), address);
    }
  }
});

test('neighbours of blocked ranges and public addresses are allowed', () => {
  for (const address of [
    '1.1.1.1', '8.8.8.8', '9.255.255.255', '11.0.0.0', '100.63.255.255', '100.128.0.0', '126.255.255.255', '128.0.0.0',
    '169.253.255.255', '169.255.0.0', '172.15.255.255', '172.32.0.0', '192.0.1.255', '192.0.3.0', '192.88.98.255',
    '192.88.100.0', '192.167.255.255', '192.169.0.0', '198.17.255.255', '198.20.0.0', '198.51.99.255', '198.51.101.0',
    '203.0.112.255', '203.0.114.0', '223.255.255.255',
    '2001:4860:4860::8888', '2606:4700:4700::1111', '2a00:1450::1', '2001:200::1', '3ffe::1',
  ]) {
    assert.deepEqual(decide(address), { allowed: true }, address);
  }
});

test('the error names the range and what it is', () => {
  assert.deepEqual(decide('127.0.0.1'), { allowed: false, reason: 'loopback', range: '127.0.0.0/8' });
  assert.deepEqual(decide('169.254.169.254'), { allowed: false, reason: 'link-local, cloud metadata', range: '169.254.0.0/16' });
  assert.deepEqual(decide('255.255.255.255'), { allowed: false, reason: 'limited broadcast', range: '255.255.255.255/32' });
  assert.deepEqual(decide('100.64.0.1'), { allowed: false, reason: 'shared address space, CGNAT', range: '100.64.0.0/10' });
});

test('IPv4-mapped and IPv4-compatible IPv6 are judged by the embedded IPv4', () => {
  for (const s of ['::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.1.2.3', '::ffff:169.254.169.254', '::ffff:0.0.0.0']) {
    const d = decide(s);
    assert.equal(d.allowed, false, s);
    if (!d.allowed) assert.equal(d.range, '::ffff:0:0/96');
  }
  const mapped = decide('::ffff:192.168.1.1');
  assert.ok(!mapped.allowed && /embedded 192\.168\.1\.1 is in 192\.168\.0\.0\/16, private network/.test(mapped.reason));
  for (const s of ['::127.0.0.1', '::10.0.0.1', '::0.0.0.2']) {
    const d = decide(s);
    assert.ok(!d.allowed && d.range === '::/96', s);
  }
  assert.deepEqual(decide('::ffff:8.8.8.8'), { allowed: true });
  assert.deepEqual(decide('::8.8.8.8'), { allowed: true });
  // ::/128 and ::1/128 lie inside ::/96 but are named as themselves.
  assert.deepEqual(decide('::'), { allowed: false, reason: 'unspecified', range: '::/128' });
  assert.deepEqual(decide('::1'), { allowed: false, reason: 'loopback', range: '::1/128' });
});

test('NAT64 and 6to4 are judged by the embedded IPv4', () => {
  for (const s of ['64:ff9b::127.0.0.1', '64:ff9b::a00:1', '64:ff9b::169.254.169.254']) {
    const d = decide(s);
    assert.ok(!d.allowed && d.range === '64:ff9b::/96', s);
  }
  assert.deepEqual(decide('64:ff9b::8.8.8.8'), { allowed: true });
  assert.ok(!decide('64:ff9b:1::10.0.0.1').allowed);
  assert.deepEqual(decide('64:ff9b:1::8.8.8.8'), { allowed: true });
  const layout = decide('64:ff9b:1:808:8:800::'); // the /48 layout of RFC 6052 §2.2: position unknown here
  assert.ok(!layout.allowed && layout.range === '64:ff9b:1::/48');
  for (const s of ['2002:7f00:1::', '2002:a00:1:1::1', '2002:c0a8:101::42', '2002:a9fe:a9fe::1']) {
    const d = decide(s);
    assert.ok(!d.allowed && d.range === '2002::/16', s);
  }
  assert.deepEqual(decide('2002:808:808::1'), { allowed: true });
});

test('2001::/23 is blocked except its globally reachable assignments', () => {
  for (const s of ['2001::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001:2::1', '2001:10::1', '2001:1::4', '2001:1ff:ffff::1']) {
    const d = decide(s);
    assert.ok(!d.allowed && d.range === '2001::/23', s);
  }
  for (const s of ['2001:1::1', '2001:1::2', '2001:1::3', '2001:3::1', '2001:4:112::1', '2001:20::1', '2001:2f:ffff::1', '2001:30::1', '2001:200::1']) {
    assert.deepEqual(decide(s), { allowed: true }, s);
  }
  assert.ok(!decide('3fff::1').allowed, '3fff::/20 documentation (RFC 9637)');
  assert.ok(!decide('5f00::1').allowed, '5f00::/16 SRv6 SIDs (RFC 9602)');
});

test('all IPv6 outside 2000::/3 is refused', () => {
  for (let first = 0; first < 256; first++) {
    for (const rest of ['00:1::', 'ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']) {
      const address = `${first.toString(16).padStart(2, '0')}${rest}`;
      const inGlobalUnicast = first >= 0x20 && first < 0x40;
      if (!inGlobalUnicast) assert.equal(decide(address).allowed, false, address);
    }
  }
});

test('the allow list permits loopback in local development, and only loopback', () => {
  assert.deepEqual(LOCAL_DEV, { allow: ['127.0.0.0/8', '::1/128'] });
  for (const s of ['127.0.0.1', '127.255.255.254', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1']) assert.deepEqual(decide(s, LOCAL_DEV), { allowed: true }, s);
  for (const s of ['10.0.0.1', '169.254.169.254', '::ffff:10.0.0.1', '0.0.0.0', '::', 'fe80::1']) assert.equal(decide(s, LOCAL_DEV).allowed, false, s);
  // Translators and tunnels do not lead to this machine's loopback: the allow list does not carry over.
  for (const s of ['64:ff9b::127.0.0.1', '2002:7f00:1::1', '::127.0.0.1']) assert.equal(decide(s, LOCAL_DEV).allowed, false, s);
  assert.equal(matchAllowList(parseIp('::ffff:127.0.0.1')!, LOCAL_DEV), '127.0.0.0/8');
  assert.equal(matchAllowList(parseIp('10.0.0.1')!, LOCAL_DEV), null);
});

test('allow-list entries can open any range explicitly', () => {
  const policy = parsePolicy({ ALLOW_TARGETS: ' 10.1.0.0/16 , fd00::/8,192.0.2.7,,' });
  assert.deepEqual(policy.allow, ['10.1.0.0/16', 'fd00::/8', '192.0.2.7/32']);
  assert.deepEqual(decide('10.1.2.3', policy), { allowed: true });
  assert.equal(decide('10.2.0.1', policy).allowed, false);
  assert.deepEqual(decide('fd12::1', policy), { allowed: true });
  assert.equal(decide('fc00::1', policy).allowed, false);
  assert.deepEqual(decide('192.0.2.7', policy), { allowed: true });
  assert.equal(decide('192.0.2.8', policy).allowed, false);
});

test('parsePolicy validates every entry', () => {
  assert.deepEqual(parsePolicy({}), { allow: [] });
  assert.deepEqual(parsePolicy(undefined), { allow: [] });
  assert.deepEqual(parsePolicy({ ALLOW_TARGETS: '' }), { allow: [] });
  assert.deepEqual(parsePolicy({ ALLOW_TARGETS: 'LOOPBACK,127.0.0.0/8' }), { allow: ['127.0.0.0/8', '::1/128'] });
  const rejects = (value: unknown, pattern: RegExp) =>
    assert.throws(
      () => parsePolicy({ ALLOW_TARGETS: value }),
      (e: unknown) => e instanceof PortolanError && e.code === 'invalid_input' && pattern.test(e.message),
    );
  rejects('10.1.0.0/8', /"10\.1\.0\.0\/8" has bits set after the \/8 prefix; the network is 10\.0\.0\.0\/8/);
  rejects('localhost', /not a CIDR/);
  rejects('10.0.0.0/33', /not a CIDR/);
  rejects('loopback, 0x7f.1/32', /not a CIDR/);
  rejects('127.0.0.0/8 ::1/128', /not a CIDR/);
  rejects(42, /comma-separated string/);
});
