import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { fromHex, toHex } from '../../core/bytes.ts';
import { parseNames, port2Frame, portPleaseRequest, namesRequest } from './codec.ts';

test('requests: 2-byte length, then the code and the node name', () => {
  assert.equal(toHex(namesRequest()), '00016e');
  assert.equal(toHex(portPleaseRequest('portolan')), '00097a706f72746f6c616e');
});

test('NAMES_RESP: epmd port then one line per node', () => {
  const reply = new Uint8Array([0, 0, 0x4f, 0x91, ...new TextEncoder().encode('name portolan at port 20370\nname rabbit at port 25672\n')]);
  assert.deepEqual(parseNames(reply), { epmdPort: 20369, nodes: [{ name: 'portolan', port: 20370 }, { name: 'rabbit', port: 25672 }], other: [] });
  assert.throws(() => parseNames(new Uint8Array([0, 0])), /EPMDPortNo/);
});

// The reply epmd 25 sent for the lab node (captured).
const found = fromHex('77004f924d00000600050008706f72746f6c616e0000');

test('PORT2_RESP: a registered node, byte by byte; a missing one is result 1', () => {
  const [r] = assertSplitFeed(port2Frame, found);
  assert.deepEqual(r, {
    result: 0,
    node: { name: 'portolan', port: 20370, nodeType: 77, type: 'normal', protocol: 0, protocolName: 'tcp/ipv4', highestVersion: 6, lowestVersion: 5, extra: '' },
  });
  assert.deepEqual(assertSplitFeed(port2Frame, fromHex('7701')), [{ result: 1 }]);
  assert.throws(() => port2Frame(fromHex('7800')), /PORT2_RESP/);
});

test('PORT2_RESP decoder: random bytes end in a reply, a wait or a ProtocolError', () => {
  assertFuzzSafe(port2Frame, { seeds: [found] });
});
