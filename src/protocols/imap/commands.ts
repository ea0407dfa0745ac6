// IMAP mailbox commands, RFC 9051 6.3-6.4: SELECT/EXAMINE, LIST (with RFC 6154 special-use attributes), STATUS,
// UID SEARCH, UID FETCH, APPEND (UIDPLUS RFC 4315 APPENDUID), UID STORE, UID COPY/MOVE (RFC 6851), UID EXPUNGE.
import { fromUtf8, toBase64 } from '../../core/bytes.ts';
import { InvalidInput, ProtocolError, ServerError } from '../../core/errors.ts';
import type { DownloadTarget, FileInfo } from '../../core/files.ts';
import { commandError, type ImapSession } from './client.ts';
import {
  asBytes,
  asList,
  asNumber,
  asString,
  atoms,
  decodeMailboxName,
  fetchItems,
  istring,
  joinParts,
  mailbox,
  parseBodyStructure,
  parseEnvelope,
  SEQUENCE_SET,
  type BodyPart,
  type CommandPart,
  type Envelope,
  type ImapValue,
} from './codec.ts';

export interface Selected {
  mailbox: string;
  readOnly: boolean;
  exists: number;
  recent: number;
  flags: string[];
  permanentFlags: string[];
  uidValidity: number | null;
  uidNext: number | null;
  firstUnseen: number | null;
  highestModSeq: number | null;
}

/** RFC 9051 6.3.2/6.3.3: SELECT or EXAMINE, with what the server reports about the mailbox. */
export async function select(s: ImapSession, name: string, readOnly: boolean): Promise<Selected> {
  const c = await s.ok(joinParts(readOnly ? 'EXAMINE' : 'SELECT', mailbox(name)), readOnly ? 'EXAMINE' : 'SELECT');
  const out: Selected = { mailbox: name, readOnly: c.status.code?.name === 'READ-ONLY' || readOnly, exists: 0, recent: 0, flags: [], permanentFlags: [], uidValidity: null, uidNext: null, firstUnseen: null, highestModSeq: null };
  for (const d of c.data) {
    if (d.name === 'EXISTS' && d.number !== null) out.exists = d.number;
    else if (d.name === 'RECENT' && d.number !== null) out.recent = d.number;
    else if (d.name === 'FLAGS') out.flags = atoms(d.values[0], 'FLAGS');
  }
  for (const n of c.notices) {
    const code = n.code;
    if (!code) continue;
    if (code.name === 'PERMANENTFLAGS') out.permanentFlags = atoms(code.values[0], 'PERMANENTFLAGS');
    else if (code.name === 'UIDVALIDITY') out.uidValidity = asNumber(code.values[0], 'UIDVALIDITY');
    else if (code.name === 'UIDNEXT') out.uidNext = asNumber(code.values[0], 'UIDNEXT');
    else if (code.name === 'UNSEEN') out.firstUnseen = asNumber(code.values[0], 'UNSEEN');
    else if (code.name === 'HIGHESTMODSEQ') out.highestModSeq = asNumber(code.values[0], 'HIGHESTMODSEQ');
  }
  return out;
}

export interface ListedMailbox {
  name: string;
  /** The name as the server sent it (modified UTF-7). */
  rawName: string;
  delimiter: string | null;
  attributes: string[];
}

/** RFC 9051 6.3.9 LIST reference pattern; names decoded from modified UTF-7. */
export async function list(s: ImapSession, reference: string, pattern: string): Promise<ListedMailbox[]> {
  const c = await s.ok(joinParts('LIST', istring(reference), istring(pattern)), 'LIST');
  return c.data
    .filter((d) => d.name === 'LIST')
    .map((d) => {
      const raw = asString(d.values[2], 'mailbox name') ?? '';
      return { name: decodeMailboxName(raw), rawName: raw, delimiter: asString(d.values[1]), attributes: atoms(d.values[0], 'LIST attributes') };
    });
}

export const STATUS_ITEMS = ['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN'] as const;

export type MailboxStatus = Partial<Record<'messages' | 'recent' | 'uidNext' | 'uidValidity' | 'unseen' | 'size' | 'highestModSeq', number>>;

const STATUS_KEYS: Record<string, keyof MailboxStatus> = {
  MESSAGES: 'messages',
  RECENT: 'recent',
  UIDNEXT: 'uidNext',
  UIDVALIDITY: 'uidValidity',
  UNSEEN: 'unseen',
  SIZE: 'size',
  HIGHESTMODSEQ: 'highestModSeq',
};

/** RFC 9051 6.3.11 STATUS. */
export async function status(s: ImapSession, name: string): Promise<MailboxStatus> {
  const items: string[] = [...STATUS_ITEMS];
  if (s.has('IMAP4REV2') || s.has('STATUS=SIZE')) items.push('SIZE');
  if (s.has('CONDSTORE')) items.push('HIGHESTMODSEQ');
  const c = await s.ok(joinParts('STATUS', mailbox(name), `(${items.join(' ')})`), 'STATUS');
  const d = c.data.find((x) => x.name === 'STATUS');
  if (!d) throw new ProtocolError('IMAP STATUS completed without a STATUS response');
  const v = asList(d.values[1], 'STATUS items');
  const out: MailboxStatus = {};
  for (let i = 0; i + 1 < v.length; i += 2) {
    const key = STATUS_KEYS[(asString(v[i]) ?? '').toUpperCase()];
    if (key) out[key] = asNumber(v[i + 1], 'STATUS value');
  }
  return out;
}

export interface SearchCriteria {
  from?: string;
  to?: string;
  cc?: string;
  bcc?: string;
  subject?: string;
  body?: string;
  text?: string;
  header?: { name: string; value: string }[];
  since?: string;
  before?: string;
  on?: string;
  sentSince?: string;
  sentBefore?: string;
  seen?: boolean;
  answered?: boolean;
  flagged?: boolean;
  deleted?: boolean;
  draft?: boolean;
  keyword?: string;
  larger?: number;
  smaller?: number;
  uid?: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 9051 9 date: d-Mon-yyyy, from YYYY-MM-DD. */
export function imapDate(iso: string, field: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12 || Number(m[3]) < 1 || Number(m[3]) > 31) throw InvalidInput.field(field, 'must be a date like 2026-01-31');
  return `${Number(m[3])}-${MONTHS[Number(m[2]) - 1]}-${m[1]}`;
}

/** The search keys of RFC 9051 6.4.4 from fields, ANDed; ALL when none. Non-ASCII needs CHARSET UTF-8. */
export function searchKeys(c: SearchCriteria): { parts: CommandPart[]; utf8: boolean } {
  const keys: CommandPart[][] = [];
  let nonAscii = false;
  const str = (v: string) => {
    if (/[^\x20-\x7e]/.test(v)) nonAscii = true;
    return istring(v);
  };
  const pairs: [keyof SearchCriteria, string][] = [['from', 'FROM'], ['to', 'TO'], ['cc', 'CC'], ['bcc', 'BCC'], ['subject', 'SUBJECT'], ['body', 'BODY'], ['text', 'TEXT']];
  for (const [field, key] of pairs) if (c[field] !== undefined) keys.push([`${key} `, ...str(c[field] as string)]);
  for (const [i, h] of (c.header ?? []).entries()) {
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(h.name)) throw InvalidInput.field(`header.${i}.name`, 'is not a header field name');
    keys.push(['HEADER ', ...str(h.name), ' ', ...str(h.value)]);
  }
  const dates: [keyof SearchCriteria, string][] = [['since', 'SINCE'], ['before', 'BEFORE'], ['on', 'ON'], ['sentSince', 'SENTSINCE'], ['sentBefore', 'SENTBEFORE']];
  for (const [field, key] of dates) if (c[field] !== undefined) keys.push([`${key} ${imapDate(c[field] as string, field)}`]);
  const flags: [keyof SearchCriteria, string, string][] = [['seen', 'SEEN', 'UNSEEN'], ['answered', 'ANSWERED', 'UNANSWERED'], ['flagged', 'FLAGGED', 'UNFLAGGED'], ['deleted', 'DELETED', 'UNDELETED'], ['draft', 'DRAFT', 'UNDRAFT']];
  for (const [field, yes, no] of flags) if (c[field] !== undefined) keys.push([c[field] ? yes : no]);
  if (c.keyword !== undefined) {
    if (!/^[^\s(){%*"\\\]]+$/.test(c.keyword)) throw InvalidInput.field('keyword', 'is not an IMAP keyword atom');
    keys.push([`KEYWORD ${c.keyword}`]);
  }
  if (c.larger !== undefined) keys.push([`LARGER ${c.larger}`]);
  if (c.smaller !== undefined) keys.push([`SMALLER ${c.smaller}`]);
  if (c.uid !== undefined) keys.push([`UID ${checkSet(c.uid, 'uid')}`]);
  if (keys.length === 0) keys.push(['ALL']);
  return { parts: joinParts(...keys), utf8: nonAscii };
}

export function checkSet(set: string, field: string): string {
  if (!SEQUENCE_SET.test(set) || set.length > 4096) throw InvalidInput.field(field, 'must be a set like 1:5,7,9:* (RFC 9051 sequence-set)');
  return set;
}

/** UID SEARCH; the UIDs ascending. */
export async function uidSearch(s: ImapSession, c: SearchCriteria): Promise<number[]> {
  const { parts, utf8 } = searchKeys(c);
  const cmd = joinParts('UID SEARCH', utf8 ? 'CHARSET UTF-8' : [], parts);
  const done = await s.ok(cmd, 'SEARCH');
  const uids: number[] = [];
  for (const d of done.data) {
    if (d.name === 'SEARCH') for (const v of d.values) if (v.type === 'atom' && /^\d+$/.test(v.value)) uids.push(Number(v.value));
  }
  return uids.sort((a, b) => a - b);
}

export interface FetchRequest {
  envelope: boolean;
  flags: boolean;
  bodyStructure: boolean;
  internalDate: boolean;
  size: boolean;
  /** none | full | header | text | a part number such as 2 or 1.2, optionally with .HEADER/.TEXT/.MIME */
  body: string;
  partial?: { offset: number; length: number };
}

export interface FetchedBody {
  section: string;
  /** Where a partial fetch started. */
  origin: number | null;
  size: number;
  text?: string;
  base64?: string;
  bytes: Uint8Array;
}

export interface FetchedMessage {
  seq: number;
  uid: number | null;
  flags?: string[];
  internalDate?: string | null;
  size?: number;
  envelope?: Envelope;
  bodyStructure?: BodyPart;
  body?: FetchedBody | null;
}

const SECTION = /^(?:full|header|text|none|\d+(?:\.\d+)*(?:\.(?:HEADER|TEXT|MIME))?)$/i;

export function sectionSpec(body: string): string | null {
  if (!SECTION.test(body)) throw InvalidInput.field('body', 'must be none, full, header, text or a part number like 2 or 1.2 (optionally .HEADER, .TEXT, .MIME)');
  const b = body.toLowerCase();
  if (b === 'none') return null;
  if (b === 'full') return '';
  if (b === 'header' || b === 'text') return b.toUpperCase();
  return body.toUpperCase();
}

/** UID FETCH with the items asked for; BODY.PEEK so \Seen is left alone. */
export async function uidFetch(s: ImapSession, set: string, req: FetchRequest): Promise<FetchedMessage[]> {
  const items = ['UID'];
  if (req.flags) items.push('FLAGS');
  if (req.internalDate) items.push('INTERNALDATE');
  if (req.size) items.push('RFC822.SIZE');
  if (req.envelope) items.push('ENVELOPE');
  if (req.bodyStructure) items.push('BODYSTRUCTURE');
  const section = sectionSpec(req.body);
  if (section !== null) items.push(`BODY.PEEK[${section}]${req.partial ? `<${req.partial.offset}.${req.partial.length}>` : ''}`);
  const c = await s.ok(joinParts('UID FETCH', checkSet(set, 'uids'), `(${items.join(' ')})`), 'FETCH');
  const out: FetchedMessage[] = [];
  for (const d of c.data) {
    if (d.name !== 'FETCH' || d.number === null) continue;
    const m = fetchItems(d.values);
    const msg: FetchedMessage = { seq: d.number, uid: m.has('UID') ? asNumber(m.get('UID'), 'UID') : null };
    if (req.flags && m.has('FLAGS')) msg.flags = atoms(m.get('FLAGS'), 'FLAGS');
    if (req.internalDate && m.has('INTERNALDATE')) msg.internalDate = asString(m.get('INTERNALDATE'));
    if (req.size && m.has('RFC822.SIZE')) msg.size = asNumber(m.get('RFC822.SIZE'), 'RFC822.SIZE');
    if (req.envelope && m.has('ENVELOPE')) msg.envelope = parseEnvelope(m.get('ENVELOPE')!);
    if (req.bodyStructure && m.has('BODYSTRUCTURE')) msg.bodyStructure = parseBodyStructure(m.get('BODYSTRUCTURE')!);
    if (section !== null) msg.body = bodyOf(m, section);
    out.push(msg);
  }
  return out;
}

function bodyOf(m: Map<string, ImapValue>, section: string): FetchedBody | null {
  for (const [key, value] of m) {
    const k = /^BODY\[([^\]]*)\](?:<(\d+)>)?$/.exec(key);
    if (!k || k[1] !== section) continue;
    const bytes = asBytes(value, 'BODY');
    if (bytes === null) return null;
    return { section, origin: k[2] !== undefined ? Number(k[2]) : null, size: bytes.length, bytes };
  }
  return null;
}

/** The part of a BODYSTRUCTURE tree with this section number ("2", "1.2"), or null. */
export function findPart(tree: BodyPart, section: string): BodyPart | null {
  if (tree.section === section && tree.parts === null) return tree;
  for (const p of tree.parts ?? []) {
    const found = findPart(p, section);
    if (found) return found;
  }
  return tree.section === section ? tree : null;
}

/**
 * One message (`body: full`, as an .eml file) or one MIME part (decoded: BINARY, RFC 3516) of the message
 * `uid`, streamed to the download; its name, type, size and date from the message's BODYSTRUCTURE,
 * RFC822.SIZE and INTERNALDATE, before the first byte. Returns the section and its size.
 */
export async function downloadSection(s: ImapSession, uid: number, body: string, download: DownloadTarget): Promise<{ section: string; size: number; seq: number }> {
  const section = sectionSpec(body);
  if (section === null || !/^(\d+(\.\d+)*)?$/.test(section)) throw InvalidInput.field('body', 'a download is the whole message (full) or one part (a number like 2 or 1.2)');
  const [meta] = await uidFetch(s, String(uid), { envelope: false, flags: false, bodyStructure: section !== '', internalDate: true, size: true, body: 'none' });
  if (!meta) throw new ServerError(`no message with UID ${uid} in the mailbox`, { uid });
  const modified = meta.internalDate ? parseInternalDate(meta.internalDate) : null;
  let info: FileInfo;
  let item: string;
  if (section === '') {
    info = { name: `${uid}.eml`, size: meta.size ?? null, modified, contentType: 'message/rfc822', meta: { uid } };
    item = 'BODY.PEEK[]';
  } else {
    const part = meta.bodyStructure ? findPart(meta.bodyStructure, section) : null;
    if (!part || part.parts) throw new ServerError(`message ${uid} has no part ${section}`, { uid, section });
    const encoding = (part.encoding ?? '7bit').toLowerCase();
    const decoded = s.has('BINARY');
    // Without BINARY only an identity-encoded part arrives as its own bytes.
    if (!decoded && !['7bit', '8bit', 'binary'].includes(encoding)) throw new ServerError(`the server has no BINARY (RFC 3516) to decode part ${section} (${encoding}): download the whole message (body: full) instead`, { uid, section, encoding });
    const name = part.disposition?.params.filename ?? part.params.name ?? `${uid}-part-${section}.${part.subtype.toLowerCase() === 'plain' ? 'txt' : part.subtype.toLowerCase()}`;
    info = { name, size: null, modified, contentType: `${part.type}/${part.subtype}`.toLowerCase(), meta: { uid, section, encoding } };
    item = decoded ? `BINARY.PEEK[${section}]` : `BODY.PEEK[${section}]`;
  }
  // The literal's size is the section's: the file's length, known before its first byte.
  const size = await s.fetchSection(uid, item, (n) => download.begin({ ...info, size: n }));
  if (size === null) throw new ServerError(`the server sent no ${item.replace('.PEEK', '')} for UID ${uid}`, { uid, section });
  return { section, size, seq: meta.seq };
}

/** Text when the bytes are UTF-8, base64 otherwise; the raw bytes are dropped. */
export function presentBody(b: FetchedBody): Omit<FetchedBody, 'bytes'> {
  const { bytes, ...rest } = b;
  try {
    return { ...rest, text: fromUtf8(bytes, true) };
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    return { ...rest, base64: toBase64(bytes) };
  }
}

const FLAG = /^\\?[^\s(){%*"\\\]]+$/;

export function checkFlags(flags: string[], field = 'flags'): string[] {
  flags.forEach((f, i) => {
    if (!FLAG.test(f)) throw InvalidInput.field(`${field}.${i}`, 'is not a flag like \\Seen or a keyword atom');
  });
  return flags;
}

/** RFC 9051 date-time ("17-Jul-1996 02:44:25 -0700", the day maybe space-padded) as ISO 8601 UTC, or null. */
export function parseInternalDate(text: string): string | null {
  const m = /^\s?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/.exec(text);
  const month = m ? MONTHS.findIndex((x) => x.toLowerCase() === m[2].toLowerCase()) : -1;
  if (!m || month < 0) return null;
  const zone = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  return new Date(Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])) - zone * 60_000).toISOString();
}

/** RFC 9051 9 date-time for APPEND: "dd-Mon-yyyy hh:mm:ss +zzzz". */
export function internalDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `"${p(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000"`;
}

/** RFC 9051 6.3.12 APPEND with a literal; UIDPLUS gives [APPENDUID uidvalidity uid]. */
export async function append(s: ImapSession, name: string, message: Uint8Array, flags: string[], date?: Date): Promise<{ uidValidity: number | null; uid: number | null }> {
  const parts = joinParts('APPEND', mailbox(name), flags.length ? `(${checkFlags(flags).join(' ')})` : [], date ? internalDate(date) : [], [message]);
  const c = await s.run(parts, { decode: `APPEND ${name}${flags.length ? ` (${flags.join(' ')})` : ''} {${message.length}}` });
  if (c.status.status !== 'OK') throw commandError('APPEND', c.status);
  const code = c.status.code;
  if (code?.name === 'APPENDUID' && code.values.length >= 2) return { uidValidity: asNumber(code.values[0]), uid: asNumber(code.values[1]) };
  return { uidValidity: null, uid: null };
}

/** RFC 9051 6.4.6 UID STORE; the flags the server reports back per message. */
export async function uidStore(s: ImapSession, set: string, mode: 'add' | 'remove' | 'replace', flags: string[]): Promise<{ uid: number | null; seq: number; flags: string[] }[]> {
  const op = mode === 'add' ? '+FLAGS' : mode === 'remove' ? '-FLAGS' : 'FLAGS';
  const c = await s.ok(joinParts('UID STORE', checkSet(set, 'uids'), op, `(${checkFlags(flags).join(' ')})`), 'STORE');
  return c.data
    .filter((d) => d.name === 'FETCH' && d.number !== null)
    .map((d) => {
      const m = fetchItems(d.values);
      return { seq: d.number!, uid: m.has('UID') ? asNumber(m.get('UID')) : null, flags: atoms(m.get('FLAGS'), 'FLAGS') };
    });
}

export interface CopyUid {
  uidValidity: number;
  source: string;
  destination: string;
}

function copyUid(code: { name: string; values: ImapValue[] } | null | undefined): CopyUid | null {
  if (code?.name !== 'COPYUID' || code.values.length < 3) return null;
  return { uidValidity: asNumber(code.values[0]), source: asString(code.values[1]) ?? '', destination: asString(code.values[2]) ?? '' };
}

/** UID COPY or UID MOVE (RFC 6851); MOVE without the extension is COPY + \Deleted + UID EXPUNGE. */
export async function uidCopyMove(s: ImapSession, set: string, destination: string, move: boolean): Promise<{ copyUid: CopyUid | null; method: string }> {
  checkSet(set, 'uids');
  if (move && s.has('MOVE')) {
    const c = await s.ok(joinParts('UID MOVE', set, mailbox(destination)), 'MOVE');
    // RFC 6851 4.3: COPYUID comes in an untagged OK before the expunges (or on the tagged OK).
    const code = copyUid(c.notices.find((n) => n.code?.name === 'COPYUID')?.code) ?? copyUid(c.status.code);
    return { copyUid: code, method: 'UID MOVE' };
  }
  const c = await s.ok(joinParts('UID COPY', set, mailbox(destination)), 'COPY');
  const code = copyUid(c.status.code);
  if (!move) return { copyUid: code, method: 'UID COPY' };
  if (!s.has('UIDPLUS')) throw new ProtocolError('the server has neither MOVE nor UIDPLUS: cannot move without expunging other deleted messages');
  await uidStore(s, set, 'add', ['\\Deleted']);
  await s.ok(joinParts('UID EXPUNGE', set), 'EXPUNGE');
  return { copyUid: code, method: 'UID COPY + STORE \\Deleted + UID EXPUNGE' };
}

/** EXPUNGE, or UID EXPUNGE of a set (RFC 4315 2.1); the expunged sequence numbers in order. */
export async function expunge(s: ImapSession, set: string | undefined): Promise<number[]> {
  if (set !== undefined && !s.has('UIDPLUS')) throw InvalidInput.field('uids', 'the server lacks UIDPLUS, so only a full EXPUNGE is possible');
  const c = await s.ok(set !== undefined ? joinParts('UID EXPUNGE', checkSet(set, 'uids')) : ['EXPUNGE'], 'EXPUNGE');
  return c.data.filter((d) => d.name === 'EXPUNGE' && d.number !== null).map((d) => d.number!);
}
