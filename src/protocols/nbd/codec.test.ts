import assert from 'node:assert/strict';
import { test } from 'node:test';
import { concat, fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import {
  clientFlags,
  CMD,
  CMD_FLAG,
  encodeInfoRequest,
  encodeOption,
  encodeRequest,
  exportNameReplyFrame,
  greetingFrame,
  isReplyError,
  OPT,
  optionReplyFrame,
  parseChunk,
  parseInfo,
  parseServerReply,
  replyErrorName,
  replyFrame,
  transmissionFlagNames,
} from './codec.ts';

// Bytes as nbd-server 3.24 sent them in the lab.
const GREETING = fromHex('4e42444d41474943' + '49484156454f5054' + '0003');
const INFO_EXPORT = fromHex('0003e889045565a9' + '00000006' + '00000003' + '0000000c' + '0000' + '0000000002000400' + '0143');
const ACK_INFO = fromHex('0003e889045565a9' + '00000006' + '00000001' + '00000000');
const TLS_REQD = concat([fromHex('0003e889045565a9' + '00000003' + '80000005' + '00000024'), utf8('TLS is required on this server\0\0\0\0\0\0')]);

test('greeting: newstyle with its flags, oldstyle with size and flags, anything else refused', () => {
  assert.deepEqual(assertSplitFeed(greetingFrame, GREETING), [{ style: 'newstyle', flags: 3, fixedNewstyle: true, noZeroes: true }]);
  const old = concat([utf8('NBDMAGIC'), fromHex('0000420281861253'), fromHex('0000000000100000'), fromHex('00000003'), new Uint8Array(124)]);
  assert.deepEqual(assertSplitFeed(greetingFrame, old), [{ style: 'oldstyle', size: 1024 * 1024, flags: 3 }]);
  assert.throws(() => greetingFrame(utf8('SSH-2.0-OpenSSH_9\r\n')), ProtocolError);
  assert.throws(() => greetingFrame(concat([utf8('NBDMAGIC'), utf8('SOMETHIN')])), /unknown greeting magic/);
  assertFuzzSafe(greetingFrame, { seeds: [GREETING] });
});

test('client flags, options, INFO/GO requests, byte for byte', () => {
  assert.equal(toHex(clientFlags({ fixedNewstyle: true, noZeroes: true })), '00000003');
  assert.equal(toHex(clientFlags({ fixedNewstyle: true, noZeroes: false })), '00000001');
  assert.equal(toHex(encodeOption(OPT.LIST)), '49484156454f5054' + '00000003' + '00000000');
  assert.equal(toHex(encodeOption(OPT.GO, encodeInfoRequest('disk', [1, 3]))), '49484156454f5054' + '00000007' + '0000000e' + '00000004' + toHex(utf8('disk')) + '0002' + '0001' + '0003');
});

test('option replies: INFO then ACK, an error reply with the server\'s words, split at every byte; a huge length refused', () => {
  const replies = assertSplitFeed(optionReplyFrame(), concat([INFO_EXPORT, ACK_INFO, TLS_REQD]));
  assert.equal(replies.length, 3);
  assert.deepEqual(parseInfo(replies[0].data), { type: 'export', size: 0x2000400, flags: 0x143 });
  assert.equal(replies[1].type, 1);
  assert.ok(isReplyError(replies[2].type));
  assert.equal(replyErrorName(replies[2].type), 'NBD_REP_ERR_TLS_REQD');
  assert.deepEqual(transmissionFlagNames(0x143), ['hasFlags', 'readOnly', 'sendWriteZeroes', 'canMultiConn']);
  const huge = fromHex('0003e889045565a9' + '00000003' + '00000002' + '80000000');
  assert.throws(() => optionReplyFrame()(huge), /exceeds/);
  assert.throws(() => optionReplyFrame()(fromHex('0000000000000000' + '00000003' + '00000002' + '00000000')), /magic/);
  assertFuzzSafe(optionReplyFrame(4096), { seeds: [INFO_EXPORT, TLS_REQD] });
});

test('NBD_REP_SERVER, NBD_INFO_* payloads, the EXPORT_NAME answer with and without zeroes', () => {
  const server = concat([fromHex('00000007'), utf8('harbour'), utf8('ro disk')]);
  assert.deepEqual(parseServerReply(server), { name: 'harbour', description: 'ro disk' });
  assert.throws(() => parseServerReply(fromHex('00001001')), ProtocolError);
  assert.throws(() => parseServerReply(fromHex('00000009616263')), ProtocolError);
  assert.deepEqual(parseInfo(concat([fromHex('0001'), utf8('x')])), { type: 'name', name: 'x' });
  assert.deepEqual(parseInfo(fromHex('0003' + '00000001' + '00001000' + '02000000')), { type: 'blockSize', minimum: 1, preferred: 4096, maximum: 32 * 1024 * 1024 });
  assert.deepEqual(parseInfo(fromHex('0009')), { type: 'unknown', code: 9 });
  assert.throws(() => parseInfo(fromHex('0000' + 'ffffffffffffffff' + '0001')), /larger than/);
  const answer = fromHex('0000000000001000' + '0003');
  assert.deepEqual(assertSplitFeed(exportNameReplyFrame(true), answer), [{ size: 4096, flags: 3 }]);
  assert.deepEqual(assertSplitFeed(exportNameReplyFrame(false), concat([answer, new Uint8Array(124)])), [{ size: 4096, flags: 3 }]);
});

test('requests: READ, WRITE with data and FUA, byte for byte', () => {
  assert.equal(toHex(encodeRequest({ type: CMD.READ, cookie: 1n, offset: 4096, length: 512 })), '25609513' + '0000' + '0000' + '0000000000000001' + '0000000000001000' + '00000200');
  assert.equal(toHex(encodeRequest({ type: CMD.WRITE, cookie: 2n, offset: 0, flags: CMD_FLAG.FUA }, utf8('hi'))), '25609513' + '0001' + '0001' + '0000000000000002' + '0000000000000000' + '00000002' + '6869');
  assert.equal(toHex(encodeRequest({ type: CMD.DISC, cookie: 3n })).slice(8, 16), '00000002');
});

test('replies: a simple READ reply of the length its request asked, an error reply without data, structured chunks', () => {
  const lengths = new Map([
    [1n, 4],
    [2n, 4],
  ]);
  const frame = replyFrame((c) => lengths.get(c), 1024);
  const ok = fromHex('67446698' + '00000000' + '0000000000000001' + 'deadbeef');
  const err = fromHex('67446698' + '00000005' + '0000000000000002');
  const got = assertSplitFeed(frame, concat([ok, err]));
  assert.deepEqual(got, [
    { kind: 'simple', error: 0, cookie: 1n, data: fromHex('deadbeef') },
    { kind: 'simple', error: 5, cookie: 2n, data: new Uint8Array(0) },
  ]);
  assert.throws(() => frame(fromHex('67446698' + '00000000' + '0000000000000009')), /no request carries/);
  const data = fromHex('668e33ef' + '0000' + '0001' + '0000000000000001' + '0000000c' + '0000000000001000' + 'cafebabe');
  const hole = fromHex('668e33ef' + '0001' + '0002' + '0000000000000001' + '0000000c' + '0000000000001004' + '00000200');
  const chunks = assertSplitFeed(frame, concat([data, hole]));
  assert.deepEqual(chunks.map((c) => (c.kind === 'chunk' ? [c.done, parseChunk(c.type, c.data)] : null)), [
    [false, { type: 'data', offset: 4096, data: fromHex('cafebabe') }],
    [true, { type: 'hole', offset: 4100, length: 512 }],
  ]);
  const error = concat([fromHex('00000005' + '0004'), utf8('bad!')]);
  assert.deepEqual(parseChunk(32769, error), { type: 'error', error: 5, message: 'bad!' });
  assert.deepEqual(parseChunk(32770, concat([error, fromHex('0000000000000010')])), { type: 'error', error: 5, message: 'bad!', offset: 16 });
  assert.throws(() => frame(fromHex('668e33ef' + '0001' + '0001' + '0000000000000001' + '7fffffff')), /exceeds/);
  assert.throws(() => frame(fromHex('12345678')), /unknown reply magic/);
  assertFuzzSafe(frame, { seeds: [ok, err, data, hole] });
});
