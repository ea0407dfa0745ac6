// ZeroMQ wire protocol ZMTP 3.0/3.1 (rfc.zeromq.org 23/ZMTP, 37/ZMTP, 24/ZMTP-PLAIN): handshake with NULL or PLAIN, READY metadata, REQ and DEALER multipart messages.
import * as z from 'zod';
import { bytesJson, toHex, utf8 } from '../../core/bytes.ts';
import { bytesField, bytesOut, bytesPreview, encodingField, inputBytes } from '../../core/bytes-input.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { ZmtpClient, type Peer } from './client.ts';
import { identification } from './identify.ts';

const credentials = {
  username: z.string().max(255).optional().describe('PLAIN mechanism: user name (without it the NULL mechanism is used)'),
  password: z.string().max(255).optional().describe('PLAIN mechanism: password'),
};

const socketType = z.enum(['REQ', 'DEALER']).default('REQ').describe('This side\'s socket type: REQ adds and strips the empty delimiter frame; DEALER sends and shows frames as they are');

const peerOut = z.object({
  version: z.string().describe('ZMTP version the peer announced (3.0 or 3.1)'),
  mechanism: z.string(),
  asServer: z.boolean(),
  socketType: z.string().nullable(),
  metadata: z.record(z.string(), z.string()).describe('READY properties (Socket-Type, Identity, X-...), as text or hex:'),
});

function peerJson(p: Peer): z.infer<typeof peerOut> {
  const metadata: Record<string, string> = {};
  for (const [k, v] of p.metadata) {
    const j = bytesJson(v);
    metadata[k] = j.text ?? `hex:${toHex(v)}`;
  }
  return { version: `${p.greeting.major}.${p.greeting.minor}`, mechanism: p.greeting.mechanism, asServer: p.greeting.asServer, socketType: p.socketType, metadata };
}

async function open(ctx: OperationContext, input: { username?: string; password?: string; socketType: 'REQ' | 'DEALER'; identity?: string }, maxFrameBytes?: number) {
  if (input.password !== undefined && input.username === undefined) throw InvalidInput.field('username', 'is required with a password');
  const c = new ZmtpClient(await ctx.dial(), maxFrameBytes);
  const peer = await c.handshake({ socketType: input.socketType, username: input.username, password: input.password, identity: input.identity !== undefined ? utf8(input.identity) : undefined });
  ctx.timing.mark('readyMs');
  return { c, peer };
}

export default defineProtocol({
  id: 'zmtp',
  title: 'ZeroMQ (ZMTP)',
  category: 'messaging',
  summary: 'Speaks ZMTP 3.x to a ZeroMQ socket: the greeting and NULL or PLAIN handshake with the peer\'s READY metadata, and multipart request–reply as a REQ or DEALER socket.',
  ports: [{ port: 5555, transport: 'tcp', label: 'a common choice; ZeroMQ has no fixed port' }],
  specs: ['23/ZMTP (ZMTP 3.0)', '37/ZMTP (ZMTP 3.1)', '24/ZMTP-PLAIN', '27/ZAP'],
  rating: {
    stars: 4,
    reason:
      'Lab-tested through workerd against libzmq 4.3.4 (Debian\'s python3-zmq REP sockets): the ZMTP 3.1 greeting (in the steps of 23/ZMTP version detection, so the peer\'s mechanism is read before it sees ours), NULL and PLAIN (credentials checked by a ZAP handler; a refusal is auth_failed with the peer\'s ERROR reason), READY metadata, REQ and DEALER multipart messages with binary frames, mechanism mismatch and non-ZMTP peers named. Not covered: CURVE (needs the peer\'s public key and CurveZMQ boxes), ZMTP 1.0/2.0 peers, PUB/SUB and ROUTER sides, TLS (ZeroMQ has none; its encryption is CURVE).',
  },
  verifiedAgainst: 'libzmq 4.3.4 (Debian 12 libzmq5 4.3.4-6, python3-zmq 24.0.1)',
  defaultOperation: 'probe',
  identify: identification,
  operations: {
    probe: operation({
      summary: 'Greeting and handshake only: the peer\'s ZMTP version, mechanism and READY metadata (its socket type)',
      input: z.object({ ...credentials, socketType: socketType.default('DEALER') }),
      output: z.object({ peer: peerOut }),
      text: (r) => `ZMTP ${r.peer.version} ${r.peer.mechanism}${r.peer.asServer ? ' (as server)' : ''} · ${Object.entries(r.peer.metadata).map(([k, v]) => `${k}=${v}`).join(' ')}`,
      async run(ctx, input) {
        const { peer } = await open(ctx, input);
        return { peer: peerJson(peer) };
      },
    }),
    request: operation({
      summary: 'Send one multipart message and read the reply (REQ: the envelope delimiter is added and removed; DEALER: frames as they are)',
      input: z.object({
        frames: z.array(bytesField(4 * 1024 * 1024)).min(1).max(1000).describe('Message frames: text, or {"base64": ...} / {"hex": ...}').meta({ examples: [['hello', 'world']] }),
        socketType,
        identity: z.string().max(255).optional().describe('Identity property sent in READY (ROUTER peers address replies by it)'),
        replies: z.number().int().min(0).max(1000).default(1).describe('Messages to read back (DEALER may expect several, or none)'),
        ...credentials,
        encoding: encodingField,
        maxFrameBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(8 * 1024 * 1024).describe('A frame larger than this from the peer is a protocol error (nothing that size is allocated)'),
      }),
      output: z.object({ peer: peerOut, replies: z.array(z.object({ frames: z.array(bytesOut) })), rttMs: z.number() }),
      text: (r) => r.replies.map((m, i) => `reply ${i + 1}: ${m.frames.map((f) => bytesPreview(f)).join(' | ')}`).join('\n') || '(no reply read)',
      async run(ctx, input) {
        if (input.socketType === 'REQ' && input.replies !== 1) throw InvalidInput.field('replies', 'a REQ socket reads exactly one reply per request');
        const frames = input.frames.map((f, i) => inputBytes(f, `frames.${i}`));
        const { c, peer } = await open(ctx, input, input.maxFrameBytes);
        const t0 = performance.now();
        await c.send(input.socketType === 'REQ' ? [new Uint8Array(0), ...frames] : frames);
        const replies: { frames: ReturnType<typeof bytesJson>[] }[] = [];
        for (let i = 0; i < input.replies; i++) {
          let got = await c.receive();
          if (input.socketType === 'REQ') {
            if (got.length === 0 || got[0].length !== 0) throw new ProtocolError('the reply to a REQ socket does not start with the empty delimiter frame');
            got = got.slice(1);
          }
          replies.push({ frames: got.map((f) => bytesJson(f, input.encoding)) });
        }
        return { peer: peerJson(peer), replies, rttMs: Math.round((performance.now() - t0) * 10) / 10 };
      },
    }),
  },
});

