// SSDP, UPnP Device Architecture 2.0 §1.3: M-SEARCH and every search response that comes back in the window.
import * as z from 'zod';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { collect } from '../datagram/exchange.ts';
import { decodeResponse, encodeSearch, isNotify, SSDP_GROUP, SSDP_PORT } from './codec.ts';

const ST = /^(ssdp:all|upnp:rootdevice|uuid:[\x21-\x7e]{1,200}|urn:[\x21-\x7e]{1,200})$/;

export default defineProtocol({
  id: 'ssdp',
  title: 'SSDP',
  category: 'network',
  summary: `Discovers UPnP devices with M-SEARCH: unicast to one host, or to the multicast group ${SSDP_GROUP} where the deployment allows it; every answer in the window, with its type, USN, location and server. Node host only.`,
  ports: [{ port: SSDP_PORT, transport: 'udp' }],
  specs: ['UPnP Device Architecture 2.0 §1.3'],
  rating: {
    stars: 2,
    reason:
      'M-SEARCH (multicast with MX, unicast without), every response collected for the window with ST, USN, LOCATION, SERVER and max-age, announcements skipped; lab-tested against minidlna inside a network namespace the lab creates (multicast kept on its loopback). No description (LOCATION) fetch, no NOTIFY listening.',
  },
  verifiedAgainst: 'minidlna 1.3.0+dfsg-2.2+deb12u1',
  defaultOperation: 'search',
  identify: { unprobed: 'UDP multicast' },
  operations: {
    search: operation({
      summary: 'M-SEARCH: who answers for a search target',
      input: z.object({
        st: z.string().regex(ST, 'st is ssdp:all, upnp:rootdevice, uuid:… or urn:…').default('ssdp:all').describe('Search target'),
        mx: z.number().int().min(1).max(5).default(1).describe('Multicast only: seconds responders may wait (UDA §1.3.2)'),
        waitMs: z.number().int().min(100).max(10_000).optional().describe('How long to collect answers; default MX + 0.5 s'),
        maxResponses: z.number().int().min(1).max(500).default(100),
      }),
      output: z.object({
        responses: z.array(
          z.object({
            from: z.string(),
            status: z.number(),
            st: z.string().nullable(),
            usn: z.string().nullable(),
            location: z.string().nullable(),
            server: z.string().nullable(),
            maxAge: z.number().nullable(),
            headers: z.record(z.string(), z.string()),
          }),
        ),
        multicast: z.boolean(),
      }),
      needs: ['udp'],
      defaultPort: SSDP_PORT,
      text: (r) => r.responses.map((x) => `${x.from}  ${x.st ?? '?'}\n    USN ${x.usn ?? '-'}\n    ${x.location ?? '-'}  ${x.server ?? ''}`).join('\n') || '(no answer)',
      async run(ctx, input) {
        const multicast = input.host === SSDP_GROUP;
        const conn = await ctx.dialUdp();
        const hostHeader = `${input.host.includes(':') ? `[${input.host}]` : input.host}:${input.port}`;
        await conn.send(encodeSearch({ host: hostHeader, st: input.st, mx: multicast ? input.mx : undefined, userAgent: 'Portolan/0.1 UPnP/2.0' }), { decode: `M-SEARCH ${input.st}${multicast ? ` MX ${input.mx}` : ''}` });
        const waitMs = input.waitMs ?? (multicast ? input.mx * 1000 + 500 : 1500);
        const responses = await collect(ctx, conn, waitMs, 'SSDP response', (bytes, from) => (isNotify(bytes) ? undefined : { from: `${from.address}:${from.port}`, ...decodeResponse(bytes) }), input.maxResponses);
        return { responses, multicast };
      },
    }),
  },
});
