// 9P: version negotiation (9P2000.L, 9P2000.u, 9P2000), attach, and files by path: stat, list, read (streamed),
// write (from an upload), mkdir, remove.
import * as z from 'zod';
import { toBase64, toHex } from '../../core/bytes.ts';
import { InvalidInput, ServerError } from '../../core/errors.ts';
import { baseName, ByteCollector, inlineContent, memorySource, RangeNotSatisfiable } from '../../core/files.ts';
import { defineProtocol, operation, type OperationContext, type TargetFields } from '../../core/protocol.ts';
import { NinepClient, NinepError, pathNames, type Entry } from './client.ts';
import { DEFAULT_MSIZE, DIALECTS, MAX_MSIZE, qidKind, type Attr, type Dialect, type Stat } from './codec.ts';
import { identification } from './identify.ts';

const MAX_JSON_READ = 8 * 1024 * 1024;
const MAX_JSON_WRITE = 8 * 1024 * 1024;

const versionField = z.enum(['auto', ...DIALECTS] as ['auto', ...Dialect[]]).default('auto').describe('The dialect to ask for: auto tries 9P2000.L, then 9P2000.u, then 9P2000');
const session = {
  version: versionField,
  msize: z.number().int().min(4096).max(MAX_MSIZE).default(DEFAULT_MSIZE).describe('Largest message to offer (Tversion msize)'),
  uname: z.string().max(256).default('nobody').describe('User name to attach as'),
  uid: z.number().int().min(0).max(0xfffffffe).default(65534).describe('Numeric user id to attach as (9P2000.u and 9P2000.L n_uname)'),
  aname: z.string().max(4096).default('').describe('The tree to attach (the export path on diod; empty: the server\'s default)').meta({ examples: ['/srv/export'] }),
};
const pathField = z.string().max(4096).describe('Path inside the attached tree (".." is sent as typed)');

type SessionInput = TargetFields & { version: 'auto' | Dialect; msize: number; uname: string; uid: number; aname: string };

/** Tversion as asked (auto: .L, then .u, then classic, on the same connection): what each answered, the dialect taken. */
async function negotiate(c: NinepClient, input: { version: 'auto' | Dialect; msize: number }): Promise<{ dialect: Dialect | null; tried: { asked: string; answered: string }[] }> {
  const tried: { asked: string; answered: string }[] = [];
  for (const d of input.version === 'auto' ? DIALECTS : [input.version]) {
    let v: { version: string };
    try {
      v = await c.version(d, input.msize);
    } catch (e) {
      // diod answers a dialect it does not speak with Rlerror (EIO) and keeps the connection.
      if (!(e instanceof NinepError)) throw e;
      tried.push({ asked: d, answered: `error: ${e.message.slice(e.message.indexOf(': ') + 2)}` });
      continue;
    }
    tried.push({ asked: d, answered: v.version });
    if ((DIALECTS as readonly string[]).includes(v.version)) {
      c.dialect = v.version as Dialect;
      return { dialect: c.dialect, tried };
    }
  }
  return { dialect: null, tried };
}

async function attach(ctx: OperationContext, input: SessionInput): Promise<NinepClient> {
  const c = new NinepClient(await ctx.dial());
  const { dialect, tried } = await negotiate(c, input);
  if (!dialect) throw new ServerError(`9P: the server speaks none of the dialects asked (${tried.map((t) => `${t.asked} → ${JSON.stringify(t.answered)}`).join(', ')})`, { tried });
  ctx.timing.mark('versionMs');
  await c.attach({ uname: input.uname, aname: input.aname, uid: input.uid });
  ctx.timing.mark('attachMs');
  return c;
}

const qidOut = z.object({ type: z.number(), version: z.number(), path: z.string() });
const statOut = z.object({
  path: z.string(),
  type: z.enum(['directory', 'symlink', 'file']),
  size: z.number(),
  mode: z.string().describe('Permission bits, octal'),
  uid: z.string().nullable(),
  gid: z.string().nullable(),
  nlink: z.number().nullable(),
  modified: z.string().nullable(),
  accessed: z.string().nullable(),
  changed: z.string().nullable(),
  qid: qidOut,
});

function statJson(path: string, a: { attr?: Attr; stat?: Stat }): z.infer<typeof statOut> {
  if (a.attr) {
    const t = a.attr;
    return { path, type: qidKind(t.qid), size: t.size, mode: (t.mode & 0o7777).toString(8), uid: String(t.uid), gid: String(t.gid), nlink: t.nlink, modified: t.mtime || null, accessed: t.atime || null, changed: t.ctime || null, qid: t.qid };
  }
  const s = a.stat!;
  return { path, type: qidKind(s.qid), size: s.length, mode: (s.mode & 0o777).toString(8), uid: s.uid, gid: s.gid, nlink: null, modified: s.mtime || null, accessed: s.atime || null, changed: null, qid: s.qid };
}

/** The parent directory's path and the last name of a path. */
function splitPath(path: string): { dir: string; name: string } {
  const names = pathNames(path);
  const name = names.pop();
  if (!name || name === '..') throw InvalidInput.field('path', 'names no file (give the path of the file to make or remove)');
  return { dir: names.join('/'), name };
}

const entryOut = z.object({ name: z.string(), type: z.enum(['directory', 'symlink', 'file']), size: z.number().nullable(), mode: z.string().nullable(), modified: z.string().nullable() });

export default defineProtocol({
  id: '9p',
  title: '9P (Plan 9 file protocol)',
  category: 'file',
  summary:
    'Speaks 9P: version negotiation (9P2000.L, 9P2000.u, 9P2000), attach, and files by path — stat (getattr), directory listings (readdir), reads streamed as a file, writes from an upload, mkdir and remove.',
  ports: [{ port: 564, transport: 'tcp' }],
  specs: ['9P2000 (Plan 9 intro(5))', '9P2000.u', '9P2000.L (diod protocol.md)'],
  rating: {
    stars: 4,
    reason:
      'Lab-tested through workerd against diod 1.0.24 (src/protocols/9p/9p.lab.test.ts), which speaks 9P2000.L only: version negotiation (auto falls from .L; diod answers "unknown" to 9P2000.u and 9P2000), attach, walk, getattr, readdir, a 16 MiB file streamed byte-identical with a resume, writes inline and streamed read back, mkdir, remove, a missing path in the server\'s words. ' +
      'Not covered: classic 9P2000 and 9P2000.u against a real server (no Debian package serves them; their stat, open, create and directory reads are tested on the codec only), Tauth authentication (diod\'s MUNGE), symlinks, rename, setattr, locks.',
  },
  verifiedAgainst: 'diod 1.0.24 (Debian 12)',
  defaultOperation: 'version',
  identify: identification,
  operations: {
    version: operation({
      summary: 'Tversion: the dialects the server accepts and its msize; then Tattach when aname or uname is given, the root\'s qid',
      input: z.object({ ...session, attach: z.boolean().default(true).describe('Attach after the version (shows whether the tree and user are accepted)') }),
      output: z.object({
        dialect: z.string().nullable().describe('The dialect agreed, null when none'),
        msize: z.number(),
        tried: z.array(z.object({ asked: z.string(), answered: z.string() })),
        root: qidOut.nullable(),
      }),
      failedAs: (r) => (r.dialect ? undefined : 'server_error'),
      text: (r) => `${r.dialect ?? 'no dialect agreed'}, msize ${r.msize}${r.tried.length > 1 ? ` (${r.tried.map((t) => `${t.asked} → ${t.answered}`).join(', ')})` : ''}${r.root ? `\nattached: root qid ${r.root.path}` : ''}`,
      run: async (ctx, input) => {
        const c = new NinepClient(await ctx.dial());
        const { dialect, tried } = await negotiate(c, input);
        const root = dialect && input.attach ? await c.attach({ uname: input.uname, aname: input.aname, uid: input.uid }) : null;
        return { dialect, msize: c.msize, tried, root };
      },
    }),
    stat: operation({
      summary: 'Twalk to a path and Tgetattr (9P2000.L) or Tstat: type, size, mode, owner, times',
      input: z.object({ ...session, path: pathField.default('') }),
      output: statOut,
      text: (r) => `${r.path || '/'}: ${r.type}, ${r.size} bytes, mode ${r.mode}${r.modified ? `, modified ${r.modified}` : ''}`,
      run: async (ctx, input) => {
        const c = await attach(ctx, input);
        const { fid } = await c.walk(input.path);
        return statJson(input.path, await c.attributes(fid));
      },
    }),
    list: operation({
      summary: 'A directory\'s entries: Treaddir (9P2000.L, with Tgetattr of each for size and time) or Tread of the directory\'s stat records',
      input: z.object({ ...session, path: pathField.default(''), details: z.boolean().default(true).describe('9P2000.L: Tgetattr each entry for its size, mode and time') }),
      output: z.object({ path: z.string(), entries: z.array(entryOut) }),
      text: (r) => r.entries.map((e) => `${e.type === 'directory' ? 'd' : e.type === 'symlink' ? 'l' : '-'} ${String(e.size ?? '').padStart(10)} ${e.modified ?? ''}  ${e.name}`).join('\n'),
      run: async (ctx, input) => {
        const c = await attach(ctx, input);
        const { fid } = await c.walk(input.path);
        const iounit = await c.open(fid, 'directory');
        const entries: Entry[] = await c.list(fid, iounit);
        if (c.dialect === '9P2000.L' && input.details) {
          for (const e of entries) {
            const w = await c.walk([...pathNames(input.path), e.name].join('/'));
            const a = (await c.attributes(w.fid)).attr!;
            await c.clunk(w.fid);
            e.size = a.size;
            e.mode = a.mode;
            e.modified = a.mtime || null;
          }
        }
        entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        return { path: input.path, entries: entries.map((e) => ({ name: e.name, type: e.type, size: e.size, mode: e.mode === null ? null : (e.mode & 0o7777).toString(8), modified: e.modified })) };
      },
    }),
    read: operation({
      summary: 'Reads a file (Tlopen or Topen, then Tread): streamed, of any size, with Accept: application/octet-stream (Range: bytes=N- resumes) or a WebSocket transfer; as base64 in JSON up to 8 MiB',
      transfer: { direction: 'download', resume: true },
      input: z.object({ ...session, path: pathField.meta({ examples: ['notes.txt'] }), offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0).describe('Start at this byte') }),
      output: z.object({ path: z.string(), size: z.number(), offset: z.number(), bytes: z.number(), truncated: z.boolean(), sha256: z.string().nullable(), base64: z.string().nullable() }),
      text: (r) => `${r.bytes} bytes of ${r.path}${r.sha256 ? `, sha256 ${r.sha256}` : ' streamed'}${r.truncated ? ' (truncated)' : ''}`,
      defaultTimeoutMs: 60_000,
      run: async (ctx, input) => {
        const c = await attach(ctx, input);
        const { fid } = await c.walk(input.path);
        const st = statJson(input.path, await c.attributes(fid));
        if (st.type === 'directory') throw new ServerError(`${input.path}: is a directory`);
        const offset = ctx.download?.offset ?? input.offset;
        if (ctx.download?.offset !== undefined && offset >= st.size) throw new RangeNotSatisfiable(offset, st.size);
        const iounit = await c.open(fid, 'read');
        if (ctx.download) {
          const sink = await ctx.download.begin({ name: baseName(input.path), size: st.size, offset, modified: st.modified, meta: { mode: st.mode, dialect: c.dialect } });
          const bytes = await c.readInto(fid, iounit, offset, st.size - offset, sink);
          return { path: input.path, size: st.size, offset, bytes, truncated: false, sha256: null, base64: null };
        }
        const collector = new ByteCollector(MAX_JSON_READ);
        await c.readInto(fid, iounit, offset, Math.min(MAX_JSON_READ + 1, Math.max(0, st.size - offset) + 1), collector);
        const data = collector.bytes();
        return { path: input.path, size: st.size, offset, bytes: data.length, truncated: collector.truncated, sha256: toHex(await ctx.crypto.digest('SHA-256', data)), base64: toBase64(data) };
      },
    }),
    write: operation({
      summary: 'Writes a file, creating it when missing (Tlcreate or Tcreate) or truncating it: streamed from an upload (multipart or a WebSocket transfer) or given inline',
      transfer: { direction: 'upload', content: 'content' },
      input: z.object({
        ...session,
        path: pathField.meta({ examples: ['notes.txt'] }),
        content: z.string().max(Math.ceil((MAX_JSON_WRITE * 4) / 3) + 4).default('').describe('The content in the JSON form (a streamed upload leaves it out)').meta({ examples: ['hello'] }),
        encoding: z.enum(['utf8', 'base64']).default('utf8').describe('How content is written'),
        mode: z.string().regex(/^[0-7]{3,4}$/, 'mode is octal permission bits, like 644').default('644').describe('Permission bits of a new file (octal)'),
      }),
      output: z.object({ path: z.string(), bytes: z.number(), created: z.boolean(), size: z.number() }),
      text: (r) => `${r.bytes} bytes written to ${r.path}${r.created ? ' (created)' : ''}`,
      defaultTimeoutMs: 60_000,
      run: async (ctx, input) => {
        const source = ctx.upload ?? memorySource(inlineContent(input.content, input.encoding));
        const c = await attach(ctx, input);
        const { dir, name } = splitPath(input.path);
        let fid: number;
        let iounit: number;
        let created = false;
        try {
          fid = (await c.walk(input.path)).fid;
          iounit = await c.open(fid, 'write');
        } catch (e) {
          if (!(e instanceof ServerError) || !/no such file|ENOENT/i.test(e.message)) throw e;
          fid = (await c.walk(dir)).fid;
          iounit = await c.create(fid, name, parseInt(input.mode, 8));
          created = true;
        }
        const bytes = await c.writeFrom(fid, iounit, 0, source);
        await c.clunk(fid);
        const check = await c.walk(input.path);
        const size = statJson(input.path, await c.attributes(check.fid)).size;
        return { path: input.path, bytes, created, size };
      },
    }),
    mkdir: operation({
      summary: 'Makes a directory (Tmkdir, or Tcreate with DMDIR)',
      input: z.object({ ...session, path: pathField.meta({ examples: ['reports'] }), mode: z.string().regex(/^[0-7]{3,4}$/, 'mode is octal permission bits, like 755').default('755').describe('Permission bits (octal)') }),
      output: z.object({ path: z.string(), qid: qidOut }),
      text: (r) => `made ${r.path}`,
      run: async (ctx, input) => {
        const c = await attach(ctx, input);
        const { dir, name } = splitPath(input.path);
        const { fid } = await c.walk(dir);
        return { path: input.path, qid: await c.mkdir(fid, name, parseInt(input.mode, 8)) };
      },
    }),
    remove: operation({
      summary: 'Removes a file or an empty directory (Twalk, then Tremove)',
      input: z.object({ ...session, path: pathField.meta({ examples: ['notes.txt'] }) }),
      output: z.object({ path: z.string(), type: z.enum(['directory', 'symlink', 'file']) }),
      text: (r) => `removed ${r.path}`,
      run: async (ctx, input) => {
        const c = await attach(ctx, input);
        splitPath(input.path);
        const target = await c.walk(input.path);
        const type = statJson(input.path, await c.attributes(target.fid)).type;
        await c.remove(target.fid);
        return { path: input.path, type };
      },
    }),
  },
});
