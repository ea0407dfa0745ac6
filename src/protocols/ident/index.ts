// Ident (RFC 1413): who owns a connection, asked about one the operation itself opens to the target.
import * as z from 'zod';
import { PortolanError } from '../../core/errors.ts';
import { splitHostPort } from '../../core/conn.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { ERROR_MEANINGS, parseReply, query } from './codec.ts';
import { identification } from './identify.ts';

export default defineProtocol({
  id: 'ident',
  title: 'Ident',
  category: 'directory',
  summary: 'Asks a host\'s ident server who owns a connection: the operation opens a connection to a service on the host, then asks port 113 about it (RFC 1413).',
  ports: [{ port: 113, transport: 'tcp' }],
  specs: ['RFC 1413'],
  rating: {
    stars: 4,
    reason:
      'The whole protocol: a connection opened to a service of the target, the query about it, USERID replies with operating system, character set and user id, and the four ERROR replies with their meaning. Lab-tested against oidentd through the Node host, asked about a connection to slapd. Workers cannot ask: connect() does not report the local port the query names.',
  },
  verifiedAgainst: 'oidentd 2.5.0',
  defaultOperation: 'query',
  identify: identification,
  operations: {
    query: operation({
      summary: 'Open a connection to servicePort on the target, then ask its ident server who owns that connection there',
      needs: ['tcp', 'localPort'],
      input: z.object({
        servicePort: z.number().int().min(1).max(65535).describe('A port the target listens on (22, 25, 6667...): the connection the question is about').meta({ examples: [22] }),
      }),
      output: z.object({
        servicePort: z.number(),
        localPort: z.number(),
        reply: z.enum(['USERID', 'ERROR']),
        userId: z.string().nullable(),
        opsys: z.string().nullable(),
        charset: z.string().nullable(),
        error: z.string().nullable(),
        meaning: z.string().nullable(),
        raw: z.string(),
      }),
      text: (r) => (r.reply === 'USERID' ? `${r.userId} (${r.opsys}${r.charset ? `, ${r.charset}` : ''}) owns ${r.servicePort} ↔ ${r.localPort}` : `ERROR ${r.error}${r.meaning ? `: ${r.meaning}` : ''}`),
      async run(ctx, input) {
        const service = await ctx.dial({ port: input.servicePort, tls: 'off' });
        const local = service.info().localAddress;
        if (!local) throw new PortolanError('protocol_error', 'the host did not report the local port of the connection');
        const localPort = splitHostPort(local).port;
        const conn = await ctx.dial({ tls: 'off' });
        const q = query(input.servicePort, localPort);
        await conn.write(q, { decode: q.trim() });
        // RFC 1413 §6: one reply line; 1000 characters is far more than any user id.
        const line = await conn.readLine({ max: 1000 });
        const r = parseReply(line);
        if (r.serverPort !== input.servicePort || r.clientPort !== localPort) throw new PortolanError('protocol_error', `ident answered about ${r.serverPort}, ${r.clientPort}, not the ${input.servicePort}, ${localPort} asked`);
        await service.close();
        if (r.kind === 'ERROR') return { servicePort: input.servicePort, localPort, reply: 'ERROR' as const, userId: null, opsys: null, charset: null, error: r.error, meaning: ERROR_MEANINGS[r.error.toUpperCase()] ?? null, raw: line };
        return { servicePort: input.servicePort, localPort, reply: 'USERID' as const, userId: r.userId, opsys: r.opsys, charset: r.charset, error: null, meaning: null, raw: line };
      },
    }),
  },
});
