// StatsD lines: every type, rates, deltas, tags, refusals that name the metric, and datagram packing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeMetric, packDatagrams } from './codec.ts';

test('statsd: one line per metric, as etsy/statsd and DogStatsD read them', () => {
  assert.equal(encodeMetric({ name: 'api.hits', value: 1, type: 'c' }), 'api.hits:1|c');
  assert.equal(encodeMetric({ name: 'api.hits', value: 3, type: 'c', sampleRate: 0.1 }), 'api.hits:3|c|@0.1');
  assert.equal(encodeMetric({ name: 'queue', value: 42, type: 'g' }), 'queue:42|g');
  assert.equal(encodeMetric({ name: 'queue', value: -4, type: 'g', delta: true }), 'queue:-4|g');
  assert.equal(encodeMetric({ name: 'queue', value: 4, type: 'g', delta: true }), 'queue:+4|g');
  assert.equal(encodeMetric({ name: 'req', value: 12.5, type: 'ms' }), 'req:12.5|ms');
  assert.equal(encodeMetric({ name: 'users', value: 'alice', type: 's' }), 'users:alice|s');
  assert.equal(encodeMetric({ name: 'size', value: 7, type: 'h', tags: { env: 'lab', canary: '' } }), 'size:7|h|#env:lab,canary');
});

test('statsd: what would break the line format is refused, naming the metric', () => {
  assert.throws(() => encodeMetric({ name: 'a:b', value: 1, type: 'c' }), /metric name "a:b"/);
  assert.throws(() => encodeMetric({ name: 'x', value: 'NaN', type: 'c' }), /x: value "NaN" is not a number/);
  assert.throws(() => encodeMetric({ name: 'x', value: -1, type: 'g' }), /cannot be set negative/);
  assert.throws(() => encodeMetric({ name: 'x', value: 1, type: 'c', tags: { 'a,b': 'c' } }), /tag a,b:c/);
  assert.throws(() => encodeMetric({ name: 'x', value: 'a|b', type: 's' }), /set member/);
});

test('statsd: lines are packed into datagrams no larger than asked, none lost or reordered', () => {
  assert.deepEqual(packDatagrams(['a:1|c', 'b:2|c', 'c:3|c'], 11).map((d) => new TextDecoder().decode(d)), ['a:1|c\nb:2|c', 'c:3|c']);
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[a-z]{1,30}:[0-9]{1,5}\|c$/), { minLength: 1, maxLength: 60 }), fc.integer({ min: 40, max: 500 }), (lines, max) => {
      const grams = packDatagrams(lines, max);
      assert.deepEqual(grams.flatMap((g) => new TextDecoder().decode(g).split('\n')), lines);
      for (const g of grams) assert.ok(g.length <= max || !new TextDecoder().decode(g).includes('\n'));
    }),
  );
});
