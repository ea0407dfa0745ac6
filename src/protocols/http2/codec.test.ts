import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { concat, fromHex, fromLatin1, toHex, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { Decoder, Encoder, HUFFMAN_CODES, huffmanDecode, huffmanEncode, type HeaderField } from './hpack.ts';
import {
  ErrorCode,
  FrameType,
  Flags,
  Setting,
  describeFrame,
  encodeData,
  encodeFrame,
  encodeGoaway,
  encodeHeaders,
  encodePing,
  encodePriorityUpdate,
  encodeRstStream,
  encodeSettings,
  encodeWindowUpdate,
  frameFrame,
  type H2Frame,
} from './frames.ts';
import { ClientConnection, type H2Event } from './connection.ts';

const hex = (s: string) => fromHex(s);

// RFC 7541 Appendix C: the request and response sequences (each shares one table).
const REQUESTS: HeaderField[][] = [
  [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']],
  [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
  [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
];
const C3 = ['8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', '8286 84be 5808 6e6f 2d63 6163 6865', '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'];
const C4 = ['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'];
const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const RESPONSES: HeaderField[][] = [
  [[':status', '302'], ['cache-control', 'private'], ['date', DATE1], ['location', 'https://www.example.com']],
  [[':status', '307'], ['cache-control', 'private'], ['date', DATE1], ['location', 'https://www.example.com']],
  [[':status', '200'], ['cache-control', 'private'], ['date', DATE2], ['location', 'https://www.example.com'], ['content-encoding', 'gzip'], ['set-cookie', COOKIE]],
];
const C5 = [
  '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
  '4803 3330 37c1 c0bf',
  '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
];
const C6 = [
  '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
  '4883 640e ffc1 c0bf',
  '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
];

test('HPACK C.2: one representation of each kind', () => {
  const d = new Decoder();
  // C.2.1 literal with incremental indexing: enters the table (size 55 = 10 + 13 + 32).
  assert.deepEqual(d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')).fields, [['custom-key', 'custom-header']]);
  assert.equal(d.table.size, 55);
  const e = new Decoder();
  // C.2.2 without indexing, C.2.3 never indexed, C.2.4 indexed: none enters the table.
  assert.deepEqual(e.decode(hex('040c 2f73 616d 706c 652f 7061 7468')).fields, [[':path', '/sample/path']]);
  const never = e.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74'));
  assert.deepEqual(never.fields, [['password', 'secret']]);
  assert.deepEqual(never.representations, ['never-indexed']);
  assert.deepEqual(e.decode(hex('82')).fields, [[':method', 'GET']]);
  assert.equal(e.table.size, 0);
});

test('HPACK C.3 and C.4: request sequences decode, and our encoder produces the same bytes', () => {
  for (const [vectors, huffman] of [[C3, false], [C4, true]] as const) {
    const d = new Decoder();
    const enc = new Encoder({ huffman, indexing: true, tableSize: 4096 });
    vectors.forEach((v, i) => {
      assert.deepEqual(d.decode(hex(v)).fields, REQUESTS[i], `decode ${huffman} ${i}`);
      assert.equal(toHex(enc.encode(REQUESTS[i])), v.replace(/ /g, ''), `encode ${huffman} ${i}`);
    });
    // C.3.3 / C.4.3: the table holds three entries, 164 octets.
    assert.deepEqual(d.table.entries, [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']]);
    assert.equal(d.table.size, 164);
  }
});

test('HPACK C.5 and C.6: responses with a 256-octet table evict the oldest entries', () => {
  for (const [vectors, huffman] of [[C5, false], [C6, true]] as const) {
    const d = new Decoder({ maxTableSize: 256, maxListSize: 65536, maxFields: 100 });
    d.table.resize(256);
    const enc = new Encoder({ huffman, indexing: true, tableSize: 256 });
    vectors.forEach((v, i) => {
      assert.deepEqual(d.decode(hex(v)).fields, RESPONSES[i], `decode ${huffman} ${i}`);
      assert.equal(toHex(enc.encode(RESPONSES[i])), v.replace(/ /g, ''), `encode ${huffman} ${i}`);
    });
    assert.deepEqual(d.table.entries, [['set-cookie', COOKIE], ['content-encoding', 'gzip'], ['date', DATE2]]);
    assert.equal(d.table.size, 215);
  }
});

test('Huffman: derived codes match rows of Appendix B; every byte round-trips', () => {
  // ( 0) 1ff8 [13], ('0') 0 [5], ('a') 3 [5], (' ') 14 [6], (255) 3ffffee [26], EOS 3fffffff [30].
  assert.equal(HUFFMAN_CODES[0], 0x1ff8);
  assert.equal(HUFFMAN_CODES[0x30], 0x0);
  assert.equal(HUFFMAN_CODES[0x61], 0x3);
  assert.equal(HUFFMAN_CODES[0x20], 0x14);
  assert.equal(HUFFMAN_CODES[255], 0x3ffffee);
  assert.equal(HUFFMAN_CODES[10], 0x3ffffffc);
  assert.equal(HUFFMAN_CODES[256], 0x3fffffff);
  assert.equal(fromLatin1(huffmanDecode(hex('d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff'), 100)), DATE1);
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(huffmanDecode(huffmanEncode(all), 1000), all);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => assert.deepEqual(huffmanDecode(huffmanEncode(bytes), 1000), bytes)));
});

test('HPACK errors: EOS, bad padding, bad index, late size update, oversize are ProtocolErrors', () => {
  assert.throws(() => huffmanDecode(hex('ffff ffff'), 10), /EOS/);
  assert.throws(() => huffmanDecode(hex('00'), 10), /padding is not the EOS prefix/); // '0' then 3 zero bits
  assert.throws(() => huffmanDecode(hex('1fff'), 10), /padding/);
  assert.throws(() => new Decoder().decode(hex('be')), /index 62/);
  assert.throws(() => new Decoder().decode(hex('80')), /index 0/);
  assert.throws(() => new Decoder().decode(hex('82 3f e1 1f')), /size update after a header field/);
  assert.throws(() => new Decoder().decode(hex('3f e1 ff 03')), /exceeds the 4096/);
  assert.throws(() => new Decoder().decode(hex('40 7f ff ff ff ff 0f')), ProtocolError);
  assert.throws(() => new Decoder({ maxTableSize: 4096, maxListSize: 40, maxFields: 10 }).decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')), /header list larger/);
  assertFuzzSafe(wholeBlock(), { seeds: [...C4, ...C6].map(hex) });
});

/** The HPACK decoder as a Frame over a whole block, for the fuzz harness. */
function wholeBlock(): Frame<HeaderField[]> {
  return (buf) => ({ value: new Decoder({ maxTableSize: 4096, maxListSize: 8192, maxFields: 50 }).decode(buf).fields, size: buf.length });
}

// Frames, RFC 9113 §6 (annotated golden bytes).
const SETTINGS = hex('000012 04 00 00000000' + '0003 00000080' + '0004 0000ffff' + '0005 00004000'); // 3 settings
const SETTINGS_ACK = hex('000000 04 01 00000000');
const HEADERS_PADDED_PRIORITY = hex('00000a 01 2d 00000001' + '02' + '80000003 0f' + '8286' + '0000'); // PADDED|PRIORITY|END_HEADERS|END_STREAM
const DATA_PADDED = hex('000006 00 09 00000001' + '03' + '6869' + '000000'); // PADDED|END_STREAM, "hi"
const GOAWAY = hex('00000d 07 00 00000000' + '00000005' + '0000000b' + '63616c6d' + '21'); // last 5, ENHANCE_YOUR_CALM, "calm!"
const PING = hex('000008 06 00 00000000 0102030405060708');
const WINDOW = hex('000004 08 00 00000003 00010000');
const RST = hex('000004 03 00 00000003 00000008'); // CANCEL
const UNKNOWN = hex('000002 fa 00 00000000 abcd');

test('frames: golden bytes decode to what they say', () => {
  const all = concat([SETTINGS, SETTINGS_ACK, HEADERS_PADDED_PRIORITY, DATA_PADDED, GOAWAY, PING, WINDOW, RST, UNKNOWN]);
  const frames = assertSplitFeed(frameFrame(), all);
  assert.deepEqual(
    frames.map((f) => describeFrame(f)),
    [
      'SETTINGS stream 0, 18 bytes: MAX_CONCURRENT_STREAMS=128 INITIAL_WINDOW_SIZE=65535 MAX_FRAME_SIZE=16384',
      'SETTINGS[ACK] stream 0, 0 bytes',
      'HEADERS[END_STREAM,END_HEADERS,PADDED,PRIORITY] stream 1, 10 bytes: depends on stream 3 (exclusive), weight 16',
      'DATA[END_STREAM,PADDED] stream 1, 6 bytes',
      'GOAWAY stream 0, 13 bytes: last stream 5, ENHANCE_YOUR_CALM "calm!"',
      'PING stream 0, 8 bytes: 0102030405060708',
      'WINDOW_UPDATE stream 3, 4 bytes: +65536',
      'RST_STREAM stream 3, 4 bytes: CANCEL',
      'UNKNOWN(0xfa) stream 0, 2 bytes',
    ],
  );
  const h = frames[2] as Extract<H2Frame, { type: 'HEADERS' }>;
  assert.deepEqual(h.block, hex('8286'));
  assert.deepEqual(h.priority, { exclusive: true, dependsOn: 3, weight: 16 });
  assert.equal(fromLatin1((frames[3] as Extract<H2Frame, { type: 'DATA' }>).data), 'hi');
});

test('frames: our encoders produce the golden bytes', () => {
  assert.deepEqual(encodeSettings([[Setting.MAX_CONCURRENT_STREAMS, 128], [Setting.INITIAL_WINDOW_SIZE, 65535], [Setting.MAX_FRAME_SIZE, 16384]]), SETTINGS);
  assert.deepEqual(encodeSettings([], true), SETTINGS_ACK);
  assert.deepEqual(encodeGoaway(5, ErrorCode.ENHANCE_YOUR_CALM, 'calm!'), GOAWAY);
  assert.deepEqual(encodePing(hex('0102030405060708')), PING);
  assert.deepEqual(encodeWindowUpdate(3, 65536), WINDOW);
  assert.deepEqual(encodeRstStream(3, ErrorCode.CANCEL), RST);
  assert.deepEqual(encodeData(1, utf8('hi'), true), hex('000002 00 01 00000001 6869'));
  // A block larger than the frame size continues in CONTINUATION frames (§6.10).
  const split = encodeHeaders(5, new Uint8Array(20).fill(0x82), true, 16);
  assert.equal(toHex(split.subarray(0, 9)), '000010010100000005'); // HEADERS, END_STREAM, no END_HEADERS
  assert.equal(toHex(split.subarray(25, 34)), '000004090400000005'); // CONTINUATION, END_HEADERS
});

test('frames: rule violations are connection errors naming the code', () => {
  const f = frameFrame();
  assert.throws(() => f(hex('000000 00 00 00000000')), /PROTOCOL_ERROR: DATA on stream 0/);
  assert.throws(() => f(hex('000005 04 00 00000000 0000000000')), /FRAME_SIZE_ERROR/);
  assert.throws(() => f(hex('000006 04 00 00000000 0002 00000002')), /ENABLE_PUSH 2/);
  assert.throws(() => f(hex('000006 04 00 00000000 0004 80000000')), /FLOW_CONTROL_ERROR/);
  assert.throws(() => f(hex('000004 08 00 00000001 00000000')), /increment 0/);
  assert.throws(() => f(hex('000003 00 08 00000001 03 6869')), /padding 3/);
  assert.throws(() => f(hex('004001 00 00 00000001')), /exceeds our SETTINGS_MAX_FRAME_SIZE/);
  assertFuzzSafe(frameFrame(), { seeds: [SETTINGS, HEADERS_PADDED_PRIORITY, DATA_PADDED, GOAWAY, WINDOW] });
});

/** Feeds server frames (as bytes) to a client connection; returns the events. */
function feed(c: ClientConnection, bytes: Uint8Array): H2Event[] {
  const parse = frameFrame();
  const out: H2Event[] = [];
  let at = 0;
  while (at < bytes.length) {
    const got = parse(bytes.subarray(at))!;
    at += got.size;
    out.push(...c.receive(got.value));
  }
  return out;
}

function framesOf(bytes: Uint8Array | undefined): H2Frame[] {
  const parse = frameFrame(1 << 20);
  const out: H2Frame[] = [];
  let at = 0;
  while (bytes && at < bytes.length) {
    const got = parse(bytes.subarray(at))!;
    at += got.size;
    out.push(got.value);
  }
  return out;
}

test('connection: preface, SETTINGS exchange with ACK, a response with trailers', () => {
  const c = new ClientConnection({ initialWindowSize: 65535, connectionWindowSize: 65535 });
  const preface = c.preface();
  assert.equal(fromLatin1(preface.subarray(0, 24)), 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  assert.equal(framesOf(preface.subarray(24))[0].type, 'SETTINGS');
  const server = new Encoder();
  const events = feed(c, encodeSettings([[Setting.MAX_CONCURRENT_STREAMS, 2]]));
  assert.deepEqual(events, [{ kind: 'settings', settings: [[Setting.MAX_CONCURRENT_STREAMS, 2]] }]);
  assert.equal(describeFrame(framesOf(c.takeOutbound())[0]), 'SETTINGS[ACK] stream 0, 0 bytes');
  const id = c.request([[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'lab']]);
  assert.equal(id, 1);
  assert.equal(framesOf(c.takeOutbound())[0].type, 'HEADERS');
  const got = feed(
    c,
    concat([
      encodeHeaders(1, server.encode([[':status', '200'], ['content-type', 'text/plain']]), false, 16384),
      encodeData(1, utf8('hello'), false),
      encodeHeaders(1, server.encode([['grpc-status', '0']]), true, 16384),
    ]),
  );
  assert.deepEqual(got.map((e) => (e.kind === 'headers' ? `${e.role} ${e.fields.map((x) => x.join('=')).join(' ')}` : e.kind === 'data' ? `data ${fromLatin1(e.data)}` : e.kind)), [
    'response :status=200 content-type=text/plain',
    'data hello',
    'trailers grpc-status=0',
  ]);
  assert.equal(c.activeStreams, 0);
});

test('connection: a request body waits for the send windows (§6.9) and is released by WINDOW_UPDATE', () => {
  const c = new ClientConnection();
  c.preface();
  feed(c, encodeSettings([[Setting.INITIAL_WINDOW_SIZE, 1000]]));
  c.takeOutbound();
  c.request([[':method', 'POST'], [':path', '/echo']], new Uint8Array(70000).fill(0x61));
  const first = framesOf(c.takeOutbound());
  const sent = (fs: H2Frame[]) => fs.filter((f) => f.type === 'DATA').reduce((n, f) => n + f.length, 0);
  assert.equal(sent(first), 1000, 'stream window 1000');
  assert.equal(c.blockedBytes, 69000);
  feed(c, encodeWindowUpdate(1, 100000));
  const second = framesOf(c.takeOutbound());
  assert.equal(sent(second), 65535 - 1000, 'now the connection window (65535) limits');
  assert.ok(second.every((f) => f.length <= 16384));
  feed(c, encodeWindowUpdate(0, 10000));
  const third = framesOf(c.takeOutbound());
  const last = third[third.length - 1] as Extract<H2Frame, { type: 'DATA' }>;
  assert.equal(sent(third), 70000 - 65535);
  assert.equal(last.flags & Flags.END_STREAM, Flags.END_STREAM);
  // §6.9.2: a new INITIAL_WINDOW_SIZE shifts open streams' windows by the difference.
  const d = new ClientConnection();
  d.request([[':method', 'POST']], new Uint8Array(10).fill(1));
  feed(d, encodeSettings([[Setting.INITIAL_WINDOW_SIZE, 0]]));
  d.takeOutbound();
  assert.equal(d.blockedBytes, 0, 'the first 10 bytes went out before the SETTINGS');
});

test('connection: a streamed request body — HEADERS without END_STREAM, DATA as given within the window, an empty DATA half-closes', () => {
  const c = new ClientConnection();
  c.preface();
  feed(c, encodeSettings([[Setting.INITIAL_WINDOW_SIZE, 10]]));
  c.takeOutbound();
  const id = c.openStream([[':method', 'POST'], [':path', '/svc/Method']]);
  const [headers] = framesOf(c.takeOutbound());
  assert.equal(headers.type, 'HEADERS');
  assert.equal(headers.flags & Flags.END_STREAM, 0);
  c.sendData(id, utf8('0123456789abc'), false);
  const first = framesOf(c.takeOutbound());
  assert.deepEqual(first.map((f) => [f.type, f.length, f.flags & Flags.END_STREAM]), [['DATA', 10, 0]]);
  assert.equal(c.pendingOn(id), 3);
  c.sendData(id, new Uint8Array(0), true);
  assert.equal(framesOf(c.takeOutbound()).length, 0, 'the half-close waits behind the queued bytes');
  feed(c, encodeWindowUpdate(id, 100));
  assert.deepEqual(framesOf(c.takeOutbound()).map((f) => [f.type, f.length, f.flags & Flags.END_STREAM]), [['DATA', 3, Flags.END_STREAM]]);
  assert.throws(() => c.sendData(id, utf8('late'), false), /half-closed/);
  // Nothing queued: the half-close is an empty DATA frame with END_STREAM.
  const other = c.openStream([[':method', 'POST'], [':path', '/svc/Other']]);
  c.takeOutbound();
  c.sendData(other, new Uint8Array(0), true);
  assert.deepEqual(framesOf(c.takeOutbound()).map((f) => [f.type, f.length, f.flags & Flags.END_STREAM]), [['DATA', 0, Flags.END_STREAM]]);
});

test('connection: receive windows are credited back; overrunning them is an error', () => {
  const c = new ClientConnection({ initialWindowSize: 100, connectionWindowSize: 65535 });
  c.preface();
  c.request([[':method', 'GET']]);
  c.takeOutbound();
  const server = new Encoder();
  feed(c, encodeHeaders(1, server.encode([[':status', '200']]), false, 16384));
  feed(c, encodeData(1, new Uint8Array(60), false));
  const updates = framesOf(c.takeOutbound()).filter((f) => f.type === 'WINDOW_UPDATE');
  assert.deepEqual(updates.map((f) => [f.stream, (f as { increment: number }).increment]), [[1, 60]]);
  const events = feed(c, encodeData(1, new Uint8Array(101), false));
  assert.equal(events[0].kind, 'reset');
  assert.match((events[0] as { error: string }).error, /FLOW_CONTROL_ERROR/);
});

test('connection: RST_STREAM, GOAWAY and protocol errors surface', () => {
  const c = new ClientConnection();
  c.request([[':method', 'GET']]);
  c.request([[':method', 'GET']]);
  assert.deepEqual(feed(c, encodeRstStream(3, ErrorCode.REFUSED_STREAM)), [{ kind: 'reset', stream: 3, errorCode: 7, error: 'REFUSED_STREAM' }]);
  const g = feed(c, encodeGoaway(1, ErrorCode.NO_ERROR, 'bye'));
  assert.equal(g[0].kind, 'goaway');
  assert.equal(c.canOpenStream(), false);
  assert.throws(() => c.request([[':method', 'GET']]), /GOAWAY/);
  assert.throws(() => feed(new ClientConnection(), encodeData(5, utf8('x'), false)), /never opened/);
  assert.throws(() => feed(new ClientConnection(), encodeFrame(FrameType.PUSH_PROMISE, Flags.END_HEADERS, 1, hex('00000002 82'))), ProtocolError);
  const e = new ClientConnection();
  e.request([[':method', 'GET']]);
  const server = new Encoder();
  const block = server.encode([[':status', '200']]);
  // HEADERS without END_HEADERS, then a PING in the middle of the block: PROTOCOL_ERROR (§6.10).
  feed(e, encodeFrame(FrameType.HEADERS, 0, 1, block));
  assert.throws(() => feed(e, encodePing(new Uint8Array(8))), /inside the header block/);
  // A server PING is answered with the same payload (§6.7).
  const p = new ClientConnection();
  feed(p, encodePing(hex('0011223344556677')));
  assert.equal(describeFrame(framesOf(p.takeOutbound())[0]), 'PING[ACK] stream 0, 8 bytes: 0011223344556677');
});

// RFC 9218 §7.1: PRIORITY_UPDATE (type 0x10) on stream 0 for stream 1, "u=2, i".
const PRIORITY_UPDATE = hex('00000a 10 00 00000000 00000001 753d322c2069');
// RFC 7540 §6.3: PRIORITY for stream 3, depending on stream 1, weight 32, not exclusive.
const PRIORITY = hex('000005 02 00 00000003 00000001 1f');

test('priorities: PRIORITY_UPDATE and PRIORITY golden bytes, both ways', () => {
  assert.deepEqual(encodePriorityUpdate(1, 'u=2, i'), PRIORITY_UPDATE);
  const frames = assertSplitFeed(frameFrame(), concat([PRIORITY_UPDATE, PRIORITY]));
  assert.deepEqual(frames.map(describeFrame), ['PRIORITY_UPDATE stream 0, 10 bytes: stream 1 priority "u=2, i"', 'PRIORITY stream 3, 5 bytes: depends on stream 1, weight 32']);
  assert.throws(() => frameFrame()(hex('000004 10 00 00000001 00000001')), /PRIORITY_UPDATE on stream 1/);
  assert.throws(() => frameFrame()(hex('000002 10 00 00000000 0000')), /FRAME_SIZE_ERROR/);
  assertFuzzSafe(frameFrame(), { seeds: [PRIORITY_UPDATE, PRIORITY] });
  const c = new ClientConnection();
  const id = c.request([[':method', 'GET']]);
  c.priorityUpdate(id, 'u=0');
  assert.deepEqual(framesOf(c.takeOutbound()).map((f) => f.type), ['HEADERS', 'PRIORITY_UPDATE']);
  assert.throws(() => c.priorityUpdate(3, 'u=0'), /not a request we opened/);
  // Priority signals from the server are events, not errors (RFC 9113 §5.3.2).
  assert.deepEqual(feed(c, encodeFrame(FrameType.PRIORITY, 0, 1, hex('80000000 ff'))), [{ kind: 'priority', stream: 1, via: 'PRIORITY', priority: { exclusive: true, dependsOn: 0, weight: 256 } }]);
});

test('settings: RFC 9218 NO_RFC7540_PRIORITIES and RFC 8441 ENABLE_CONNECT_PROTOCOL by name, unknown ids by number', () => {
  const f = frameFrame()(encodeSettings([[0x9, 1], [0x8, 1], [0x4242, 7]]))!.value;
  assert.equal(describeFrame(f), 'SETTINGS stream 0, 18 bytes: NO_RFC7540_PRIORITIES=1 ENABLE_CONNECT_PROTOCOL=1 UNKNOWN(0x4242)=7');
  const c = new ClientConnection();
  assert.deepEqual(feed(c, encodeSettings([[0x9, 1]])), [{ kind: 'settings', settings: [[0x9, 1]] }]);
});

test('push: with ENABLE_PUSH 1 a promise (continued in CONTINUATION) opens an even stream read to its end; past maxPushes it is cancelled', () => {
  const c = new ClientConnection({ enablePush: true, maxPushes: 1 });
  assert.ok(c.settingsList().some(([id, v]) => id === Setting.ENABLE_PUSH && v === 1));
  c.request([[':method', 'GET']]);
  c.takeOutbound();
  const server = new Encoder();
  const promised = server.encode([[':method', 'GET'], [':scheme', 'http'], [':path', '/style.css'], [':authority', 'lab']]);
  const ev = feed(
    c,
    concat([
      encodeFrame(FrameType.PUSH_PROMISE, 0, 1, concat([hex('00000002'), promised.subarray(0, 3)])),
      encodeFrame(FrameType.CONTINUATION, Flags.END_HEADERS, 1, promised.subarray(3)),
    ]),
  );
  assert.deepEqual(ev, [{ kind: 'push', stream: 1, promised: 2, fields: [[':method', 'GET'], [':scheme', 'http'], [':path', '/style.css'], [':authority', 'lab']], accepted: true }]);
  const second = feed(c, encodeFrame(FrameType.PUSH_PROMISE, Flags.END_HEADERS, 1, concat([hex('00000004'), server.encode([[':method', 'GET'], [':path', '/app.js']])])));
  assert.equal((second[0] as { accepted: boolean }).accepted, false);
  // Promised streams do not count against the server's MAX_CONCURRENT_STREAMS (§5.1.2).
  assert.equal(c.activeStreams, 1);
  assert.deepEqual(framesOf(c.takeOutbound()).map(describeFrame), ['RST_STREAM stream 4, 4 bytes: CANCEL']);
  const body = feed(c, concat([encodeHeaders(2, server.encode([[':status', '200']]), false, 16384), encodeData(2, utf8('a{}'), true)]));
  assert.deepEqual(body.map((e) => `${e.kind} ${'stream' in e ? e.stream : ''}`), ['headers 2', 'data 2']);
  assert.deepEqual(c.windowsOf(2), { send: 65535, recv: 1024 * 1024 - 3 });
  // Late frames of the cancelled stream are ignored, not errors; a stream never promised is.
  assert.equal(feed(c, encodeData(4, utf8('x'), false))[0].kind, 'ignored');
  assert.throws(() => feed(c, encodeData(6, utf8('x'), false)), /never opened/);
  // Promised ids must be new and even.
  assert.throws(() => feed(c, encodeFrame(FrameType.PUSH_PROMISE, Flags.END_HEADERS, 1, concat([hex('00000004'), server.encode([[':path', '/']])]))), /not a new even stream/);
  // Our GOAWAY names the last promised stream.
  assert.equal(describeFrame(framesOf(c.close())[0]), 'GOAWAY stream 0, 8 bytes: last stream 4, NO_ERROR');
});
