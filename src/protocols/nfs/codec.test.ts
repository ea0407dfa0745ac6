import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe } from '../../../test/codec.ts';
import { recordFrame, XdrReader, XdrWriter } from '../oncrpc/codec.ts';
import { pathComponents, splitParent } from './client.ts';
import {
  createArgs,
  exchangeIdCompound,
  exchgidFlagNames,
  lookupArgs,
  parseExchangeId,
  parseExports,
  parseMnt,
  parseRead,
  parseReaddirplus,
  parseWrite,
  readArgs,
  readFattr3,
  truncateArgs,
} from './codec.ts';

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((h) => parseInt(h, 16)));

/** fattr3 of a regular file: mode 0644, 1 link, uid 1000, gid 100, 41 bytes, fileid 77, times 1700000000.5. */
function fattr(w: XdrWriter, type = 1, size = 41n): XdrWriter {
  w.u32(type).u32(0o100644).u32(1).u32(1000).u32(100).u64(size).u64(4096n).u32(0).u32(0).u64(9n).u64(77n);
  for (let i = 0; i < 3; i++) w.u32(1_700_000_000).u32(500_000_000);
  return w;
}

test('fattr3: type, mode, owners, 64-bit size and file id, times as ISO 8601', () => {
  const a = readFattr3(new XdrReader(fattr(new XdrWriter()).finish()));
  assert.deepEqual([a.type, a.mode & 0o7777, a.nlink, a.uid, a.gid, a.size, a.fileid, a.fsid], ['file', 0o644, 1, 1000, 100, 41n, 77n, 9n]);
  assert.equal(a.mtime, '2023-11-14T22:13:20.500Z');
  assert.throws(() => readFattr3(new XdrReader(fattr(new XdrWriter(), 9).finish())), /file type 9/);
});

test('arguments: LOOKUP sends the name as typed (.. included), READ the 64-bit offset, CREATE GUARDED with a mode, SETATTR a size of 0', () => {
  const fh = hex('0102030405');
  assert.equal(toHex(lookupArgs(fh, '..')), '00000005' + '0102030405000000' + '00000002' + '2e2e0000');
  assert.equal(toHex(readArgs(fh, 2 ** 33 + 1, 65536)), '00000005' + '0102030405000000' + '0000000200000001' + '00010000');
  assert.equal(toHex(createArgs(fh, 'a', true, 0o640)), '00000005' + '0102030405000000' + '00000001' + '61000000' + '00000001' + '00000001' + '000001a0' + '00000000' + '00000000' + '00000001' + '0000000000000000' + '00000001' + '00000001');
  assert.equal(toHex(truncateArgs(fh)), '00000005' + '0102030405000000' + '00000000'.repeat(3) + '00000001' + '0000000000000000' + '00000000' + '00000001' + '00000000');
  assert.deepEqual(pathComponents('/notes/../readme.txt/'), ['notes', '..', 'readme.txt']);
  assert.deepEqual(pathComponents('a//./b'), ['a', '.', 'b']);
  assert.deepEqual(splitParent('incoming/log.txt'), { parent: 'incoming', name: 'log.txt' });
  assert.throws(() => splitParent('/'), /names the export itself/);
});

test('READ: data no longer than asked; a count of 2^32-1 or one that disagrees with the data is a protocol error before any byte is kept', () => {
  const reply = (count: number, data: Uint8Array) => new XdrReader(new XdrWriter().u32(0).bool(false).u32(count).bool(true).opaque(data).finish());
  const r = parseRead(reply(3, hex('616263')), 4096);
  assert.ok(r.status === null && toHex(r.data) === '616263' && r.eof);
  assert.throws(() => parseRead(reply(0xffffffff, hex('61')), 4096), (e) => e instanceof ProtocolError && /announces 4294967295 bytes where 4096 were asked/.test(e.message));
  // The opaque's own length claims 2^32-1 bytes: refused from the length alone.
  const huge = new XdrWriter().u32(0).bool(false).u32(10).bool(false).u32(0xffffffff).finish();
  assert.throws(() => parseRead(new XdrReader(huge), 4096), /4294967295 bytes \(at most 4096\)/);
  assert.throws(() => parseRead(reply(2, hex('616263')), 4096), /count 2 but 3 bytes/);
  const err = parseRead(new XdrReader(new XdrWriter().u32(2).bool(false).finish()), 10);
  assert.equal(err.status?.name, 'NFS3ERR_NOENT');
  assertFuzzSafe((buf) => ({ value: parseRead(new XdrReader(buf), 1024).status, size: buf.length }), { seeds: [new XdrWriter().u32(0).bool(false).u32(3).bool(true).opaque(hex('616263')).finish()] });
});

test('READDIRPLUS: entries with attributes and handles; a name of 70,000 bytes is a protocol error', () => {
  const page = (name: string) => {
    const w = new XdrWriter().u32(0).bool(false).fixed(hex('0000000000000001'));
    w.bool(true).u64(77n).string(name).u64(5n).bool(true);
    fattr(w);
    w.bool(true).opaque(hex('aabb')).bool(false).bool(true);
    return w.finish();
  };
  const r = parseReaddirplus(new XdrReader(page('readme.txt')));
  assert.ok(r.status === null);
  assert.equal(r.eof, true);
  assert.deepEqual(r.entries.map((e) => [e.name, e.cookie, e.fileid, e.attrs?.size, toHex(e.fh!)]), [['readme.txt', 5n, 77n, 41n, 'aabb']]);
  assert.throws(() => parseReaddirplus(new XdrReader(page('x'.repeat(70_000)))), (e) => e instanceof ProtocolError && /70000 bytes \(at most 4096\)/.test(e.message));
  assertFuzzSafe((buf) => ({ value: parseReaddirplus(new XdrReader(buf)).status, size: buf.length }), { seeds: [page('readme.txt')] });
});

test('record marking: fragments without the last-fragment bit forever end in a protocol error within the record cap', () => {
  const frame = recordFrame(1024 * 1024 + 64 * 1024);
  const fragment = new Uint8Array(4 + 65536);
  fragment.set(hex('00010000'));
  const stream = new Uint8Array(fragment.length * 20);
  for (let i = 0; i < 20; i++) stream.set(fragment, i * fragment.length);
  assert.throws(() => frame(stream), (e) => e instanceof ProtocolError && /RPC record longer than 1114112 bytes/.test(e.message));
  // Only part of it arrived: incomplete, not yet an error.
  assert.equal(frame(stream.subarray(0, fragment.length * 3)), undefined);
});

test('MOUNT: MNT with a handle and flavors, MNT3ERR_ACCES named; EXPORT with paths and groups', () => {
  const ok = parseMnt(new XdrReader(new XdrWriter().u32(0).opaque(hex('0102')).u32(1).u32(1).finish()));
  assert.ok(ok.ok && toHex(ok.fh) === '0102' && ok.flavors[0] === 1);
  const no = parseMnt(new XdrReader(new XdrWriter().u32(13).finish()));
  assert.ok(!no.ok && no.name === 'MNT3ERR_ACCES');
  const ex = new XdrWriter().bool(true).string('/harbour').bool(true).string('*').bool(false).bool(true).string('/vault').bool(false).bool(false).finish();
  assert.deepEqual(parseExports(new XdrReader(ex)), [
    { path: '/harbour', groups: ['*'] },
    { path: '/vault', groups: [] },
  ]);
  assertFuzzSafe((buf) => ({ value: parseExports(new XdrReader(buf)).length, size: buf.length }), { seeds: [ex] });
  assertFuzzSafe((buf) => ({ value: parseMnt(new XdrReader(buf)).ok, size: buf.length }), { seeds: [new XdrWriter().u32(0).opaque(hex('0102')).u32(1).u32(1).finish()] });
});

test('WRITE: count, stability and verifier after the wcc data', () => {
  const w = new XdrWriter().u32(0).bool(false).bool(false).u32(65536).u32(0).fixed(hex('0102030405060708')).finish();
  const r = parseWrite(new XdrReader(w));
  assert.ok(r.status === null && r.count === 65536 && r.committed === 0 && toHex(r.verifier) === '0102030405060708');
});

test('NFSv4.1 EXCHANGE_ID: the COMPOUND sent, and the server owner, scope and implementation id read back', () => {
  const args = exchangeIdCompound(hex('1122334455667788'), new TextEncoder().encode('me'));
  assert.equal(toHex(args), '00000008' + toHex(new TextEncoder().encode('portolan')) + '00000001' + '00000001' + '0000002a' + '1122334455667788' + '00000002' + '6d650000' + '00000000' + '00000000' + '00000000');
  const w = new XdrWriter().u32(0).string('portolan').u32(1).u32(42).u32(0);
  w.u64(0x6b148ea400000002n).u32(1).u32(0x00060001).u32(0).u64(0n).opaque(new TextEncoder().encode('vm')).opaque(new TextEncoder().encode('vm_NFS-Ganesha\0'));
  w.u32(1).string('example.org').string('Example NFS 1.0').u64(1_700_000_000n).u32(0);
  const r = parseExchangeId(new XdrReader(w.finish()));
  assert.ok('clientId' in r);
  assert.equal(r.clientId, 0x6b148ea400000002n);
  assert.deepEqual(exchgidFlagNames(r.flags), ['SUPP_MOVED_REFER', 'USE_PNFS_MDS', 'USE_PNFS_DS']);
  assert.equal(new TextDecoder().decode(r.serverOwner.majorId), 'vm');
  assert.deepEqual(r.implementation, { domain: 'example.org', name: 'Example NFS 1.0', date: '2023-11-14T22:13:20.000Z' });
  const refused = parseExchangeId(new XdrReader(new XdrWriter().u32(10021).string('portolan').u32(0).finish()));
  assert.deepEqual(refused, { status: 10021 });
  const twoImpls = new XdrWriter().u32(0).string('').u32(1).u32(42).u32(0).u64(1n).u32(1).u32(0).u32(0).u64(0n).opaque(hex('01')).opaque(hex('01')).u32(2).finish();
  assert.throws(() => parseExchangeId(new XdrReader(twoImpls)), /2 implementation ids/);
  assertFuzzSafe((buf) => ({ value: parseExchangeId(new XdrReader(buf)).status, size: buf.length }), { seeds: [w.finish()] });
});
