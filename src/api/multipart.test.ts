// multipart/form-data (RFC 7578, RFC 2046 §5.1.1): golden bodies, fed whole, byte by byte and at random split points; fuzz.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { concat, fromUtf8, utf8 } from '../core/bytes.ts';
import { InvalidInput } from '../core/errors.ts';
import { MultipartParser, MultipartReader, multipartBoundary, type MultipartEvent } from './multipart.ts';

const boundary = '----portolan7MA4YWxkTrZu0gW';

/** A body as curl -F writes it: each part's headers, a blank line, its bytes, CRLF before the next delimiter. */
function body(parts: { name: string; filename?: string; type?: string; data: Uint8Array }[], opts: { preamble?: string; epilogue?: string } = {}): Uint8Array {
  const out: Uint8Array[] = [utf8(opts.preamble ?? '')];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    out.push(utf8(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`), p.data, utf8('\r\n'));
  }
  out.push(utf8(`--${boundary}--\r\n${opts.epilogue ?? ''}`));
  return concat(out);
}

/** Events with consecutive data merged, so different chunkings compare equal. */
function parse(chunks: Uint8Array[]): { parts: { name?: string; filename?: string; contentType?: string; data: string }[]; ended: boolean } {
  const parser = new MultipartParser(boundary);
  const events: MultipartEvent[] = [];
  for (const c of chunks) events.push(...parser.feed(c));
  const parts: { name?: string; filename?: string; contentType?: string; data: string }[] = [];
  let ended = false;
  for (const ev of events) {
    if (ev.type === 'part') parts.push({ name: ev.name, filename: ev.filename, contentType: ev.contentType, data: '' });
    else if (ev.type === 'data') parts[parts.length - 1].data += Buffer.from(ev.bytes).toString('hex');
    else ended = true;
  }
  if (ended) parser.finish();
  return { parts, ended };
}

// A file whose bytes hold what looks like the delimiter, cut short, and the bare boundary.
const tricky = concat([utf8(`line\r\n--${boundary.slice(0, 10)}\r\n--${boundary}x`.slice(0, 30)), utf8(`\r\n-`), new Uint8Array([13, 10, 45, 45]), utf8(boundary.slice(0, -1)), utf8('!'), new Uint8Array(300).map((_, i) => i & 0xff)]);
const golden = body([
  { name: 'input', data: utf8('{"host":"127.0.0.1","path":"x.bin"}') },
  { name: 'file', filename: 'x y.bin', type: 'application/octet-stream', data: tricky },
]);

test('multipart: the input part, then the file part with its name and bytes, whole, byte by byte and at random splits', () => {
  const whole = parse([golden]);
  assert.equal(whole.ended, true);
  assert.deepEqual(
    whole.parts.map((p) => [p.name, p.filename, p.contentType]),
    [
      ['input', undefined, undefined],
      ['file', 'x y.bin', 'application/octet-stream'],
    ],
  );
  assert.equal(fromUtf8(Buffer.from(whole.parts[0].data, 'hex')), '{"host":"127.0.0.1","path":"x.bin"}');
  assert.equal(whole.parts[1].data, Buffer.from(tricky).toString('hex'));
  const byByte = parse(Array.from(golden, (b) => new Uint8Array([b])));
  assert.deepEqual(byByte, whole);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: golden.length }), { maxLength: 10 }), (cuts) => {
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      const chunks: Uint8Array[] = [];
      let at = 0;
      for (const p of [...points, golden.length]) {
        chunks.push(golden.subarray(at, p));
        at = p;
      }
      assert.deepEqual(parse(chunks), whole);
    }),
    { numRuns: 200 },
  );
});

test('multipart: preamble and epilogue are skipped; empty parts; an empty file', () => {
  const b = body(
    [
      { name: 'input', data: new Uint8Array(0) },
      { name: 'file', filename: 'empty', data: new Uint8Array(0) },
    ],
    { preamble: 'This is a preamble.\r\n', epilogue: 'ignored' },
  );
  const got = parse([b]);
  assert.deepEqual(
    got.parts.map((p) => [p.name, p.data]),
    [
      ['input', ''],
      ['file', ''],
    ],
  );
});

test('multipart: RFC 8187 filename* wins over filename; escaped quotes', () => {
  const raw = concat([
    utf8(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a\\"b.txt"; filename*=UTF-8''caf%C3%A9.txt\r\n\r\nx\r\n--${boundary}--`),
  ]);
  const got = parse([raw]);
  assert.equal(got.parts[0].filename, 'café.txt');
  const plain = parse([utf8(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a\\"b.txt"\r\n\r\nx\r\n--${boundary}--`)]);
  assert.equal(plain.parts[0].filename, 'a"b.txt');
});

test('multipart: a body that ends before the closing delimiter, or never has one, is invalid_input naming the body', () => {
  const cut = golden.subarray(0, golden.length - 10);
  const parser = new MultipartParser(boundary);
  parser.feed(cut);
  assert.throws(() => parser.finish(), (e: InvalidInput) => e.code === 'invalid_input' && /body: .*closing boundary/.test(e.message));
  const none = new MultipartParser(boundary);
  assert.throws(() => none.feed(new Uint8Array(20_000)), /no boundary delimiter/);
  assert.throws(() => new MultipartParser(boundary).feed(utf8(`--${boundary}\r\n${'X-Long: y\r\n'.repeat(2000)}`)), /headers of part 1 are longer/);
  assert.throws(() => new MultipartParser(boundary).feed(utf8(`--${boundary}junk\r\n`)), /not followed by CRLF/);
});

test('multipart: the boundary from the Content-Type, quoted or not; not multipart gives undefined', () => {
  assert.equal(multipartBoundary(`multipart/form-data; boundary=${boundary}`), boundary);
  assert.equal(multipartBoundary('multipart/form-data; charset=utf-8; boundary="a b:c"'), 'a b:c');
  assert.equal(multipartBoundary('application/json'), undefined);
  assert.throws(() => multipartBoundary('multipart/form-data'), /content-type: multipart\/form-data needs a boundary/);
  assert.throws(() => new MultipartParser('x'.repeat(71)), /boundary is not 1–70/);
});

test('multipart: random bytes end in events or invalid_input, never anything else', () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 0, max: golden.length - 1 }).chain((n) => fc.constant(golden.subarray(0, n)))), (bytes) => {
      const parser = new MultipartParser(boundary);
      try {
        parser.feed(bytes);
        parser.finish();
      } catch (e) {
        if (!(e instanceof InvalidInput)) throw e;
      }
    }),
    { numRuns: 500 },
  );
});

test('multipart reader: pulls a stream as the consumer asks, and drains the rest after an error', async () => {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let at = 0; at < golden.length; at += 7) {
        c.enqueue(golden.slice(at, at + 7));
        pulled++;
      }
      c.close();
    },
  });
  const reader = new MultipartReader(stream, boundary);
  const first = await reader.next();
  assert.deepEqual(first, { type: 'part', index: 1, name: 'input' });
  await reader.drain(1 << 20);
  assert.deepEqual(await reader.next(), { type: 'end' });
  assert.ok(pulled > 10);
});

test('multipart reader: read buffers handed back are read into again, and no byte handed out or held changes', async () => {
  const { multipartUpload } = await import('./files.ts');
  // A 3 MiB file with a near-delimiter every 997 bytes, so reads often end inside one and the parser holds a tail.
  const file = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 131 + (i >> 9)) & 0xff);
  const near = utf8(`\r\n--${boundary.slice(0, -3)}`);
  for (let at = 500; at + near.length < file.length; at += 997) file.set(near, at);
  const whole = body([
    { name: 'input', data: utf8('{"path":"x.bin"}') },
    { name: 'file', filename: 'x.bin', data: file },
  ]);
  let at = 0;
  let reads = 0;
  const stream = new ReadableStream({
    type: 'bytes',
    pull(c) {
      const req = c.byobRequest!;
      const view = req.view as Uint8Array;
      // Pieces of many sizes, each ending inside a near-delimiter where one follows.
      const wanted = 1 + ((reads++ * 7919) % 200_000);
      const nextNear = Buffer.from(whole.buffer, whole.byteOffset, whole.length).indexOf(near, at + wanted);
      const n = Math.min(view.byteLength, whole.length - at, nextNear === -1 ? wanted : nextNear + 1 + (reads % (near.length - 1)) - at);
      view.set(whole.subarray(at, at + n));
      at += n;
      req.respond(n);
      if (at === whole.length) c.close();
    },
  });
  const reader = new MultipartReader(stream as ReadableStream<Uint8Array>, boundary);
  const { input, source } = await multipartUpload(reader);
  assert.deepEqual(input, { path: 'x.bin' });
  const got: Uint8Array[] = [];
  let handedBack = 0;
  for (let chunk = await source.read(); chunk !== null; chunk = await source.read()) {
    got.push(chunk.slice());
    source.recycle!(chunk);
    handedBack++;
  }
  assert.ok(handedBack > 12, `${handedBack} chunks`);
  assert.equal(Buffer.compare(concat(got), file), 0);
});
