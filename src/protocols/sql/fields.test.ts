import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RowBudget } from './fields.ts';

test('rows are limited per result set, bytes across the whole answer', () => {
  const b = new RowBudget({ maxRows: 2, maxBytes: 100 });
  b.nextSet();
  assert.deepEqual([b.keep(10), b.keep(10), b.keep(10)], [true, true, false]);
  b.nextSet();
  assert.deepEqual([b.keep(10), b.keep(10), b.keep(10)], [true, true, false]);
  assert.equal(b.first, 'maxRows 2');
  assert.equal(b.bytes, 40);
  b.nextSet();
  assert.deepEqual([b.keep(50), b.keep(20)], [true, false]);
  // Once the bytes are spent, later sets keep nothing, even a small row.
  b.nextSet();
  assert.equal(b.keep(1), false);
  assert.equal(b.first, 'maxRows 2');
});

test('non-row bytes count against the answer; the first cut is the one named', () => {
  const b = new RowBudget({ maxRows: 10, maxBytes: 100 });
  b.nextSet();
  assert.equal(b.fits(60), true);
  b.bytes += 60;
  assert.equal(b.fits(41), false);
  assert.equal(b.first, 'maxBytes 100');
  b.nextSet();
  assert.equal(b.keep(1), false);
});
