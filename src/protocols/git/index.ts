// The git:// protocol (git daemon): refs, history and files of a repository read over protocol v2, or v0.
import * as z from 'zod';
import { bytesJson } from '../../core/bytes.ts';
import { InvalidInput, ProtocolError, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { GitClient } from './client.ts';
import type { Ref } from './codec.ts';
import { Pack, parseCommit, parseTree, tagTarget, type Commit } from './pack.ts';
import { identification } from './identify.ts';

const MiB = 1024 * 1024;
const repo = z.string().min(1).max(1024).regex(/^\/[^\s\0]*$/, 'a path on the server starting with /').describe('Repository path on the server').meta({ examples: ['/project.git'] });
const protocolIn = z.enum(['auto', 'v2', 'v0']).default('auto').describe('Protocol version: v2 (asked for, v0 accepted), v2 only, or v0');
const limits = {
  maxPackBytes: z.number().int().min(1024).max(256 * MiB).default(32 * MiB).describe('Largest pack accepted'),
  maxObjectBytes: z.number().int().min(1024).max(256 * MiB).default(32 * MiB).describe('Largest object (inflated)'),
};
const refIn = z.string().min(1).max(1024).regex(/^[^\s\0~^:?*[\\]+$/, 'a ref name, HEAD, or a commit id').default('HEAD').describe('HEAD, a branch, a tag, a full ref name or a commit id');

async function open(ctx: OperationContext, input: { repo: string; protocol: 'auto' | 'v2' | 'v0' }): Promise<GitClient> {
  const git = new GitClient(await ctx.dial());
  await git.open(input.repo, ctx.target.host, input.protocol);
  ctx.timing.mark('advertisedMs');
  return git;
}

/** A ref by the names git accepts for it (gitrevisions: refname, refs/refname, refs/tags/, refs/heads/ ...). */
function findRef(refs: Ref[], name: string): Ref | undefined {
  for (const full of [name, `refs/${name}`, `refs/tags/${name}`, `refs/heads/${name}`, `refs/remotes/${name}`]) {
    const r = refs.find((x) => x.name === full);
    if (r) return r;
  }
  return undefined;
}

async function fetchCommit(ctx: OperationContext, git: GitClient, ref: string, depth: number, input: { maxPackBytes: number; maxObjectBytes: number }) {
  let want: string;
  let refName: string | null = null;
  if (/^[0-9a-f]{40}$/.test(ref)) want = ref;
  else {
    const refs = await git.lsRefs([]);
    const r = findRef(refs, ref);
    if (!r) throw new ServerError(`the repository has no ref ${JSON.stringify(ref)} (it has ${refs.slice(0, 10).map((x) => x.name).join(', ')}${refs.length > 10 ? ', ...' : ''})`);
    if (r.oid === 'unborn') throw new ServerError(`${r.name} is unborn: the repository has no commits`);
    want = r.oid;
    refName = r.name;
  }
  const { pack: bytes, shallow } = await git.fetch([want], depth, input.maxPackBytes);
  ctx.timing.mark('fetchedMs');
  const pack = new Pack(bytes, (d) => ctx.crypto.sha1Sync(d), { maxObjectBytes: input.maxObjectBytes, maxTotalBytes: 4 * input.maxPackBytes + input.maxObjectBytes, maxObjects: 1_000_000 });
  let tip = pack.get(want);
  for (let hops = 0; tip?.type === 'tag' && hops < 10; hops++) tip = pack.get(tagTarget(tip.data).object);
  if (!tip) throw new ProtocolError(`the pack does not hold ${want}`);
  if (tip.type !== 'commit') throw new ServerError(`${ref} names a ${tip.type}, not a commit`);
  return { pack, tip: parseCommit(tip.oid, tip.data), refName, shallow, packBytes: bytes.length };
}

const personOut = z.object({ name: z.string(), email: z.string(), date: z.string(), timezone: z.string() }).nullable();
const commitOut = z.object({ oid: z.string(), tree: z.string(), parents: z.array(z.string()), author: personOut, committer: personOut, message: z.string() });
const packOut = z.object({ bytes: z.number(), objects: z.number(), byType: z.record(z.string(), z.number()), deltas: z.number(), maxDepth: z.number() });

export default defineProtocol({
  id: 'git',
  title: 'Git (git://)',
  category: 'file',
  summary: 'Reads a repository from a git daemon over git:// (protocol v2, or v0): refs with symbolic refs and peeled tags, the log from a fetched pack with a depth (author, date, message), and one file of a commit from the pack\'s objects, deltas resolved.',
  ports: [{ port: 9418, transport: 'tcp' }],
  specs: ['gitprotocol-pack', 'gitprotocol-v2', 'gitprotocol-common', 'gitformat-pack'],
  rating: {
    stars: 5,
    reason:
      'Lab-tested through workerd against Debian\'s git daemon 2.39 and a repository the lab makes: refs over v2 (ls-refs with symrefs, peeled annotated tags, prefixes) and v0 (the advertisement with its symref capability), the log of a shallow fetch (deepen) decoded and checked against git log, a file of an older commit rebuilt from OFS_DELTA chains and compared byte for byte with git show, over v2 and v0; a missing repository in the daemon\'s words. Pack sizes, object sizes, delta depth and delta loops are bounded (protocol_error). git:// has neither authentication nor TLS; smart HTTP and SSH transports are not covered here.',
  },
  verifiedAgainst: 'git daemon 2.39.5 (Debian 12 git 1:2.39.5-0+deb12u3)',
  defaultOperation: 'refs',
  identify: identification,
  operations: {
    refs: operation({
      summary: 'The repository\'s refs: branches and tags with their ids, HEAD\'s target, annotated tags peeled',
      input: z.object({ repo, protocol: protocolIn, prefixes: z.array(z.string().min(1).max(256).regex(/^refs\//, 'starts with refs/')).max(32).default([]).describe('Only refs starting with these (e.g. refs/tags/)') }),
      output: z.object({ protocol: z.number(), head: z.string().nullable(), refs: z.array(z.object({ name: z.string(), oid: z.string(), symref: z.string().optional(), peeled: z.string().optional() })), capabilities: z.array(z.string()) }),
      text: (r) => r.refs.map((x) => `${x.oid}\t${x.name}${x.symref ? ` -> ${x.symref}` : ''}${x.peeled ? ` (peeled ${x.peeled})` : ''}`).join('\n'),
      shortRoute: (extra) => ({ repo: `/${extra ?? ''}` }),
      async run(ctx, input) {
        const git = await open(ctx, input);
        const refs = await git.lsRefs(input.prefixes);
        const head = (git.version === 2 ? refs : git.advertised).find((r) => r.name === 'HEAD')?.symref ?? null;
        return { protocol: git.version, head, refs, capabilities: git.capabilities };
      },
    }),
    log: operation({
      summary: 'The history of a ref: a pack fetched with a depth, its commits decoded (author, committer, date, message, parents)',
      input: z.object({ repo, ref: refIn, depth: z.number().int().min(1).max(10_000).default(20).describe('Commits of history to fetch (deepen)'), protocol: protocolIn, ...limits }),
      output: z.object({ protocol: z.number(), ref: z.string().nullable(), commits: z.array(commitOut), shallow: z.array(z.string()), pack: packOut }),
      text: (r) => r.commits.map((c) => `commit ${c.oid}\nAuthor: ${c.author?.name} <${c.author?.email}>\nDate:   ${c.author?.date}\n\n    ${c.message.trimEnd().replace(/\n/g, '\n    ')}\n`).join('\n'),
      async run(ctx, input) {
        const git = await open(ctx, input);
        const { pack, tip, refName, shallow, packBytes } = await fetchCommit(ctx, git, input.ref, input.depth, input);
        // Every commit the pack holds from the tip, newest committer date first (git log's default order).
        const seen = new Map<string, Commit>([[tip.oid, tip]]);
        const queue = [tip];
        while (queue.length) {
          for (const p of queue.shift()!.parents) {
            if (seen.has(p)) continue;
            const o = pack.get(p);
            if (!o || o.type !== 'commit') continue;
            const c = parseCommit(o.oid, o.data);
            seen.set(p, c);
            queue.push(c);
          }
        }
        const time = (c: Commit) => (c.committer ? Date.parse(c.committer.date) : 0);
        const commits = [...seen.values()].sort((a, b) => time(b) - time(a)).slice(0, input.depth);
        return { protocol: git.version, ref: refName, commits, shallow, pack: { bytes: packBytes, ...pack.summary() } };
      },
    }),
    file: operation({
      summary: 'One file of a commit, rebuilt from the fetched pack\'s objects with deltas resolved',
      input: z.object({
        repo,
        path: z.string().min(1).max(4096).regex(/^[^\0]+$/).describe('Path of the file in the tree, e.g. src/main.c').meta({ examples: ['README'] }),
        ref: refIn.describe('The ref (or commit id) to fetch from'),
        commit: z.string().regex(/^[0-9a-f]{40}$/, 'a full 40-digit commit id').optional().describe('A commit within the fetched history (default: the ref\'s own)'),
        depth: z.number().int().min(1).max(10_000).default(1).describe('Commits of history to fetch: enough to reach commit'),
        encoding: z.enum(['auto', 'text', 'base64', 'hex']).default('auto'),
        protocol: protocolIn,
        ...limits,
      }),
      output: z.object({ path: z.string(), commit: z.string(), blob: z.string(), mode: z.string(), size: z.number(), deltaDepth: z.number().describe('Deltas applied to rebuild the file (0: stored whole)'), content: z.object({ text: z.string().optional(), base64: z.string().optional(), hex: z.string().optional() }), pack: packOut }),
      text: (r) => r.content.text ?? r.content.base64 ?? r.content.hex ?? '',
      async run(ctx, input) {
        const git = await open(ctx, input);
        const { pack, tip, packBytes } = await fetchCommit(ctx, git, input.ref, input.depth, input);
        let commit = tip;
        if (input.commit && input.commit !== tip.oid) {
          const o = pack.get(input.commit);
          if (!o || o.type !== 'commit') throw InvalidInput.field('commit', `${input.commit} is not in the ${input.depth} commit(s) fetched from ${input.ref}: give a larger depth`);
          commit = parseCommit(o.oid, o.data);
        }
        let tree = commit.tree;
        const parts = input.path.split('/').filter(Boolean);
        for (const [i, name] of parts.entries()) {
          const t = pack.get(tree);
          if (!t || t.type !== 'tree') throw new ProtocolError(`tree ${tree} is missing from the pack`);
          const entry = parseTree(t.data).find((e) => e.name === name);
          if (!entry) throw new ServerError(`${parts.slice(0, i + 1).join('/')} does not exist in commit ${commit.oid}`);
          if (i === parts.length - 1) {
            if (entry.mode === '40000') throw InvalidInput.field('path', `${input.path} is a directory`);
            if (entry.mode === '160000') throw InvalidInput.field('path', `${input.path} is a submodule (commit ${entry.oid})`);
            const blob = pack.get(entry.oid);
            if (!blob) throw new ProtocolError(`blob ${entry.oid} is missing from the pack`);
            return { path: input.path, commit: commit.oid, blob: entry.oid, mode: entry.mode, size: blob.data.length, deltaDepth: blob.depth, content: bytesJson(blob.data, input.encoding), pack: { bytes: packBytes, ...pack.summary() } };
          }
          if (entry.mode !== '40000') throw new ServerError(`${parts.slice(0, i + 1).join('/')} is not a directory`);
          tree = entry.oid;
        }
        throw InvalidInput.field('path', 'names no file');
      },
    }),
  },
});
