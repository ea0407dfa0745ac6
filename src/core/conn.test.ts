import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conn, type Transport } from './conn.ts';
import { PortolanError } from './errors.ts';
import { smbFrame, transportFrame } from '../protocols/smb/codec.ts';

/**
 * A transport over fixed bytes that hands out at most `step` bytes a read and, like a Workers socket, moves the
 * memory it reads into (the caller's `into` is detached after each read). `hang`: reads after the bytes never settle.
 */
function bytesTransport(bytes: Uint8Array, step: number, hang = false): Transport & { intoLengths: number[]; position(): number } {
  let at = 0;
  const next = (max: number): Promise<Uint8Array | null> | null => {
    if (at >= bytes.length) return hang ? new Promise<never>(() => {}) : Promise.resolve(null);
    const n = Math.min(step, max, bytes.length - at);
    const out = bytes.subarray(at, at + n);
    at += n;
    return Promise.resolve(out);
  };
  const t = {
    intoLengths: [] as number[],
    position: () => at,
    read(max = 4096) {
      return next(max)!.then((b) => b && b.slice());
    },
    async readInto(into: Uint8Array) {
      const { byteOffset, length } = into;
      t.intoLengths.push(length);
      const got = await next(length)!;
      if (got === null) return null;
      const moved = structuredClone(into.buffer, { transfer: [into.buffer] }) as ArrayBuffer;
      const view = new Uint8Array(moved, byteOffset, got.length);
      view.set(got);
      return view;
    },
    write: () => Promise.resolve(),
    startTls: () => Promise.reject(new Error('no TLS')),
    close: () => Promise.resolve(),
    info: () => ({}),
  };
  return t;
}

const at = { host: '127.0.0.1', port: 445, tls: 'off' as const };
const message = (size: number, seed: number) => Uint8Array.from({ length: size }, (_, i) => (i * 7 + seed) & 0xff);

test('a large framed message is read straight into memory of its own, never past its end; small ones as before', async () => {
  const messages = [message(200_000, 1), message(64, 2), message(300_000, 3), message(70_000, 4)];
  const wire = Uint8Array.from(messages.flatMap((m) => [...transportFrame(m)]));
  const transport = bytesTransport(wire, 70_000);
  const conn = new Conn({ transport, signal: new AbortController().signal, ...at });
  conn.bulkReads(1024 * 1024);
  const frame = smbFrame();
  let end = 0;
  for (const m of messages) {
    const before = transport.intoLengths.length;
    assert.deepEqual(await conn.readFrame(frame), m);
    end += 4 + m.length;
    // A message read directly ends exactly where it ends on the wire: the next one's header is never taken.
    if (transport.intoLengths.length > before) assert.equal(transport.position(), end, `read past a ${m.length}-byte message`);
  }
  assert.ok(transport.intoLengths.length > 0, 'the large messages took the direct path');
  await assert.rejects(conn.readFrame(frame), (e: PortolanError) => e.code === 'closed');
});

test('readExact of a large count comes back whole and equal, in memory of its own', async () => {
  const data = message(500_000, 9);
  const wire = Uint8Array.from([1, 2, 3, ...data]);
  const transport = bytesTransport(wire, 65_536);
  const conn = new Conn({ transport, signal: new AbortController().signal, ...at });
  assert.deepEqual(await conn.readExact(3), Uint8Array.of(1, 2, 3));
  const got = await conn.readExact(data.length);
  assert.deepEqual(got, data);
  assert.equal(got.buffer.byteLength, data.length);
  assert.ok(transport.intoLengths.length > 0);
});

test('the stream ending inside a directly read message is closed, with how much came', async () => {
  const wire = transportFrame(message(300_000, 5)).subarray(0, 150_000);
  const conn = new Conn({ transport: bytesTransport(wire, 40_000), signal: new AbortController().signal, ...at });
  await assert.rejects(conn.readFrame(smbFrame(), 'SMB message'), (e: PortolanError) => e.code === 'closed' && /150000 of 300004 bytes/.test(e.message));
});

test('a direct read abandoned at the deadline leaves the connection cut: the next read says so instead of reading mid-message', async () => {
  const wire = transportFrame(message(300_000, 6)).subarray(0, 100_000);
  const ac = new AbortController();
  const conn = new Conn({ transport: bytesTransport(wire, 50_000, true), signal: ac.signal, ...at });
  const reading = conn.readFrame(smbFrame(), 'SMB message');
  setTimeout(() => ac.abort(), 20);
  await assert.rejects(reading, (e: PortolanError) => e.code === 'io_timeout');
  await assert.rejects(conn.readFrame(smbFrame(), 'SMB message'), (e: PortolanError) => e.code === 'closed' && /in the middle of SMB message/.test(e.message));
});
