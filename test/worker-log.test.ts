// What the test run counts as a defect in the Worker's log (test/harness.ts workerLogDefects), in the
// lines startTestWorker writes: workerd's own at info level, and the inspector's "[ERROR] Uncaught …".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workerLogDefects } from './harness.ts';

const shown = '[ERROR] Uncaught Error: Network connection lost.';
const inResponse = 'workerd/io/worker.c++:2484: info: uncaught exception; source = Uncaught (in response); stack = Error: Network connection lost.';
const inPromise = 'workerd/io/worker.c++:2484: info: uncaught exception; source = Uncaught (in promise); stack = Error: Network connection lost.';

test('a WebSocket close reported "in response" is excused only when workerd gives that source for each one', () => {
  assert.deepEqual(workerLogDefects([shown, inResponse].join('\n')), []);
  // Without its source, a lost connection is a defect.
  assert.equal(workerLogDefects(shown).length, 1);
  // Two shown, one explained: both stay.
  assert.equal(workerLogDefects([shown, shown, inResponse].join('\n')).length, 3);
  // Lost in the Worker's own promise: a defect, whatever else the log says.
  assert.equal(workerLogDefects([shown, shown, inResponse, inResponse, inPromise].join('\n')).length, 5);
});

test("other uncaught exceptions are defects; workerd's own I/O ending and a download cut on purpose are not", () => {
  assert.equal(workerLogDefects('[ERROR] Uncaught TypeError: x is not a function').length, 1);
  assert.equal(workerLogDefects('workerd/io/worker.c++:2484: info: uncaught exception; source = Uncaught (in promise); stack = TypeError: x is not a function').length, 1);
  // The Worker's own report of a rejection nothing handled (src/hosts/workers/index.ts).
  assert.equal(workerLogDefects([shown, inResponse, 'Uncaught (in promise) Error: Network connection lost.'].join('\n')).length, 3);
  assert.equal(workerLogDefects('Fatal JavaScript out of memory: Reached heap limit').length, 1);
  assert.deepEqual(workerLogDefects('workerd/io/io-context.c++:445: info: uncaught exception; exception = kj/compat/http.c++:4278: disconnected: other end of WebSocketPipe was destroyed'), []);
  assert.deepEqual(workerLogDefects('[ERROR] Uncaught Error: download cut after its first byte: closed: SFTP channel closed'), []);
  assert.deepEqual(workerLogDefects('workerd/io/worker-entrypoint.c++:466: info: exception = kj/async.c++:212: disconnected: operation canceled'), []);
});
