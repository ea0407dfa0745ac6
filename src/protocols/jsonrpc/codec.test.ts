import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from '../../core/errors.ts';
import { checkResponse, errorCodeName, isServerMessage, parseBody, requestObject } from './codec.ts';

test('requests: params by position or name, notifications without id', () => {
  assert.deepEqual(requestObject({ method: 'add', params: [1, 2], id: 1 }), { jsonrpc: '2.0', method: 'add', params: [1, 2], id: 1 });
  assert.deepEqual(requestObject({ method: 'add', params: { a: 1 }, id: 'x' }), { jsonrpc: '2.0', method: 'add', params: { a: 1 }, id: 'x' });
  assert.deepEqual(requestObject({ method: 'ping' }), { jsonrpc: '2.0', method: 'ping' });
});

test('responses: result xor error, codes named, malformed ones refused', () => {
  assert.deepEqual(checkResponse({ jsonrpc: '2.0', id: 1, result: 3 }), { id: 1, result: 3 });
  assert.deepEqual(checkResponse({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error.' } }), { id: null, error: { code: -32700, message: 'Parse error.', meaning: 'Parse error' } });
  assert.equal(errorCodeName(-32001), 'Server error');
  assert.equal(errorCodeName(1), null);
  assert.throws(() => checkResponse({ jsonrpc: '2.0', id: 1, result: 1, error: { code: 1, message: 'x' } }), /exactly one/);
  assert.throws(() => checkResponse({ jsonrpc: '1.0', id: 1, result: 1 }), ProtocolError);
  assert.throws(() => checkResponse({ jsonrpc: '2.0', result: 1 }), /no "id"/);
  assert.throws(() => checkResponse({ jsonrpc: '2.0', id: 1, error: { code: 'x', message: 'y' } }), ProtocolError);
  assert.throws(() => parseBody('{"a":'), ProtocolError);
  assert.equal(isServerMessage({ jsonrpc: '2.0', method: 'aria2.onDownloadStart', params: [{ gid: 'x' }] }), true);
});

test('any JSON the server sends is a response, a ProtocolError, never a crash', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      try {
        checkResponse(v);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
    { numRuns: 500 },
  );
});
