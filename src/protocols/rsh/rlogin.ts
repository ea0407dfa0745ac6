// rlogin, RFC 1282: a terminal session as a user that trusts this host (or that types its password), from a
// privileged source port; the window size travels as the RFC's in-band cookie.
import * as z from 'zod';
import { splitHostPort } from '../../core/conn.ts';
import { classify } from '../../core/errors.ts';
import { defineProtocol, operation, type SessionMessage } from '../../core/protocol.ts';
import { MAX_USER, replyFrame, rloginHandshake, windowCookie } from './codec.ts';
import { AuthError } from '../../core/errors.ts';

const userField = z.string().min(1).max(MAX_USER).regex(/^[A-Za-z0-9._-]+$/, 'user names are letters, digits, . _ -');

export default defineProtocol({
  id: 'rlogin',
  title: 'rlogin',
  category: 'remote',
  summary: 'Terminal sessions through rlogind as a user that trusts this host, from a privileged source port, with the window size sent as RFC 1282 asks. Node host as root only.',
  ports: [{ port: 513, transport: 'tcp' }],
  specs: ['RFC 1282'],
  rating: {
    stars: 3,
    reason:
      'The RFC 1282 handshake from a port in 512–1023, the terminal type and speed, window size at start and on resize; lab-tested against netkit rlogind over the WebSocket on the Node host (login through .rhosts, stty reads the size back) and refused with the reason on Workers. The server\'s urgent-data control bytes (flow control, its window-size request) are not seen: Node sockets do not read TCP urgent data.',
  },
  verifiedAgainst: 'netkit rsh-server 0.17-24 (in.rlogind)',
  defaultOperation: 'login',
  identify: { unprobed: 'a login with a user name; not sent' },
  operations: {
    login: operation({
      summary: 'A terminal on the server, live in the page, logged in as the given user',
      messages: 'Binary frames both ways. Client: {"type":"resize","cols","rows"} sends the window size.',
      input: z.object({
        user: userField.describe('The account on the server'),
        localUser: userField.optional().describe('The user name this side claims (what .rhosts must list); default: the same as user'),
        terminalType: z.string().regex(/^[A-Za-z0-9._+-]{1,40}$/).default('xterm-256color'),
        speed: z.number().int().min(50).max(4_000_000).default(38400).describe('Terminal speed in baud, as the handshake states it'),
        cols: z.number().int().min(10).max(1000).default(80),
        rows: z.number().int().min(2).max(1000).default(24),
      }),
      output: z.object({ ended: z.enum(['server', 'client']), bytesIn: z.number(), bytesOut: z.number(), sourcePort: z.number().nullable() }),
      needs: ['tcp', 'privilegedPort'],
      async session(ctx, input, channel) {
        const conn = await ctx.dial({ privilegedSourcePort: true });
        const local = input.localUser ?? input.user;
        await conn.write(rloginHandshake(local, input.user, input.terminalType, input.speed), { decode: `rlogin: ${local} as ${input.user}, ${input.terminalType}/${input.speed}` });
        const reply = await conn.readFrame(replyFrame, 'the server\'s answer', (r) => (r.ok ? 'go-ahead (0)' : `refused: ${r.message}`));
        if (!reply.ok) throw new AuthError(`server refused: ${reply.message}`);
        // RFC 1282: the server asks for the window size with urgent data; send it at once as well, since urgent data cannot be read here.
        await conn.write(windowCookie(input.rows, input.cols), { decode: `window size ${input.cols}x${input.rows}` });
        const localAddress = conn.info().localAddress;
        const fromServer = (async () => {
          for (;;) {
            const data = await conn.read();
            if (data === null) return 'server' as const;
            channel.send(data);
          }
        })();
        const fromClient = (async () => {
          for (;;) {
            const m: SessionMessage | null = await channel.receive();
            if (m === null) return 'client' as const;
            if (m instanceof Uint8Array) await conn.write(m);
            else if (m.type === 'resize' && typeof m.cols === 'number' && typeof m.rows === 'number') await conn.write(windowCookie(m.rows, m.cols), { decode: `window size ${m.cols}x${m.rows}` });
            else if (m.type === 'stop') return 'client' as const;
            else channel.send({ type: 'error', error: { code: 'invalid_input', message: `unknown message type ${JSON.stringify(m.type)}: binary data, resize or stop` } });
          }
        })();
        let ended: 'server' | 'client';
        try {
          ended = await Promise.race([fromServer.catch((e) => (classify(e).code === 'closed' ? ('server' as const) : Promise.reject(e))), fromClient]);
        } finally {
          await conn.close();
          fromServer.catch(() => {});
          fromClient.catch(() => {});
        }
        return { ended, bytesIn: conn.bytesIn, bytesOut: conn.bytesOut, sourcePort: localAddress ? splitHostPort(localAddress).port : null };
      },
    }),
  },
});
