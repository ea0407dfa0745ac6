// Misbehaving peers for the API contract tests and the hostile-server corpus (test/hostile.lab.test.ts).
// Each listens on its own port and does one thing wrong, whatever the client sends:
//   silent          accepts and reads, never answers
//   garbage         a malformed line and random bytes, then closes
//   endless         an endless line: printable bytes, never a line end, as fast as the client reads
//   trickle         one printable byte a second, forever
//   randomClose     4 KiB of random bytes, then closes without reading
//   randomReset     4 KiB of random bytes, then resets the connection
//   hugeLength      length fields of 2^31 in every common framing (big and little endian), then silence
//   nestJson        a JSON value nested 100,000 deep, then silence
//   nestBer         a BER value nested 20,000 deep (indefinite lengths), then silence
//   nestResp        a RESP array nested 100,000 deep, then silence
//   compressionLoop a DNS message over TCP whose names point at themselves, then silence
//   tlsStall        reads the ClientHello, sends the first bytes of a ServerHello record, never the rest
// Usage: node --import tsx lab/bad-peers.ts name=port [name=port...]
import { randomBytes, randomInt } from 'node:crypto';
import net from 'node:net';

const IDLE_MS = 5 * 60_000;

type Behaviour = (socket: net.Socket) => void;

/** Sends `bytes` once, then keeps the connection open and silent. */
const sendThenHold = (bytes: () => Buffer): Behaviour => (socket) => {
  socket.resume();
  socket.write(bytes());
};

const printable = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => 0x41 + (i % 26)));

function hugeLengths(): Buffer {
  const be = Buffer.alloc(4);
  be.writeUInt32BE(0x80000000);
  const le = Buffer.alloc(4);
  le.writeUInt32LE(0x80000000);
  // Big endian at every offset a header might put its length, then little endian, then BER long form.
  return Buffer.concat([...Array(256).fill(be), ...Array(256).fill(le), Buffer.from([0x30, 0x84, 0x80, 0x00, 0x00, 0x00])]);
}

function dnsPointerLoop(): Buffer {
  // RFC 1035 4.1: header (1 question, 1 answer), then a question name that is a pointer to itself (offset 12).
  const message = Buffer.from([0x00, 0x00, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 127, 0, 0, 1]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length);
  return Buffer.concat([length, message]);
}

const behaviours: Record<string, Behaviour> = {
  silent: (socket) => socket.resume(),
  garbage: (socket) => {
    socket.resume();
    // A malformed line first, so line-based decoders fail on content rather than on the close.
    socket.end(Buffer.concat([Buffer.from('NOT A PROTOCOL \xff\xfe\r\n', 'latin1'), randomBytes(randomInt(64, 1024))]));
  },
  endless: (socket) => {
    socket.resume();
    const chunk = printable(16 * 1024);
    const pump = () => {
      while (!socket.destroyed && socket.write(chunk));
    };
    socket.on('drain', pump);
    pump();
  },
  trickle: (socket) => {
    socket.resume();
    let i = 0;
    const timer = setInterval(() => socket.write(Buffer.from([0x41 + (i++ % 26)])), 1000);
    socket.on('close', () => clearInterval(timer));
  },
  randomClose: (socket) => socket.write(randomBytes(4096), () => socket.destroy()),
  randomReset: (socket) => socket.write(randomBytes(4096), () => socket.resetAndDestroy()),
  hugeLength: sendThenHold(hugeLengths),
  nestJson: sendThenHold(() => Buffer.from('['.repeat(100_000))),
  nestBer: sendThenHold(() => Buffer.concat(Array(20_000).fill(Buffer.from([0x30, 0x80])))),
  nestResp: sendThenHold(() => Buffer.from('*1\r\n'.repeat(100_000))),
  compressionLoop: sendThenHold(dnsPointerLoop),
  tlsStall: (socket) => {
    // A TLS record header announcing a 64-byte ServerHello, and 3 of its bytes: a handshake that never ends.
    socket.once('data', () => socket.write(Buffer.from([0x16, 0x03, 0x03, 0x00, 0x40, 0x02, 0x00, 0x00])));
    socket.resume();
  },
};

const listeners = process.argv.slice(2).map((arg) => {
  const [name, port] = arg.split('=');
  if (!behaviours[name] || !/^\d+$/.test(port ?? '')) {
    console.error(`bad-peers: "${arg}" is not name=port with a name of ${Object.keys(behaviours).join(', ')}`);
    process.exit(2);
  }
  return { name, port: Number(port) };
});

for (const { name, port } of listeners) {
  const server = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    behaviours[name](socket);
  });
  server.on('error', (error) => {
    console.error(`${name}: ${error.message}`);
    process.exit(1);
  });
  server.listen({ host: '127.0.0.1', port }, () => console.log(`${name} listening on 127.0.0.1:${port}`));
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
