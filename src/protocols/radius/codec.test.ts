import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { webCrypto } from '../../core/crypto.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { chapPassword, Code, decodeAttributes, decodePacket, encodeRequest, encodeValue, hidePassword, packetFrame, verifyReply } from './codec.ts';

const crypto = webCrypto();

test('RFC 2865 §7.1 example: the Access-Request with a hidden password, byte for byte', () => {
  // User nemo, password "arctangent", secret "xyzzy5461", Request Authenticator 0f403f9473978057bd83d5cb98f4227a.
  const authenticator = fromHex('0f403f9473978057bd83d5cb98f4227a');
  const secret = utf8('xyzzy5461');
  const hidden = hidePassword(crypto, utf8('arctangent'), secret, authenticator);
  assert.equal(toHex(hidden), '0dbe708d93d413ce3196e43f782a0aee');
  const packet = encodeRequest(crypto, {
    code: Code['Access-Request'],
    identifier: 0,
    secret,
    authenticator,
    messageAuthenticator: false,
    attributes: [{ type: 1, value: utf8('nemo') }, { type: 2, value: hidden }, { type: 4, value: fromHex('c0a80110') }, { type: 5, value: fromHex('00000003') }],
  });
  assert.equal(toHex(packet), '01000038' + '0f403f9473978057bd83d5cb98f4227a' + '01066e656d6f' + '02120dbe708d93d413ce3196e43f782a0aee' + '0406c0a80110' + '050600000003');
  // The RFC's Access-Accept, verified against that request.
  const accept = decodePacket(fromHex('0200002686fe220e7624ba2a1005f6bf9b55e0b20606000000010f06000000000e06c0a80103'));
  assert.deepEqual(verifyReply(crypto, accept, authenticator, secret), { responseAuthenticator: true, messageAuthenticator: null });
  assert.throws(() => verifyReply(crypto, accept, authenticator, utf8('wrong')), /Response Authenticator does not verify/);
  assert.deepEqual(decodeAttributes(accept.attributes).map((a) => [a.name, a.value]), [['Service-Type', 'Login-User'], ['Login-Service', 'Telnet'], ['Login-IP-Host', '192.168.1.3']]);
});

test('Message-Authenticator signs requests and is checked on replies; accounting authenticators are MD5s', () => {
  const secret = utf8('s3cret');
  const authenticator = new Uint8Array(16).fill(7);
  const p = encodeRequest(crypto, { code: Code['Status-Server'], identifier: 9, secret, authenticator, messageAuthenticator: true, attributes: [] });
  const decoded = decodePacket(p);
  const ma = decoded.attributes.find((a) => a.type === 80)!.value;
  const zeroed = p.slice();
  zeroed.fill(0, 22, 38);
  assert.equal(toHex(ma), toHex(crypto.hmacMd5(secret, zeroed)));
  const acct = encodeRequest(crypto, { code: Code['Accounting-Request'], identifier: 1, secret, authenticator, messageAuthenticator: false, attributes: [encodeValue('Acct-Status-Type', 'Start'), { type: 44, value: utf8('s1') }] });
  const zero = acct.slice();
  zero.fill(0, 4, 20);
  assert.equal(toHex(acct.subarray(4, 20)), toHex(crypto.md5(new Uint8Array([...zero, ...secret]))));
  assert.equal(toHex(chapPassword(crypto, 5, utf8('pw'), new Uint8Array(16))), '05' + toHex(crypto.md5(new Uint8Array([5, ...utf8('pw'), ...new Uint8Array(16)]))));
});

test('attributes: dictionary names, vendor-specific sub-attributes, values by type', () => {
  const cisco = encodeValue('Cisco-AVPair', 'shell:priv-lvl=15');
  assert.equal(toHex(cisco.value), '00000009' + '01' + '13' + toHex(utf8('shell:priv-lvl=15')));
  assert.deepEqual(decodeAttributes([cisco, encodeValue('Framed-IP-Address', '192.0.2.1'), encodeValue('Session-Timeout', 60), { type: 2, value: new Uint8Array(16) }, { type: 200, value: Uint8Array.of(1) }]).map((a) => [a.name, a.value]), [
    ['Cisco-AVPair', 'shell:priv-lvl=15'],
    ['Framed-IP-Address', '192.0.2.1'],
    ['Session-Timeout', 60],
    ['User-Password', '(hidden, 16 bytes)'],
    ['Attr-200', '01'],
  ]);
  assert.throws(() => encodeValue('Framed-IP-Address', '300.1.1.1'), /not an IPv4 address/);
  assert.throws(() => encodeValue('Acct-Status-Type', 'Sideways'), /one of Start, Stop/);
  assert.throws(() => encodeValue('No-Such-Thing', 'x'), /unknown RADIUS attribute/);
});

test('stream frames (RFC 6613): split anywhere; bad lengths are protocol errors; fuzz', () => {
  const accept = fromHex('0200002686fe220e7624ba2a1005f6bf9b55e0b20606000000010f06000000000e06c0a80103');
  const frames = assertSplitFeed(packetFrame, new Uint8Array([...accept, ...accept]));
  assert.equal(frames.length, 2);
  assert.throws(() => packetFrame(fromHex('0201ffff')), (e: unknown) => e instanceof ProtocolError && /65535 is outside 20–4096/.test(e.message));
  assert.throws(() => decodePacket(fromHex('0201001600000000000000000000000000000000' + '0109')), /beyond the packet/);
  assertFuzzSafe(packetFrame, { seeds: [accept] });
  assertFuzzSafe((b) => {
    const r = packetFrame(b);
    if (r) decodeAttributes(decodePacket(r.value).attributes);
    return r;
  }, { seeds: [accept] });
});
