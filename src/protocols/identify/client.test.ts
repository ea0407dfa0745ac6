// identify port against a server that accepts every connection and never answers: the report comes before the deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runOperation } from '../../core/runner.ts';
import { memoryHost, pipe } from '../../../test/memory.ts';
import { protocols } from '../all.ts';

const identify = protocols.find((p) => p.id === 'identify')!;

test('identify port: a port that hears every probe in silence is reported open and unnamed within the deadline, the untried probes counted', async () => {
  const silent = Array.from({ length: 200 }, () => pipe());
  const t0 = performance.now();
  const answer = await runOperation(memoryHost(silent), identify, identify.operations.port, { host: 'h', port: 5060, timeoutMs: 4000, probeTimeoutMs: 200, connectTimeoutMs: 200 });
  const ms = performance.now() - t0;
  const r = answer.result as { state: string; service: string; evidence: { step: string; note?: string }[] };
  assert.ok(ms < 4000, `answered in ${Math.round(ms)} ms`);
  assert.equal(r.state, 'open');
  assert.equal(r.service, 'unknown');
  const last = r.evidence.at(-1)!;
  assert.equal(last.step, 'deadline');
  assert.match(last.note!, /^\d+ probes left untried: the operation's deadline leaves no room for another$/);
});
