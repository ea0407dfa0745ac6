// L2TPv2 (RFC 2661) over UDP: the control connection's first exchange — SCCRQ out, the LNS's SCCRP
// (host name, vendor, firmware, capabilities, its tunnel id) back — then StopCCN to clear it.
import * as z from 'zod';
import { PortolanError } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { exchange, retryFields } from '../datagram/exchange.ts';
import { AVP, STOP_RESULTS, avpValue, decodeControl, describe, readU, sccrq, stopCcn, text, type ControlMessage } from './codec.ts';

function caps(bits: number | null, names: [string, string]): string[] {
  return bits === null ? [] : [bits & 1 ? names[0] : '', bits & 2 ? names[1] : ''].filter(Boolean);
}

export default defineProtocol({
  id: 'l2tp',
  title: 'L2TP',
  category: 'network',
  summary: 'L2TPv2 control connection over UDP: the LNS’s answer to SCCRQ — host name, vendor, firmware, protocol version, framing and bearer capabilities, its tunnel id, receive window, whether it challenges — then StopCCN.',
  ports: [{ port: 1701, transport: 'udp' }],
  specs: ['RFC 2661'],
  rating: {
    stars: 3,
    reason:
      'SCCRQ/SCCRP with every AVP of the reply decoded (hidden AVPs named, not decrypted), StopCCN with result codes, retransmission; lab-tested against xl2tpd 1.3.18 on the Node host (UDP). No tunnel authentication (Challenge), no sessions or PPP, no L2TPv3, no IPsec (L2TP/IPsec servers answer only inside IPsec).',
  },
  verifiedAgainst: 'xl2tpd 1.3.18',
  defaultOperation: 'probe',
  identify: { unprobed: 'UDP' },
  operations: {
    probe: operation({
      summary: 'SCCRQ: the LNS’s host name, vendor, firmware, version, capabilities and tunnel id; then StopCCN',
      input: z.object({ hostname: z.string().min(1).max(64).default('portolan'), ...retryFields({ retries: 2, waitMs: 1000 }) }),
      output: z.object({
        messageType: z.string(),
        protocolVersion: z.string().nullable(),
        hostname: z.string().nullable(),
        vendor: z.string().nullable(),
        firmware: z.number().nullable(),
        framing: z.array(z.string()),
        bearer: z.array(z.string()),
        tunnelId: z.number().nullable().describe('The Assigned Tunnel ID of the LNS'),
        receiveWindow: z.number().nullable(),
        challenge: z.boolean().describe('The LNS sent a Challenge: it authenticates tunnels with a shared secret'),
        avps: z.array(z.object({ type: z.number(), vendor: z.number(), mandatory: z.boolean(), hidden: z.boolean(), length: z.number() })),
        rttMs: z.number(),
      }),
      needs: ['udp'],
      text: (r) => [`${r.messageType} from ${JSON.stringify(r.hostname)} (${r.vendor ?? '?'}, firmware ${r.firmware ?? '?'}), L2TP ${r.protocolVersion ?? '?'}`, `framing: ${r.framing.join(', ') || 'none'}; bearer: ${r.bearer.join(', ') || 'none'}; tunnel ${r.tunnelId}; window ${r.receiveWindow ?? 'default'}${r.challenge ? '; challenges' : ''}`].join('\n'),
      async run(ctx, input) {
        const conn = await ctx.dialUdp();
        const ours = 1 + (ctx.crypto.randomBytes(2)[0] << 8) + ctx.crypto.randomBytes(1)[0];
        const answer = await exchange<ControlMessage>(ctx, conn, sccrq({ tunnelId: ours, hostname: input.hostname, vendor: 'Portolan' }), {
          ...input,
          what: 'SCCRP',
          describeRequest: `SCCRQ (our tunnel ${ours})`,
          describeAnswer: (b) => {
            try {
              return describe(decodeControl(b));
            } catch (e) {
              return `not L2TP: ${(e as Error).message}`;
            }
          },
          // The reply is addressed to our tunnel id; ZLB acknowledgements are not it.
          accept: (b) => {
            const m = decodeControl(b);
            return m.tunnelId === ours && m.messageType !== 0 ? m : undefined;
          },
        });
        const m = answer.value;
        if (m.messageType === 4) {
          const rc = avpValue(m, AVP.RESULT_CODE);
          const code = rc && rc.length >= 2 ? (rc[0] << 8) | rc[1] : 0;
          throw new PortolanError('refused', `the LNS answered StopCCN: ${code} ${STOP_RESULTS[code] ?? ''}`.trim(), { resultCode: code });
        }
        const peerTunnel = readU(avpValue(m, AVP.ASSIGNED_TUNNEL_ID));
        if (peerTunnel !== null) await conn.send(stopCcn({ peerTunnelId: peerTunnel, ourTunnelId: ours, ns: 1, nr: (m.ns + 1) & 0xffff }), { decode: 'StopCCN (general request to clear)' });
        const version = avpValue(m, AVP.PROTOCOL_VERSION);
        return {
          messageType: m.messageType === 2 ? 'SCCRP' : `message ${m.messageType}`,
          protocolVersion: version && version.length === 2 ? `${version[0]}.${version[1]}` : null,
          hostname: text(avpValue(m, AVP.HOST_NAME)),
          vendor: text(avpValue(m, AVP.VENDOR_NAME)),
          firmware: readU(avpValue(m, AVP.FIRMWARE)),
          framing: caps(readU(avpValue(m, AVP.FRAMING)), ['synchronous', 'asynchronous']),
          bearer: caps(readU(avpValue(m, AVP.BEARER)), ['digital', 'analog']),
          tunnelId: peerTunnel,
          receiveWindow: readU(avpValue(m, AVP.RECEIVE_WINDOW)),
          challenge: m.avps.some((a) => a.vendor === 0 && a.type === AVP.CHALLENGE),
          avps: m.avps.map((a) => ({ type: a.type, vendor: a.vendor, mandatory: a.mandatory, hidden: a.hidden, length: a.value.length })),
          rttMs: answer.rttMs,
        };
      },
    }),
  },
});
