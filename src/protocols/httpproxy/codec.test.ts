// HTTP proxy codec: CONNECT in authority form, Basic credentials (RFC 7617's own example), challenges, proxy fields.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromLatin1, utf8 } from '../../core/bytes.ts';
import { assertSplitFeed } from '../../../test/codec.ts';
import { responseHeadFrame } from '../http/codec.ts';
import { authority, basicCredentials, encodeConnect, parseChallenge, proxyFields } from './codec.ts';

describe('HTTP proxy codec', () => {
  it('CONNECT host:port with Host, and Proxy-Authorization when credentials are given', () => {
    assert.equal(fromLatin1(encodeConnect('127.0.0.1', 5432)), 'CONNECT 127.0.0.1:5432 HTTP/1.1\r\nHost: 127.0.0.1:5432\r\n\r\n');
    assert.equal(fromLatin1(encodeConnect('::1', 443, 'Aladdin', 'open sesame')), 'CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n');
    assert.equal(authority('example.com', 80), 'example.com:80');
  });

  it('Basic: RFC 7617 section 2 example; a colon in the user id is refused', () => {
    assert.equal(basicCredentials('Aladdin', 'open sesame'), 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
    assert.throws(() => basicCredentials('a:b', 'x'), /username: a Basic user id cannot contain a colon/);
  });

  it('challenges and the proxy’s own fields in a 407 as Squid sends it', () => {
    const raw = 'HTTP/1.1 407 Proxy Authentication Required\r\nServer: squid/5.7\r\nProxy-Authenticate: Basic realm="Portolan \\"lab\\" proxy"\r\nX-Squid-Error: ERR_CACHE_ACCESS_DENIED 0\r\nVia: 1.1 portolan-squid (squid/5.7)\r\nContent-Length: 0\r\n\r\n';
    const [head] = assertSplitFeed(responseHeadFrame(), utf8(raw));
    assert.equal(head.status, 407);
    assert.deepEqual(
      proxyFields(head.headers).map(([n]) => n),
      ['proxy-authenticate', 'x-squid-error', 'via'],
    );
    assert.deepEqual(parseChallenge('Basic realm="Portolan \\"lab\\" proxy"'), { scheme: 'Basic', realm: 'Portolan "lab" proxy' });
    assert.deepEqual(parseChallenge('Negotiate'), { scheme: 'Negotiate', realm: undefined });
  });
});
