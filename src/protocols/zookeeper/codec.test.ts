import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concat, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { JuteReader, JuteWriter, Op, checkPath, decodeChildren, decodeConnectResponse, decodeReply, decodeWatchEvent, encodeConnect, encodeCreateBody, encodeRequest, packetFrame, parseColonLines, parseMntr, permsText } from './codec.ts';

function framed(build: (w: JuteWriter) => void): Uint8Array {
  const w = new JuteWriter();
  const done = w.lengthAt('u32');
  build(w);
  done();
  return w.finish();
}

const CONNECT_RESPONSE = framed((w) => w.int(0).int(10_000).long(0x1000abcn).buffer(new Uint8Array(16).fill(7)).bool(false));
const STAT = (w: JuteWriter) => w.long(2n).long(3n).long(1_700_000_000_000n).long(1_700_000_001_000n).int(1).int(0).int(0).long(0n).int(5).int(0).long(2n);
const GET_DATA_REPLY = framed((w) => {
  w.int(1).long(3n).int(0).buffer(utf8('hello'));
  STAT(w);
});
const NOTIFICATION = framed((w) => w.int(-1).long(-1n).int(0).int(3).int(3).ustring('/portolan'));

test('ConnectRequest: protocol 0, last zxid, timeout, session 0, 16-byte password, readOnly', () => {
  const c = encodeConnect({ timeoutMs: 10_000, readOnly: true });
  assert.deepEqual([...c.subarray(0, 4)], [0, 0, 0, 45]);
  assert.deepEqual([...c.subarray(16, 20)], [0, 0, 0x27, 0x10]);
  assert.deepEqual([...c.subarray(28, 32)], [0, 0, 0, 16]);
  assert.equal(c.at(-1), 1);
  const [body] = assertSplitFeed(packetFrame(), CONNECT_RESPONSE);
  const r = decodeConnectResponse(body);
  assert.deepEqual([r.protocolVersion, r.timeoutMs, r.sessionId, r.password.length, r.readOnly], [0, 10_000, 0x1000abcn, 16, false]);
});

test('requests: header then record; create with ACLs and flags', () => {
  const get = encodeRequest(7, Op.getData, (w) => w.ustring('/a').bool(true));
  assert.deepEqual([...get], [0, 0, 0, 15, 0, 0, 0, 7, 0, 0, 0, 4, 0, 0, 0, 2, 0x2f, 0x61, 1]);
  const create = encodeRequest(1, Op.create2, encodeCreateBody('/n', utf8('d'), [{ perms: 31, scheme: 'world', id: 'anyone' }], 3));
  const r = new JuteReader(create.subarray(12));
  assert.deepEqual([r.ustring('path'), r.buffer('data')?.length, r.int('acls'), r.int('perms'), r.ustring('scheme'), r.ustring('id'), r.int('flags')], ['/n', 1, 1, 31, 'world', 'anyone', 3]);
});

test('replies and notifications: whole, byte by byte, at random splits', () => {
  const got = assertSplitFeed(packetFrame(), concat([GET_DATA_REPLY, NOTIFICATION]));
  const reply = decodeReply(got[0]);
  assert.deepEqual([reply.xid, reply.zxid, reply.err], [1, 3n, 0]);
  assert.equal(new TextDecoder().decode(reply.body.buffer('data')!), 'hello');
  const stat = reply.body.stat();
  assert.deepEqual([stat.version, stat.dataLength, stat.mtime], [1, 5, 1_700_000_001_000n]);
  const n = decodeReply(got[1]);
  assert.equal(n.xid, -1);
  assert.deepEqual(decodeWatchEvent(n.body), { type: 'NodeDataChanged', state: 'SyncConnected', path: '/portolan' });
});

test('a 2^31 packet length, a negative one, a lying vector count are ProtocolErrors', () => {
  assert.throws(() => packetFrame()(new Uint8Array([0x80, 0, 0, 0, 1])), ProtocolError);
  assert.throws(() => packetFrame()(new Uint8Array([0x7f, 0xff, 0xff, 0xff, 1])), /exceeds limit/);
  const lying = framed((w) => w.int(0x7fffffff));
  assert.throws(() => decodeChildren(new JuteReader(lying.subarray(4))), /vector count/);
  assertFuzzSafe(packetFrame(1 << 16), { seeds: [CONNECT_RESPONSE, GET_DATA_REPLY, NOTIFICATION] });
  assertFuzzSafe((b) => {
    const r = decodeReply(b);
    decodeChildren(r.body);
    return undefined;
  });
});

test('paths, permissions and four-letter word parsing', () => {
  assert.equal(checkPath('/a/b'), undefined);
  assert.match(checkPath('a')!, /start with/);
  assert.match(checkPath('/a/')!, /end with/);
  assert.match(checkPath('/a/../b')!, /relative/);
  assert.equal(permsText(31), 'rwcda');
  assert.equal(permsText(1), 'r----');
  assert.deepEqual(parseMntr('zk_version\t3.8.0\nzk_znode_count\t5\n'), { zk_version: '3.8.0', zk_znode_count: 5 });
  assert.deepEqual(parseColonLines('Zxid: 0x0\nMode: standalone\nNode count: 5\n'), { Zxid: '0x0', Mode: 'standalone', 'Node count': '5' });
});
