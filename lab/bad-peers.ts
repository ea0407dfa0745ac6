// Misbehaving peers for API contract tests: `silent` accepts and never answers; `garbage` sends a malformed line and random bytes, then closes.
// Usage: node --import tsx lab/bad-peers.ts <silentPort> <garbagePort>
import { randomBytes, randomInt } from 'node:crypto';
import net from 'node:net';

const [silentPort, garbagePort] = process.argv.slice(2).map(Number);
if (!Number.isInteger(silentPort) || !Number.isInteger(garbagePort)) {
  console.error('usage: bad-peers.ts <silentPort> <garbagePort>');
  process.exit(2);
}

const silentIdleMs = 5 * 60_000;

const silent = net.createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.resume();
  socket.setTimeout(silentIdleMs, () => socket.destroy());
});

const garbage = net.createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.resume();
  // A malformed line first, so line-based decoders fail on content rather than on the close.
  socket.end(Buffer.concat([Buffer.from('NOT A PROTOCOL \xff\xfe\r\n', 'latin1'), randomBytes(randomInt(64, 1024))]));
});

for (const [server, port, name] of [[silent, silentPort, 'silent'], [garbage, garbagePort, 'garbage']] as const) {
  server.on('error', (error) => {
    console.error(`${name}: ${error.message}`);
    process.exit(1);
  });
  server.listen({ host: '127.0.0.1', port }, () => console.log(`${name} listening on 127.0.0.1:${port}`));
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
