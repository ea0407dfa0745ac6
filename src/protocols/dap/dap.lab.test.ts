import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';

const target = { host: '127.0.0.1', port: ports['services-b'].dap };

test('dap: debugpy answers initialize with its capabilities and exception filters, client after client', async () => {
  const r = await call('dap', 'initialize', target, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  for (const c of ['supportsConfigurationDoneRequest', 'supportsConditionalBreakpoints', 'supportsEvaluateForHovers', 'supportsSetVariable']) {
    assert.ok(r.body.result.supports.includes(c), c);
  }
  const filters = r.body.result.exceptionBreakpointFilters.map((f: { filter: string }) => f.filter);
  assert.ok(filters.includes('raised') && filters.includes('uncaught'), filters.join(', '));
  // pydevd (debugpy's in-process adapter) names the debuggee's process.
  assert.ok(Number.isInteger(r.body.result.capabilities.pydevd.processId), JSON.stringify(r.body.result.capabilities.pydevd));
  assert.ok(r.body.transcript.entries.some((e: { decode?: string }) => e.decode === 'response initialize success'));
  // A second client after the first has gone: the adapter keeps listening.
  const again = await call('dap', 'initialize', { ...target, eventWaitMs: 0 });
  assert.equal(again.status, 200);
});

test('dap: a server that is not a debug adapter is a protocol error or a timeout, named', async () => {
  const r = await call('dap', 'initialize', { host: '127.0.0.1', port: ports['services-b'].adb, timeoutMs: 2000 });
  assert.ok(['protocol_error', 'closed', 'io_timeout'].includes(r.body.error.code), JSON.stringify(r.body));
});
