import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findReferral, formatQuery } from './codec.ts';

test('referrals in the forms registries use', () => {
  assert.deepEqual(findReferral('% IANA WHOIS server\n\nrefer:        whois.verisign-grs.com\n\ndomain:       COM\n'), { host: 'whois.verisign-grs.com', port: 43 });
  assert.deepEqual(findReferral('   Registrar WHOIS Server: whois.markmonitor.com\n'), { host: 'whois.markmonitor.com', port: 43 });
  assert.deepEqual(findReferral('ReferralServer:  whois://whois.ripe.net\n'), { host: 'whois.ripe.net', port: 43 });
  assert.deepEqual(findReferral('ReferralServer: whois://whois.example.net:4343/\n'), { host: 'whois.example.net', port: 4343 });
  assert.equal(findReferral('ReferralServer:  rwhois://rwhois.example.net:4321\n'), null);
  assert.equal(findReferral('Domain Name: EXAMPLE.COM\n'), null);
});

test('queries some registries need in their own form', () => {
  assert.equal(formatQuery('whois.arin.net', '8.8.8.8'), 'n + 8.8.8.8');
  assert.equal(formatQuery('whois.denic.de', 'example.de'), '-T dn example.de');
  assert.equal(formatQuery('whois.verisign-grs.com', 'example.com'), 'domain example.com');
  assert.equal(formatQuery('whois.iana.org', 'example.com'), 'example.com');
});
