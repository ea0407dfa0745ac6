import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains, formatCidr, formatIp, parseCidr, parseIp, parseIpv4, parseIpv4Strict } from './ip.ts';

const text = (s: string): string | null => {
  const addr = parseIp(s);
  return addr ? formatIp(addr) : null;
};

test('IPv4 in every inet_aton spelling reads as the same address', () => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'], // one 32-bit decimal number
    ['017700000001', '127.0.0.1'], // one octal number
    ['0x7f000001', '127.0.0.1'], // one hex number
    ['0X7F000001', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'], // octal part
    ['0177.0.0.01', '127.0.0.1'],
    ['0x7f.0.0.1', '127.0.0.1'], // hex part
    ['0x7f.0x0.0x0.0x1', '127.0.0.1'],
    ['127.1', '127.0.0.1'], // a.b: b is 24 bits
    ['127.0.1', '127.0.0.1'], // a.b.c: c is 16 bits
    ['0x7f.1', '127.0.0.1'], // mixed
    ['0177.0x0.1', '127.0.0.1'],
    ['0x7f.0.0x0001', '127.0.0.1'],
    ['10.0x10000', '10.1.0.0'],
    ['169.254.43518', '169.254.169.254'], // cloud metadata, 16-bit last part
    ['0xa9fea9fe', '169.254.169.254'],
    ['0', '0.0.0.0'],
    ['0x', '0.0.0.0'], // WHATWG URL reads an empty hex number as 0
    ['0x.0x', '0.0.0.0'],
    ['00000000000000000001.1', '1.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'], // one trailing dot
    ['4294967295', '255.255.255.255'],
    ['255.255.255.255', '255.255.255.255'],
  ];
  for (const [input, expected] of cases) assert.equal(text(input), expected, input);
});

test('strings that are not IPv4 literals give null', () => {
  for (const input of [
    '',
    '256.0.0.1', // a part above 255
    '1.2.3.256',
    '1.2.65536', // 16-bit last part overflow
    '1.16777216', // 24-bit last part overflow
    '4294967296', // 2^32
    '0x100000000',
    '08.0.0.1', // 8 is not an octal digit
    '0189',
    '1.2.3.4.5',
    '1..2.3',
    '.1.2.3',
    '1.2.3.4..',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1.2.3.4x',
    '+1.2.3.4',
    '-1',
    '0xg',
    'example.com',
    '１２７.0.0.1', // full-width digits are not digits here
  ]) {
    assert.equal(parseIp(input), null, JSON.stringify(input));
  }
});

test('the decimal reading of leading zeros is available for the ambiguity check', () => {
  assert.equal(formatIp(parseIpv4('010.8.8.8')!), '8.8.8.8');
  assert.equal(formatIp(parseIpv4('010.8.8.8', { leadingZeroIsDecimal: true })!), '10.8.8.8');
  assert.equal(formatIp(parseIpv4('0x0a.8.8.8', { leadingZeroIsDecimal: true })!), '10.8.8.8');
});

test('strict IPv4 is the canonical dotted quad only', () => {
  assert.equal(formatIp(parseIpv4Strict('192.0.2.1')!), '192.0.2.1');
  for (const s of ['192.0.2.01', '0x7f.0.0.1', '127.1', '2130706433', '1.2.3.4.']) assert.equal(parseIpv4Strict(s), null, s);
});

test('IPv6: compression, embedded IPv4, zone ids and brackets', () => {
  const cases: Array<[string, string]> = [
    ['::', '::'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['[::1]', '::1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'], // `::` for one group
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['::ffff:127.0.0.1', '::ffff:127.0.0.1'],
    ['::ffff:7f00:1', '::ffff:127.0.0.1'],
    ['0:0:0:0:0:FFFF:127.0.0.1', '::ffff:127.0.0.1'],
    ['[::ffff:127.0.0.1]', '::ffff:127.0.0.1'],
    ['::127.0.0.1', '::7f00:1'], // IPv4-compatible
    ['64:ff9b::10.0.0.1', '64:ff9b::a00:1'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['fe80::1%eth0', 'fe80::1'],
    ['[fe80::1%25en0]', 'fe80::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // RFC 5952 §4.2.3: first of equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2: a single zero group is not compressed
  ];
  for (const [input, expected] of cases) assert.equal(text(input), expected, input);
  assert.equal(parseIp('fe80::1%eth0')!.zone, 'eth0');
  assert.equal(parseIp('[fe80::1%eth0]')!.zone, 'eth0');
});

test('strings that are not IPv6 literals give null', () => {
  for (const input of [
    ':::',
    '::1::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1::2:3:4:5:6:7:8', // `::` must stand for at least one group
    '12345::1',
    'g::1',
    ':1:2:3:4:5:6:7',
    '::1.2.3.04', // no leading zeros inside IPv6
    '::1.2.3',
    '::0x7f.0.0.1',
    '1.2.3.4::',
    '[::1',
    '::1]',
    '[1.2.3.4]',
    'fe80::1%',
    'fe80::1%eth 0',
    '[::1]:80',
  ]) {
    assert.equal(parseIp(input), null, input);
  }
});

test('CIDR parsing, formatting and containment', () => {
  const v4 = parseCidr('10.0.0.0/8')!;
  assert.equal(formatCidr(v4), '10.0.0.0/8');
  assert.ok(cidrContains(v4, parseIp('10.255.255.255')!));
  assert.ok(!cidrContains(v4, parseIp('11.0.0.0')!));
  assert.ok(!cidrContains(v4, parseIp('::ffff:10.0.0.1')!), 'families never mix');
  const v6 = parseCidr('fe80::/10')!;
  assert.ok(cidrContains(v6, parseIp('febf:ffff::1')!));
  assert.ok(!cidrContains(v6, parseIp('fec0::1')!));
  assert.equal(formatCidr(parseCidr('::1')!), '::1/128');
  assert.equal(formatCidr(parseCidr('192.0.2.7')!), '192.0.2.7/32');
  assert.equal(formatCidr(parseCidr('0.0.0.0/0')!), '0.0.0.0/0');
  assert.ok(cidrContains(parseCidr('::/0')!, parseIp('2001:db8::1')!));
  assert.ok(cidrContains(parseCidr('172.16.0.0/12')!, parseIp('172.31.255.255')!));
  assert.ok(!cidrContains(parseCidr('172.16.0.0/12')!, parseIp('172.32.0.0')!));
  for (const bad of ['10.0.0.0/33', '::/129', '10.1.0.0/8', '10.0.0.0/', '10.0.0.0/08', '010.0.0.0/8', '10/8', 'fe80::1%eth0/64', '[::1]/128', 'x/8', '']) {
    assert.equal(parseCidr(bad), null, bad);
  }
});
