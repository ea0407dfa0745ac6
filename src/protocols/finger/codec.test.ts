import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildQuery } from './codec.ts';

test('RFC 1288 2.3 query forms', () => {
  assert.equal(buildQuery('', false, []), '');
  assert.equal(buildQuery('', true, []), '/W');
  assert.equal(buildQuery('alice', true, []), '/W alice');
  assert.equal(buildQuery('alice', false, ['a.example', 'b.example']), 'alice@a.example@b.example');
});
