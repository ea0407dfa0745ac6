// uwsgi against Debian's uWSGI with the Python 3 plugin and a WSGI app echoing its environ, through workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';

const target = { host: '127.0.0.1', port: ports['services-a'].uwsgi };

async function ok(input: Record<string, unknown>) {
  const r = await call('uwsgi', 'request', { ...target, ...input });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result;
}

test('uwsgi: the app sees our vars, headers and body; status, headers and body come back', async () => {
  const r = await ok({ method: 'POST', uri: '/submit/here?k=v', headers: { 'X-Test': 'portolan', 'Content-Type': 'text/plain' }, body: 'body ⚓', vars: { UWSGI_SCHEME: 'https' } });
  assert.deepEqual([r.status, r.reason, r.framing], [201, 'Created', 'close']);
  assert.deepEqual(r.headers.find(([n]: [string]) => n === 'x-portolan'), ['x-portolan', 'wsgi-echo']);
  const echo = JSON.parse(r.body.text);
  assert.equal(echo.body, 'body ⚓');
  assert.equal(echo.scheme, 'https');
  assert.equal(echo.environ.REQUEST_METHOD, 'POST');
  assert.equal(echo.environ.PATH_INFO, '/submit/here');
  assert.equal(echo.environ.QUERY_STRING, 'k=v');
  assert.equal(echo.environ.HTTP_X_TEST, 'portolan');
  assert.equal(echo.environ.CONTENT_TYPE, 'text/plain');
});

test('uwsgi: a large body arrives whole; past maxBodyBytes it is cut and flagged', async () => {
  const r = await ok({ uri: '/?big=300000' });
  assert.equal(r.body.bytes, 300_000);
  assert.equal(r.body.text, 'y'.repeat(300_000));
  const cut = await ok({ uri: '/?big=2000000', maxBodyBytes: 50_000 });
  assert.equal(cut.truncated, true);
  assert.equal(cut.body.text.length, 50_000);
});

test('uwsgi: a GET with the default vars is answered 200', async () => {
  const r = await ok({});
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body.text).environ.REQUEST_URI, '/');
});
