// rsync daemon protocol (rsyncd on TCP 873): version greeting, module list, challenge authentication, file lists,
// and one file downloaded in the whole-file transfer.
import * as z from 'zod';
import { toBase64, toHex } from '../../core/bytes.ts';
import { baseName, ByteCollector } from '../../core/files.ts';
import { defineProtocol, operation, type OperationContext, type TargetFields } from '../../core/protocol.ts';
import { RsyncSession } from './client.ts';
import { AUTH_DIGESTS } from './codec.ts';
import { identification } from './identify.ts';

const version = z.number().int().min(27).max(31).default(31).describe('Protocol version to offer (27-31); the lower of this and the daemon\'s is spoken. Listing needs 30 or later.');

const module = z.string().min(1, 'module is required').max(256).describe('Module name').meta({ examples: ['pub'] });

const greetingOut = {
  serverProtocol: z.number().describe('The version in the daemon\'s greeting'),
  serverSubprotocol: z.number(),
  protocol: z.number().describe('The version both sides speak'),
  authDigests: z.array(z.string()).describe('Authentication digests the daemon accepts (rsync 3.2 and later)'),
  motd: z.array(z.string()),
};

const authDigestIn = z.enum(['auto', 'sha1', 'md5', 'md4']).default('auto').describe('Challenge digest to offer (protocol 30+): auto offers SHA-1, MD5 and MD4 and the daemon takes the first it knows; before 30 the daemon decides (MD4)');

/** Credentials for a module with "auth users". */
const loginFields = {
  username: z.string().min(1).max(256).optional(),
  password: z.string().max(1024).optional(),
  authDigest: authDigestIn,
};

async function open(ctx: OperationContext, input: TargetFields & { version: number; authDigest?: 'auto' | 'sha1' | 'md5' | 'md4' }) {
  const s = new RsyncSession(await ctx.dial());
  const g = await s.hello(input.version, !input.authDigest || input.authDigest === 'auto' ? AUTH_DIGESTS : [input.authDigest]);
  ctx.timing.mark('greetingMs');
  return { s, g };
}

function greetingOf(s: RsyncSession) {
  const g = s.greeting!;
  return { serverProtocol: g.protocol, serverSubprotocol: g.subprotocol, protocol: s.protocol, authDigests: g.digests, motd: s.motd.filter((l, i, all) => l !== '' || i < all.length - 1) };
}

/** The most file bytes one JSON download answer carries (docs/files.md); larger files stream. */
const MAX_JSON_DOWNLOAD = 8 * 1024 * 1024;

const entryOut = z.object({
  name: z.string(),
  type: z.enum(['file', 'dir', 'symlink', 'device', 'special']),
  size: z.number(),
  mtime: z.string().describe('Modification time, ISO 8601 UTC'),
  mode: z.string().describe('Permission bits, octal'),
  target: z.string().optional().describe('Symlink target'),
});

export default defineProtocol({
  id: 'rsync',
  title: 'rsync daemon',
  category: 'file',
  summary: "Talks to an rsync daemon: version greeting, module list, MD4/MD5/SHA-1 challenge authentication, the file list of a path in a module (names, sizes, times, modes), and downloads of one file in rsync's whole-file transfer, streamed and checked against the sender's MD5 or MD4.",
  ports: [{ port: 873, transport: 'tcp', label: 'rsyncd' }],
  specs: ['rsync clientserver.c / io.c / flist.c (protocol 27-31)', 'rsync main.c / generator.c / sender.c / receiver.c / match.c / token.c / checksum.c (the transfer)', 'rsyncd.conf(5)'],
  rating: {
    stars: 4,
    reason:
      "Lab-tested through workerd against rsync 3.5.0 (protocol 32) in daemon mode (src/protocols/rsync/rsync.lab.test.ts): greeting and version negotiation (offering 27 to 31), motd and module list, an authenticated module with the challenge answered in SHA-1, MD5 and MD4 as negotiated at protocol 31 and in the seeded MD4 of protocol 29, wrong passwords and unknown modules in the daemon's own words; the file list of a module path (recursive or one level) with names, sizes, times, modes and symlink targets checked against the files the lab wrote, a missing path in the daemon's error; " +
      "downloads of one file in the whole-file transfer at protocols 31 and 30 (a small file and 300 KiB as JSON with bytes and SHA-256 checked, the sender's MD5 verified (and its MD4 when only MD4 is offered), its statistics and the goodbye exchange read with no message from the daemon; 64 MiB streamed byte-identical with Content-Length, time and mode; a file of the authenticated module, and the wrong password refused; a missing file, and a file the daemon cannot open (its error and MSG_NO_SEND), in the daemon's words; a directory and a symlink refused). " +
      'Not done: uploads; transfers against a basis file (deltas, and so no resume); compression (-z); whole-file checksums other than MD5 and MD4 (xxh64, xxh128, xxh3 are not offered); listing and downloading on sessions older than protocol 30 (refused); owners and groups (-o/-g) in the list. A checksum mismatch is unit-tested only (the lab daemon sends none).',
  },
  verifiedAgainst: 'rsync 3.5.0+ds1-0+deb12u1 (Debian 12)',
  defaultOperation: 'modules',
  identify: identification,
  operations: {
    modules: operation({
      summary: 'Greeting, protocol version, motd and the module list (#list)',
      input: z.object({ version }),
      output: z.object({ ...greetingOut, modules: z.array(z.object({ name: z.string(), comment: z.string() })) }),
      text: (r) => [...r.motd, ...r.modules.map((m) => `${m.name}\t${m.comment}`)].join('\n'),
      async run(ctx, input) {
        const { s } = await open(ctx, input);
        const modules = await s.modules();
        await s.close();
        return { ...greetingOf(s), modules };
      },
    }),
    list: operation({
      primary: ['module', 'path', 'username', 'password'],
      summary: 'The file list of a path in a module: names, sizes, times, modes (authenticating when the module asks)',
      input: z.object({
        version,
        module,
        path: z.string().max(4096).default('').describe('Directory or file inside the module; sent as typed'),
        recursive: z.boolean().default(false),
        ...loginFields,
      }),
      output: z.object({ ...greetingOut, authenticated: z.boolean(), authDigest: z.string().nullable(), entries: z.array(entryOut), ioError: z.number(), messages: z.array(z.object({ kind: z.string(), text: z.string() })) }),
      text: (r) => [...r.messages.map((m) => `${m.kind}: ${m.text}`), ...r.entries.map((e) => `${e.mode} ${String(e.size).padStart(12)} ${e.mtime} ${e.name}${e.target ? ` -> ${e.target}` : ''}`)].join('\n'),
      failedAs: (r) => (r.entries.length === 0 && r.ioError !== 0 ? 'server_error' : undefined),
      maxTimeoutMs: 120_000,
      async run(ctx, input) {
        const { s } = await open(ctx, input);
        const { authenticated } = await s.select(input.module, input, ctx.crypto);
        ctx.timing.mark('authMs');
        const l = await s.list(input.module, input.path, input.recursive);
        await s.close();
        return {
          ...greetingOf(s),
          authenticated,
          authDigest: s.digest,
          entries: l.entries.map((e) => ({ name: e.name, type: e.type, size: e.size, mtime: new Date(e.mtime * 1000).toISOString(), mode: e.mode.toString(8).padStart(4, '0'), ...(e.target !== undefined ? { target: e.target } : {}) })),
          ioError: l.ioError,
          messages: l.messages,
        };
      },
    }),
    download: operation({
      primary: ['module', 'path', 'username', 'password'],
      summary:
        "Downloads one file in rsync's whole-file transfer (the sender's literal data, then its MD5 or MD4 checked): streamed, of any size, with Accept: application/octet-stream or as a WebSocket transfer; as base64 in JSON up to 8 MiB. No resume: a whole-file transfer always starts at byte 0 (rsync resumes by deltas against a partial file, which this client does not keep).",
      transfer: { direction: 'download' },
      input: z.object({
        version,
        module,
        path: z.string().min(1, 'path is required').max(4096).describe('The file inside the module'),
        ...loginFields,
        checksum: z.enum(['auto', 'md5', 'md4']).default('auto').describe("Whole-file checksums to offer (protocol 30+): auto offers MD5 then MD4 and the daemon takes the first it knows; a daemon that negotiates none uses MD5"),
        maxBytes: z.number().int().min(1).max(MAX_JSON_DOWNLOAD, `maxBytes must be at most ${MAX_JSON_DOWNLOAD} (8 MiB): stream larger files (Accept: application/octet-stream)`).default(MAX_JSON_DOWNLOAD).describe('JSON answer: most bytes to return; more is read (to check the checksum) and reported as truncated. A stream has no cap.'),
      }),
      output: z.object({
        ...greetingOut,
        authenticated: z.boolean(),
        authDigest: z.string().nullable(),
        path: z.string(),
        size: z.number().describe('The size in the file list'),
        mtime: z.string().describe('Modification time, ISO 8601 UTC'),
        mode: z.string().describe('Permission bits, octal'),
        bytes: z.number().describe('Bytes received'),
        truncated: z.boolean(),
        checksum: z.object({ algorithm: z.enum(['MD5', 'MD4']), value: z.string().describe("The sender's whole-file checksum, hex; it matched the bytes received") }),
        sha256: z.string().nullable().describe('Of the bytes returned; null when streamed'),
        contentBase64: z.string().nullable().describe('null when streamed'),
        sender: z.object({ bytesRead: z.number(), bytesWritten: z.number(), totalSize: z.number(), fileListBuildMs: z.number(), fileListSendMs: z.number() }).describe("The daemon's statistics for the session, from its side"),
        messages: z.array(z.object({ kind: z.string(), text: z.string() })),
      }),
      text: (r) => [...r.messages.map((m) => `${m.kind}: ${m.text}`), `${r.contentBase64 === null ? `${r.bytes} bytes streamed` : `${r.bytes} of ${r.size} bytes`}, ${r.checksum.algorithm} ${r.checksum.value} verified`].join('\n'),
      defaultTimeoutMs: 60_000,
      async run(ctx, input) {
        const { s } = await open(ctx, input);
        const { authenticated } = await s.select(input.module, input, ctx.crypto);
        ctx.timing.mark('authMs');
        const file = await s.openFile(input.module, input.path, input.checksum === 'auto' ? ['md5', 'md4'] : [input.checksum]);
        ctx.timing.mark('fileListMs');
        const { entry } = file;
        const mtime = new Date(entry.mtime * 1000).toISOString();
        const mode = entry.mode.toString(8).padStart(4, '0');
        s.conn.bulkReads(256 * 1024);
        const sink = ctx.download ? await ctx.download.begin({ name: baseName(input.path), size: entry.size, offset: 0, modified: mtime, meta: { mode, module: input.module, protocol: s.protocol } }) : new ByteCollector(input.maxBytes);
        const got = await s.receive(file, (chunk) => sink.write(chunk));
        await s.close();
        const kept = sink instanceof ByteCollector ? sink.bytes() : null;
        return {
          ...greetingOf(s),
          authenticated,
          authDigest: s.digest,
          path: input.path,
          size: entry.size,
          mtime,
          mode,
          bytes: got.bytes,
          truncated: sink instanceof ByteCollector ? sink.truncated : false,
          checksum: { algorithm: file.checksum === 'md5' ? ('MD5' as const) : ('MD4' as const), value: got.checksum },
          sha256: kept ? toHex(await ctx.crypto.digest('SHA-256', kept)) : null,
          contentBase64: kept ? toBase64(kept) : null,
          sender: got.stats,
          messages: file.mux.messages,
        };
      },
    }),
  },
});
