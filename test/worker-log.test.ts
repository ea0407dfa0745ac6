// What the test run counts as a defect in the Worker's log (test/harness.ts workerLogDefects), in the
// lines startTestWorker writes: the inspector's "[ERROR] Uncaught …" and workerd's own lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workerLogDefects } from './harness.ts';

test("a response's connection lost (no JavaScript frame) is excused; lost in the Worker's own code it is a defect", () => {
  assert.deepEqual(workerLogDefects('[ERROR] Uncaught Error: Network connection lost. (no JavaScript frame)'), []);
  assert.equal(workerLogDefects('[ERROR] Uncaught Error: Network connection lost. Error: Network connection lost. |     at pump (index.js:1:2)').length, 1);
});

test('other uncaught exceptions and fatal errors are defects; a download cut on purpose is not', () => {
  assert.equal(workerLogDefects('[ERROR] Uncaught TypeError: x is not a function TypeError: x is not a function |     at f (index.js:3:4)').length, 1);
  assert.equal(workerLogDefects('Fatal JavaScript out of memory: Reached heap limit').length, 1);
  // What the Worker's unhandledrejection listener writes to its console (src/hosts/workers/index.ts).
  assert.equal(workerLogDefects('Uncaught (in promise) PortolanError: connection closed while a write waited for the peer').length, 1);
  assert.deepEqual(workerLogDefects('[ERROR] Uncaught Error: download cut after its first byte: closed: SFTP channel closed (no JavaScript frame)'), []);
  assert.deepEqual(workerLogDefects('hello from console.log'), []);
});
