import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';

const target = { host: '127.0.0.1', port: ports['services-b'].lsp, timeoutMs: 20_000 };
const text = "import os\n\ndef harbour(ships):\n    '''Count the ships in the harbour.'''\n    return len(ships)\n\nharbour([])\nos.pa\n";

test('lsp: initialize gives pylsp and its capabilities', async () => {
  const r = await call('lsp', 'initialize', target);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.server.name, 'pylsp');
  for (const p of ['hoverProvider', 'completionProvider', 'definitionProvider', 'textDocumentSync']) assert.ok(r.body.result.providers.includes(p), p);
  assert.deepEqual(r.body.result.capabilities.completionProvider.triggerCharacters, ['.']);
});

test('lsp: hover on a call shows the signature and the docstring', async () => {
  const r = await call('lsp', 'hover', { ...target, text, line: 6, character: 2 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.match(r.body.result.hover.value, /harbour\(ships\)/);
  assert.match(r.body.result.hover.value, /Count the ships in the harbour\./);
});

test('lsp: completion after os.pa lists os.path and friends', async () => {
  const r = await call('lsp', 'completion', { ...target, text, line: 7, character: 5 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const labels = r.body.result.items.map((i: { label: string }) => i.label);
  assert.ok(labels.includes('path'), labels.join(', '));
  assert.ok(labels.includes('pardir'));
  assert.equal(r.body.result.items.find((i: { label: string }) => i.label === 'path').kind, 'Module');
  const one = await call('lsp', 'completion', { ...target, text, line: 7, character: 5, limit: 1 });
  assert.equal(one.body.result.items.length, 1);
  assert.ok(one.body.result.total > 1);
});

test('lsp: a position is required and named', async () => {
  const r = await call('lsp', 'hover', { ...target, text });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /line/);
});
