// Memcached codec: text elements (VALUE blocks, meta, lines), binary packets, commands; split feed and fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, fromLatin1, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { binaryCommand, binaryFrame, binaryRequest, checkKey, itemStats, metaCommand, saslPlain, slabStats, statPairs, storageCommand, textFrame } from './codec.ts';

const b = (s: string) => utf8(s);
const text = textFrame();

describe('memcached text responses: golden bytes', () => {
  it('a gets answer: VALUE blocks with flags and cas, data kept byte for byte, then END', () => {
    const data = new Uint8Array([0x00, 0x0d, 0x0a, 0xff, 0x45, 0x4e, 0x44]); // NUL, CR LF inside, 0xff, "END"
    const bytes = concat([
      b('VALUE k1 42 7 9001\r\n'), // key k1, flags 42, 7 bytes, cas unique 9001
      data,
      b('\r\nVALUE k2 0 0\r\n\r\n'), // empty value, no cas (get)
      b('END\r\n'),
    ]);
    assert.deepEqual(assertSplitFeed(text, bytes), [
      { kind: 'value', key: b('k1'), flags: 42, cas: '9001', data },
      { kind: 'value', key: b('k2'), flags: 0, cas: null, data: new Uint8Array(0) },
      { kind: 'line', text: 'END' },
    ]);
  });

  it('status lines, numbers and STAT lines are lines', () => {
    assert.deepEqual(assertSplitFeed(text, b('STORED\r\nEXISTS\r\n18446744073709551615\r\nSTAT pid 7\r\nSERVER_ERROR out of memory\r\n')), [
      { kind: 'line', text: 'STORED' },
      { kind: 'line', text: 'EXISTS' },
      { kind: 'line', text: '18446744073709551615' },
      { kind: 'line', text: 'STAT pid 7' },
      { kind: 'line', text: 'SERVER_ERROR out of memory' },
    ]);
  });

  it('meta answers: VA with its data block, HD/EN/NS/EX/NF/MN with return flags', () => {
    // VA <size> <flags>*: c cas, f flags, t ttl, k key
    const got = assertSplitFeed(text, b('VA 5 c7 f3 t-1 kmy\r\nhello\r\nHD c8\r\nEN\r\nNS\r\nEX\r\nNF\r\nMN\r\n'));
    assert.deepEqual(got[0], {
      kind: 'meta',
      code: 'VA',
      flags: [
        { flag: 'c', token: '7' },
        { flag: 'f', token: '3' },
        { flag: 't', token: '-1' },
        { flag: 'k', token: 'my' },
      ],
      data: b('hello'),
    });
    assert.deepEqual(got[1], { kind: 'meta', code: 'HD', flags: [{ flag: 'c', token: '8' }], data: null });
    assert.deepEqual(
      got.slice(2).map((e) => (e.kind === 'meta' ? e.code : e.kind)),
      ['EN', 'NS', 'EX', 'NF', 'MN'],
    );
  });

  it('a value holding "\\r\\nEND\\r\\n" is framed by its length, not by searching for END', () => {
    const data = b('x\r\nEND\r\n');
    const got = assertSplitFeed(text, concat([b(`VALUE k 0 ${data.length}\r\n`), data, b('\r\nEND\r\n')]));
    assert.equal(got.length, 2);
    assert.deepEqual(got[0].kind === 'value' && got[0].data, data);
  });
});

describe('memcached text responses: malformed input', () => {
  const bad: [string, RegExp][] = [
    ['VALUE k 0\r\n', /VALUE line: expected/],
    ['VALUE k x 1\r\na\r\n', /VALUE flags: not a decimal number/],
    ['VALUE k 4294967296 1\r\na\r\n', /larger than 32 bits/],
    ['VALUE k 0 3\r\nabcX\r\n', /VALUE: 3-byte data block not followed by CRLF/],
    ['VALUE k 0 99999999999\r\n', /VALUE bytes: expected 1–10 digits/],
    ['VA\r\n', /VA line: missing the data size/],
    ['STORED\n', /not terminated by CRLF/],
  ];
  for (const [input, re] of bad) {
    it(JSON.stringify(input), () => {
      assert.throws(() => new FrameDecoder(text).feed(b(input)), (e: unknown) => e instanceof ProtocolError && re.test(e.message));
    });
  }
  it('caps values and lines', () => {
    assert.throws(() => new FrameDecoder(textFrame(100)).feed(b('VALUE k 0 101\r\n')), /exceeds the 100-byte limit/);
    assert.throws(() => new FrameDecoder(text).feed(b('x'.repeat(9000))), /longer than 8192/);
  });
});

describe('memcached commands: golden bytes', () => {
  it('storage commands carry flags, exptime, byte count, cas and noreply', () => {
    const v = new Uint8Array([0x00, 0xff]);
    assert.deepEqual(storageCommand('set', b('k'), 5, 60, v, null, false), concat([b('set k 5 60 2\r\n'), v, b('\r\n')]));
    assert.equal(fromLatin1(storageCommand('cas', b('k'), 0, 0, b('abc'), '77', true)), 'cas k 0 0 3 77 noreply\r\nabc\r\n');
    // multibyte: the byte count, not the character count
    assert.equal(fromLatin1(storageCommand('append', b('k'), 0, 0, b('é'), null, false)), 'append k 0 0 2\r\n\xc3\xa9\r\n');
  });

  it('meta commands: ms carries the data length, the others only flags', () => {
    assert.equal(fromLatin1(metaCommand('ms', b('k'), ['T60', 'F1'], b('hi'))), 'ms k 2 T60 F1\r\nhi\r\n');
    assert.equal(fromLatin1(metaCommand('mg', b('k'), ['v', 'c'], null)), 'mg k v c\r\n');
    assert.equal(fromLatin1(metaCommand('mn', null, [], null)), 'mn\r\n');
  });

  it('keys: 1–250 bytes without spaces or control characters', () => {
    assert.equal(checkKey(b('user:é')), undefined);
    assert.match(checkKey(b('a b'))!, /space/);
    assert.match(checkKey(new Uint8Array([0x61, 0x00]))!, /control/);
    assert.match(checkKey(b('x'.repeat(251)))!, /longer than 250/);
    assert.match(checkKey(new Uint8Array(0))!, /empty/);
  });
});

describe('memcached stats parsing', () => {
  it('general, items and slabs', () => {
    const pairs = statPairs(['STAT pid 12', 'STAT version 1.6.18', 'STAT items:1:number 3', 'STAT items:1:age 10', 'STAT items:5:number 1']);
    assert.deepEqual(pairs.slice(0, 2), [['pid', '12'], ['version', '1.6.18']]);
    assert.deepEqual(itemStats(pairs), { '1': { number: '3', age: '10' }, '5': { number: '1' } });
    assert.deepEqual(slabStats(statPairs(['STAT 1:chunk_size 96', 'STAT 1:used_chunks 2', 'STAT active_slabs 1', 'STAT total_malloced 1048576'])), {
      slabs: { '1': { chunk_size: '96', used_chunks: '2' } },
      totals: { active_slabs: '1', total_malloced: '1048576' },
    });
    assert.throws(() => statPairs(['VALUE x']), /stats line malformed/);
  });
});

describe('memcached binary protocol', () => {
  it('a request header (golden bytes): SASL auth PLAIN', () => {
    const req = binaryRequest(0x21, { key: b('PLAIN'), value: saslPlain('u', 'p'), opaque: 0x21 });
    assert.equal(
      Buffer.from(req).toString('hex'),
      [
        '80', // magic: request
        '21', // opcode: SASL auth
        '0005', // key length
        '00', // extras length
        '00', // data type
        '0000', // vbucket
        '00000009', // total body: 5 key + 4 value
        '00000021', // opaque
        '0000000000000000', // cas
        Buffer.from('PLAIN').toString('hex'),
        '0075', // NUL u
        '0070', // NUL p
      ].join(''),
    );
  });

  it('a response: GET hit with 4-byte flags extras, split feed', () => {
    const value = b('v\x00');
    const resp = concat([
      new Uint8Array([0x81, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 9]),
      new Uint8Array([0, 0, 0, 42]),
      value,
    ]);
    const [r] = assertSplitFeed(binaryFrame(), resp);
    assert.deepEqual(r, { opcode: 0, status: 0, opaque: 0, cas: 9n, extras: new Uint8Array([0, 0, 0, 42]), key: new Uint8Array(0), value });
  });

  it('rejects a wrong magic byte and an oversized body', () => {
    assert.throws(() => new FrameDecoder(binaryFrame()).feed(b('ERROR\r\n')), /magic byte 0x45 is not 0x81/);
    const big = new Uint8Array(24);
    big[0] = 0x81;
    new DataView(big.buffer).setUint32(8, 1 << 30);
    assert.throws(() => new FrameDecoder(binaryFrame()).feed(big), /exceeds/);
  });
});

describe('memcached binary commands: golden bytes (protocol-binary.xml examples)', () => {
  const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
  it('set "Hello" "World" with flags 0xdeadbeef, expiry 7200: extras, key, value, cas', () => {
    const req = binaryCommand({ op: 'set', key: b('Hello'), value: b('World'), flags: 0xdeadbeef, exptime: 0x1c20 }, 0);
    assert.equal(hex(req), '80010005080000000000001200000000' + '0000000000000000' + 'deadbeef00001c20' + hex(b('HelloWorld')));
    const cas = binaryCommand({ op: 'replaceq', key: b('k'), value: b('v'), cas: 0x0102030405060708n }, 7);
    assert.equal(cas[1], 0x13);
    assert.equal(hex(cas.subarray(12, 24)), '000000070102030405060708');
  });
  it('increment "counter" by 1 from 0 with expiry 3600; a quiet get and a flush without expiry carry no extras', () => {
    const incr = binaryCommand({ op: 'increment', key: b('counter'), delta: 1n, initial: 0n, exptime: 3600 }, 0);
    assert.equal(hex(incr.subarray(0, 12)), '80050007140000000000001b');
    assert.equal(hex(incr.subarray(24, 44)), '0000000000000001' + '0000000000000000' + '00000e10');
    assert.equal(fromLatin1(incr.subarray(44)), 'counter');
    assert.equal(hex(binaryCommand({ op: 'getkq', key: b('a') }, 1).subarray(0, 12)), '800d00010000000000000001');
    assert.equal(binaryCommand({ op: 'flush' }, 0).length, 24);
    assert.equal(hex(binaryCommand({ op: 'flushq', exptime: 10 }, 0).subarray(24)), '0000000a');
    assert.equal(hex(binaryCommand({ op: 'gat', key: b('a'), exptime: 5 }, 0).subarray(1, 2)), '1d');
  });
});

describe('memcached decoders: fuzz', () => {
  it('text frames: only ProtocolError, never a hang', () => {
    const seeds = ['VALUE k 1 3 5\r\nabc\r\nEND\r\n', 'VA 2 c1 f0\r\nhi\r\nHD\r\nMN\r\n', 'STAT pid 1\r\nEND\r\n', 'STORED\r\nCLIENT_ERROR bad\r\n'].map(b);
    assertFuzzSafe(text, { seeds, numRuns: 3000 });
    assertFuzzSafe(textFrame(16), { seeds, numRuns: 1000 });
  });
  it('binary frames: only ProtocolError, never a hang', () => {
    const seeds = [new Uint8Array([0x81, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, ...b('1.6.18')])];
    assertFuzzSafe(binaryFrame(1024), { seeds, numRuns: 3000 });
  });
});
