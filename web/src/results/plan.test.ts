import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePlan, planOf } from './plan.ts';

// As PostgreSQL 15 prints EXPLAIN ANALYZE of a sort over a filtered join.
const ANALYZE = [
  'Sort  (cost=45.12..45.42 rows=120 width=40) (actual time=0.210..0.214 rows=11 loops=1)',
  '  Sort Key: h.score DESC',
  '  Sort Method: quicksort  Memory: 25kB',
  '  ->  Hash Join  (cost=3.70..41.00 rows=120 width=40) (actual time=0.100..0.180 rows=11 loops=1)',
  '        Hash Cond: (h.id = p.id)',
  '        ->  Seq Scan on harbours h  (cost=0.00..22.70 rows=1270 width=40) (actual time=0.010..0.050 rows=120 loops=1)',
  "              Filter: (name ~~ '%-11%'::text)",
  '              Rows Removed by Filter: 109',
  '        ->  Hash  (cost=2.20..2.20 rows=120 width=4) (never executed)',
  '              ->  Seq Scan on ports p  (cost=0.00..2.20 rows=120 width=4) (never executed)',
  'Planning Time: 0.150 ms',
  'Execution Time: 0.260 ms',
];

test('a text plan becomes a tree: nodes by their arrows, details under their node, times after the plan', () => {
  const plan = parsePlan(ANALYZE)!;
  assert.equal(plan.root.label, 'Sort');
  assert.deepEqual(plan.root.cost, { startup: 45.12, total: 45.42, rows: 120, width: 40 });
  assert.deepEqual(plan.root.actual, { first: 0.21, last: 0.214, rows: 11, loops: 1 });
  assert.deepEqual(plan.root.details, ['Sort Key: h.score DESC', 'Sort Method: quicksort  Memory: 25kB']);
  const [join] = plan.root.children;
  assert.equal(join.label, 'Hash Join');
  assert.deepEqual(join.details, ['Hash Cond: (h.id = p.id)']);
  assert.deepEqual(
    join.children.map((c) => c.label),
    ['Seq Scan on harbours h', 'Hash'],
  );
  assert.deepEqual(join.children[0].details, ["Filter: (name ~~ '%-11%'::text)", 'Rows Removed by Filter: 109']);
  assert.deepEqual(join.children[1].details, ['never executed']);
  assert.equal(join.children[1].children[0].label, 'Seq Scan on ports p');
  assert.equal(join.children[1].children[0].cost?.total, 2.2);
  assert.deepEqual(plan.summary, ['Planning Time: 0.150 ms', 'Execution Time: 0.260 ms']);
});

test('only EXPLAIN output is a plan', () => {
  assert.equal(planOf({ columns: [{ name: 'QUERY PLAN' }], rows: [['Seq Scan on t  (cost=0.00..1.00 rows=1 width=4)']] })?.root.label, 'Seq Scan on t');
  assert.equal(planOf({ columns: [{ name: 'QUERY PLAN' }], rows: [['[{"Plan": {}}]']] }), null);
  assert.equal(planOf({ columns: [{ name: 'name' }], rows: [['Seq Scan on t  (cost=0.00..1.00 rows=1 width=4)']] }), null);
  assert.equal(parsePlan([]), null);
});
