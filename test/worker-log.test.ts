// What the test run counts as a defect in the Worker's log (test/harness.ts workerLogDefects).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workerLogDefects } from './harness.ts';

const shown = '\x1b[31m✘ \x1b[41;31m[\x1b[41;97mERROR\x1b[41;31m]\x1b[0m \x1b[1mUncaught Error: Network connection lost. \x1b[0m';
const inResponse = 'uncaught exception; source = Uncaught (in response); stack = Error: Network connection lost.';
const inPromise = 'uncaught exception; source = Uncaught (in promise); stack = Error: Network connection lost.';

test('a WebSocket close reported "in response" is excused only when the debug log gives that source for each one', () => {
  assert.deepEqual(workerLogDefects([shown, inResponse].join('\n')), []);
  // At the default level there is no source: a lost connection is a defect.
  assert.equal(workerLogDefects(shown).length, 1);
  // Two shown, one explained: both stay.
  assert.equal(workerLogDefects([shown, shown, inResponse].join('\n')).length, 3);
  // Lost in the Worker's own promise: a defect, whatever else the log says.
  assert.equal(workerLogDefects([shown, shown, inResponse, inResponse, inPromise].join('\n')).length, 5);
});

test('other uncaught exceptions, reloads and restarts are defects; a download cut on purpose is not', () => {
  assert.equal(workerLogDefects('✘ [ERROR] Uncaught TypeError: x is not a function').length, 1);
  // What the Worker's unhandledrejection listener writes (src/hosts/workers/index.ts).
  assert.equal(workerLogDefects('✘ [ERROR] Uncaught (in promise) PortolanError: connection closed while a write waited for the peer').length, 1);
  assert.equal(workerLogDefects('⎔ Reloading local server...').length, 1);
  assert.equal(workerLogDefects('Your worker restarted mid-request.').length, 1);
  assert.deepEqual(workerLogDefects('✘ [ERROR] Uncaught Error: download cut after its first byte: closed: SFTP channel closed'), []);
  assert.deepEqual(workerLogDefects('[wrangler:info] GET /api/runtime 200 OK (3ms)'), []);
});
