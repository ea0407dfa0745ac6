// Banner grab: what a server says first (or after a probe), with a guess at what it is.
import * as z from 'zod';
import { fromLatin1, toHex, utf8 } from '../../core/bytes.ts';
import { classify } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { guessService } from './guess.ts';

/** Turns \r, \n, \t, \\ and \xNN in a probe into bytes. */
export function unescapeProbe(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) {
      const n = text[++i];
      if (n === 'r') out.push(13);
      else if (n === 'n') out.push(10);
      else if (n === 't') out.push(9);
      else if (n === '0') out.push(0);
      else if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
        out.push(parseInt(text.slice(i + 1, i + 3), 16));
        i += 2;
      } else out.push(...utf8(n));
    } else out.push(...utf8(c));
  }
  return new Uint8Array(out);
}

export default defineProtocol({
  id: 'banner',
  title: 'Banner grab',
  category: 'diagnostics',
  summary: 'Reads what a server sends first, or after an optional probe, and guesses the protocol from the banner and port.',
  ports: [{ port: 22, transport: 'tcp' }],
  specs: [],
  rating: { stars: 4, reason: 'Banner with text and hex, optional escaped probe, guesses from banner signatures and ports; lab-tested against servers that speak first, servers that wait for a probe and silent ones.' },
  verifiedAgainst: 'xinetd, dictd 1.13.0',
  defaultOperation: 'grab',
  identify: { unprobed: 'the listening step itself' },
  operations: {
    grab: operation({
      summary: 'Read the first bytes a server sends',
      input: z.object({
        probe: z.string().max(4096).optional().describe('Bytes to send first; \\r \\n \\t \\xNN escapes'),
        waitMs: z.number().int().min(50).max(20_000).default(3000).describe('How long to wait for data'),
        maxBytes: z.number().int().min(1).max(65536).default(4096),
      }),
      output: z.object({
        text: z.string(),
        hex: z.string(),
        bytes: z.number(),
        silent: z.boolean().describe('Nothing arrived within waitMs'),
        closed: z.boolean().describe('The server closed the connection'),
        guess: z.object({ protocol: z.string(), confidence: z.string(), reason: z.string() }).nullable(),
      }),
      shortRoute: (extra) => (extra ? { probe: extra } : {}),
      text: (r) => `${r.silent ? '(no banner)' : r.text}\n${r.guess ? `guess: ${r.guess.protocol} (${r.guess.confidence}: ${r.guess.reason})` : 'guess: unknown'}`,
      async run(ctx, input) {
        const conn = await ctx.dial();
        if (input.probe) await conn.write(unescapeProbe(input.probe));
        const parts: Uint8Array[] = [];
        let size = 0;
        let closed = false;
        try {
          await ctx.within(input.waitMs, async () => {
            // The first chunk, then whatever follows it closely (multi-line banners).
            while (size < input.maxBytes) {
              const chunk = await conn.read(input.maxBytes - size);
              if (chunk === null) {
                closed = true;
                return;
              }
              parts.push(chunk);
              size += chunk.length;
              if (size > 0 && /\n$/.test(fromLatin1(chunk)) && !/^\d{3}-/m.test(fromLatin1(chunk).split('\n').slice(-2)[0] ?? '')) return;
            }
          });
        } catch (e) {
          const err = classify(e);
          if (err.code !== 'io_timeout') throw err;
        }
        const bytes = new Uint8Array(size);
        let at = 0;
        for (const p of parts) {
          bytes.set(p, at);
          at += p.length;
        }
        const text = fromLatin1(bytes);
        return { text, hex: toHex(bytes), bytes: size, silent: size === 0, closed, guess: guessService(text, bytes, ctx.target.port) };
      },
    }),
  },
});
