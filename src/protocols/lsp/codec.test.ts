import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { fromUtf8, utf8 } from '../../core/bytes.ts';
import { encodeMessage, hoverText, messageFrame } from './codec.ts';

const frame = messageFrame(1024);

test('base protocol: Content-Length header, then the UTF-8 JSON body', () => {
  assert.equal(fromUtf8(encodeMessage({ id: 1, s: 'é' })), 'Content-Length: 17\r\n\r\n{"id":1,"s":"é"}');
  const two = utf8('Content-Length: 11\r\nContent-Type: application/vscode-jsonrpc; charset=utf8\r\n\r\n{"id":"é"}Content-Length: 2\r\n\r\n{}');
  const got = assertSplitFeed(frame, two);
  assert.deepEqual(got.map((m) => m.body), [{ id: 'é' }, {}]);
  assert.equal(got[0].headers['content-type'], 'application/vscode-jsonrpc; charset=utf8');
});

test('base protocol: a missing or huge Content-Length and a non-JSON body are protocol errors', () => {
  assert.throws(() => frame(utf8('Content-Type: x\r\n\r\n{}')), /without Content-Length/);
  assert.throws(() => frame(utf8('Content-Length: 2147483648\r\n\r\n')), /exceeds the 1024-byte limit/);
  assert.throws(() => frame(utf8('Content-Length: 3\r\n\r\nabc')), /not JSON/);
  assert.throws(() => frame(new Uint8Array(9000).fill(0x41)), /header longer/);
});

test('hover contents: MarkupContent, MarkedString and arrays', () => {
  assert.deepEqual(hoverText({ kind: 'markdown', value: '**x**' }), { kind: 'markdown', value: '**x**' });
  assert.deepEqual(hoverText({ language: 'python', value: 'def f()' }), { kind: 'markdown', value: '```python\ndef f()\n```' });
  assert.deepEqual(hoverText(['a', { language: 'c', value: 'int x' }]).value, 'a\n\n```c\nint x\n```');
});

test('message decoder: random bytes end in a message, a wait or a ProtocolError', () => {
  assertFuzzSafe(frame, { seeds: [encodeMessage({ jsonrpc: '2.0', id: 1, result: { capabilities: {} } })] });
});
