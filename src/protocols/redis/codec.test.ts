// RESP2/RESP3 codec: golden bytes for every type, split feed, caps, fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { concat, fromLatin1, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { describeReply, encodeCommand, encodeCommands, errorParts, pairsOf, recordOf, replyFrame, replyJson, type RespValue } from './codec.ts';

const b = (s: string) => utf8(s);
const frame = replyFrame();

function decodeOne(bytes: Uint8Array | string): RespValue {
  const got = assertSplitFeed(frame, typeof bytes === 'string' ? b(bytes) : bytes);
  assert.equal(got.length, 1);
  return got[0];
}

describe('RESP decoding: golden bytes', () => {
  it('RESP2 simple string, error, integer', () => {
    assert.deepEqual(decodeOne('+OK\r\n'), { kind: 'simple', bytes: b('OK') });
    const err = decodeOne('-WRONGTYPE Operation against a key holding the wrong kind of value\r\n');
    assert.equal(err.kind, 'error');
    assert.deepEqual(errorParts(err as RespValue & { kind: 'error' }), { code: 'WRONGTYPE', message: 'WRONGTYPE Operation against a key holding the wrong kind of value' });
    assert.deepEqual(decodeOne(':-42\r\n'), { kind: 'integer', value: -42n });
    // 2^63-1: needs BigInt, not a float accumulator
    assert.deepEqual(decodeOne(':9223372036854775807\r\n'), { kind: 'integer', value: 9223372036854775807n });
  });

  it('RESP2 bulk strings keep every byte (NUL, CR LF inside, non-UTF-8)', () => {
    const payload = new Uint8Array([0x61, 0x00, 0x0d, 0x0a, 0xff, 0xfe]);
    // $6 CRLF <6 bytes> CRLF: the length, not a terminator search, ends the string
    const bytes = concat([b('$6\r\n'), payload, b('\r\n')]);
    assert.deepEqual(decodeOne(bytes), { kind: 'bulk', bytes: payload });
    assert.deepEqual(decodeOne('$0\r\n\r\n'), { kind: 'bulk', bytes: new Uint8Array(0) });
    assert.deepEqual(decodeOne('$-1\r\n'), { kind: 'null' }); // RESP2 null bulk string
    assert.deepEqual(decodeOne('*-1\r\n'), { kind: 'null' }); // RESP2 null array
  });

  it('multibyte UTF-8 length counts bytes, not characters', () => {
    const text = 'héllo → 世界 🚢';
    const enc = b(text);
    const v = decodeOne(concat([b(`$${enc.length}\r\n`), enc, b('\r\n')]));
    assert.deepEqual(replyJson(v), { type: 'bulk', length: enc.length, text });
  });

  it('RESP2 nested arrays', () => {
    // *2 [ *2 [ :1, $3 foo ], +bar ]
    const v = decodeOne('*2\r\n*2\r\n:1\r\n$3\r\nfoo\r\n+bar\r\n');
    assert.deepEqual(v, {
      kind: 'array',
      items: [
        { kind: 'array', items: [{ kind: 'integer', value: 1n }, { kind: 'bulk', bytes: b('foo') }] },
        { kind: 'simple', bytes: b('bar') },
      ],
    });
  });

  it('RESP3 null, boolean, double, big number, blob error, verbatim', () => {
    assert.deepEqual(decodeOne('_\r\n'), { kind: 'null' });
    assert.deepEqual(decodeOne('#t\r\n'), { kind: 'boolean', value: true });
    assert.deepEqual(decodeOne('#f\r\n'), { kind: 'boolean', value: false });
    assert.deepEqual(decodeOne(',3.14\r\n'), { kind: 'double', value: 3.14 });
    assert.deepEqual(decodeOne(',-1.5e3\r\n'), { kind: 'double', value: -1500 });
    assert.deepEqual(decodeOne(',inf\r\n'), { kind: 'double', value: Infinity });
    assert.deepEqual(decodeOne(',-inf\r\n'), { kind: 'double', value: -Infinity });
    assert.ok(Number.isNaN((decodeOne(',nan\r\n') as { value: number }).value));
    assert.deepEqual(replyJson(decodeOne(',-inf\r\n')), { type: 'double', value: '-inf' });
    assert.deepEqual(decodeOne('(3492890328409238509324850943850943825024385\r\n'), { kind: 'bignum', digits: '3492890328409238509324850943850943825024385' });
    // !21 "SYNTAX invalid syntax"
    const blobErr = decodeOne('!21\r\nSYNTAX invalid syntax\r\n');
    assert.deepEqual(replyJson(blobErr), { type: 'error', code: 'SYNTAX', message: 'SYNTAX invalid syntax' });
    // =15 "txt:Some string": format prefix counted in the length
    assert.deepEqual(decodeOne('=15\r\ntxt:Some string\r\n'), { kind: 'verbatim', format: 'txt', bytes: b('Some string') });
  });

  it('RESP3 map, set, push, attribute', () => {
    const map = decodeOne('%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n');
    assert.deepEqual(recordOf(map), { first: '1', second: '2' });
    assert.deepEqual(decodeOne('~2\r\n+orange\r\n#t\r\n'), { kind: 'set', items: [{ kind: 'simple', bytes: b('orange') }, { kind: 'boolean', value: true }] });
    const push = decodeOne('>3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n');
    assert.equal(push.kind, 'push');
    // |1 {ttl: 3600} then :3, attributes attach to the value that follows
    const attr = decodeOne('|1\r\n+ttl\r\n:3600\r\n:3\r\n');
    assert.deepEqual(attr, { kind: 'integer', value: 3n, attributes: [[{ kind: 'simple', bytes: b('ttl') }, { kind: 'integer', value: 3600n }]] });
    assert.deepEqual(replyJson(attr), { type: 'integer', value: 3, attributes: [{ key: { type: 'simple', text: 'ttl' }, value: { type: 'integer', value: 3600 } }] });
    // attribute inside an array element
    const inner = decodeOne('*2\r\n:1\r\n|1\r\n+a\r\n+b\r\n:2\r\n');
    assert.equal((inner as { items: RespValue[] }).items[1].attributes?.length, 1);
  });

  it('RESP3 streamed string and streamed aggregates', () => {
    assert.deepEqual(decodeOne('$?\r\n;4\r\nHell\r\n;6\r\no worl\r\n;1\r\nd\r\n;0\r\n'), { kind: 'bulk', bytes: b('Hello world') });
    assert.deepEqual(decodeOne('*?\r\n:1\r\n:2\r\n.\r\n'), { kind: 'array', items: [{ kind: 'integer', value: 1n }, { kind: 'integer', value: 2n }] });
    const m = decodeOne('%?\r\n+a\r\n:1\r\n+b\r\n:2\r\n.\r\n');
    assert.deepEqual(recordOf(m), { a: '1', b: '2' });
    assert.deepEqual(decodeOne('~?\r\n.\r\n'), { kind: 'set', items: [] });
  });

  it('RESP2 flat pairs read as a map', () => {
    const v = decodeOne('*4\r\n$4\r\nname\r\n$8\r\nportolan\r\n$4\r\nport\r\n$5\r\n16379\r\n');
    assert.equal(pairsOf(v)?.length, 2);
    assert.deepEqual(recordOf(v), { name: 'portolan', port: '16379' });
  });

  it('several replies in one buffer (a pipeline answer)', () => {
    const got = assertSplitFeed(frame, b('+OK\r\n$3\r\nbar\r\n:7\r\n-ERR no\r\n*0\r\n'));
    assert.deepEqual(
      got.map((v) => v.kind),
      ['simple', 'bulk', 'integer', 'error', 'array'],
    );
  });
});

describe('RESP decoding: malformed input is a ProtocolError naming the field', () => {
  const bad: [string, RegExp][] = [
    ['?what\r\n', /unknown RESP type byte 0x3f/],
    ['$3\r\nfoo\n\n', /bulk string: 3 bytes not followed by CRLF/],
    ['$x\r\n', /bulk string: not a decimal number/],
    ['$-2\r\n', /bulk string: negative length/],
    ['$536870913\r\n', /bulk string: length 536870913 exceeds/],
    [':12a\r\n', /integer: not a decimal number/],
    [':99999999999999999999\r\n', /integer: more than 19 digits/],
    [':9223372036854775808\r\n', /signed 64-bit/],
    ['+OK\rX', /CR not followed by LF/],
    ['#x\r\n', /boolean/],
    [',1.2.3\r\n', /double/],
    ['_x\r\n', /null: line longer than 0 bytes/],
    ['=3\r\ntxt\r\n', /verbatim string: missing/],
    ['%?\r\n+a\r\n.\r\n', /streamed map ended after a key/],
    ['>?\r\n', /"\?" is not allowed/],
    ['!-1\r\n', /blob error: length -1/],
  ];
  for (const [input, re] of bad) {
    it(JSON.stringify(input), () => {
      assert.throws(() => new FrameDecoder(frame).feed(b(input)), (e: unknown) => e instanceof ProtocolError && re.test(e.message));
    });
  }

  it('caps nesting depth', () => {
    const deep = '*1\r\n'.repeat(40) + ':1\r\n';
    assert.throws(() => new FrameDecoder(replyFrame({ maxDepth: 32 })).feed(b(deep)), /nested deeper than 32/);
    assert.equal(new FrameDecoder(replyFrame({ maxDepth: 64 })).feed(b(deep)).length, 1);
  });

  it('caps a line without CRLF', () => {
    assert.throws(() => new FrameDecoder(replyFrame({ maxLine: 16 })).feed(b('+' + 'x'.repeat(40))), /line longer than 16 bytes/);
  });
});

describe('RESP decoding: limits truncate instead of failing', () => {
  it('maxElements keeps the first elements and flags the aggregate with its declared count', () => {
    const bytes = b('*5\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n+next\r\n');
    const got = new FrameDecoder(replyFrame({ maxElements: 3 })).feed(bytes);
    assert.equal(got.length, 2, 'the next reply is still framed correctly');
    assert.deepEqual(got[0], { kind: 'array', items: [1n, 2n, 3n].map((value) => ({ kind: 'integer', value })), truncated: true, declared: 5 });
  });

  it('a reply larger than maxBytes comes back partial and flagged', () => {
    const f = replyFrame({ maxBytes: 64 });
    // a 1000-byte bulk string whose first 80 bytes arrived
    const head = concat([b('$1000\r\n'), new Uint8Array(80).fill(0x41)]);
    const got = f(head);
    assert.ok(got);
    assert.equal(got.size, head.length);
    assert.equal(got.value.truncated, true);
    assert.deepEqual(replyJson(got.value).length, 1000);
    assert.equal((got.value as { bytes: Uint8Array }).bytes.length, 80);
    // an array cut in its third element
    const arr = f(b('*100\r\n$2\r\nab\r\n$2\r\ncd\r\n$40\r\n' + 'x'.repeat(40) + '\r\n$40\r\n'));
    assert.ok(arr && arr.value.kind === 'array');
    assert.equal(arr.value.truncated, true);
    assert.equal(arr.value.declared, 100);
    assert.equal(arr.value.items.length, 4);
  });

  it('below maxBytes an incomplete reply waits for more', () => {
    assert.equal(replyFrame({ maxBytes: 1024 })(b('$1000\r\nabc')), undefined);
  });
});

describe('RESP encoding', () => {
  it('a command is an array of bulk strings (golden bytes)', () => {
    // *3 $3 SET $3 key $5 v\0l\xff\n (binary value kept as given)
    const value = new Uint8Array([0x76, 0x00, 0x6c, 0xff, 0x0a]);
    const got = encodeCommand(['SET', 'key', value]);
    assert.deepEqual(got, concat([b('*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\n'), value, b('\r\n')]));
    // multibyte: $ counts bytes
    assert.equal(fromLatin1(encodeCommand(['GET', 'é'])), '*2\r\n$3\r\nGET\r\n$2\r\n\xc3\xa9\r\n');
    assert.equal(fromLatin1(encodeCommands([['PING'], ['PING']])), '*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n');
  });

  it('round trip: any args encode to a frame the decoder reads back', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 8 }), (args) => {
        const [v] = new FrameDecoder(frame).feed(encodeCommand(args));
        assert.equal(v.kind, 'array');
        assert.deepEqual(
          (v as { items: RespValue[] }).items.map((x) => (x as { bytes: Uint8Array }).bytes),
          args,
        );
      }),
      { numRuns: 200 },
    );
  });

  it('describes commands and replies in one line', () => {
    assert.equal(describeReply(decodeOne('*2\r\n$3\r\nfoo\r\n:1\r\n')), '["foo", :1]');
  });
});

describe('RESP decoding: fuzz', () => {
  const seeds = [
    '+OK\r\n',
    '$6\r\nfoobar\r\n',
    '*3\r\n:1\r\n$-1\r\n%1\r\n+a\r\n#t\r\n',
    '|1\r\n+ttl\r\n:3600\r\n~2\r\n,1.5\r\n(123\r\n',
    '$?\r\n;3\r\nabc\r\n;0\r\n*?\r\n=8\r\ntxt:abcd\r\n.\r\n',
    '>2\r\n$7\r\nmessage\r\n!3\r\nERR\r\n_\r\n',
  ].map(b);
  it('random and mutated bytes: only ProtocolError, never a hang', () => {
    assertFuzzSafe(frame, { seeds, numRuns: 3000 });
    assertFuzzSafe(replyFrame({ maxBytes: 32, maxElements: 2, maxDepth: 3 }), { seeds, numRuns: 2000 });
  });
});

describe('redis-cli command lines', () => {
  it('splits words, quotes and escapes into bytes', async () => {
    const { splitCommandLine } = await import('./codec.ts');
    const got = splitCommandLine(`SET "key with space" 'it\\'s' "\\x00\\xff\\n" plain é`);
    assert.deepEqual(got, [b('SET'), b('key with space'), b("it's"), new Uint8Array([0, 0xff, 0x0a]), b('plain'), b('é')]);
    assert.deepEqual(splitCommandLine('  PING   '), [b('PING')]);
    assert.deepEqual(splitCommandLine('SET k ""'), [b('SET'), b('k'), new Uint8Array(0)]);
    assert.throws(() => splitCommandLine('GET "open'), /unbalanced double quotes/);
    assert.throws(() => splitCommandLine('GET "a"b'), /closing quote/);
  });
});

describe('pipeline batches', () => {
  it('repliesFrame yields every complete reply buffered, capped at the count still expected', async () => {
    const { repliesFrame } = await import('./codec.ts');
    const bytes = b('+OK\r\n:1\r\n$3\r\nabc\r\n*1\r\n:2\r\n');
    const whole = new FrameDecoder(repliesFrame(10)).feed(bytes);
    assert.deepEqual(whole.flat().map((v) => v.kind), ['simple', 'integer', 'bulk', 'array']);
    const byByte = new FrameDecoder(repliesFrame(10));
    const got: RespValue[] = [];
    for (let i = 0; i < bytes.length; i++) got.push(...byByte.feed(bytes.subarray(i, i + 1)).flat());
    assert.deepEqual(got, whole.flat());
    assert.deepEqual(new FrameDecoder(repliesFrame(2)).feed(bytes).map((batch) => batch.length), [2, 2]);
    assertFuzzSafe(repliesFrame(5, { maxBytes: 64 }), { seeds: [bytes], numRuns: 1000 });
  });
});
