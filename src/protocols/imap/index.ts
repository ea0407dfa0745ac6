// IMAP, RFC 9051 / RFC 3501: capabilities, STARTTLS, LOGIN/AUTHENTICATE, LIST, STATUS, SELECT/EXAMINE, SEARCH, FETCH,
// APPEND, STORE, COPY/MOVE (RFC 6851), EXPUNGE (UIDPLUS RFC 4315), ID (RFC 2971), IDLE (RFC 2177); IMAPS on 993.
import * as z from 'zod';
import { InvalidInput } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext, type TargetFields } from '../../core/protocol.ts';
import { messageFieldsShape, messageFromInput, type MessageInput } from '../mail/fields.ts';
import type { ImapSession } from './client.ts';
import { authMethod, compressField, openImap, type Auth } from './open.ts';
import { append, checkSet, downloadSection, expunge, list, presentBody, select, status, uidCopyMove, uidFetch, uidSearch, uidStore, type SearchCriteria } from './commands.ts';
import { idleWait, runIdleSession } from './idle.ts';
import { acl, changesSince, listSpecialUse, namespace, quotaRoot, SORT_KEYS, uidSort, uidThread, type ThreadNode } from './extensions.ts';
import { joinParts, mailbox as mailboxArg } from './codec.ts';
import { identification } from './identify.ts';
import { readMessage } from './message.ts';

const credentials = {
  username: z.string().min(1).max(512),
  password: z.string().max(1024),
  authMethod,
  compress: compressField,
};

const mailboxName = z.string().min(1).max(1000).regex(/^[^\r\n\0]*$/, 'must be one line').default('INBOX');
const uids = z.string().max(4096).describe('UIDs: a set like 4, 1:10, 3,5,9:*');

async function withMailbox<T>(ctx: OperationContext, input: TargetFields & Auth, fn: (s: ImapSession) => Promise<T>): Promise<T> {
  const { session } = await openImap(ctx, input);
  const out = await fn(session);
  await session.logout();
  return out;
}

/** Runs fn with the mailbox EXAMINEd (read-only). */
const examined = <T>(ctx: OperationContext, input: TargetFields & Auth & { mailbox: string }, fn: (s: ImapSession) => Promise<T>): Promise<T> =>
  withMailbox(ctx, input, async (s) => {
    await select(s, input.mailbox, true);
    return fn(s);
  });

const selectedOut = z.object({
  mailbox: z.string(),
  readOnly: z.boolean(),
  exists: z.number(),
  recent: z.number(),
  flags: z.array(z.string()),
  permanentFlags: z.array(z.string()),
  uidValidity: z.number().nullable(),
  uidNext: z.number().nullable(),
  firstUnseen: z.number().nullable(),
  highestModSeq: z.number().nullable(),
});

const namespaceOut = z.object({ prefix: z.string(), delimiter: z.string().nullable() });

const statusOut = z.object({
  messages: z.number().optional(),
  recent: z.number().optional(),
  uidNext: z.number().optional(),
  uidValidity: z.number().optional(),
  unseen: z.number().optional(),
  size: z.number().optional(),
  highestModSeq: z.number().optional(),
});

const addressOut = z.object({ name: z.string().nullable(), mailbox: z.string().nullable(), host: z.string().nullable(), address: z.string().nullable() });
const envelopeOut = z.object({
  date: z.string().nullable(),
  subject: z.string().nullable(),
  from: z.array(addressOut),
  sender: z.array(addressOut),
  replyTo: z.array(addressOut),
  to: z.array(addressOut),
  cc: z.array(addressOut),
  bcc: z.array(addressOut),
  inReplyTo: z.string().nullable(),
  messageId: z.string().nullable(),
});

const searchShape = {
  from: z.string().max(1000).optional(),
  to: z.string().max(1000).optional(),
  cc: z.string().max(1000).optional(),
  bcc: z.string().max(1000).optional(),
  subject: z.string().max(1000).optional(),
  body: z.string().max(1000).optional(),
  text: z.string().max(1000).optional(),
  header: z.array(z.object({ name: z.string().max(76), value: z.string().max(1000) }).strict()).max(10).optional(),
  since: z.string().optional().describe('Internal date on or after, YYYY-MM-DD'),
  before: z.string().optional(),
  on: z.string().optional(),
  sentSince: z.string().optional(),
  sentBefore: z.string().optional(),
  seen: z.boolean().optional(),
  answered: z.boolean().optional(),
  flagged: z.boolean().optional(),
  deleted: z.boolean().optional(),
  draft: z.boolean().optional(),
  keyword: z.string().max(100).optional(),
  larger: z.number().int().min(0).optional(),
  smaller: z.number().int().min(0).optional(),
  uid: z.string().max(4096).optional(),
};

const flag = z.string().min(1).max(100);

export default defineProtocol({
  id: 'imap',
  title: 'IMAP / IMAPS',
  category: 'mail',
  summary: 'Reads and manages mailboxes: capabilities, STARTTLS, login, folders with attributes and status, search, fetch (envelope, structure, bodies), a message view (MIME tree, decoded text, sanitized HTML, attachments), append, flags, copy/move, expunge, sort and threads, quota, ACL, changes since a mod-sequence, IDLE (RFC 9051).',
  ports: [
    { port: 143, transport: 'tcp', label: 'IMAP (STARTTLS)' },
    { port: 993, transport: 'tls', label: 'IMAPS' },
  ],
  specs: ['RFC 9051', 'RFC 3501', 'RFC 2177', 'RFC 2971', 'RFC 4315', 'RFC 6851', 'RFC 4959', 'RFC 7888', 'RFC 6154', 'RFC 8314', 'RFC 2342', 'RFC 9208', 'RFC 4314', 'RFC 5256', 'RFC 7162', 'RFC 5258'],
  rating: { stars: 5, reason: 'Capabilities before/after STARTTLS and after login, LOGIN and AUTHENTICATE PLAIN/LOGIN/CRAM-MD5/SCRAM-SHA-256, LIST with special-use attributes (and LIST (SPECIAL-USE) for only those) and STATUS, SELECT/EXAMINE, UID SEARCH from fields (UTF-8 via CHARSET), server-side UID SORT and UID THREAD (REFERENCES, ORDEREDSUBJECT), FETCH envelope/flags/BODYSTRUCTURE/full, part and partial bodies, one message (.eml) or one MIME part decoded with BINARY streamed as a file, APPEND with literals, STORE, COPY, MOVE, EXPUNGE and UID EXPUNGE, CREATE/DELETE with modified UTF-7 names, NAMESPACE, GETQUOTAROOT, ACL (MYRIGHTS, GETACL, SETACL, DELETEACL), changes since a mod-sequence by CONDSTORE (CHANGEDSINCE) and QRESYNC (VANISHED), ID, IDLE both as a bounded POST and as a WebSocket session that pushes new messages, and COMPRESS=DEFLATE after login (both directions deflated, inside STARTTLS too; a 700 kB message appended and fetched back byte for byte), lab-tested through workerd against Dovecot (quota, acl and zlib plugins) on IMAP, STARTTLS and IMAPS (src/protocols/imap/imap.lab.test.ts); one message for reading (headers and RFC 2047 words decoded, the MIME tree, text parts undone from quoted-printable or base64 and their charset, cid: images) shown in the UI as a message view: the tree collapsible, HTML sanitized by an allow-list into a sandboxed iframe under a CSP that loads nothing remote until "Show remote images" is on, attachments downloaded as files, reachable from fetch results, lab-tested in headless Chromium through workerd with a hostile HTML part (web/e2e/imap-message.lab.test.ts). Not covered: UTF8=ACCEPT (Dovecot 2.3 does not offer it).' },
  verifiedAgainst: 'Dovecot 2.3.19.1+dfsg1-2.1+deb12u7',
  tls: { implicit: { port: 993 }, starttls: true },
  defaultOperation: 'capabilities',
  identify: identification,
  operations: {
    capabilities: operation({
      summary: 'Greeting and capabilities before and after STARTTLS and after login; the server ID',
      input: z.object({ username: z.string().min(1).max(512).optional(), password: z.string().max(1024).optional(), authMethod, compress: compressField }),
      output: z.object({
        greeting: z.string(),
        capabilities: z.array(z.string()),
        capabilitiesAfterStartTls: z.array(z.string()).nullable(),
        capabilitiesAfterLogin: z.array(z.string()).nullable(),
        authMechanisms: z.array(z.string()),
        tls: z.boolean(),
        authMethod: z.string().nullable(),
        compression: z.enum(['deflate']).nullable().describe('COMPRESS=DEFLATE active after login'),
        serverId: z.record(z.string(), z.string().nullable()).nullable(),
      }),
      text: (r) => [r.greeting, `capabilities: ${(r.capabilitiesAfterLogin ?? r.capabilitiesAfterStartTls ?? r.capabilities).join(' ')}`].join('\n'),
      async run(ctx, input) {
        const o = await openImap(ctx, input);
        const s = o.session;
        const authMechanisms = s.authMechanisms();
        const afterLogin = o.method ? [...s.capabilities] : null;
        const serverId = s.has('ID') ? await s.id({ name: 'Portolan', vendor: 'Portolan' }) : null;
        await s.logout();
        return {
          greeting: o.greeting,
          capabilities: o.before,
          capabilitiesAfterStartTls: o.afterStartTls,
          capabilitiesAfterLogin: afterLogin,
          authMechanisms: o.afterStartTls ? o.afterStartTls.filter((c) => c.startsWith('AUTH=')).map((c) => c.slice(5)) : authMechanisms,
          tls: s.conn.tlsActive,
          authMethod: o.method,
          compression: s.compressed ? ('deflate' as const) : null,
          serverId,
        };
      },
    }),
    id: operation({
      summary: 'ID (RFC 2971): the server identifies itself',
      input: z.object({ username: z.string().min(1).max(512).optional(), password: z.string().max(1024).optional(), authMethod }),
      output: z.object({ serverId: z.record(z.string(), z.string().nullable()).nullable() }),
      run: (ctx, input) => withMailbox(ctx, input, async (s) => ({ serverId: await s.id({ name: 'Portolan' }) })),
    }),
    mailboxes: operation({
      primary: ['username', 'password', 'pattern'],
      summary: 'LIST mailboxes with their attributes (and STATUS of each)',
      input: z.object({
        ...credentials,
        reference: z.string().max(1000).default(''),
        pattern: z.string().max(1000).default('*'),
        withStatus: z.boolean().default(false),
        specialUseOnly: z.boolean().default(false).describe('Only the special-use mailboxes: LIST (SPECIAL-USE) (RFC 6154)'),
      }),
      output: z.object({ mailboxes: z.array(z.object({ name: z.string(), rawName: z.string(), delimiter: z.string().nullable(), attributes: z.array(z.string()), status: statusOut.nullable() })) }),
      text: (r) => r.mailboxes.map((m) => `${m.name}\t${m.attributes.join(' ')}${m.status ? `\t${m.status.messages ?? '?'} messages, ${m.status.unseen ?? '?'} unseen` : ''}`).join('\n'),
      run: (ctx, input) =>
        withMailbox(ctx, input, async (s) => {
          const special = input.specialUseOnly ? new Set((await listSpecialUse(s, true)).map((m) => m.name)) : null;
          const boxes = (await list(s, input.reference, input.pattern)).filter((b) => !special || special.has(b.name));
          const out = [];
          for (const [i, b] of boxes.entries()) {
            const selectable = !b.attributes.some((a) => /^\\(noselect|nonexistent)$/i.test(a));
            out.push({ ...b, status: input.withStatus && selectable && i < 200 ? await status(s, b.name) : null });
          }
          return { mailboxes: out };
        }),
    }),
    namespace: operation({
      summary: 'NAMESPACE (RFC 2342): the personal, other users\' and shared namespaces with their prefixes and delimiters',
      input: z.object({ ...credentials }),
      output: z.object({ personal: z.array(namespaceOut), otherUsers: z.array(namespaceOut), shared: z.array(namespaceOut) }),
      text: (r) => (['personal', 'otherUsers', 'shared'] as const).map((k) => `${k}: ${r[k].map((n) => `"${n.prefix}" (${n.delimiter ?? 'flat'})`).join(', ') || 'none'}`).join('\n'),
      run: (ctx, input) => withMailbox(ctx, input, (s) => namespace(s)),
    }),
    quota: operation({
      summary: 'GETQUOTAROOT (RFC 9208): the quota roots of a mailbox, each resource\'s usage and limit (STORAGE in KiB, MESSAGE a count)',
      input: z.object({ ...credentials, mailbox: mailboxName }),
      output: z.object({ roots: z.array(z.string()), quotas: z.array(z.object({ root: z.string(), resources: z.array(z.object({ name: z.string(), usage: z.number(), limit: z.number() })) })) }),
      text: (r) => r.quotas.map((q) => `${q.root}: ${q.resources.map((x) => `${x.name} ${x.usage}/${x.limit}${x.name === 'STORAGE' ? ' KiB' : ''} (${x.limit ? Math.round((100 * x.usage) / x.limit) : 0}%)`).join(', ')}`).join('\n') || 'no quota',
      run: (ctx, input) => withMailbox(ctx, input, (s) => quotaRoot(s, input.mailbox)),
    }),
    acl: operation({
      summary: 'ACL (RFC 4314): MYRIGHTS and GETACL of a mailbox; SETACL or DELETEACL first when asked',
      input: z.object({
        ...credentials,
        mailbox: mailboxName,
        set: z
          .object({
            identifier: z.string().min(1).max(320).describe('A user, "anyone", or a group the server knows; "-" before it for negative rights').meta({ examples: ['bob@example.com'] }),
            rights: z.string().max(30).nullable().describe('RFC 4314 rights letters, e.g. "lr" or "+w" / "-w"; null removes the identifier (DELETEACL)').meta({ examples: ['lr'] }),
          })
          .strict()
          .optional(),
      }),
      output: z.object({ myRights: z.string(), entries: z.array(z.object({ identifier: z.string(), rights: z.string() })).nullable().describe('null when the user lacks the "a" right to see the list') }),
      text: (r) => [`my rights: ${r.myRights}`, ...(r.entries ?? []).map((e) => `${e.identifier}\t${e.rights}`)].join('\n'),
      run: (ctx, input) => withMailbox(ctx, input, (s) => acl(s, input.mailbox, input.set)),
    }),
    sort: operation({
      summary: 'UID SORT (RFC 5256): the matching UIDs in the order of the sort keys, server-side',
      input: z.object({
        ...credentials,
        mailbox: mailboxName,
        sort: z.array(z.object({ key: z.enum(SORT_KEYS), reverse: z.boolean().default(false) }).strict()).min(1).max(8).default([{ key: 'DATE', reverse: true }]).describe('Sort keys, most significant first'),
        ...searchShape,
      }),
      output: z.object({ uids: z.array(z.number()) }),
      text: (r) => r.uids.join(' '),
      run: (ctx, input) => examined(ctx, input, async (s) => ({ uids: await uidSort(s, input.sort, input as SearchCriteria) })),
    }),
    thread: operation({
      summary: 'UID THREAD (RFC 5256): conversations as trees of UIDs, by REFERENCES or ORDEREDSUBJECT',
      input: z.object({ ...credentials, mailbox: mailboxName, algorithm: z.enum(['REFERENCES', 'ORDEREDSUBJECT']).default('REFERENCES'), ...searchShape }),
      output: z.object({ threads: z.array(z.any()).describe('Each thread: { uid, children: [...] }; uid null for a parent not in the set') }),
      text: (r) => {
        const lines: string[] = [];
        const walk = (n: ThreadNode, depth: number) => {
          lines.push(`${'  '.repeat(depth)}${n.uid ?? '(missing parent)'}`);
          for (const c of n.children) walk(c, depth + 1);
        };
        for (const t of r.threads as ThreadNode[]) walk(t, 0);
        return lines.join('\n');
      },
      run: (ctx, input) => examined(ctx, input, async (s) => ({ threads: await uidThread(s, input.algorithm, input as SearchCriteria) })),
    }),
    changes: operation({
      summary: 'What changed since a mod-sequence (RFC 7162): flag changes with their MODSEQ, and with QRESYNC the UIDs expunged (VANISHED)',
      input: z.object({
        ...credentials,
        mailbox: mailboxName,
        sinceModSeq: z.number().int().min(0).describe('The HIGHESTMODSEQ the client last saw (from select or status)').meta({ examples: [1] }),
        uidValidity: z.number().int().min(1).optional().describe('The UIDVALIDITY it belongs to; needed for QRESYNC'),
        uids: uids.optional().describe('The UIDs the client knows (QRESYNC), or the UIDs to check (CONDSTORE)'),
      }),
      output: z.object({
        highestModSeq: z.number().nullable(),
        uidValidity: z.number().nullable(),
        uidValidityChanged: z.boolean(),
        changed: z.array(z.object({ uid: z.number(), modSeq: z.number(), flags: z.array(z.string()) })),
        vanished: z.string().nullable().describe('UIDs expunged since sinceModSeq, as a set (QRESYNC only)'),
        method: z.string(),
      }),
      text: (r) => [`highest modseq ${r.highestModSeq}${r.uidValidityChanged ? ' (UIDVALIDITY changed: resynchronise from scratch)' : ''}`, ...r.changed.map((c) => `${c.uid}\tmodseq ${c.modSeq}\t${c.flags.join(' ')}`), ...(r.vanished ? [`vanished: ${r.vanished}`] : [])].join('\n'),
      run: (ctx, input) => withMailbox(ctx, input, (s) => changesSince(s, input.mailbox, { modSeq: input.sinceModSeq, uidValidity: input.uidValidity, uids: input.uids })),
    }),
    status: operation({
      primary: ['username', 'password', 'mailbox'],
      summary: 'STATUS of a mailbox: messages, unseen, UIDNEXT, UIDVALIDITY',
      input: z.object({ ...credentials, mailbox: mailboxName }),
      output: statusOut,
      run: (ctx, input) => withMailbox(ctx, input, (s) => status(s, input.mailbox)),
    }),
    select: operation({
      primary: ['username', 'password', 'mailbox'],
      summary: 'SELECT (or EXAMINE, read-only) a mailbox and report its state',
      input: z.object({ ...credentials, mailbox: mailboxName, readOnly: z.boolean().default(true).describe('EXAMINE instead of SELECT') }),
      output: selectedOut,
      run: (ctx, input) => withMailbox(ctx, input, (s) => select(s, input.mailbox, input.readOnly)),
    }),
    search: operation({
      primary: ['username', 'password', 'mailbox', 'from', 'subject', 'since', 'seen'],
      summary: 'UID SEARCH with criteria from fields (ANDed)',
      input: z.object({ ...credentials, mailbox: mailboxName, ...searchShape }),
      output: z.object({ uids: z.array(z.number()), exists: z.number() }),
      text: (r) => r.uids.join(' '),
      run: (ctx, input) =>
        withMailbox(ctx, input, async (s) => {
          const sel = await select(s, input.mailbox, true);
          return { uids: await uidSearch(s, input as SearchCriteria), exists: sel.exists };
        }),
    }),
    fetch: operation({
      primary: ['username', 'password', 'mailbox', 'uids'],
      summary:
        'UID FETCH: envelope, flags, BODYSTRUCTURE, full or partial bodies (never sets \\Seen); with Accept: application/octet-stream (or a WebSocket transfer), one message (body: full, an .eml file) or one MIME part, decoded (BINARY), streams as a file',
      transfer: { direction: 'download' },
      input: z.object({
        ...credentials,
        mailbox: mailboxName,
        uids: uids.default('1:*'),
        limit: z.number().int().min(1).max(500).default(20).describe('At most this many messages, the highest UIDs of the set'),
        envelope: z.boolean().default(true),
        flags: z.boolean().default(true),
        bodyStructure: z.boolean().default(false),
        internalDate: z.boolean().default(true),
        size: z.boolean().default(true),
        body: z.string().max(64).default('none').describe('none, full, header, text, or a part number like 2 or 1.2 (optionally .HEADER, .TEXT, .MIME)'),
        partial: z.object({ offset: z.number().int().min(0), length: z.number().int().min(1).max(32 * 1024 * 1024) }).strict().optional(),
      }),
      output: z.object({
        mailbox: z.string(),
        uidValidity: z.number().nullable(),
        messages: z.array(
          z.object({
            seq: z.number(),
            uid: z.number().nullable(),
            flags: z.array(z.string()).optional(),
            internalDate: z.string().nullable().optional(),
            size: z.number().optional(),
            envelope: envelopeOut.optional(),
            bodyStructure: z.any().optional().describe('The MIME tree: type, subtype, params, encoding, size, section, parts'),
            body: z.object({ section: z.string(), origin: z.number().nullable(), size: z.number(), text: z.string().optional(), base64: z.string().optional() }).nullable().optional(),
          }),
        ),
        truncated: z.boolean(),
      }),
      text: (r) => r.messages.map((m) => `${m.uid}\t${m.envelope?.from[0]?.address ?? ''}\t${m.envelope?.subject ?? ''}${m.body?.text !== undefined ? `\n${m.body.text}` : ''}`).join('\n'),
      run: (ctx, input) =>
        withMailbox(ctx, input, async (s) => {
          checkSet(input.uids, 'uids');
          const download = ctx.download;
          if (download && !/^\d+$/.test(input.uids)) throw InvalidInput.field('uids', 'a download is one message: give one UID');
          const sel = await select(s, input.mailbox, true);
          if (download) {
            const got = await downloadSection(s, Number(input.uids), input.body, download);
            return { mailbox: input.mailbox, uidValidity: sel.uidValidity, messages: [{ seq: got.seq, uid: Number(input.uids), body: { section: got.section, origin: null, size: got.size } }], truncated: false };
          }
          // Bound the answer: learn which UIDs the set names, fetch the highest `limit` of them.
          let set = input.uids;
          let truncated = false;
          if (/[:*,]/.test(set)) {
            const found = sel.exists === 0 ? [] : await uidSearch(s, { uid: set });
            truncated = found.length > input.limit;
            const chosen = found.slice(-input.limit);
            if (chosen.length === 0) return { mailbox: input.mailbox, uidValidity: sel.uidValidity, messages: [], truncated: false };
            set = chosen.join(',');
          }
          const messages = await uidFetch(s, set, input);
          messages.sort((a, b) => (a.uid ?? 0) - (b.uid ?? 0));
          return {
            mailbox: input.mailbox,
            uidValidity: sel.uidValidity,
            messages: messages.map((m) => ({ ...m, body: m.body ? presentBody(m.body) : m.body })),
            truncated,
          };
        }),
    }),
    message: operation({
      primary: ['username', 'password', 'mailbox', 'uid'],
      summary: 'One message for reading: headers decoded, the MIME tree, its text and HTML parts decoded (transfer encoding and charset), images it names by cid:, and every other part listed for download (fetch with body set to the section); never sets \\Seen',
      input: z.object({
        ...credentials,
        mailbox: mailboxName,
        uid: z.number().int().min(1).max(4294967295).describe('The message\'s UID (from search or fetch)').meta({ examples: [1] }),
        maxTextBytes: z.number().int().min(1024).max(4 * 1024 * 1024).default(512 * 1024).describe('Each text part is cut after this many decoded bytes'),
      }),
      output: z.object({
        mailbox: z.string(),
        uidValidity: z.number().nullable(),
        uid: z.number(),
        flags: z.array(z.string()),
        internalDate: z.string().nullable(),
        size: z.number().nullable(),
        envelope: envelopeOut,
        bodyStructure: z.any().describe('The MIME tree: type, subtype, params, encoding, size, disposition, section, parts'),
        texts: z.array(z.object({ section: z.string(), subtype: z.string(), charset: z.string(), encoding: z.string(), size: z.number().nullable(), text: z.string(), truncated: z.boolean() })).describe('text/plain and text/html parts that are not attachments, decoded; HTML as the message has it (the UI sanitizes it)'),
        inline: z.array(z.object({ section: z.string(), contentId: z.string(), type: z.string(), base64: z.string() })).describe('Images the HTML can name by cid: (each at most 256 KiB, 1 MiB in all)'),
        attachments: z.array(z.object({ section: z.string(), type: z.string(), disposition: z.string().nullable(), filename: z.string().nullable(), contentId: z.string().nullable(), encoding: z.string().nullable(), size: z.number().nullable() })).describe('Every part not shown as text: download one with fetch, body set to its section'),
      }),
      text: (r) => {
        const who = (list: { name: string | null; address: string | null }[]) => list.map((a) => (a.name ? `${a.name} <${a.address ?? ''}>` : (a.address ?? ''))).join(', ');
        const head = [`From: ${who(r.envelope.from)}`, `To: ${who(r.envelope.to)}`, ...(r.envelope.cc.length ? [`Cc: ${who(r.envelope.cc)}`] : []), `Date: ${r.envelope.date ?? ''}`, `Subject: ${r.envelope.subject ?? ''}`];
        const body = r.texts.find((t) => t.subtype === 'plain')?.text ?? r.texts[0]?.text ?? '';
        return [...head, '', body, ...r.attachments.map((a) => `[part ${a.section}] ${a.type} ${a.filename ?? ''} ${a.size ?? '?'} bytes`)].join('\n');
      },
      run: (ctx, input) =>
        withMailbox(ctx, input, async (s) => {
          const sel = await select(s, input.mailbox, true);
          const m = await readMessage(s, input.uid, input.maxTextBytes);
          return {
            mailbox: input.mailbox,
            uidValidity: sel.uidValidity,
            uid: input.uid,
            flags: m.meta.flags ?? [],
            internalDate: m.meta.internalDate ?? null,
            size: m.meta.size ?? null,
            envelope: m.meta.envelope ?? { date: null, subject: null, from: [], sender: [], replyTo: [], to: [], cc: [], bcc: [], inReplyTo: null, messageId: null },
            bodyStructure: m.tree,
            texts: m.texts,
            inline: m.inline,
            attachments: m.attachments,
          };
        }),
    }),
    append: operation({
      primary: ['username', 'password', 'mailbox', 'from', 'to', 'subject', 'text'],
      summary: 'APPEND a message (built from fields or raw) to a mailbox, with flags',
      input: z.object({ ...credentials, mailbox: mailboxName, ...messageFieldsShape, flags: z.array(flag).max(20).default([]), internalDate: z.string().datetime({ offset: true }).optional() }),
      output: z.object({ mailbox: z.string(), uid: z.number().nullable(), uidValidity: z.number().nullable(), size: z.number(), messageId: z.string().nullable(), message: z.string() }),
      maxTimeoutMs: 120_000,
      run: (ctx, input) =>
        withMailbox(ctx, input, async (s) => {
          const { bytes, messageId } = messageFromInput(input as unknown as MessageInput, ctx.crypto);
          const r = await append(s, input.mailbox, bytes, input.flags, input.internalDate ? new Date(input.internalDate) : undefined);
          return { mailbox: input.mailbox, ...r, size: bytes.length, messageId, message: new TextDecoder().decode(bytes) };
        }),
    }),
    store: operation({
      summary: 'UID STORE: add, remove or replace flags',
      input: z.object({ ...credentials, mailbox: mailboxName, uids, mode: z.enum(['add', 'remove', 'replace']).default('add'), flags: z.array(flag).max(20) }),
      output: z.object({ messages: z.array(z.object({ seq: z.number(), uid: z.number().nullable(), flags: z.array(z.string()) })) }),
      run: (ctx, input) =>
        withMailbox(ctx, input, async (s) => {
          await select(s, input.mailbox, false);
          return { messages: await uidStore(s, input.uids, input.mode, input.flags) };
        }),
    }),
    copy: operation({
      summary: 'UID COPY messages to another mailbox',
      input: z.object({ ...credentials, mailbox: mailboxName, uids, destination: z.string().min(1).max(1000) }),
      output: z.object({ method: z.string(), copyUid: z.object({ uidValidity: z.number(), source: z.string(), destination: z.string() }).nullable() }),
      run: (ctx, input) =>
        withMailbox(ctx, input, async (s) => {
          await select(s, input.mailbox, false);
          return uidCopyMove(s, input.uids, input.destination, false);
        }),
    }),
    move: operation({
      summary: 'UID MOVE messages to another mailbox (RFC 6851; COPY + EXPUNGE when MOVE is missing)',
      input: z.object({ ...credentials, mailbox: mailboxName, uids, destination: z.string().min(1).max(1000) }),
      output: z.object({ method: z.string(), copyUid: z.object({ uidValidity: z.number(), source: z.string(), destination: z.string() }).nullable() }),
      run: (ctx, input) =>
        withMailbox(ctx, input, async (s) => {
          await select(s, input.mailbox, false);
          return uidCopyMove(s, input.uids, input.destination, true);
        }),
    }),
    expunge: operation({
      primary: ['username', 'password', 'mailbox'],
      summary: 'EXPUNGE deleted messages (only the given UIDs with UIDPLUS)',
      input: z.object({ ...credentials, mailbox: mailboxName, uids: uids.optional() }),
      output: z.object({ expunged: z.array(z.number()).describe('Sequence numbers, in the order the server expunged them') }),
      run: (ctx, input) =>
        withMailbox(ctx, input, async (s) => {
          await select(s, input.mailbox, false);
          return { expunged: await expunge(s, input.uids) };
        }),
    }),
    create: operation({
      summary: 'CREATE a mailbox',
      input: z.object({ ...credentials, mailbox: z.string().min(1).max(1000).regex(/^[^\r\n\0]*$/) }),
      output: z.object({ created: z.string() }),
      run: (ctx, input) =>
        withMailbox(ctx, input, async (s) => {
          await s.ok(joinParts('CREATE', mailboxArg(input.mailbox)), 'CREATE');
          return { created: input.mailbox };
        }),
    }),
    delete: operation({
      summary: 'DELETE a mailbox',
      input: z.object({ ...credentials, mailbox: z.string().min(1).max(1000).regex(/^[^\r\n\0]*$/) }),
      output: z.object({ deleted: z.string() }),
      run: (ctx, input) =>
        withMailbox(ctx, input, async (s) => {
          await s.ok(joinParts('DELETE', mailboxArg(input.mailbox)), 'DELETE');
          return { deleted: input.mailbox };
        }),
    }),
    idle: operation({
      primary: ['username', 'password', 'mailbox'],
      summary: 'IDLE (RFC 2177): as a WebSocket session, mailbox changes and new messages as they happen; as a POST, the changes until the first one or waitMs',
      input: z.object({
        ...credentials,
        mailbox: mailboxName,
        waitMs: z.number().int().min(100).max(110_000).default(20_000).describe('POST: how long to wait for a change'),
        fetchNew: z.boolean().default(true).describe('Session: send the envelope of each message as it arrives'),
      }),
      output: z.object({
        idle: z.boolean().describe('The server offers IDLE (else NOOP polling)'),
        events: z.array(z.object({ type: z.string(), seq: z.number().optional(), count: z.number().optional(), uid: z.number().nullable().optional(), flags: z.array(z.string()).optional(), uids: z.string().optional(), text: z.string().optional() })),
        exists: z.number(),
        ended: z.enum(['client', 'server', 'time']).optional().describe('Session: who ended it'),
        fetched: z.number().optional().describe('Session: messages sent to the client'),
      }),
      maxTimeoutMs: 3_600_000,
      defaultTimeoutMs: 30_000,
      text: (r) => r.events.map((e) => `${e.type}${e.count !== undefined ? ` ${e.count}` : ''}${e.seq !== undefined ? ` #${e.seq}` : ''}`).join('\n') || 'no change',
      run: (ctx, input) =>
        withMailbox(ctx, input, async (s) => {
          if (input.waitMs > input.timeoutMs - 1000) throw InvalidInput.field('waitMs', `must leave a second of the ${input.timeoutMs} ms timeoutMs for the rest`);
          const sel = await select(s, input.mailbox, true);
          const events = await idleWait(ctx, s, input.waitMs);
          const exists = events.filter((e) => e.type === 'exists').reduce((n, e) => e.count ?? n, sel.exists);
          return { idle: s.has('IDLE'), events, exists };
        }),
      async session(ctx, input, channel) {
        const summary = await runIdleSession(ctx, input, channel);
        return { idle: true, events: [], exists: 0, ended: summary.ended, fetched: summary.fetched };
      },
    }),
  },
});
