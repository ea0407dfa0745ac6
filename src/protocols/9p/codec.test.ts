import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteWriter, concat, fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import {
  encode,
  messageFrame,
  parseDirStats,
  parseError,
  parseOpened,
  parseRgetattr,
  parseRreaddir,
  parseRread,
  parseRstat,
  parseRversion,
  parseRwalk,
  qidKind,
  str,
  tattach,
  tcreate,
  tlcreate,
  tread,
  tversion,
  twalk,
  twrite,
} from './codec.ts';

const qid = (type: number, path: number) => new ByteWriter(13).u8(type).u32le(0).u64le(BigInt(path)).finish();
// Rversion 9P2000.L msize 65536, as diod 1.0.24 sent it in the lab.
const RVERSION = fromHex('1500000065ffff' + '00000100' + '0800' + toHex(utf8('9P2000.L')));

test('T-messages byte for byte: Tversion, Tattach (.L with n_uname, classic without), Twalk, Tread, Twrite, Tcreate (.u extension), Tlcreate', () => {
  assert.equal(toHex(tversion(8192, '9P2000.L')), '1500000064ffff' + '00200000' + '0800' + toHex(utf8('9P2000.L')));
  assert.equal(toHex(tattach(1, '9P2000.L', { fid: 1, uname: 'root', aname: '/x', uid: 0 })), '1d000000680100' + '01000000' + 'ffffffff' + '0400' + toHex(utf8('root')) + '0200' + toHex(utf8('/x')) + '00000000');
  assert.equal(toHex(tattach(1, '9P2000', { fid: 1, uname: 'glenda', aname: '', uid: 7 })), '19000000680100' + '01000000' + 'ffffffff' + '0600' + toHex(utf8('glenda')) + '0000');
  assert.equal(toHex(twalk(1, 1, 2, ['a', '..'])), '18000000' + '6e0100' + '01000000' + '02000000' + '0200' + '010061' + '02002e2e');
  assert.throws(() => twalk(1, 1, 2, Array(17).fill('x')), ProtocolError);
  assert.equal(toHex(tread(1, 2, 4096, 512)), '17000000740100' + '02000000' + '0010000000000000' + '00020000');
  assert.equal(toHex(twrite(1, 2, 0, utf8('hi'))), '19000000760100' + '02000000' + '0000000000000000' + '02000000' + '6869');
  assert.equal(toHex(tcreate(1, '9P2000.u', 3, 'f', 0o644, 1)).slice(-4), '0000', '9P2000.u adds an empty extension');
  assert.equal(tcreate(1, '9P2000', 3, 'f', 0o644, 1).length, tcreate(1, '9P2000.u', 3, 'f', 0o644, 1).length - 2);
  assert.equal(toHex(tlcreate(1, 3, 'f', 0o1101, 0o644, 0)).slice(8, 14), '0e0100');
});

test('messages framed whole, byte by byte and split; a size below the header or above the cap refused', () => {
  const rclunk = encode(121, 1);
  const got = assertSplitFeed(messageFrame(), concat([RVERSION, rclunk]));
  assert.deepEqual(got.map((m) => [m.type, m.tag]), [[101, 0xffff], [121, 1]]);
  assert.deepEqual(parseRversion(got[0].body), { msize: 65536, version: '9P2000.L' });
  assert.throws(() => messageFrame()(fromHex('03000000')), /shorter than its header/);
  assert.throws(() => messageFrame(1024)(fromHex('00000080')), /exceeds/);
  assertFuzzSafe(messageFrame(4096), { seeds: [RVERSION, rclunk] });
});

test('errors: Rlerror (errno named), Rerror (the server\'s words), 9P2000.u\'s errno', () => {
  assert.deepEqual(parseError({ type: 7, tag: 1, body: fromHex('02000000') }, '9P2000.L'), { message: 'ENOENT: no such file or directory', errno: 2 });
  const rerror = new ByteWriter();
  str(rerror, 'file does not exist');
  assert.deepEqual(parseError({ type: 107, tag: 1, body: rerror.finish() }, '9P2000'), { message: 'file does not exist', errno: null });
  rerror.u32le(2);
  assert.deepEqual(parseError({ type: 107, tag: 1, body: rerror.finish() }, '9P2000.u'), { message: 'file does not exist', errno: 2 });
});

test('Rwalk, Ropen, Rread, Rgetattr, Rreaddir (9P2000.L)', () => {
  const walk = concat([fromHex('0200'), qid(0x80, 5), qid(0, 6)]);
  assert.deepEqual(parseRwalk(walk).map(qidKind), ['directory', 'file']);
  assert.throws(() => parseRwalk(fromHex('1100')), ProtocolError);
  assert.deepEqual(parseOpened(concat([qid(0, 6), fromHex('00200000')])).iounit, 8192);
  assert.deepEqual(parseRread(fromHex('020000006869')), utf8('hi'));
  assert.throws(() => parseRread(fromHex('05000000')), /count 5/);
  const attr = new ByteWriter().u64le(0x7ffn).bytes(qid(0, 6)).u32le(0o100644).u32le(0).u32le(0).u64le(1n).u64le(0n).u64le(27n).u64le(4096n).u64le(8n);
  for (const [s, ns] of [[1700000000, 0], [1700000001, 500000000], [1700000002, 0], [0, 0]]) attr.u64le(BigInt(s)).u64le(BigInt(ns));
  attr.u64le(0n).u64le(0n);
  const a = parseRgetattr(attr.finish());
  assert.deepEqual([a.size, a.mode & 0o777, a.nlink, a.mtime], [27, 0o644, 1, '2023-11-14T22:13:21.500Z']);
  const entries = new ByteWriter().bytes(qid(0, 6)).u64le(1n).u8(8);
  str(entries, 'notice.txt').bytes(qid(0x80, 7)).u64le(2n).u8(4);
  str(entries, 'charts');
  const data = entries.finish();
  const rreaddir = concat([new ByteWriter(4).u32le(data.length).finish(), data]);
  assert.deepEqual(parseRreaddir(rreaddir).map((e) => [e.name, qidKind(e.qid), e.offset]), [['notice.txt', 'file', 1n], ['charts', 'directory', 2n]]);
});

test('classic stat records: Rstat, directory reads, the 9P2000.u fields', () => {
  const record = (name: string, u: boolean) => {
    const body = new ByteWriter();
    body.u16le(0).u32le(0).bytes(qid(0, 9)).u32le(0o644).u32le(1700000000).u32le(1700000000).u64le(42n);
    for (const s of [name, 'glenda', 'sys', 'glenda']) str(body, s);
    if (u) str(body, '').u32le(1000).u32le(1000).u32le(1000);
    const b = body.finish();
    return concat([new ByteWriter(2).u16le(b.length).finish(), b]);
  };
  const one = record('lib', false);
  const s = parseRstat(concat([new ByteWriter(2).u16le(one.length).finish(), one]), '9P2000');
  assert.deepEqual([s.name, s.length, s.uid, s.gid, s.mtime], ['lib', 42, 'glenda', 'sys', '2023-11-14T22:13:20.000Z']);
  const u = parseRstat(concat([fromHex('0000'), record('lib', true)]), '9P2000.u');
  assert.equal(u.nuid, 1000);
  assert.deepEqual(parseDirStats(concat([record('a', false), record('b', false)]), '9P2000').map((x) => x.name), ['a', 'b']);
  assert.throws(() => parseDirStats(fromHex('ff00'), '9P2000'), ProtocolError);
});
