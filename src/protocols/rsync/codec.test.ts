import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromLatin1, toHex, utf8 } from '../../core/bytes.ts';
import { md4, Md4 } from '../dcerpc/ntlmssp.ts';
import { webCrypto } from '../../core/crypto.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { authDigest, authResponse, checkFileSum, Cursor, dataMessage, downloadArgs, FileListDecoder, Incomplete, lineFrame, listArgs, literalLength, MAX_LITERAL, messageFrame, NDX_DONE, NdxCodec, parseGreeting, parseModuleLine, vstring, wholeFileRequest } from './codec.ts';

const bin = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

// Recorded from rsync 3.5.0's daemon (protocol 32) answering a listing of a module's top level.
const flist = bin(
  '\xa0\x19\x01.\x00\x00\x10k\xe0\x94\x13\xf0!qQ)\xedA\x00\x00' +
    '\xa0\x98\x0areadme.txt\x00\x15\x00\xf0j\x90N)\xa4\x81\x00\x00' +
    '\xa0\x98\x04logs\x00\x00\x10\xf0!qQ)\xedA\x00\x00' +
    '\xa0\x9a\x06charts\x00\x00\x10\xf0!qQ)' +
    '\x00\x00',
);

test('daemon lines: greeting, module lines, split feeding', () => {
  const lines = assertSplitFeed(lineFrame, utf8('@RSYNCD: 32.0 sha512 sha256 sha1 md5 md4\nPortolan lab rsync\n\narchive        \tHarbour archive (open)\n@RSYNCD: EXIT\n'));
  assert.deepEqual(parseGreeting(lines[0]), { protocol: 32, subprotocol: 0, digests: ['sha512', 'sha256', 'sha1', 'md5', 'md4'] });
  assert.deepEqual(parseGreeting('@RSYNCD: 29'), { protocol: 29, subprotocol: 0, digests: [] });
  assert.deepEqual(parseModuleLine(lines[3]), { name: 'archive', comment: 'Harbour archive (open)' });
  assert.throws(() => parseGreeting('SSH-2.0-OpenSSH'), ProtocolError);
  assert.throws(() => lineFrame(new Uint8Array(9000).fill(0x41)), ProtocolError);
});

test('challenge answers: digest choice and base64 without padding', () => {
  const g = parseGreeting('@RSYNCD: 32.0 sha512 sha256 sha1 md5 md4');
  assert.equal(authDigest(g, 31, ['sha1', 'md5', 'md4']), 'sha1');
  assert.equal(authDigest(g, 31, ['md5']), 'md5');
  assert.equal(authDigest(g, 29, []), 'md4-old');
  assert.equal(authDigest(parseGreeting('@RSYNCD: 30.0'), 30, ['sha1']), 'md5');
  assert.throws(() => authDigest(parseGreeting('@RSYNCD: 32.0 sha512'), 31, ['md5']), ProtocolError);
  const c = webCrypto();
  assert.equal(authResponse('clerk', 'quill-and-ink-7', 'Pcxd7rrDao5o5k3rAHKXCg', 'md5', c), 'clerk Z3IcPhW/6Z3PQLuZTOGutg');
  assert.equal(authResponse('clerk', 'quill-and-ink-7', 'Pcxd7rrDao5o5k3rAHKXCg', 'sha1', c), 'clerk P4eFnLsJmgp9lASx4nXDkKGKcfY');
  assert.notEqual(authResponse('c', 'p', 'x', 'md4', c), authResponse('c', 'p', 'x', 'md4-old', c));
});

test('varints and varlongs as io.c writes them', () => {
  assert.equal(new Cursor(bin('\x81\xff')).varint('x'), 0x1ff);
  assert.equal(new Cursor(bin('\xa0\x19')).varint('x'), 0x2019);
  assert.equal(new Cursor(bin('\xf0!qQ)')).varint('x'), 0x29517121);
  assert.equal(new Cursor(bin('\x00\x00\x10')).varlong(3, 'size'), 4096);
  assert.equal(new Cursor(bin('k\xe0\x94\x13')).varlong(4, 'mtime'), 0x6b1394e0);
  assert.equal(new Cursor(bin('\x04\x00\xb0')).varlong(3, 'size'), 307200, '300 KiB: one extra byte');
  assert.throws(() => new Cursor(bin('\xa0')).varint('x'), Incomplete);
  assert.equal(new Cursor(vstring('md5 md4')).vstring('x'), 'md5 md4');
  assert.equal(fromLatin1(vstring('x'.repeat(200)).subarray(0, 2)), '\x80\xc8');
});

test('multiplexed frames and the listing arguments', () => {
  const frames = assertSplitFeed(messageFrame, bin('\x04\x00\x00\x07\x00\x00\x00\x00\x05\x00\x00\x0aoops\n'));
  assert.deepEqual(frames.map((f) => [f.tag, fromLatin1(f.payload)]), [
    [0, '\x00\x00\x00\x00'],
    [3, 'oops\n'],
  ]);
  assert.equal(fromLatin1(dataMessage(new Uint8Array(4))), '\x04\x00\x00\x07\x00\x00\x00\x00');
  assert.throws(() => messageFrame(bin('\x00\x00\x00\x01')), ProtocolError);
  assert.equal(fromLatin1(listArgs('archive', 'logs/', false)), '--server\0--sender\0-lde.LsfxCv\0--list-only\0.\0archive/logs/\0\0');
});

test('the file list as the daemon sent it, whole and at every split point', () => {
  for (let split = 0; split <= flist.length; split++) {
    const d = new FileListDecoder();
    const used = d.decode(flist.subarray(0, split), 0);
    const rest = new Uint8Array(split - used + flist.length - split);
    rest.set(flist.subarray(used));
    assert.equal(d.decode(rest, 0), rest.length, `split ${split}`);
    assert.equal(d.ioError, 0);
    assert.deepEqual(
      d.entries.map((e) => [e.name, e.type, e.size, e.mode.toString(8)]),
      [
        ['.', 'dir', 4096, '755'],
        ['readme.txt', 'file', 21, '644'],
        ['logs', 'dir', 4096, '755'],
        ['charts', 'dir', 4096, '755'],
      ],
      `split ${split}`,
    );
    assert.equal(d.entries[3].mtime, 0x6b1394e0, 'same time as the entry before');
  }
});

test('hostile file lists: oversized names, prefixes past the previous name, too many entries', () => {
  assert.throws(() => new FileListDecoder().decode(bin('\x40\xc1\x00\x00'), 0), /name of 65536 bytes/);
  assert.throws(() => new FileListDecoder().decode(bin('\x21\x05\x01a'), 0), /prefix/);
  const one = bin('\x01\x01a\x00\x00\x00\x00\x00\x00\x00\xa4\x81\x00\x00');
  assert.throws(() => new FileListDecoder(1).decode(new Uint8Array([...one, ...one]), 0), /longer than 1 entries/);
  assert.throws(() => new FileListDecoder(10, 1).decode(new Uint8Array([...one, ...one]), 0), /names longer than 1 bytes in all/);
  assertFuzzSafe((buf) => {
    const d = new FileListDecoder(1000);
    const used = d.decode(buf, 0);
    return d.done ? { value: d.entries.length, size: used } : undefined;
  }, { seeds: [flist] });
  assertFuzzSafe(messageFrame, { seeds: [dataMessage(flist)] });
});

test('file indexes as io.c writes them from protocol 30, read back by a codec of the other side', () => {
  const w = new NdxCodec();
  const seq = [0, 1, 5, 300, 0x12345678, 7, NDX_DONE, -2, -300];
  const wire = seq.map((n) => Array.from(w.encode(n)));
  assert.deepEqual(wire, [[0x01], [0x01], [0x04], [0xfe, 0x01, 0x27], [0xfe, 0x92, 0x78, 0x56, 0x34], [0xfe, 0x80, 0x07, 0x00, 0x00], [0x00], [0xff, 0x01], [0xff, 0xfe, 0x01, 0x2a]]);
  const r = new NdxCodec();
  const c = new Cursor(new Uint8Array(wire.flat()));
  assert.deepEqual(seq.map(() => r.decode(c)), seq);
  // A cut index leaves the reader's state as it was.
  const again = new NdxCodec();
  assert.throws(() => again.decode(new Cursor(bin('\xfe\x01'))), Incomplete);
  assert.equal(again.decode(new Cursor(bin('\x01'))), 0);
});

test('the whole-file request, literal-data tokens and the checksum check', () => {
  assert.equal(fromLatin1(wholeFileRequest(new NdxCodec(), 0)), `\x01\x00\x80${'\0'.repeat(16)}`);
  assert.equal(fromLatin1(downloadArgs('archive', 'charts/big.bin')), '--server\0--sender\0-lde.LsfxCv\0.\0archive/charts/big.bin\0\0');
  assert.equal(new Cursor(bin('\x00\x80\x00\x00')).sint32(), 32768);
  assert.equal(literalLength(32768), 32768);
  assert.equal(literalLength(0), 0);
  assert.throws(() => literalLength(new Cursor(bin('\xff\xff\xff\xff')).sint32()), (e: Error) => e instanceof ProtocolError && /block-match token \(-1\)/.test(e.message));
  assert.throws(() => literalLength(MAX_LITERAL + 1), ProtocolError);
  const good = webCrypto().md5(utf8('The harbour archive.\n'));
  checkFileSum('readme.txt', 'MD5', good, good);
  const bad = good.slice();
  bad[15] ^= 1;
  assert.throws(() => checkFileSum('readme.txt', 'MD5', bad, good), (e: Error) => e instanceof ProtocolError && /readme.txt: the MD5 of the bytes received \([0-9a-f]{32}\) differs from the sender's/.test(e.message));
});

test('MD4 fed in pieces, as a streamed file is checked, equals MD4 of the whole (RFC 1320 vectors)', () => {
  assert.equal(toHex(new Md4().update(utf8('a')).update(utf8('bc')).digest()), 'a448017aaf21d8525fc10ae87aa6729d');
  assert.equal(toHex(new Md4().digest()), '31d6cfe0d16ae931b73c59d7e0c089c0');
  const data = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7 + (i >> 10)) & 0xff);
  const whole = toHex(md4(data));
  for (const step of [1, 55, 56, 63, 64, 65, 1000, 32768]) {
    const m = new Md4();
    for (let i = 0; i < data.length; i += step) m.update(data.subarray(i, i + step));
    assert.equal(toHex(m.digest()), whole, `pieces of ${step}`);
  }
});
