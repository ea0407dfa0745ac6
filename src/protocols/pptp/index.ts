// PPTP (RFC 2637): the control connection on TCP 1723 — Start-Control-Connection (the server's
// version, host name, vendor, firmware, capabilities), an Echo round trip, Stop-Control-Connection.
// The tunnel's data travels as GRE (IP protocol 47), which a Worker cannot send, and is not opened here.
import * as z from 'zod';
import { ByteReader } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { PortolanError, ProtocolError } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { controlFrame, decodeStartReply, decodeStopReply, describe, encodeEchoReply, encodeEchoRequest, encodeStartRequest, encodeStopRequest, type ControlMessage } from './codec.ts';
import { identification } from './identify.ts';

async function next(conn: Conn, what: string): Promise<ControlMessage> {
  return conn.readFrame(controlFrame, what, describe);
}

async function expect(conn: Conn, type: number, what: string): Promise<ControlMessage> {
  for (let i = 0; i < 8; i++) {
    const m = await next(conn, what);
    if (m.type === type) return m;
    // An Echo-Request from the server is answered; anything else is skipped.
    if (m.type === 5) await conn.write(encodeEchoReply(m.body), { decode: 'Echo-Reply' });
  }
  throw new ProtocolError(`no ${what} among the server’s next 8 messages`);
}

export default defineProtocol({
  id: 'pptp',
  title: 'PPTP',
  category: 'network',
  summary: 'The PPTP control connection: Start-Control-Connection with the server’s protocol version, host name, vendor, firmware and capabilities, an Echo round trip, then Stop-Control-Connection. The GRE data channel is out of reach of a Worker.',
  ports: [{ port: 1723, transport: 'tcp' }],
  specs: ['RFC 2637'],
  rating: {
    stars: 3,
    reason:
      'Start-Control-Connection-Request/Reply decoded (version, result and error codes, framing and bearer capabilities, channels, firmware, host name, vendor), Echo, Stop-Control-Connection; lab-tested against pptpd 1.4.0. No calls and no PPP: the data channel is GRE (IP protocol 47), which Workers cannot send (connect() is TCP only) and which needs raw sockets on the Node host too.',
  },
  verifiedAgainst: 'pptpd 1.4.0',
  defaultOperation: 'probe',
  identify: identification,
  operations: {
    probe: operation({
      summary: 'Start-Control-Connection: the server’s version, host name, vendor, firmware and capabilities; an Echo; Stop-Control-Connection',
      input: z.object({
        hostname: z.string().max(63).default('portolan').describe('Our Host Name in the request'),
        vendor: z.string().max(63).default('Portolan').describe('Our Vendor String'),
      }),
      output: z.object({
        version: z.string(),
        result: z.number(),
        resultText: z.string(),
        error: z.number(),
        errorText: z.string(),
        framing: z.array(z.string()),
        bearer: z.array(z.string()),
        maxChannels: z.number(),
        firmware: z.number(),
        hostname: z.string(),
        vendor: z.string(),
        echoRttMs: z.number().nullable(),
        stopped: z.boolean(),
      }),
      text: (r) => [`PPTP ${r.version}: ${r.resultText}`, `host ${JSON.stringify(r.hostname)}, vendor ${JSON.stringify(r.vendor)}, firmware ${r.firmware}`, `framing: ${r.framing.join(', ') || 'none'}; bearer: ${r.bearer.join(', ') || 'none'}; channels: ${r.maxChannels}`].join('\n'),
      async run(ctx, input) {
        const conn = await ctx.dial();
        await conn.write(encodeStartRequest({ hostname: input.hostname, vendor: input.vendor, firmware: 1 }), { decode: `Start-Control-Connection-Request from ${input.hostname}` });
        const reply = decodeStartReply((await expect(conn, 2, 'Start-Control-Connection-Reply')).body);
        if (reply.result !== 1) throw new PortolanError('refused', `the PPTP server refused the control connection: ${reply.result} ${reply.resultText} (error ${reply.error} ${reply.errorText})`, { ...reply });
        // Echo (section 2.5): the identifier comes back.
        const t0 = performance.now();
        await conn.write(encodeEchoRequest(0x506f7274), { decode: 'Echo-Request' });
        const echo = await expect(conn, 6, 'Echo-Reply');
        const echoRttMs = new ByteReader(echo.body).u32('Identifier') === 0x506f7274 ? Math.round((performance.now() - t0) * 1000) / 1000 : null;
        await conn.write(encodeStopRequest(), { decode: 'Stop-Control-Connection-Request (general request)' });
        const stop = decodeStopReply((await expect(conn, 4, 'Stop-Control-Connection-Reply')).body);
        return { ...reply, echoRttMs, stopped: stop.result === 1 };
      },
    }),
  },
});
