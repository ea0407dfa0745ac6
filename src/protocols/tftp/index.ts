// TFTP, RFC 1350 with options (RFC 2347 OACK, RFC 2348 blksize, RFC 2349 timeout and tsize): read and write files.
import { z } from 'zod';
import { fromBase64, fromUtf8, toBase64, toHex, utf8 } from '../../core/bytes.ts';
import { InvalidInput } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { retryFields } from '../datagram/exchange.ts';
import { readFile, writeFile, type TransferOptions } from './client.ts';
import { checkFilename, fromNetascii, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, toNetascii } from './codec.ts';

const MAX_FILE = 32 * 1024 * 1024;
const TEXT_LIMIT = 256 * 1024;

const transferFields = {
  filename: z.string().min(1).max(255).describe('File name as the server knows it'),
  mode: z.enum(['octet', 'netascii']).default('octet').describe('octet (bytes as they are) or netascii (CR LF line ends on the wire)'),
  blksize: z.number().int().min(MIN_BLOCK_SIZE).max(MAX_BLOCK_SIZE).default(1428).describe('Block size to ask for (RFC 2348); 512 sends no option'),
  tsize: z.boolean().default(true).describe('Ask for / announce the transfer size (RFC 2349)'),
  ...retryFields({ retries: 3, waitMs: 1000 }),
};

const transferOutput = {
  filename: z.string(),
  size: z.number(),
  sha256: z.string(),
  blocks: z.number(),
  blksize: z.number().describe('Block size in use (512 unless the server acknowledged another)'),
  options: z.record(z.string(), z.string()).nullable().describe('What the server acknowledged (OACK), or null when it ignored the options'),
  tsize: z.number().nullable(),
  retransmissions: z.number(),
  serverPort: z.number().describe("The server's transfer ID (RFC 1350 §4)"),
};

function options(input: { filename: string; mode: 'octet' | 'netascii'; blksize: number; tsize: boolean; retries: number; waitMs: number }, maxBytes: number): TransferOptions {
  return { filename: checkFilename(input.filename), mode: input.mode, blksize: input.blksize, tsize: input.tsize, retries: input.retries, waitMs: input.waitMs, maxBytes };
}

function asText(bytes: Uint8Array): string | null {
  if (bytes.length > TEXT_LIMIT) return null;
  try {
    return fromUtf8(bytes, true);
  } catch {
    return null;
  }
}

export default defineProtocol({
  id: 'tftp',
  title: 'TFTP',
  category: 'file',
  summary: 'Reads and writes files on a TFTP server (RFC 1350), negotiating block size, timeout and transfer size (RFC 2347–2349). UDP: Node host only.',
  ports: [{ port: 69, transport: 'udp' }],
  specs: ['RFC 1350', 'RFC 2347', 'RFC 2348', 'RFC 2349'],
  rating: {
    stars: 4,
    reason:
      'Read and write in octet and netascii modes, blksize/timeout/tsize negotiated through OACK or skipped when the server ignores them, transfer IDs enforced (ERROR 5 to strangers), retransmission on loss, server errors with their TFTP code; lab-tested against tftpd-hpa with files of 0, 1024 and 100 000 bytes read back byte for byte. No windowsize (RFC 7440), no multicast (RFC 2090).',
  },
  verifiedAgainst: 'tftpd-hpa 5.2+20150808-1.4',
  defaultOperation: 'read',
  operations: {
    read: operation({
      summary: 'RRQ: download a file',
      input: z.object({
        ...transferFields,
        maxBytes: z.number().int().min(0).max(MAX_FILE).default(8 * 1024 * 1024).describe('Largest file accepted'),
      }),
      output: z.object({ ...transferOutput, text: z.string().nullable().describe('The content as UTF-8 text, when it is (up to 256 KiB)'), base64: z.string() }),
      needs: ['udp'],
      maxTimeoutMs: 300_000,
      defaultTimeoutMs: 60_000,
      text: (r) => r.text ?? `${r.size} bytes, sha256 ${r.sha256} (binary: see --json for base64)`,
      shortRoute: (extra) => (extra ? { filename: extra } : {}),
      async run(ctx, input) {
        const conn = await ctx.dialUdp();
        const got = await readFile(ctx, conn, options(input, input.maxBytes));
        const data = input.mode === 'netascii' ? fromNetascii(got.data) : got.data;
        ctx.timing.mark('transferredMs');
        return {
          filename: input.filename,
          size: data.length,
          sha256: toHex(await ctx.crypto.digest('SHA-256', data)),
          blocks: got.blocks,
          blksize: got.blksize,
          options: got.options,
          tsize: got.tsize,
          retransmissions: got.retransmissions,
          serverPort: got.serverPort,
          text: asText(data),
          base64: toBase64(data),
        };
      },
    }),
    write: operation({
      summary: 'WRQ: upload a file (give data as text or base64)',
      input: z.object({
        ...transferFields,
        data: z.string().max(MAX_FILE).optional().describe('Content as UTF-8 text'),
        base64: z.string().max(Math.ceil((MAX_FILE * 4) / 3) + 4).optional().describe('Content as base64 (binary files)'),
      }),
      output: z.object(transferOutput),
      needs: ['udp'],
      maxTimeoutMs: 300_000,
      defaultTimeoutMs: 60_000,
      text: (r) => `wrote ${r.size} bytes in ${r.blocks} blocks of ${r.blksize}, sha256 ${r.sha256}`,
      async run(ctx, input) {
        if ((input.data === undefined) === (input.base64 === undefined)) throw InvalidInput.field('data', 'give the content as data (text) or base64, one of the two');
        let content: Uint8Array;
        try {
          content = input.data !== undefined ? utf8(input.data) : fromBase64(input.base64!);
        } catch {
          throw InvalidInput.field('base64', 'is not valid base64');
        }
        const wire = input.mode === 'netascii' ? toNetascii(content) : content;
        const conn = await ctx.dialUdp();
        const r = await writeFile(ctx, conn, options(input, MAX_FILE), wire);
        ctx.timing.mark('transferredMs');
        return { filename: input.filename, size: content.length, sha256: toHex(await ctx.crypto.digest('SHA-256', content)), ...r };
      },
    }),
  },
});
