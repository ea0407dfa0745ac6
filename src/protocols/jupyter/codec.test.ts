import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authHeaders, stripAnsi } from './client.ts';

test('tracebacks lose IPython\'s terminal colours', () => {
  assert.equal(stripAnsi('\u001b[0;31mKeyError\u001b[0m: \u001b[1;32m\'Pinta\'\u001b[0m'), "KeyError: 'Pinta'");
  assert.equal(stripAnsi('----> 2 ships'), '----> 2 ships');
});

test('the token travels as Authorization: token …, and nothing without one', () => {
  assert.deepEqual(authHeaders({ token: 'abc' }), [['Authorization', 'token abc']]);
  assert.deepEqual(authHeaders({}), []);
});
