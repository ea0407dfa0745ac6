// SFTP v3 framing and attributes (draft-ietf-secsh-filexfer-02 3, 5): golden bytes, split feed, fuzz; asciicast v2 recording.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fromHex, toHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { AsciicastRecorder } from './session.ts';
import { decodeAttrs, encodeAttrs, fileType, FXP, SftpClient, sftpFrame, SftpPacketReader } from './sftp.ts';
import { SshReader, SshWriter } from './wire.ts';

// SSH_FXP_STATUS for request 7: code 2 (NO_SUCH_FILE), message "No such file", language "".
const status = fromHex(
  '0000001d' + // length 29: type, id, code, message, language
    '65' + // SSH_FXP_STATUS (101)
    '00000007' + // request id
    '00000002' + // SSH_FX_NO_SUCH_FILE
    '0000000c' + toHex(new TextEncoder().encode('No such file')) +
    '00000000', // language tag
);

test('SFTP packet frame: golden STATUS packet, split feed', () => {
  const packets = assertSplitFeed(sftpFrame, new Uint8Array([...status, ...status]));
  assert.equal(packets.length, 2);
  const r = new SshReader(packets[0]);
  assert.deepEqual([r.u8(), r.u32(), r.u32(), r.text()], [101, 7, 2, 'No such file']);
});

test('SFTP packet reader: the packets sftpFrame cuts, from chunks of any size, a large DATA packet copied once', () => {
  const data = new Uint8Array(250_000).map((_, i) => (i * 7) & 0xff);
  const big = new SshWriter(250_100).u32(250_000 + 1 + 4 + 4).u8(103).u32(9).string(data).finish();
  const stream = new Uint8Array([...status, ...big, ...status]);
  const expected = [status.subarray(4), big.subarray(4), status.subarray(4)].map((p) => toHex(p));
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: stream.length }), { maxLength: 12 }), (cuts) => {
      const reader = new SftpPacketReader();
      const got: Uint8Array[] = [];
      let at = 0;
      for (const p of [...new Set(cuts)].sort((a, b) => a - b).concat(stream.length)) {
        got.push(...reader.feed(stream.subarray(at, p)));
        at = p;
      }
      assert.deepEqual(got.map((p) => toHex(p)), expected);
    }),
    { numRuns: 100 },
  );
  const byte = new SftpPacketReader();
  const one: Uint8Array[] = [];
  for (let i = 0; i < status.length * 2; i++) one.push(...byte.feed(new Uint8Array([...status, ...status]).subarray(i, i + 1)));
  assert.equal(one.length, 2);
  assert.throws(() => new SftpPacketReader().feed(fromHex('7fffffff65')), ProtocolError);
});

test('SFTP packet frame refuses absurd lengths and never throws anything but ProtocolError', () => {
  assert.throws(() => sftpFrame(fromHex('7fffffff65')), /SFTP packet length 2147483647 is out of range/);
  assert.throws(() => sftpFrame(fromHex('00000000')), /out of range/);
  assertFuzzSafe(sftpFrame, { seeds: [status] });
});

test('attributes round-trip with every flag (draft 5), golden bytes for size + permissions', () => {
  const bytes = encodeAttrs(new SshWriter(), { size: 0x1_0000_0002, permissions: 0o100644 }).finish();
  assert.equal(toHex(bytes), '00000005' + '0000000100000002' + '000081a4');
  const all = { size: 5, uid: 1000, gid: 100, permissions: 0o40755, atime: 1700000000, mtime: 1700000001 };
  assert.deepEqual(decodeAttrs(new SshReader(encodeAttrs(new SshWriter(), all).finish())), all);
  assert.equal(fileType(0o40755), 'directory');
  assert.equal(fileType(0o120777), 'symlink');
  assert.equal(fileType(0o100600), 'file');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      try {
        decodeAttrs(new SshReader(b));
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
  );
});

test('asciicast v2: header, ordered events, UTF-8 split across chunks reassembled, size cap', () => {
  const rec = new AsciicastRecorder({ width: 80, height: 24, term: 'xterm' }, 1024, 1_700_000_000_000);
  const euro = new TextEncoder().encode('€');
  rec.output(euro.subarray(0, 1), 1_700_000_000_100);
  rec.output(euro.subarray(1), 1_700_000_000_250);
  rec.resize(100, 30, 1_700_000_000_300);
  rec.input(new TextEncoder().encode('ls\n'), 1_700_000_000_400);
  const lines = rec.toString().trimEnd().split('\n');
  assert.deepEqual(JSON.parse(lines[0]), { version: 2, width: 80, height: 24, timestamp: 1_700_000_000, env: { TERM: 'xterm' } });
  assert.deepEqual(lines.slice(1).map((l) => JSON.parse(l)), [
    [0.25, 'o', '€'],
    [0.3, 'r', '100x30'],
    [0.4, 'i', 'ls\n'],
  ]);
  for (let i = 0; i < 100; i++) rec.output(new TextEncoder().encode('x'.repeat(50)), 1_700_000_001_000);
  assert.equal(rec.truncated, true);
  assert.ok(rec.toString().length <= 1024 + 1);
});

test('a download whose channel closes while the sink is busy: the read-aheads asked for after the close are no unhandled rejection', async () => {
  // An SSH channel in front of a server that answers INIT and the first two READs, then closes the channel.
  const replies: { stream: 'stdout'; data: Uint8Array }[] = [];
  let wake: (() => void) | undefined;
  let reads = 0;
  const packet = (type: number, build: (w: SshWriter) => void) => {
    const w = new SshWriter(64);
    const done = w.lengthAt('u32');
    w.u8(type);
    build(w);
    done();
    return { stream: 'stdout' as const, data: w.finish() };
  };
  const reader = new SftpPacketReader();
  const ch = {
    request: async () => true,
    eof: async () => {},
    close: async () => {},
    async write(bytes: Uint8Array) {
      for (const p of reader.feed(bytes)) {
        const r = new SshReader(p);
        const type = r.u8();
        if (type === FXP.INIT) replies.push(packet(FXP.VERSION, (w) => w.u32(3)));
        else if (type === FXP.READ && ++reads <= 2) {
          const id = r.u32();
          r.string();
          r.u64();
          const len = r.u32();
          replies.push(packet(FXP.DATA, (w) => w.u32(id).string(new Uint8Array(len))));
        }
      }
      wake?.();
    },
    async read() {
      while (replies.length === 0 && reads < 2) await new Promise<void>((r) => (wake = r));
      return replies.shift() ?? null;
    },
  };
  const conn = { openSession: async () => ch, transport: { server: { softwareVersion: 'SSH-2.0-test' } } };
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    const client = await SftpClient.open(conn as unknown as Parameters<typeof SftpClient.open>[0]);
    let written = 0;
    // A client that takes each chunk slowly: the channel closes while the first one is being written.
    const sink = { write: async (chunk: Uint8Array) => void (written += chunk.length, await new Promise((r) => setTimeout(r, 20))) };
    await assert.rejects(client.download('/big', sink, { handle: new Uint8Array([1]) }), /SFTP channel closed/);
    assert.equal(written, 2 * 32 * 1024);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
