// FTP, RFC 959, with FTPS (RFC 2228, RFC 4217: AUTH TLS and implicit TLS on 990), FEAT (RFC 2389), EPSV (RFC 2428), RFC 3659 (SIZE, MDTM, REST, MLST, MLSD) and UTF-8 names (RFC 2640).
import * as z from 'zod';
import { fromBase64, fromUtf8, toBase64, toHex } from '../../core/bytes.ts';
import { InvalidInput, ProtocolError, ServerError } from '../../core/errors.ts';
import { baseName, inlineContent, memorySource, tapSink } from '../../core/files.ts';
import { defineProtocol, operation, type OperationContext, type TargetFields } from '../../core/protocol.ts';
import { FtpSession, failure, type SessionOptions, type TransferInfo } from './client.ts';
import { featureParams, formatReply, offersAuthTls, parseQuotedPath, parseSize } from './codec.ts';
import { DIGEST_COMMANDS, digester, digestPlan, parseDigestReply, type Digester, type DigestAlgorithm, type DigestCommand, type DigestPlan } from './digest.ts';
import { parseFactLine, parseList, parseMlsd, parseNames, type ListEntry, type Listing } from './listing.ts';
import { identification } from './identify.ts';

/**
 * The most file bytes one JSON download answer carries. The answer holds them about four times over (bytes,
 * base64, the JSON text, its encoding), and encoding them holds the isolate: every other request of the
 * Worker waits (20 MiB took seconds). Larger files stream (docs/files.md).
 */
export const MAX_DOWNLOAD_BYTES = 8 * 1024 * 1024;
const DEFAULT_DOWNLOAD_BYTES = 8 * 1024 * 1024;
/** The most file bytes one upload request carries. The API's request body limit (1 MiB of JSON by default) is usually lower. */
export const MAX_UPLOAD_BYTES = 8 * 1024 * 1024;
/** The most listing bytes read from one data connection. */
const MAX_LISTING_BYTES = 8 * 1024 * 1024;

const oneLine = (what: string) => z.string().max(1024, `${what} is longer than 1024 characters`).regex(/^[^\r\n\0]*$/, `${what} must not contain CR, LF or NUL`);
const path = oneLine('path').min(1, 'path is required');

const sessionFields = {
  user: oneLine('user').min(1, 'user is required').max(256).default('anonymous').describe('User name; anonymous for anonymous FTP'),
  password: oneLine('password').max(256).default('anonymous@').describe('Password (anonymous servers take any, often an e-mail address)'),
  account: oneLine('account').max(256).optional().describe('Account for ACCT, when the server asks for one (332)'),
  passive: z.enum(['auto', 'epsv', 'pasv']).default('auto').describe('Data connections: EPSV, falling back to PASV (auto), or only one of them'),
  pasvAddress: z
    .enum(['server', 'control'])
    .default('server')
    .describe("Where a PASV data connection goes: the address the server names (checked by the target guard) or the control connection's host"),
  dataConnection: z
    .enum(['passive', 'active'])
    .default('passive')
    .describe('passive: we connect to the server (EPSV/PASV); active: the server connects to us (EPRT, else PORT), on the Node host only (Workers cannot accept connections)'),
  activeCommand: z.enum(['auto', 'eprt', 'port']).default('auto').describe('Active mode: EPRT, falling back to PORT (auto), or only one of them'),
  protectData: z.boolean().default(true).describe('With TLS: encrypt data connections too (PROT P); false sends PROT C'),
  utf8: z.boolean().default(true).describe('Ask for UTF-8 names (OPTS UTF8 ON) when the server lists UTF8'),
};

type SessionInput = TargetFields & {
  user: string;
  password: string;
  account?: string;
  passive: SessionOptions['passive'];
  pasvAddress: SessionOptions['pasvAddress'];
  dataConnection: 'passive' | 'active';
  activeCommand: 'auto' | 'eprt' | 'port';
  protectData: boolean;
  utf8: boolean;
};

function sessionOptions(input: SessionInput): SessionOptions {
  return {
    user: input.user,
    password: input.password,
    account: input.account,
    passive: input.passive,
    pasvAddress: input.pasvAddress,
    protectData: input.protectData,
    utf8: input.utf8,
    active: input.dataConnection === 'active',
    activeCommand: input.activeCommand,
  };
}

/** Logs in, runs `fn`, says QUIT. */
async function withSession<T>(ctx: OperationContext, input: SessionInput, fn: (session: FtpSession) => Promise<T>): Promise<T> {
  const session = await FtpSession.open(ctx, sessionOptions(input));
  const out = await fn(session);
  await session.quit();
  return out;
}

const entry = z.object({
  name: z.string(),
  type: z.enum(['file', 'dir', 'link', 'other']),
  size: z.number().nullable(),
  modified: z.string().nullable(),
  permissions: z.string().optional(),
  owner: z.string().optional(),
  group: z.string().optional(),
  target: z.string().optional(),
  perm: z.string().optional().describe('MLSx perm fact: a append, c create, d delete, e enter, f rename, l list, m mkdir, p purge, r retrieve, w store'),
  unique: z.string().optional().describe('MLSx unique fact: the same value means the same file'),
  facts: z.record(z.string(), z.string()).optional(),
});

const transfer = z.object({
  via: z.enum(['EPSV', 'PASV', 'EPRT', 'PORT']).describe('How the data connection was made: passive (EPSV, PASV) or active (EPRT, PORT)'),
  dataHost: z.string(),
  dataPort: z.number(),
  dataTls: z.boolean(),
  wireBytes: z.number(),
  ms: z.number(),
  mibPerSecond: z.number().nullable(),
  reply: z.string(),
});

function withRate(info: TransferInfo): z.infer<typeof transfer> {
  const mibPerSecond = info.ms > 0 && info.wireBytes > 0 ? Math.round((info.wireBytes / 1048576 / (info.ms / 1000)) * 100) / 100 : null;
  return { ...info, mibPerSecond };
}

/** base64 of a large buffer, in slices (3-byte aligned) so no single string grows a byte at a time. */
function base64(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let at = 0; at < bytes.length; at += 3 * 16384) parts.push(toBase64(bytes.subarray(at, at + 3 * 16384)));
  return parts.join('');
}

async function sha256(ctx: OperationContext, bytes: Uint8Array): Promise<string> {
  return toHex(await ctx.crypto.digest('SHA-256', bytes));
}

function describeSystem(session: FtpSession): Promise<string | null> {
  return session.command('SYST').then((r) => (r.code === 215 ? r.text : null));
}

/** The listing of the current directory: MLSD when the server offers MLST (RFC 3659 §7.8), else LIST. */
async function listDirectory(session: FtpSession, method: 'auto' | 'mlsd' | 'list' | 'nlst', now: Date): Promise<{ method: 'MLSD' | 'LIST' | 'NLST'; listing: Listing; transfer: TransferInfo }> {
  const useMlsd = method === 'mlsd' || (method === 'auto' && featureParams(session.features, 'MLST') !== null);
  const verb = useMlsd ? 'MLSD' : method === 'nlst' ? 'NLST' : 'LIST';
  const { bytes, truncated, info } = await session.receive(verb, undefined, { maxBytes: MAX_LISTING_BYTES, representation: 'ascii' });
  const listing = verb === 'MLSD' ? parseMlsd(bytes) : verb === 'NLST' ? parseNames(bytes) : parseList(bytes, now);
  if (truncated) listing.truncated = true;
  return { method: verb, listing, transfer: info };
}

/** The listing as aligned columns; MLSD's type, size, modify, perm and unique facts each get one. */
function listingTable(entries: readonly ListEntry[], mlsd: boolean): string[] {
  const rows = entries.map((e) => {
    const kind = e.type === 'dir' ? 'd' : e.type === 'link' ? 'l' : e.type === 'other' ? '?' : '-';
    const name = `${e.name}${e.target ? ` -> ${e.target}` : ''}`;
    return mlsd ? [e.facts?.type ?? e.type, String(e.size ?? ''), e.modified ?? '', e.perm ?? '', e.unique ?? '', name] : [kind, String(e.size ?? ''), e.modified ?? '', name];
  });
  const header = mlsd ? ['type', 'size', 'modify', 'perm', 'unique', 'name'] : null;
  const all = header ? [header, ...rows] : rows;
  const widths = all.length > 0 ? all[0].map((_, i) => Math.max(...all.map((r) => r[i].length))) : [];
  // Size is right-aligned; the name, last, is not padded.
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : i === 1 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  '));
}

type Verification = { command: string; algorithm: DigestAlgorithm; server: string; local: string; match: boolean; reply: string };

/** Whether, and with which command, a download is checked against the server's digest. */
function planVerification(session: FtpSession, verify: boolean, type: 'binary' | 'ascii', offset: number, only?: DigestCommand): { plan: DigestPlan } | { note: string } {
  if (!verify) return { note: 'verify is off' };
  if (type !== 'binary') return { note: 'an ASCII (TYPE A) download differs from the stored bytes' };
  if (offset > 0) return { note: `the download starts at ${offset}, not at the start of the file` };
  const plan = digestPlan(session.features, only);
  if (!plan) return { note: `the server offers ${only ? `no ${only}` : 'none of HASH, XSHA256, XSHA512, XSHA1, XSHA, XMD5, XCRC'} (FEAT)` };
  return { plan };
}

/** Asks the server for its digest of the file and compares it with the bytes received. */
async function verifyDownload(session: FtpSession, check: { plan: DigestPlan } | { note: string }, running: Digester | null, path: string, truncated: boolean): Promise<{ verification: Verification | null; verificationNote: string | null }> {
  if ('note' in check || !running) return { verification: null, verificationNote: 'note' in check ? check.note : null };
  if (truncated) return { verification: null, verificationNote: 'the answer was cut at maxBytes' };
  const { plan } = check;
  if (plan.select) await session.expect('OPTS HASH', plan.algorithm, [200]);
  const reply = await session.command(plan.command, path);
  if (reply.code !== (plan.command === 'HASH' ? 213 : 250)) throw failure(`${plan.command} ${path}`, reply);
  const { hex } = parseDigestReply(plan, reply);
  const local = running.hex();
  const command = plan.command === 'HASH' ? `HASH ${plan.algorithm}` : plan.command;
  return { verification: { command, algorithm: plan.algorithm, server: hex, local, match: hex === local, reply: formatReply(reply) }, verificationNote: null };
}

function describeVerification(v: Verification): string {
  return v.match ? `${v.algorithm} verified with ${v.command}: ${v.local}` : `${v.algorithm} MISMATCH (${v.command}): server ${v.server}, received ${v.local}`;
}

/** RFC 3659 §7: MLST answers with one fact line inside a 250 reply, indented by one space. */
async function mlst(session: FtpSession, target: string): Promise<ListEntry> {
  const reply = await session.command('MLST', target);
  if (reply.code !== 250) throw failure(`MLST ${target}`, reply);
  const line = reply.lines.slice(1, -1).find((l) => l.startsWith(' '));
  if (line === undefined) throw failure(`MLST ${target}`, reply);
  const { mlsxType: _kind, ...parsed } = parseFactLine(line.slice(1));
  return parsed;
}

export default defineProtocol({
  id: 'ftp',
  title: 'FTP / FTPS',
  category: 'file',
  summary:
    'Browses, downloads and uploads files on FTP servers: listings (MLSD, Unix and DOS LIST), stat, download with resume, upload and append, rename, delete, mkdir, rmdir, chmod; explicit (AUTH TLS) and implicit FTPS with encrypted data connections.',
  ports: [
    { port: 21, transport: 'tcp' },
    { port: 990, transport: 'tls', label: 'implicit FTPS' },
  ],
  specs: ['RFC 959', 'RFC 2228', 'RFC 2389', 'RFC 2428', 'RFC 2640', 'RFC 3659', 'RFC 4217'],
  rating: {
    stars: 5,
    reason:
      'Lab-tested through workerd against vsftpd and ProFTPD: login (user and anonymous), FEAT/SYST probe, LIST parsed (Unix) and MLSD/MLST shown as a table of the type, size, modify, perm and unique facts, download and upload byte-identical ' +
      '(UTF-8 names with spaces, OPTS UTF8 ON when FEAT lists UTF8; STOR, APPE, REST resume; streamed as files: 1 GiB each way, FTPS 64 MiB each way, Range resume, a transfer the server drops never a complete download, a client that stops reading pausing the server; src/protocols/ftp/files.lab.test.ts), rename, delete, mkdir, rmdir, SITE CHMOD, TYPE A, EPSV and PASV, a private PASV address refused or replaced by the control address, ' +
      "and all of it over AUTH TLS and implicit FTPS with PROT P data connections; downloads checked against the server's digest (ProFTPD mod_digest: HASH SHA-256 after OPTS HASH, XSHA256, XSHA512, XSHA1, XMD5, XCRC) and active mode (EPRT, PORT; also under PROT P) on the Node host, 501 with the reason on Workers (src/protocols/ftp/features.lab.test.ts). " +
      'Not covered: DOS listings only unit-tested; no TLS session reuse on data connections (servers that require it refuse PROT P); a JSON answer carries at most 8 MiB (a stream has no cap); a streamed download is checked the same way (the end message of the WebSocket transfer carries the verification; a mismatch fails the stream).',
  },
  verifiedAgainst: 'vsftpd 3.0.3-13+b2, ProFTPD 1.3.8+dfsg-4+deb12u5',
  tls: { implicit: { port: 990 }, starttls: true },
  defaultOperation: 'list',
  identify: identification,
  operations: {
    probe: operation({
      summary: 'Greeting, features (FEAT), system type and whether AUTH TLS is offered, without logging in',
      input: z.object({}),
      output: z.object({
        banner: z.string(),
        features: z.array(z.string()),
        featAnswered: z.boolean(),
        authTlsOffered: z.boolean(),
        tlsActive: z.boolean(),
        featuresBeforeTls: z.array(z.string()).optional(),
        system: z.string().nullable().describe('SYST before login; many servers answer it only after login'),
      }),
      text: (r) =>
        [`banner: ${r.banner}`, `TLS: ${r.tlsActive ? 'on' : 'off'} (AUTH TLS ${r.authTlsOffered ? 'offered' : 'not offered'})`, `system: ${r.system ?? '-'}`, 'features:', ...r.features.map((f) => `  ${f}`)].join('\n'),
      async run(ctx, input) {
        const session = await FtpSession.connect(ctx, { user: 'anonymous', password: '', passive: 'auto', pasvAddress: 'server', protectData: true, utf8: false }, { authTls: false });
        let featuresBeforeTls: string[] | undefined;
        let features = await session.feat();
        if (input.tls === 'starttls') {
          // RFC 4217 §6: FEAT before AUTH TLS tells whether it is offered; asked again over TLS, the list may differ.
          featuresBeforeTls = features;
          await session.authTls();
          features = await session.feat();
        }
        const system = await describeSystem(session);
        await session.quit();
        return {
          banner: formatReply(session.banner).replace(/^220 /, ''),
          features,
          featAnswered: session.featAnswered,
          authTlsOffered: offersAuthTls(featuresBeforeTls ?? features),
          tlsActive: session.control.tlsActive,
          ...(featuresBeforeTls ? { featuresBeforeTls } : {}),
          system,
        };
      },
    }),
    login: operation({
      summary: 'Logs in and reports the welcome, the working directory, the system type and the features',
      input: z.object({ ...sessionFields }),
      output: z.object({
        banner: z.string(),
        welcome: z.string(),
        cwd: z.string(),
        system: z.string().nullable(),
        features: z.array(z.string()),
        tlsActive: z.boolean(),
        dataTls: z.boolean(),
      }),
      text: (r) => `logged in: ${r.welcome}\ncwd: ${r.cwd}\nsystem: ${r.system ?? '-'}\nTLS: ${r.tlsActive ? `on (data ${r.dataTls ? 'encrypted' : 'clear'})` : 'off'}`,
      run: (ctx, input) =>
        withSession(ctx, input, async (session) => ({
          banner: formatReply(session.banner).replace(/^220 /, ''),
          welcome: session.welcome ? formatReply(session.welcome) : '',
          cwd: await session.pwd(),
          system: await describeSystem(session),
          features: session.features,
          tlsActive: session.control.tlsActive,
          dataTls: session.dataTls,
        })),
    }),
    list: operation({
      primary: ['user', 'password', 'path'],
      summary: 'Lists a directory: MLSD when offered, else LIST parsed as Unix or DOS; NLST for names only',
      input: z.object({
        ...sessionFields,
        path: oneLine('path').optional().describe('Directory to list (default: the login directory)'),
        method: z.enum(['auto', 'mlsd', 'list', 'nlst']).default('auto').describe('auto: MLSD when FEAT lists MLST, else LIST'),
      }),
      output: z.object({
        cwd: z.string(),
        method: z.enum(['MLSD', 'LIST', 'NLST']),
        format: z.enum(['mlsd', 'unix', 'dos', 'names', 'empty', 'unknown']),
        entries: z.array(entry),
        unparsed: z.array(z.string()),
        truncated: z.boolean(),
        transfer,
      }),
      shortRoute: (extra) => (extra ? { path: extra } : {}),
      text: (r) => [`${r.cwd} (${r.method}, ${r.format})`, ...listingTable(r.entries, r.method === 'MLSD'), ...r.unparsed.map((l) => `? ${l}`)].join('\n'),
      maxTimeoutMs: 120_000,
      run: (ctx, input) =>
        withSession(ctx, input, async (session) => {
          if (input.path !== undefined && input.path !== '') await session.cwd(input.path);
          const cwd = await session.pwd();
          const { method, listing, transfer: info } = await listDirectory(session, input.method, new Date());
          return { cwd, method, ...listing, transfer: withRate(info) };
        }),
    }),
    stat: operation({
      summary: 'Type, size and modification time of one path: MLST when offered, else SIZE and MDTM',
      input: z.object({ ...sessionFields, path }),
      output: z.object({
        path: z.string(),
        type: z.enum(['file', 'dir', 'link', 'other']),
        size: z.number().nullable(),
        modified: z.string().nullable().describe('UTC, ISO 8601'),
        via: z.enum(['MLST', 'SIZE/MDTM', 'CWD']),
        facts: z.record(z.string(), z.string()).optional(),
      }),
      run: (ctx, input) =>
        withSession(ctx, input, async (session) => {
          if (featureParams(session.features, 'MLST') !== null) {
            const found = await mlst(session, input.path);
            return { path: input.path, type: found.type, size: found.size, modified: found.modified, via: 'MLST' as const, facts: found.facts };
          }
          // RFC 3659 §4: SIZE answers for files; 550 for a directory or a missing path.
          await session.setType('binary');
          const sized = await session.command('SIZE', input.path);
          if (sized.code === 213) {
            return { path: input.path, type: 'file' as const, size: parseSize(sized.text), modified: await session.mdtm(input.path), via: 'SIZE/MDTM' as const };
          }
          // A directory: CWD into it succeeds (and then back).
          const home = await session.pwd();
          const into = await session.command('CWD', input.path);
          if (into.code === 250) {
            await session.cwd(home);
            return { path: input.path, type: 'dir' as const, size: null, modified: null, via: 'CWD' as const };
          }
          throw failure(`SIZE ${input.path}`, sized);
        }),
    }),
    download: operation({
      summary:
        'Downloads a file (RETR), from an offset (REST): streamed, of any size, with Accept: application/octet-stream (Range: bytes=N- resumes) or as a WebSocket transfer; as base64 in JSON up to 8 MiB',
      transfer: { direction: 'download', resume: true },
      input: z.object({
        ...sessionFields,
        path,
        offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0).describe('Start at this byte (REST); a stream\'s Range header sets it too'),
        maxBytes: z
          .number()
          .int()
          .min(1)
          .max(MAX_DOWNLOAD_BYTES, `maxBytes must be at most ${MAX_DOWNLOAD_BYTES} (8 MiB): stream larger files (Accept: application/octet-stream)`)
          .default(DEFAULT_DOWNLOAD_BYTES)
          .describe('JSON answer: most bytes to return (default and most 8 MiB); more is reported as truncated. A stream has no cap.'),
        type: z.enum(['binary', 'ascii']).default('binary').describe('TYPE I (bytes as stored) or TYPE A (text; CRLF on the wire becomes LF)'),
        verify: z
          .boolean()
          .default(true)
          .describe("After a whole binary download, compare the bytes with the server's own digest: HASH (SHA-256 first), else XSHA256, XSHA512, XSHA1, XMD5 or XCRC, whichever FEAT lists"),
        digestCommand: z.enum(DIGEST_COMMANDS as [DigestCommand, ...DigestCommand[]]).optional().describe('Verify with this command only (when FEAT lists it), instead of the strongest offered'),
      }),
      output: z.object({
        path: z.string(),
        offset: z.number(),
        size: z.number().nullable().describe('The file size SIZE reports, when it does'),
        bytes: z.number(),
        truncated: z.boolean(),
        sha256: z.string().nullable().describe('Of the bytes returned; null when streamed'),
        contentBase64: z.string().nullable().describe('null when streamed'),
        verification: z
          .object({
            command: z.string().describe('What was asked: HASH SHA-256, XSHA256, XMD5, XCRC …'),
            algorithm: z.enum(['SHA-256', 'SHA-512', 'SHA-1', 'MD5', 'CRC32']),
            server: z.string().describe("The server's digest, hex"),
            local: z.string().describe('The digest of the bytes received, hex'),
            match: z.boolean(),
            reply: z.string(),
          })
          .nullable(),
        verificationNote: z.string().nullable().describe('Why nothing was verified, when nothing was'),
        transfer,
      }),
      failedAs: (r) => (r.verification?.match === false ? 'protocol_error' : undefined),
      text: (r) => {
        if (r.contentBase64 === null) return `${r.bytes} bytes streamed${r.verification ? `; ${describeVerification(r.verification)}` : ''}`;
        const bytes = fromBase64(r.contentBase64);
        return r.transfer.wireBytes === 0 && r.bytes === 0 ? '' : fromUtf8(bytes);
      },
      defaultTimeoutMs: 60_000,
      run: (ctx, input) =>
        withSession(ctx, input, async (session) => {
          const offset = ctx.download?.offset ?? input.offset;
          const size = featureParams(session.features, 'SIZE') !== null ? await session.size(input.path).catch(() => null) : null;
          const check = planVerification(session, input.verify, input.type, offset, input.digestCommand);
          const running = 'plan' in check ? digester(check.plan.algorithm) : null;
          if (ctx.download) {
            const modified = featureParams(session.features, 'MDTM') !== null ? await session.mdtm(input.path).catch(() => null) : null;
            // In ASCII mode the bytes differ from the stored size: no length is promised then.
            const sink = await ctx.download.begin({ name: baseName(input.path), size: input.type === 'binary' ? size : null, offset, modified, meta: { serverSize: size } });
            const got = await session.retrieve('RETR', input.path, running ? tapSink(sink, (c) => running.update(c)) : sink, { offset, representation: input.type });
            const verified = await verifyDownload(session, check, running, input.path, false);
            // The bytes are already on their way: a digest that disagrees fails the stream rather than end it cleanly.
            if (verified.verification?.match === false) throw new ProtocolError(`${input.path}: ${describeVerification(verified.verification)}`, verified.verification);
            return { path: input.path, offset, size, bytes: got.bytes, truncated: false, sha256: null, contentBase64: null, ...verified, transfer: withRate(got.info) };
          }
          const { bytes, truncated, info } = await session.receive('RETR', input.path, { offset, maxBytes: input.maxBytes, representation: input.type });
          running?.update(bytes);
          const verified = await verifyDownload(session, check, running, input.path, truncated);
          return {
            path: input.path,
            offset,
            size,
            bytes: bytes.length,
            truncated,
            sha256: await sha256(ctx, bytes),
            contentBase64: base64(bytes),
            ...verified,
            transfer: withRate(info),
          };
        }),
    }),
    upload: operation({
      summary:
        'Uploads a file (STOR), appends to one (APPE) or resumes at an offset (REST + STOR): streamed, of any size, as multipart/form-data (part input, then part file) or a WebSocket transfer; or as base64 in JSON',
      transfer: { direction: 'upload', content: 'content' },
      input: z.object({
        ...sessionFields,
        path,
        content: z.string().max(Math.ceil(MAX_UPLOAD_BYTES / 3) * 4, 'content is larger than 8 MiB: stream larger files (multipart/form-data)').describe('The file bytes, as base64 (or text with encoding utf8); left out when the file is streamed'),
        encoding: z.enum(['base64', 'utf8']).default('base64'),
        mode: z.enum(['replace', 'append', 'resume']).default('replace').describe('replace: STOR; append: APPE; resume: REST offset then STOR'),
        offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().describe('With mode resume: where the content starts in the file'),
        type: z.enum(['binary', 'ascii']).default('binary').describe('TYPE I, or TYPE A (LF sent as CRLF)'),
      }),
      output: z.object({
        path: z.string(),
        bytes: z.number(),
        sha256: z.string().nullable().describe('Of the content sent inline; null when streamed'),
        sizeOnServer: z.number().nullable().describe('SIZE after the upload, when the server has SIZE'),
        transfer,
      }),
      defaultTimeoutMs: 60_000,
      run: (ctx, input) => {
        const inline = ctx.upload ? undefined : inlineContent(input.content, input.encoding);
        if (input.mode === 'resume' && input.offset === undefined) throw InvalidInput.field('offset', 'is required with mode resume');
        if (input.mode !== 'resume' && input.offset !== undefined) throw InvalidInput.field('offset', 'is only used with mode resume');
        return withSession(ctx, input, async (session) => {
          const verb = input.mode === 'append' ? 'APPE' : 'STOR';
          const { info, bytes } = await session.storeFrom(verb, input.path, ctx.upload ?? memorySource(inline!), { offset: input.offset, representation: input.type });
          const sizeOnServer = featureParams(session.features, 'SIZE') !== null ? await session.size(input.path).catch(() => null) : null;
          return { path: input.path, bytes, sha256: inline ? await sha256(ctx, inline) : null, sizeOnServer, transfer: withRate(info) };
        });
      },
    }),
    rename: operation({
      summary: 'Renames or moves a file or directory (RNFR, RNTO)',
      input: z.object({ ...sessionFields, from: oneLine('from').min(1, 'from is required'), to: oneLine('to').min(1, 'to is required') }),
      output: z.object({ from: z.string(), to: z.string(), reply: z.string() }),
      run: (ctx, input) =>
        withSession(ctx, input, async (session) => {
          // RFC 959 §4.1.3: RNFR answers 350 (pending further information), then RNTO completes with 250.
          await session.expect('RNFR', input.from, [350]);
          const done = await session.expect('RNTO', input.to, [250]);
          return { from: input.from, to: input.to, reply: formatReply(done) };
        }),
    }),
    delete: operation({
      summary: 'Deletes a file (DELE)',
      input: z.object({ ...sessionFields, path }),
      output: z.object({ path: z.string(), reply: z.string() }),
      run: (ctx, input) =>
        withSession(ctx, input, async (session) => ({ path: input.path, reply: formatReply(await session.expect('DELE', input.path, [250])) })),
    }),
    mkdir: operation({
      summary: 'Creates a directory (MKD) and reports the path the server created',
      input: z.object({ ...sessionFields, path }),
      output: z.object({ path: z.string(), created: z.string().describe('The path in the 257 reply'), reply: z.string() }),
      run: (ctx, input) =>
        withSession(ctx, input, async (session) => {
          // RFC 959 §4.1.3 and Appendix II: 257 "<path>" created.
          const reply = await session.expect('MKD', input.path, [257]);
          return { path: input.path, created: parseQuotedPath(reply.text) ?? input.path, reply: formatReply(reply) };
        }),
    }),
    rmdir: operation({
      summary: 'Removes an empty directory (RMD)',
      input: z.object({ ...sessionFields, path }),
      output: z.object({ path: z.string(), reply: z.string() }),
      run: (ctx, input) =>
        withSession(ctx, input, async (session) => ({ path: input.path, reply: formatReply(await session.expect('RMD', input.path, [250])) })),
    }),
    chmod: operation({
      summary: 'Changes Unix permissions (SITE CHMOD)',
      input: z.object({ ...sessionFields, path, mode: z.string().regex(/^[0-7]{3,4}$/, 'mode is octal, like 644 or 0755').meta({ examples: ['644'] }) }),
      output: z.object({ path: z.string(), mode: z.string(), reply: z.string() }),
      run: (ctx, input) =>
        withSession(ctx, input, async (session) => {
          const reply = await session.command('SITE CHMOD', `${input.mode} ${input.path}`);
          if (reply.code !== 200 && reply.code !== 250) {
            if (reply.code === 500 || reply.code === 502 || reply.code === 504) {
              throw new ServerError(`the server has no SITE CHMOD: ${formatReply(reply)}`, { command: 'SITE CHMOD', code: reply.code, reply: reply.text });
            }
            throw failure(`SITE CHMOD ${input.mode} ${input.path}`, reply);
          }
          return { path: input.path, mode: input.mode, reply: formatReply(reply) };
        }),
    }),
  },
});

