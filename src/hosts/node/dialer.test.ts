// The Node dialer's listener for a server's connection back (rsh/rexec standard error): bound where asked, only the
// expected address accepted, only once, and closed with the operation's deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { NodeDialer } from './dialer.ts';

/** Connects from `localAddress` and resolves once the listener has answered: 'data' with what it sent, or 'closed'. */
function connectFrom(localAddress: string, port: number): Promise<{ socket: net.Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

test('node listener: a connection from another address is dropped, the expected one accepted, later ones dropped', async () => {
  const signal = new AbortController().signal;
  const listener = await new NodeDialer().listen({ localAddress: '127.0.0.1', from: '127.0.0.1', privilegedPort: false, signal });
  assert.ok(listener.port > 0);
  // Linux routes all of 127/8 to loopback: 127.0.0.2 stands in for a stranger.
  const stranger = await connectFrom('127.0.0.2', listener.port);
  await stranger.closed;
  const server = await connectFrom('127.0.0.1', listener.port);
  const transport = await listener.accept();
  server.socket.write('err\n');
  assert.equal(new TextDecoder().decode((await transport.read())!), 'err\n');
  assert.match(transport.info().remoteAddress!, /^127\.0\.0\.1:\d+$/);
  // The listening socket closed after the first accepted connection.
  await assert.rejects(connectFrom('127.0.0.1', listener.port), /ECONNREFUSED/);
  await transport.close();
  await listener.close();
  server.socket.destroy();
});

test('node listener: a reserved port when asked (as root), and the deadline closes a listener nobody connected to', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to bind below 1024');
  const ac = new AbortController();
  const listener = await new NodeDialer().listen({ localAddress: '127.0.0.1', from: '127.0.0.1', privilegedPort: true, signal: ac.signal });
  assert.ok(listener.port >= 512 && listener.port <= 1023, `port ${listener.port}`);
  const waiting = listener.accept();
  ac.abort();
  await assert.rejects(waiting, /stopped listening/);
  await assert.rejects(connectFrom('127.0.0.1', listener.port), /ECONNREFUSED/);
});

test('node listener: without privilegedPort in the capabilities a reserved port is unsupported_runtime', async () => {
  const dialer = new NodeDialer(['tcp', 'listen']);
  await assert.rejects(dialer.listen({ localAddress: '127.0.0.1', from: '127.0.0.1', privilegedPort: true, signal: new AbortController().signal }), (e: Error & { code?: string }) => e.code === 'unsupported_runtime');
});
