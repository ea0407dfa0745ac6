// Gopher, RFC 1436: send a selector line, read a menu, a text file or binary until the server closes.
import * as z from 'zod';
import { toBase64 } from '../../core/bytes.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { formatMenu, parseMenu, parseText } from './codec.ts';
import { identification } from './identify.ts';

const item = z.object({ type: z.string(), display: z.string(), selector: z.string(), host: z.string(), port: z.number(), extra: z.string().optional() });

export default defineProtocol({
  id: 'gopher',
  title: 'Gopher',
  category: 'web',
  summary: 'Fetches a Gopher menu, text file, search result or binary item by selector (RFC 1436).',
  ports: [{ port: 70, transport: 'tcp' }],
  specs: ['RFC 1436', 'RFC 4266'],
  // Gopher over TLS has no port of its own; servers that offer it (pygopherd) do so on the same port.
  tls: { implicit: { port: 70 } },
  rating: { stars: 4, reason: 'Menus parsed into typed items, text with the lone-dot ending and dot-unstuffing, type 7 searches, binary items as base64 and TLS; lab-tested against pygopherd, in the clear and over TLS. Gopher+ attributes are passed through, not interpreted.' },
  verifiedAgainst: 'pygopherd 3.0.0',
  defaultOperation: 'fetch',
  identify: identification,
  operations: {
    fetch: operation({
      summary: 'Fetch an item by selector',
      input: z.object({
        selector: z.string().max(1024).regex(/^[^\t\r\n]*$/, 'selector must not contain TAB, CR or LF').default(''),
        type: z.string().length(1).default('1').describe('Item type: 1 menu, 0 text, 7 search, 9/I/g binary'),
        query: z.string().max(1024).regex(/^[^\t\r\n]*$/, 'query must be one line').optional().describe('Search words for type 7'),
      }),
      output: z.object({
        type: z.string(),
        items: z.array(item).optional(),
        text: z.string().optional(),
        base64: z.string().optional(),
        bytes: z.number(),
        terminated: z.boolean().describe('The server ended with the lone "." line'),
        truncated: z.boolean(),
      }),
      // RFC 4266 URL form: /gopher/host:port/<type><selector>
      shortRoute: (extra) => (extra ? { type: extra[0], selector: extra.slice(1) } : {}),
      text: (r) => (r.items ? formatMenu(r.items) : (r.text ?? `${r.bytes} bytes of binary (base64 in JSON)`)),
      async run(ctx, input) {
        const conn = await ctx.dial();
        const line = input.type === '7' && input.query !== undefined ? `${input.selector}\t${input.query}` : input.selector;
        await conn.write(`${line}\r\n`, { decode: JSON.stringify(line) });
        const { bytes, truncated } = await conn.readToEnd(8 * 1024 * 1024);
        if (input.type === '1' || input.type === '7') return { type: input.type, ...parseMenu(bytes), bytes: bytes.length, truncated };
        if (input.type === '0' || input.type === 'h') return { type: input.type, ...parseText(bytes), bytes: bytes.length, truncated };
        return { type: input.type, base64: toBase64(bytes), bytes: bytes.length, terminated: false, truncated };
      },
    }),
  },
});
