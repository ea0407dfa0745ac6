// The tunnel Dialer against a fake WebSocket that plays the Worker's side of docs/tunnel.md: data, acks both ways, eof, errors.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { PortolanError } from '../../core/errors.ts';
import { tunnelDialer } from './tunnel.ts';

class FakeSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static last: FakeSocket;
  readyState = FakeSocket.CONNECTING;
  binaryType = 'blob';
  sent: (string | Uint8Array)[] = [];
  closedWith?: number;
  constructor(readonly url: string) {
    super();
    FakeSocket.last = this;
  }
  send(data: string | Uint8Array) {
    this.sent.push(typeof data === 'string' ? data : data.slice());
  }
  close(code?: number) {
    this.readyState = FakeSocket.CLOSED;
    this.closedWith = code;
  }
  /** The Worker's side. */
  control(m: Record<string, unknown>) {
    if (m.type === 'open') this.readyState = FakeSocket.OPEN;
    this.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(m) }));
  }
  data(bytes: number[]) {
    this.dispatchEvent(new MessageEvent('message', { data: Uint8Array.from(bytes).buffer }));
  }
  closeFromServer(code: number, reason = '') {
    this.readyState = FakeSocket.CLOSED;
    this.dispatchEvent(Object.assign(new Event('close'), { code, reason }));
  }
  controls(): Record<string, unknown>[] {
    return this.sent.filter((s): s is string => typeof s === 'string').map((s) => JSON.parse(s) as Record<string, unknown>);
  }
  binary(): number[][] {
    return this.sent.filter((s): s is Uint8Array => typeof s !== 'string').map((b) => [...b]);
  }
}

const saved = (globalThis as { WebSocket?: unknown }).WebSocket;
beforeEach(() => {
  (globalThis as { WebSocket?: unknown }).WebSocket = FakeSocket;
});
afterEach(() => {
  (globalThis as { WebSocket?: unknown }).WebSocket = saved;
});

const dialOpts = (port = 22) => ({ host: '192.0.2.7', port, tls: 'off' as const, signal: new AbortController().signal });
const tick = () => new Promise((r) => setImmediate(r));

async function opened(window = 1024, onData?: (dir: 'out' | 'in', b: Uint8Array) => void) {
  const dialing = tunnelDialer({ origin: 'https://portolan.test', onData }).dial(dialOpts());
  const ws = FakeSocket.last;
  ws.control({ type: 'open', window, remoteAddress: '192.0.2.7:22' });
  return { t: await dialing, ws };
}

test('dials wss://…/api/tunnel with host and port and asks for bytes', async () => {
  const { t, ws } = await opened();
  assert.equal(ws.url, 'wss://portolan.test/api/tunnel?host=192.0.2.7&port=22');
  assert.equal(ws.binaryType, 'arraybuffer');
  assert.equal(t.info().remoteAddress, '192.0.2.7:22 via /api/tunnel');
});

test('data is read in order, each chunk acknowledged once consumed; eof ends the stream', async () => {
  const seen: string[] = [];
  const { t, ws } = await opened(1024, (dir, b) => seen.push(`${dir}:${b.length}`));
  ws.data([1, 2, 3]);
  ws.data([4]);
  assert.deepEqual(ws.controls(), [], 'nothing acknowledged before it is read');
  assert.deepEqual([...(await t.read())!], [1, 2, 3]);
  assert.deepEqual(ws.controls(), [{ type: 'ack', bytes: 3 }]);
  assert.deepEqual([...(await t.read())!], [4]);
  const pending = t.read();
  ws.control({ type: 'eof' });
  assert.equal(await pending, null);
  assert.equal(await t.read(), null);
  assert.deepEqual(ws.controls(), [{ type: 'ack', bytes: 3 }, { type: 'ack', bytes: 1 }]);
  assert.deepEqual(seen, ['in:3', 'in:1']);
});

test('writes stop at the window until the tunnel acknowledges', async () => {
  const { t, ws } = await opened(16 * 1024);
  const chunk = new Uint8Array(10 * 1024).fill(7);
  await t.write(chunk);
  let second = false;
  const writing = t.write(chunk).then(() => (second = true));
  await tick();
  assert.equal(second, false, '20 KiB would exceed the 16 KiB window');
  assert.equal(ws.binary().length, 1);
  ws.control({ type: 'ack', bytes: 10 * 1024 });
  await writing;
  assert.equal(ws.binary().length, 2);
  chunk.fill(0);
  assert.equal(ws.binary()[1][0], 7, 'the sent bytes were copied');
});

test('an error before open rejects the dial with its outcome code', async () => {
  const dialing = tunnelDialer({ origin: 'http://127.0.0.1:8787' }).dial(dialOpts(1));
  FakeSocket.last.control({ type: 'error', code: 'refused', message: 'connection refused' });
  await assert.rejects(dialing, (e: unknown) => e instanceof PortolanError && e.code === 'refused' && e.message === 'connection refused');
});

test('an error or abnormal close after open fails the pending read', async () => {
  const a = await opened();
  const reading = a.t.read();
  a.ws.control({ type: 'error', code: 'io_timeout', message: 'read timed out' });
  await assert.rejects(reading, (e: unknown) => e instanceof PortolanError && e.code === 'io_timeout');
  await assert.rejects(a.t.write(Uint8Array.of(1)), (e: unknown) => e instanceof PortolanError && e.code === 'io_timeout');

  const b = await opened();
  const r2 = b.t.read();
  b.ws.closeFromServer(4001, 'idle for 300 s');
  await assert.rejects(r2, (e: unknown) => e instanceof PortolanError && e.code === 'closed' && /4001: idle for 300 s/.test(e.message));
});

test('close ends the socket normally and later reads see the end', async () => {
  const { t, ws } = await opened();
  await t.close();
  assert.equal(ws.closedWith, 1000);
  assert.equal(await t.read(), null);
});
