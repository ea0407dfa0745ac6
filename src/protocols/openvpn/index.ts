// OpenVPN's control channel over TCP: the client hard reset, the server's (its session id and the ack of
// ours), then the TLS handshake starting inside P_CONTROL_V1 (the server's ServerHello). With a tls-auth
// or tls-crypt key the packets carry the HMAC or are encrypted, so a server that drops unknown peers
// answers; without it such a server stays silent, and that is said.
import * as z from 'zod';
import { toHex } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { InvalidInput, PortolanError, ProtocolError, classify } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { OP, OPCODES, clientHello, describe, directionKeys, frame, parseServerHello, parseStaticKey, streamFrame, unwrap, wrap, type ControlPacket, type Wrapping } from './codec.ts';
import { identification } from './identify.ts';

const HMAC_LENGTHS = { SHA1: 20, SHA256: 32, SHA512: 64 } as const;
const HASH = { SHA1: 'SHA-1', SHA256: 'SHA-256', SHA512: 'SHA-512' } as const;

async function readPacket(ctx: OperationContext, conn: Conn, w: Wrapping, keys: ReturnType<typeof directionKeys> | undefined, hmac: (k: Uint8Array, d: Uint8Array) => Promise<Uint8Array>, ctr: (k: Uint8Array, iv: Uint8Array, d: Uint8Array) => Promise<Uint8Array>) {
  const raw = await conn.readFrame(streamFrame, 'OpenVPN packet', (b) => `${OPCODES[b[0] >> 3] ?? `opcode ${b[0] >> 3}`} (${b.length} bytes)`);
  const p = await unwrap(raw, w, keys, hmac, ctr);
  conn.note(describe(p));
  return p;
}

export default defineProtocol({
  id: 'openvpn',
  title: 'OpenVPN',
  category: 'network',
  summary: 'OpenVPN’s control channel over TCP: the hard reset both ways (the server’s session id), and the TLS handshake starting inside it (the server’s TLS version and cipher); with a tls-auth or tls-crypt key, so servers that ignore unknown peers answer.',
  ports: [{ port: 1194, transport: 'tcp' }],
  specs: ['OpenVPN protocol (ssl_pkt, reliable layer)', 'RFC 8446'],
  rating: {
    stars: 3,
    reason:
      'P_CONTROL_HARD_RESET_CLIENT_V2/SERVER_V2 with session ids and acks, tls-auth (HMAC-SHA1/256/512, key direction 1) and tls-crypt (AES-256-CTR + HMAC-SHA256) wrapping with the server’s HMAC verified, and the TLS ServerHello inside P_CONTROL_V1; lab-tested against OpenVPN 2.6 in TCP server mode, plain, with tls-auth and with tls-crypt. UDP mode, tls-crypt-v2 client keys, completing TLS (certificates) and the data channel are not done.',
  },
  verifiedAgainst: 'OpenVPN 2.6.14',
  defaultOperation: 'probe',
  identify: identification,
  operations: {
    probe: operation({
      summary: 'Hard reset and the server’s answer, then a TLS ClientHello and the server’s ServerHello',
      input: z.object({
        tlsAuthKey: z.string().max(4096).optional().describe('The tls-auth static key file (ta.key), used with key direction 1'),
        tlsAuthDigest: z.enum(['SHA1', 'SHA256', 'SHA512']).default('SHA1').describe('The server’s `auth` digest for tls-auth'),
        tlsCryptKey: z.string().max(4096).optional().describe('The tls-crypt static key file'),
        waitMs: z.number().int().min(100).max(30_000).default(3000).describe('How long to wait for the server’s hard reset'),
      }),
      output: z.object({
        wrapping: z.enum(['none', 'tls-auth', 'tls-crypt']),
        clientSessionId: z.string(),
        serverSessionId: z.string(),
        acked: z.array(z.number()).describe('Our packet ids the server acknowledged in its reset'),
        keyId: z.number(),
        serverTime: z.string().nullable().describe('The replay timestamp of the server’s packet (tls-auth / tls-crypt)'),
        tls: z.object({ version: z.string(), cipherSuite: z.string() }).nullable().describe('The ServerHello answering our ClientHello'),
      }),
      text: (r) => [`server session ${r.serverSessionId} (${r.wrapping})`, r.tls ? `TLS started: ${r.tls.version} ${r.tls.cipherSuite}` : 'no ServerHello'].join('\n'),
      async run(ctx, input) {
        if (input.tlsAuthKey && input.tlsCryptKey) throw InvalidInput.field('tlsCryptKey', 'give tlsAuthKey or tlsCryptKey, not both');
        const key = input.tlsAuthKey ? parseStaticKey(input.tlsAuthKey) : input.tlsCryptKey ? parseStaticKey(input.tlsCryptKey) : undefined;
        const keys = key ? directionKeys(key) : undefined;
        const w: Wrapping = { kind: input.tlsAuthKey ? 'tls-auth' : input.tlsCryptKey ? 'tls-crypt' : 'none', hmacLength: input.tlsCryptKey ? 32 : HMAC_LENGTHS[input.tlsAuthDigest] };
        const hash = input.tlsCryptKey ? 'SHA-256' : HASH[input.tlsAuthDigest];
        const hmac = (k: Uint8Array, d: Uint8Array) => ctx.crypto.hmac(hash, k, d);
        const ctr = async (k: Uint8Array, iv: Uint8Array, d: Uint8Array) => {
          const ck = await ctx.crypto.subtle.importKey('raw', k as BufferSource, 'AES-CTR', false, ['encrypt']);
          return new Uint8Array(await ctx.crypto.subtle.encrypt({ name: 'AES-CTR', counter: iv as BufferSource, length: 128 }, ck, d as BufferSource));
        };
        const conn = await ctx.dial();
        const sid = ctx.crypto.randomBytes(8);
        let packetId = 1;
        const time = Math.floor(Date.now() / 1000);
        const send = async (p: ControlPacket) => conn.write(frame(await wrap(p, w, keys, { packetId: packetId++, time }, hmac, ctr)), { decode: describe(p) });
        await send({ opcode: OP.HARD_RESET_CLIENT_V2, keyId: 0, sessionId: sid, acks: [], messageId: 0, payload: new Uint8Array(0) });
        let reset;
        try {
          reset = await ctx.within(input.waitMs, async () => {
            for (;;) {
              const p = await readPacket(ctx, conn, w, keys, hmac, ctr);
              if (p.opcode === OP.HARD_RESET_SERVER_V2) return p;
            }
          });
        } catch (e) {
          const err = classify(e);
          if ((err.code !== 'io_timeout' && err.code !== 'closed') || ctx.signal.aborted) throw err;
          // A server with tls-auth or tls-crypt drops packets it cannot verify: over TCP it closes the connection.
          const why = `the server ${w.kind === 'none' ? 'may require tls-auth or tls-crypt (give its key)' : `did not accept this ${w.kind} key (another key, direction or digest)`}, or it is not OpenVPN over TCP`;
          if (err.code === 'closed') throw new PortolanError('refused', `the server closed the connection without answering the hard reset: ${why}`);
          throw new PortolanError('io_timeout', `no answer to the hard reset within ${input.waitMs} ms: ${why}`);
        }
        if (reset.remoteSessionId && toHex(reset.remoteSessionId) !== toHex(sid)) throw new ProtocolError('the server acknowledged another session id than ours');
        // Ack its reset and start TLS in the same packet.
        await send({ opcode: OP.CONTROL, keyId: 0, sessionId: sid, acks: [reset.messageId ?? 0], remoteSessionId: reset.sessionId, messageId: 1, payload: clientHello(ctx.crypto.randomBytes(32), ctx.crypto.randomBytes(32), ctx.crypto.randomBytes(32)) });
        let tls = null;
        try {
          tls = await ctx.within(input.waitMs, async () => {
            for (;;) {
              const p = await readPacket(ctx, conn, w, keys, hmac, ctr);
              if (p.opcode === OP.CONTROL && p.payload.length > 0) return parseServerHello(p.payload);
            }
          });
        } catch (e) {
          const err = classify(e);
          if (err.code !== 'io_timeout' || ctx.signal.aborted) throw err;
        }
        return {
          wrapping: w.kind,
          clientSessionId: toHex(sid),
          serverSessionId: toHex(reset.sessionId),
          acked: reset.acks,
          keyId: reset.keyId,
          serverTime: reset.replay ? new Date(reset.replay.time * 1000).toISOString() : null,
          tls,
        };
      },
    }),
  },
});
