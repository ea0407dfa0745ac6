// FastCGI against Debian's php-fpm (TCP pool, a script echoing its parameters) and fcgiwrap (a shell CGI script), through workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { labDir, ports } from '../../../lab/index.ts';

const p = ports['services-a'];
const php = { host: '127.0.0.1', port: p.phpFpm, scriptFilename: `${labDir}/php-fpm/www/echo.php` };
const cgi = { host: '127.0.0.1', port: p.fcgiwrap, scriptFilename: `${labDir}/fcgiwrap/cgi/echo.sh` };

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('fastcgi', op, input);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result;
}

test('fastcgi php-fpm: the script sees our CGI parameters, headers and STDIN body; the response is split', async () => {
  const r = await ok('request', { ...php, method: 'POST', uri: '/echo.php?a=1&b=two', headers: { 'Content-Type': 'text/plain', 'X-Test': 'portolan' }, body: 'héllo body', params: { PORTOLAN_EXTRA: 'yes' } });
  assert.deepEqual([r.status, r.protocolStatus, r.appStatus], [200, 'REQUEST_COMPLETE', 0]);
  assert.deepEqual(r.headers.find(([n]: [string]) => n === 'x-portolan'), ['x-portolan', 'php-echo']);
  const echo = JSON.parse(r.body.text);
  assert.equal(echo.sapi, 'fpm-fcgi');
  assert.equal(echo.body, 'héllo body');
  assert.equal(echo.params.REQUEST_METHOD, 'POST');
  assert.equal(echo.params.QUERY_STRING, 'a=1&b=two');
  assert.equal(echo.params.REQUEST_URI, '/echo.php?a=1&b=two');
  assert.equal(echo.params.HTTP_X_TEST, 'portolan');
  assert.equal(echo.params.CONTENT_TYPE, 'text/plain');
  assert.equal(echo.params.CONTENT_LENGTH, String(Buffer.byteLength('héllo body')));
  assert.equal(echo.params.PORTOLAN_EXTRA, 'yes');
  assert.equal(echo.params.SCRIPT_FILENAME, php.scriptFilename);
});

test('fastcgi php-fpm: STDERR, a status set by the script, a missing script in php-fpm\'s words', async () => {
  const r = await ok('request', { ...php, uri: '/echo.php?stderr=portolan-was-here&status=418' });
  assert.equal(r.status, 418);
  assert.match(r.stderr, /portolan-was-here/);
  assert.ok(r.records.stderr >= 1);
  const missing = await ok('request', { ...php, scriptFilename: '/nonexistent/nothing.php' });
  assert.equal(missing.status, 404);
  assert.match(missing.stderr, /Primary script unknown/);
});

test('fastcgi php-fpm: a body larger than a record arrives whole; past maxBodyBytes it is cut and flagged', async () => {
  const big = await ok('request', { ...php, uri: '/echo.php?big=200000' });
  assert.equal(big.body.bytes, 200_000);
  assert.equal(big.body.text, 'x'.repeat(200_000));
  assert.ok(big.records.stdout >= 4);
  const cut = await ok('request', { ...php, uri: '/echo.php?big=3000000', maxBodyBytes: 100_000 });
  assert.equal(cut.truncated, true);
  assert.equal(cut.protocolStatus, null);
});

test('fastcgi GET_VALUES: php-fpm answers that it does not multiplex (and leaves out the limits it does not set)', async () => {
  const r = await ok('values', { host: '127.0.0.1', port: p.phpFpm });
  assert.equal(r.unknownType, false);
  assert.deepEqual(r.values, { FCGI_MPXS_CONNS: '0' });
  assert.deepEqual([r.multiplexes, r.maxConns, r.maxReqs], [false, null, null]);
});

test('fastcgi fcgiwrap: a shell CGI script with its variables, body and standard error', async () => {
  const r = await ok('request', { ...cgi, method: 'PUT', uri: '/echo.sh?x=y', headers: { 'X-Test': 'from-portolan' }, body: 'line of input' });
  assert.equal(r.status, 200);
  assert.deepEqual(r.headers.find(([n]: [string]) => n === 'x-portolan'), ['x-portolan', 'cgi-echo']);
  const lines = r.body.text.split('\n');
  assert.ok(lines.includes('REQUEST_METHOD=PUT'));
  assert.ok(lines.includes('QUERY_STRING=x=y'));
  assert.ok(lines.includes('HTTP_X_TEST=from-portolan'));
  assert.ok(lines.includes('BODY=line of input'));
  assert.match(r.stderr, /cgi says hello on stderr/);
  assert.equal(r.protocolStatus, 'REQUEST_COMPLETE');
});

test('fastcgi: a server that is not FastCGI is a protocol_error', async () => {
  // varnishd's CLI greets first with "107 59 ...": not a FastCGI record.
  const r = await call('fastcgi', 'request', { host: '127.0.0.1', port: p.varnishCli, scriptFilename: '/x' });
  assert.equal(r.body.error.code, 'protocol_error');
});
