// Carries TCP connections across a network namespace boundary through Unix sockets (the file system is shared):
// gnutls-serv has no option to listen on 127.0.0.1 alone, so it runs in a namespace of its own with only a
// loopback, and this relay puts each of its ports on the host's 127.0.0.1.
//
//   relay.ts inside  <dir> <port>...   in the namespace: <dir>/<port>.sock → 127.0.0.1:<port>
//   relay.ts outside <dir> <port>...   on the host:      127.0.0.1:<port> → <dir>/<port>.sock
import net from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const [mode, dir, ...ports] = process.argv.slice(2);
if ((mode !== 'inside' && mode !== 'outside') || !dir || ports.length === 0) {
  console.error('usage: relay.ts inside|outside <dir> <port>...');
  process.exit(2);
}

function pipe(a: net.Socket, b: net.Socket): void {
  a.pipe(b);
  b.pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end);
  b.on('error', end);
  a.on('close', end);
  b.on('close', end);
}

for (const port of ports.map(Number)) {
  const sock = join(dir, `${port}.sock`);
  const server = net.createServer((client) => {
    const upstream = mode === 'inside' ? net.connect(port, '127.0.0.1') : net.connect(sock);
    pipe(client, upstream);
  });
  if (mode === 'inside') {
    rmSync(sock, { force: true });
    server.listen(sock);
  } else server.listen(port, '127.0.0.1');
  server.on('error', (e) => {
    console.error(`${mode} ${port}: ${e.message}`);
    process.exit(1);
  });
}
console.log(`relay ${mode}: ${ports.join(', ')} via ${dir}`);
