import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex } from '../../core/bytes.ts';
import { consoleText, pngSize, remoteValue, socketPath } from './client.ts';
import { hostHeader } from './json-http.ts';

test('the WebSocket path is taken from webSocketDebuggerUrl; the host stays the target', () => {
  assert.equal(socketPath('ws://127.0.0.1:9222/devtools/page/7139309C'), '/devtools/page/7139309C');
  assert.equal(socketPath('ws://[::1]:9229/9f1ba25c-5ae8'), '/9f1ba25c-5ae8');
  assert.throws(() => socketPath('http://x/y'), /not a ws:\/\/ URL/);
  assert.equal(hostHeader('::1', 9229), '[::1]:9229');
  assert.equal(hostHeader('example.com', 80), 'example.com');
});

test('remote objects and console arguments as DevTools shows them', () => {
  assert.equal(remoteValue({ type: 'number', value: 3, description: '3' }), 3);
  assert.equal(remoteValue({ type: 'number', unserializableValue: '-0', description: '-0' }), '-0');
  assert.equal(remoteValue({ type: 'undefined' }), null);
  assert.equal(remoteValue({ type: 'function', description: 'function f() {}' }), 'function f() {}');
  assert.equal(consoleText([{ type: 'string', value: 'portolan' }, { type: 'number', value: 42 }, { type: 'undefined' }, { type: 'object', value: { a: 1 } }]), 'portolan 42 undefined {"a":1}');
});

test('PNG size from the IHDR chunk; anything else is not a PNG', () => {
  const ihdr = fromHex('89504e470d0a1a0a0000000d4948445200000320000001c90802000000');
  assert.deepEqual(pngSize(ihdr), { width: 800, height: 457 });
  assert.throws(() => pngSize(fromHex('ffd8ffe000104a46494600010100000100010000')), /not a PNG/);
});
