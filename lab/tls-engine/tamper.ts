// A man in the middle for the TLS engine's refusal tests: it relays to a real `openssl s_server` and changes one
// thing on the way, each on its own port — what an attacker on the path (or a broken server) would do:
//
//   suite       ServerHello names TLS_AES_128_CCM_SHA256 (0x1304), a suite no client here offers
//   group       ServerHello's key_share names x448 (0x001e), a group no client here offers
//   downgrade   ClientHello's supported_versions is renamed (to a GREASE type), so the server, which speaks
//               TLS 1.3, negotiates TLS 1.2 and marks ServerHello.random with the RFC 8446 §4.1.3 sentinel
//   oversized   after the server's first record, a record header announcing 2^14 + 2049 bytes
//
// usage: tamper.ts <upstream port> <mode>:<port>...
import net from 'node:net';
import { recordFrame } from '../../src/core/tls/record.ts';

type Mode = 'suite' | 'group' | 'downgrade' | 'oversized';

const [upstreamArg, ...listeners] = process.argv.slice(2);
const upstreamPort = Number(upstreamArg);

/** Offset of the extensions block in a hello body, after version, random, session id and the suite list(s). */
function extensionsAt(body: Uint8Array, clientHello: boolean): number {
  let at = 2 + 32;
  at += 1 + body[at];
  if (clientHello) {
    at += 2 + ((body[at] << 8) | body[at + 1]);
    at += 1 + body[at];
  } else at += 2 + 1;
  return at + 2;
}

/** Calls `fn` with the offset of each extension of type `type` in a hello body. */
function findExtension(body: Uint8Array, clientHello: boolean, type: number): number | undefined {
  for (let at = extensionsAt(body, clientHello); at + 4 <= body.length; ) {
    const t = (body[at] << 8) | body[at + 1];
    const len = (body[at + 2] << 8) | body[at + 3];
    if (t === type) return at;
    at += 4 + len;
  }
  return undefined;
}

/** The first handshake record's hello body (a view into `record`), when the record starts with one. */
function helloBody(record: Uint8Array, type: 1 | 2): Uint8Array | undefined {
  if (record[0] !== 22 || record[5] !== type) return undefined;
  return record.subarray(9);
}

function relay(mode: Mode, client: net.Socket): void {
  const server = net.connect(upstreamPort, '127.0.0.1');
  const end = () => {
    client.destroy();
    server.destroy();
  };
  for (const s of [client, server]) {
    s.on('error', end);
    s.on('close', end);
  }
  // Each direction is cut into records; the first record of each is where the change happens.
  const direction = (from: net.Socket, to: net.Socket, change: (record: Uint8Array, index: number) => Uint8Array[]) => {
    let buffered = Buffer.alloc(0);
    let index = 0;
    from.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        let got;
        try {
          got = recordFrame(buffered);
        } catch {
          to.write(buffered);
          buffered = Buffer.alloc(0);
          return;
        }
        if (!got) return;
        const record = new Uint8Array(buffered.subarray(0, got.size));
        buffered = buffered.subarray(got.size);
        for (const out of change(record, index++)) to.write(out);
      }
    });
  };
  direction(client, server, (record, i) => {
    const body = i === 0 && mode === 'downgrade' ? helloBody(record, 1) : undefined;
    const at = body && findExtension(body, true, 0x002b);
    if (body && at !== undefined) {
      body[at] = 0x0a;
      body[at + 1] = 0x0a;
    }
    return [record];
  });
  direction(server, client, (record, i) => {
    if (i !== 0) return [record];
    const body = helloBody(record, 2);
    if (body && mode === 'suite') {
      const at = 2 + 32 + 1 + body[34];
      body[at] = 0x13;
      body[at + 1] = 0x04;
    }
    if (body && mode === 'group') {
      const at = findExtension(body, false, 0x0033);
      if (at !== undefined) {
        body[at + 4] = 0x00;
        body[at + 5] = 0x1e;
      }
    }
    if (mode === 'oversized') return [record, Uint8Array.of(23, 3, 3, 0x48, 0x01)];
    return [record];
  });
}

for (const spec of listeners) {
  const [mode, port] = spec.split(':') as [Mode, string];
  net.createServer((client) => relay(mode, client)).listen(Number(port), '127.0.0.1');
}
console.log(`tamper: ${listeners.join(', ')} → 127.0.0.1:${upstreamPort}`);
