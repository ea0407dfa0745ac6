// Echo Protocol, RFC 862: the server sends back every byte it receives.
import * as z from 'zod';
import { equalBytes, fromHex, fromUtf8, toHex, utf8 } from '../../core/bytes.ts';
import { InvalidInput } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';

const payload = {
  data: z.string().max(65536, 'data must be at most 65536 characters').default('portolan echo test').describe('Text to send (UTF-8)'),
  hex: z.string().max(131072).optional().describe('Bytes to send as hex; replaces data'),
};

function payloadBytes(input: { data: string; hex?: string }): Uint8Array {
  if (input.hex === undefined) return utf8(input.data);
  try {
    return fromHex(input.hex);
  } catch {
    throw InvalidInput.field('hex', 'must be pairs of hex digits');
  }
}

export default defineProtocol({
  id: 'echo',
  title: 'Echo',
  category: 'classic',
  summary: 'Sends bytes and checks that the server returns them unchanged (RFC 862).',
  ports: [{ port: 7, transport: 'tcp' }],
  specs: ['RFC 862'],
  rating: { stars: 5, reason: 'The whole protocol: arbitrary bytes (text or hex) sent, echoed bytes compared byte for byte, round-trip time measured; lab-tested with text, binary and 64 KiB payloads.' },
  verifiedAgainst: 'xinetd internal echo-stream',
  defaultOperation: 'send',
  identify: { unprobed: 'named when a server returns a probe as it was sent (RFC 862), whichever probe it was' },
  operations: {
    send: operation({
      primary: ['data'],
      summary: 'Send bytes and compare what comes back',
      input: z.object(payload),
      output: z.object({
        sent: z.number().describe('Bytes sent'),
        received: z.number().describe('Bytes received back'),
        matches: z.boolean(),
        text: z.string().describe('What came back, as UTF-8'),
        hex: z.string(),
        rttMs: z.number().describe('From the first byte sent to the last byte back'),
      }),
      shortRoute: (extra) => (extra ? { data: extra } : {}),
      text: (r) => `${r.matches ? 'echoed' : 'MISMATCH'}: ${r.received}/${r.sent} bytes in ${r.rttMs.toFixed(3)} ms\n${r.text}`,
      async run(ctx, input) {
        const bytes = payloadBytes(input);
        if (bytes.length === 0) throw InvalidInput.field('data', 'must not be empty');
        const conn = await ctx.dial();
        const t0 = performance.now();
        // Write and read concurrently: a large payload would otherwise fill both windows.
        const [, back] = await Promise.all([conn.write(bytes), conn.readExact(bytes.length, 'echoed bytes')]);
        const rttMs = Math.round((performance.now() - t0) * 1000) / 1000;
        return { sent: bytes.length, received: back.length, matches: equalBytes(bytes, back), text: fromUtf8(back), hex: toHex(back.subarray(0, 4096)), rttMs };
      },
    }),
  },
});
