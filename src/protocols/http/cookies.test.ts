// The redirect chain's cookie jar: path and domain matching, Secure, removal by Max-Age and a foreign Domain.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CookieJar } from './cookies.ts';

const http = { scheme: 'http' as const, host: 'www.example.test', port: 80 };
const https = { ...http, scheme: 'https' as const, port: 443 };

test('path, domain and Secure decide which hops carry a cookie', () => {
  const jar = new CookieJar();
  const set = jar.store(http, '/a/b?x=1', [
    ['Set-Cookie', 'dir=1'],
    ['set-cookie', 'root=2; Path=/'],
    ['Set-Cookie', 'wide=3; Domain=.example.test; Path=/'],
    ['Set-Cookie', 'safe=4; Path=/; Secure'],
    ['Set-Cookie', 'foreign=5; Domain=other.test'],
  ]);
  assert.deepEqual(set, ['dir', 'root', 'wide', 'safe']);
  assert.equal(jar.header(http, '/a/c'), 'dir=1; root=2; wide=3');
  assert.equal(jar.header(http, '/ab'), 'root=2; wide=3', '/a does not match /ab');
  assert.equal(jar.header(https, '/'), 'root=2; wide=3; safe=4');
  assert.equal(jar.header({ ...http, host: 'api.example.test' }, '/'), 'wide=3', 'host-only cookies stay on their host');
  jar.store(http, '/', [['Set-Cookie', 'root=gone; Path=/; Max-Age=0']]);
  assert.equal(jar.header(http, '/'), 'wide=3');
  assert.equal(new CookieJar().header(http, '/'), undefined);
});
