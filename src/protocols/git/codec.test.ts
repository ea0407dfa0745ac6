import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { concat, fromLatin1, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { FLUSH, parseAdvertisement, parseLsRef, pktFrame, pktLine, requestLine } from './codec.ts';
import { MAX_DELTA_DEPTH, Pack, applyDelta, buildPack, parseCommit, parseTree } from './pack.ts';

const sha1 = (d: Uint8Array) => new Uint8Array(createHash('sha1').update(d).digest());
const oidOf = (type: string, data: Uint8Array) => createHash('sha1').update(concat([utf8(`${type} ${data.length}\0`), data])).digest('hex');
const limits = { maxObjectBytes: 1 << 20, maxTotalBytes: 1 << 22, maxObjects: 1000 };

/** A delta: copy `base[0..keep)`, then insert `tail` (gitformat-pack "Deltified representation"). */
function delta(baseLen: number, keep: number, tail: Uint8Array): Uint8Array {
  const varint = (n: number) => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n = Math.floor(n / 128);
      if (n) b |= 0x80;
      out.push(b);
    } while (n);
    return out;
  };
  return new Uint8Array([...varint(baseLen), ...varint(keep + tail.length), 0x80 | 0x10 | 0x20, keep & 0xff, (keep >> 8) & 0xff, tail.length, ...tail]);
}

test('pkt-lines: length in hex including itself, flush, delim; whole, byte by byte, at random splits', () => {
  assert.equal(fromLatin1(pktLine('command=ls-refs\n')), '0014command=ls-refs\n');
  assert.equal(fromLatin1(requestLine('/r.git', 'localhost', ['version=2'])), '0035git-upload-pack /r.git\0host=localhost\0\0version=2\0');
  const got = assertSplitFeed(pktFrame, concat([pktLine('version 2\n'), pktLine('ls-refs=unborn\n'), FLUSH, utf8('0001')]));
  assert.deepEqual(got.map((p) => p.kind), ['data', 'data', 'flush', 'delim']);
  assert.throws(() => pktFrame(utf8('zzzz')), ProtocolError);
  assert.throws(() => pktFrame(utf8('0003')), /reserved/);
  assertFuzzSafe(pktFrame, { seeds: [pktLine('version 2\n')] });
});

test('ref advertisements: v0 with capabilities, symref and peeled tags; v2 ls-refs lines', () => {
  const a = 'a'.repeat(40);
  const b = 'b'.repeat(40);
  const c = 'c'.repeat(40);
  const { refs, capabilities } = parseAdvertisement([`${a} HEAD\0multi_ack side-band-64k symref=HEAD:refs/heads/main agent=git/2.39.5`, `${a} refs/heads/main`, `${b} refs/tags/v1.0`, `${c} refs/tags/v1.0^{}`]);
  assert.ok(capabilities.includes('side-band-64k'));
  assert.deepEqual(refs, [
    { name: 'HEAD', oid: a, symref: 'refs/heads/main' },
    { name: 'refs/heads/main', oid: a },
    { name: 'refs/tags/v1.0', oid: b, peeled: c },
  ]);
  assert.deepEqual(parseLsRef(`${a} HEAD symref-target:refs/heads/main`), { name: 'HEAD', oid: a, symref: 'refs/heads/main' });
  assert.deepEqual(parseLsRef(`${b} refs/tags/v1.0 peeled:${c}`), { name: 'refs/tags/v1.0', oid: b, peeled: c });
  assert.throws(() => parseLsRef('nonsense'), ProtocolError);
});

test('packs: whole objects, an OFS_DELTA and a REF_DELTA resolved, ids as git computes them', () => {
  const base = utf8('x'.repeat(100) + '\n');
  const blob2 = concat([base.subarray(0, 50), utf8('changed tail\n')]);
  const blob3 = concat([base.subarray(0, 20), utf8('ref delta\n')]);
  const pack = buildPack(
    [
      { kind: 3, data: base, compressed: deflateSync(base) },
      { kind: 6, data: delta(base.length, 50, utf8('changed tail\n')), compressed: deflateSync(delta(base.length, 50, utf8('changed tail\n'))), baseOffsetBack: 2 + deflateSync(base).length },
      { kind: 7, data: delta(base.length, 20, utf8('ref delta\n')), compressed: deflateSync(delta(base.length, 20, utf8('ref delta\n'))), baseOid: new Uint8Array(createHash('sha1').update(concat([utf8(`blob ${base.length}\0`), base])).digest()) },
    ],
    sha1,
  );
  const p = new Pack(pack, sha1, limits);
  assert.deepEqual(p.get(oidOf('blob', base))?.data, base);
  const two = p.get(oidOf('blob', blob2))!;
  assert.deepEqual([two.data, two.depth], [blob2, 1]);
  assert.deepEqual(p.get(oidOf('blob', blob3))?.data, blob3);
  assert.deepEqual(p.summary(), { objects: 3, byType: { blob: 3 }, deltas: 2, maxDepth: 1 });
});

test('packs: a REF_DELTA loop, a bad checksum, an oversized object and a lying delta are ProtocolErrors', () => {
  const oidA = new Uint8Array(20).fill(0xaa);
  const oidB = new Uint8Array(20).fill(0xbb);
  const d = delta(10, 5, utf8('x'));
  // Two deltas, each based on the other's id: never resolvable.
  const loop = buildPack(
    [
      { kind: 7, data: d, compressed: deflateSync(d), baseOid: oidB },
      { kind: 7, data: d, compressed: deflateSync(d), baseOid: oidA },
    ],
    sha1,
  );
  assert.throws(() => new Pack(loop, sha1, limits), /never resolve/);
  const ok = buildPack([{ kind: 3, data: utf8('hi'), compressed: deflateSync(utf8('hi')) }], sha1);
  const bad = ok.slice();
  bad[bad.length - 1] ^= 1;
  assert.throws(() => new Pack(bad, sha1, limits), /checksum/);
  assert.throws(() => new Pack(ok, sha1, { ...limits, maxObjectBytes: 1 }), /more than the 1 allowed/);
  assert.throws(() => applyDelta(utf8('0123456789'), delta(10, 50, utf8('')), 1000), ProtocolError);
  assert.throws(() => applyDelta(utf8('short'), delta(10, 5, utf8('')), 1000), /base/);
  assert.ok(MAX_DELTA_DEPTH >= 50);
  assertFuzzSafe((b) => {
    new Pack(concat([utf8('PACK'), b]), sha1, limits);
    return undefined;
  });
});

test('commits and trees decode', () => {
  const c = parseCommit('f'.repeat(40), utf8(`tree ${'1'.repeat(40)}\nparent ${'2'.repeat(40)}\nauthor Ada Lovelace <ada@portolan.test> 1704099600 +0100\ncommitter Ada Lovelace <ada@portolan.test> 1704099600 +0100\n\nFirst commit\n`));
  assert.deepEqual([c.tree, c.parents, c.author?.name, c.author?.date, c.author?.timezone, c.message], ['1'.repeat(40), ['2'.repeat(40)], 'Ada Lovelace', '2024-01-01T09:00:00.000Z', '+0100', 'First commit\n']);
  const tree = concat([utf8('100644 README\0'), new Uint8Array(20).fill(1), utf8('40000 src\0'), new Uint8Array(20).fill(2)]);
  assert.deepEqual(parseTree(tree), [
    { mode: '100644', name: 'README', oid: '01'.repeat(20) },
    { mode: '40000', name: 'src', oid: '02'.repeat(20) },
  ]);
  assert.throws(() => parseTree(utf8('100644 broken')), ProtocolError);
});
