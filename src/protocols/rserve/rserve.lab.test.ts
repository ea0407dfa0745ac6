import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { servicesFacts } from '../../../lab/servers/services-b.ts';

const facts = servicesFacts.rserve;
const plain = { host: '127.0.0.1', port: ports['services-b'].rserve, user: facts.user, password: facts.password };
const cryptOnly = { ...plain, port: ports['services-b'].rserveCrypt };

test('rserve: the ID string names QAP1 and the login methods each server wants', async () => {
  const a = await call('rserve', 'info', { host: plain.host, port: plain.port });
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.equal(a.body.result.protocol, 'QAP1');
  assert.deepEqual(a.body.result.auth, { plain: true, crypt: true });
  const b = await call('rserve', 'info', { host: cryptOnly.host, port: cryptOnly.port });
  assert.deepEqual(b.body.result.auth, { plain: false, crypt: true });
  assert.match(b.body.result.salt, /^[./0-9A-Za-z]{2}$/);
});

test('rserve: eval returns typed R values (vectors, NA, named lists, attributes); the password stays out of the transcript', async () => {
  const v = await call('rserve', 'eval', { ...plain, expression: 'R.version$major' }, { transcript: true });
  assert.equal(v.status, 200, JSON.stringify(v.body));
  assert.equal(v.body.result.login, 'plain');
  assert.deepEqual(v.body.result.value, { type: 'character', values: ['4'] });
  assert.ok(!JSON.stringify(v.body.transcript).includes(facts.password));
  const l = await call('rserve', 'eval', { ...plain, expression: 'list(total = sum(1:10), mean = mean(c(1, 2, NA), na.rm = TRUE), words = c("harbour", NA), ok = c(TRUE, NA))' });
  assert.deepEqual(l.body.result.value, {
    type: 'list',
    names: ['total', 'mean', 'words', 'ok'],
    values: [
      { type: 'integer', values: [55] },
      { type: 'double', values: [1.5] },
      { type: 'character', values: ['harbour', null] },
      { type: 'logical', values: [true, null] },
    ],
  });
  const m = await call('rserve', 'eval', { ...plain, expression: 'matrix(c(1.5, 2, 3, 4), 2)' });
  assert.deepEqual(m.body.result.value, { type: 'double', values: [1.5, 2, 3, 4], attributes: { dim: { type: 'integer', values: [2, 2] } } });
});

test('rserve: R errors and parse errors in R\'s words; a wrong password is the server\'s auth failure', async () => {
  const err = await call('rserve', 'eval', { ...plain, expression: 'stop("the harbour is closed")' });
  assert.equal(err.status, 502);
  assert.equal(err.body.error.code, 'server_error');
  assert.equal(err.body.error.message, 'R: the harbour is closed');
  const parse = await call('rserve', 'eval', { ...plain, expression: '1 +' });
  assert.match(parse.body.error.message, /did not parse/);
  const wrong = await call('rserve', 'eval', { ...plain, password: 'wrong', expression: '1' });
  assert.equal(wrong.body.error.code, 'auth_failed');
  assert.match(wrong.body.error.message, /auth failed/);
  const none = await call('rserve', 'eval', { host: plain.host, port: plain.port, expression: '1' });
  assert.equal(none.body.error.code, 'auth_failed');
  assert.match(none.body.error.message, /requires a login/);
});

test('rserve: crypt is refused by Debian\'s Rserve (libxcrypt rejects the salt it passes), and says so', async () => {
  const r = await call('rserve', 'eval', { ...cryptOnly, expression: '1' });
  assert.equal(r.body.error.code, 'auth_failed');
  assert.match(r.body.error.message, /crypt login/);
  const forced = await call('rserve', 'eval', { ...cryptOnly, method: 'plain', expression: '1' });
  assert.equal(forced.status, 400);
  assert.match(forced.body.error.message, /method/);
});
