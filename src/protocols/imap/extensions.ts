// IMAP extensions a power user reaches for: NAMESPACE (RFC 2342), QUOTA (RFC 9208), ACL (RFC 4314), SORT and THREAD
// (RFC 5256), CONDSTORE and QRESYNC (RFC 7162), and LIST RETURN (SPECIAL-USE) (RFC 6154 with RFC 5258).
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import type { ImapSession } from './client.ts';
import { asList, asNumber, asString, atoms, decodeMailboxName, fetchItems, istring, joinParts, mailbox, type ImapValue } from './codec.ts';
import { checkSet, searchKeys, type SearchCriteria } from './commands.ts';

/** Refuses, naming the capability, a command the server does not announce. */
export function need(s: ImapSession, cap: string, what: string): void {
  if (!s.has(cap)) throw new ProtocolError(`the server does not announce ${cap}, which ${what} needs`);
}

export interface Namespace {
  prefix: string;
  delimiter: string | null;
}

/** RFC 2342 NAMESPACE: personal, other users' and shared namespaces. */
export async function namespace(s: ImapSession): Promise<{ personal: Namespace[]; otherUsers: Namespace[]; shared: Namespace[] }> {
  need(s, 'NAMESPACE', 'NAMESPACE');
  const c = await s.ok(['NAMESPACE'], 'NAMESPACE');
  const d = c.data.find((x) => x.name === 'NAMESPACE');
  if (!d) throw new ProtocolError('IMAP NAMESPACE completed without a NAMESPACE response');
  const group = (v: ImapValue | undefined): Namespace[] => asList(v, 'NAMESPACE').map((n) => {
    const [prefix, delimiter] = asList(n, 'NAMESPACE entry');
    return { prefix: decodeMailboxName(asString(prefix, 'namespace prefix') ?? ''), delimiter: asString(delimiter, 'namespace delimiter') };
  });
  return { personal: group(d.values[0]), otherUsers: group(d.values[1]), shared: group(d.values[2]) };
}

export interface QuotaRoot {
  root: string;
  /** RFC 9208 5: STORAGE in KiB, MESSAGE a count, and any other resource the server names. */
  resources: { name: string; usage: number; limit: number }[];
}

/** RFC 9208 GETQUOTAROOT: the quota roots of a mailbox with each resource's usage and limit. */
export async function quotaRoot(s: ImapSession, name: string): Promise<{ roots: string[]; quotas: QuotaRoot[] }> {
  need(s, 'QUOTA', 'GETQUOTAROOT');
  const c = await s.ok(joinParts('GETQUOTAROOT', mailbox(name)), 'GETQUOTAROOT');
  const roots = c.data.filter((d) => d.name === 'QUOTAROOT').flatMap((d) => d.values.slice(1).map((v) => asString(v, 'quota root') ?? ''));
  const quotas = c.data
    .filter((d) => d.name === 'QUOTA')
    .map((d) => {
      const list = asList(d.values[1], 'QUOTA resources');
      const resources = [];
      for (let i = 0; i + 2 < list.length; i += 3) resources.push({ name: (asString(list[i]) ?? '').toUpperCase(), usage: asNumber(list[i + 1], 'quota usage'), limit: asNumber(list[i + 2], 'quota limit') });
      return { root: asString(d.values[0], 'quota root') ?? '', resources };
    });
  return { roots, quotas };
}

/** RFC 4314 rights: a-z letters from the standard set, plus the obsolete c and d. */
const RIGHTS = /^[lrswipkxteacd0-9]*$/;

/** RFC 4314 MYRIGHTS, and GETACL when the user may see it (the "a" right); SETACL/DELETEACL first when asked. */
export async function acl(
  s: ImapSession,
  name: string,
  change?: { identifier: string; rights: string | null },
): Promise<{ myRights: string; entries: { identifier: string; rights: string }[] | null }> {
  need(s, 'ACL', 'ACL');
  if (change) {
    if (change.rights !== null && !RIGHTS.test(change.rights.replace(/^[+-]/, ''))) throw InvalidInput.field('set.rights', 'must be RFC 4314 rights letters (lrswipkxtea), optionally after + or -');
    if (change.rights === null) await s.ok(joinParts('DELETEACL', mailbox(name), istring(change.identifier)), 'DELETEACL');
    else await s.ok(joinParts('SETACL', mailbox(name), istring(change.identifier), istring(change.rights)), 'SETACL');
  }
  const mine = await s.ok(joinParts('MYRIGHTS', mailbox(name)), 'MYRIGHTS');
  const myRights = asString(mine.data.find((d) => d.name === 'MYRIGHTS')?.values[1], 'MYRIGHTS') ?? '';
  if (!myRights.includes('a')) return { myRights, entries: null };
  const c = await s.ok(joinParts('GETACL', mailbox(name)), 'GETACL');
  const entries: { identifier: string; rights: string }[] = [];
  for (const d of c.data.filter((x) => x.name === 'ACL')) {
    for (let i = 1; i + 1 < d.values.length; i += 2) entries.push({ identifier: asString(d.values[i], 'ACL identifier') ?? '', rights: asString(d.values[i + 1], 'ACL rights') ?? '' });
  }
  return { myRights, entries };
}

export const SORT_KEYS = ['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO'] as const;
export type SortKey = { key: (typeof SORT_KEYS)[number]; reverse: boolean };

/** RFC 5256 UID SORT: the UIDs of the matching messages in the order of the sort keys. */
export async function uidSort(s: ImapSession, keys: SortKey[], criteria: SearchCriteria): Promise<number[]> {
  need(s, 'SORT', 'SORT');
  if (keys.some((k) => k.key.startsWith('DISPLAY')) && !s.has('SORT=DISPLAY')) throw InvalidInput.field('sort', 'DISPLAYFROM and DISPLAYTO need SORT=DISPLAY (RFC 5957), which the server does not announce');
  const { parts } = searchKeys(criteria);
  const program = keys.map((k) => `${k.reverse ? 'REVERSE ' : ''}${k.key}`).join(' ');
  const c = await s.ok(joinParts(`UID SORT (${program}) UTF-8`, parts), 'SORT');
  return c.data.filter((d) => d.name === 'SORT').flatMap((d) => d.values.map((v) => asNumber(v, 'SORT UID')));
}

export interface ThreadNode {
  /** null for a placeholder parent the server knows of but that is not in the set (RFC 5256 4: a thread with only children). */
  uid: number | null;
  children: ThreadNode[];
}

const MAX_THREAD_DEPTH = 200;

/**
 * RFC 5256 4 thread-list: "(3 6 (4 23)(44 7 96))" is 3 → 6 → two branches. A list holds a chain of UIDs, then
 * sub-lists that are the branches under the chain's last message; a list that starts with sub-lists has no known root.
 */
export function threadTree(list: ImapValue[], depth = 0): ThreadNode[] {
  if (depth > MAX_THREAD_DEPTH) throw new ProtocolError(`IMAP THREAD nests deeper than ${MAX_THREAD_DEPTH}`);
  let i = 0;
  const chain: ThreadNode[] = [];
  while (i < list.length && list[i].type === 'atom') chain.push({ uid: asNumber(list[i++], 'THREAD UID'), children: [] });
  const branches = list.slice(i).flatMap((v) => threadTree(asList(v, 'THREAD branch'), depth + 1));
  if (chain.length === 0) return branches.length === 1 ? branches : [{ uid: null, children: branches }];
  for (let k = 0; k + 1 < chain.length; k++) chain[k].children.push(chain[k + 1]);
  chain[chain.length - 1].children.push(...branches);
  return [chain[0]];
}

/** RFC 5256 UID THREAD: the conversations of the matching messages, by REFERENCES or ORDEREDSUBJECT. */
export async function uidThread(s: ImapSession, algorithm: 'REFERENCES' | 'ORDEREDSUBJECT', criteria: SearchCriteria): Promise<ThreadNode[]> {
  need(s, `THREAD=${algorithm}`, `THREAD ${algorithm}`);
  const { parts } = searchKeys(criteria);
  const c = await s.ok(joinParts(`UID THREAD ${algorithm} UTF-8`, parts), 'THREAD');
  return c.data.filter((d) => d.name === 'THREAD').flatMap((d) => d.values.flatMap((v) => threadTree(asList(v, 'THREAD'))));
}

export interface Changes {
  highestModSeq: number | null;
  uidValidity: number | null;
  /** The known UIDVALIDITY no longer holds: every UID the client has is void, nothing here is a delta. */
  uidValidityChanged: boolean;
  changed: { uid: number; modSeq: number; flags: string[] }[];
  /** UIDs expunged since the given mod-sequence (QRESYNC VANISHED (EARLIER)), as the server's set. */
  vanished: string | null;
  method: string;
}

/**
 * RFC 7162: what changed in a mailbox since a mod-sequence. With QRESYNC, ENABLE QRESYNC and SELECT (QRESYNC (...))
 * give flag changes and VANISHED (EARLIER) expunges in one round trip; with CONDSTORE alone, UID FETCH CHANGEDSINCE
 * gives the flag changes and expunges stay unknown.
 */
export async function changesSince(s: ImapSession, name: string, since: { modSeq: number; uidValidity?: number; uids?: string }): Promise<Changes> {
  const out: Changes = { highestModSeq: null, uidValidity: null, uidValidityChanged: false, changed: [], vanished: null, method: '' };
  const collect = (data: { name: string; values: ImapValue[] }[]) => {
    for (const d of data) {
      if (d.name === 'FETCH') {
        const items = fetchItems(d.values);
        const uid = items.get('UID');
        const modseq = items.get('MODSEQ');
        if (!uid || !modseq) continue;
        out.changed.push({ uid: asNumber(uid, 'UID'), modSeq: asNumber(asList(modseq, 'MODSEQ')[0], 'MODSEQ'), flags: atoms(items.get('FLAGS'), 'FLAGS') });
      } else if (d.name === 'VANISHED') {
        const set = d.values.at(-1);
        const text = asString(set, 'VANISHED') ?? '';
        out.vanished = out.vanished ? `${out.vanished},${text}` : text;
      }
    }
  };
  const noteSelect = (notices: { code: { name: string; values: ImapValue[] } | null }[]) => {
    for (const n of notices) {
      if (n.code?.name === 'HIGHESTMODSEQ') out.highestModSeq = asNumber(n.code.values[0], 'HIGHESTMODSEQ');
      else if (n.code?.name === 'UIDVALIDITY') out.uidValidity = asNumber(n.code.values[0], 'UIDVALIDITY');
      else if (n.code?.name === 'NOMODSEQ') throw new ProtocolError(`the mailbox ${name} keeps no mod-sequences (NOMODSEQ)`);
    }
  };
  if (s.has('QRESYNC') && since.uidValidity !== undefined) {
    await s.ok(['ENABLE QRESYNC'], 'ENABLE');
    const known = since.uids !== undefined ? ` ${checkSet(since.uids, 'uids')}` : '';
    const c = await s.ok(joinParts('EXAMINE', mailbox(name), `(QRESYNC (${since.uidValidity} ${since.modSeq}${known}))`), 'EXAMINE');
    noteSelect(c.notices);
    out.uidValidityChanged = out.uidValidity !== since.uidValidity;
    // RFC 7162 3.2.5.2: with a changed UIDVALIDITY the server sends no delta.
    if (!out.uidValidityChanged) collect(c.data);
    out.method = 'ENABLE QRESYNC + EXAMINE (QRESYNC)';
    return out;
  }
  need(s, 'CONDSTORE', 'a mod-sequence query');
  const c = await s.ok(joinParts('EXAMINE', mailbox(name), '(CONDSTORE)'), 'EXAMINE');
  noteSelect(c.notices);
  if (since.uidValidity !== undefined && out.uidValidity !== since.uidValidity) {
    out.uidValidityChanged = true;
    out.method = 'EXAMINE (CONDSTORE)';
    return out;
  }
  const f = await s.ok([`UID FETCH ${since.uids !== undefined ? checkSet(since.uids, 'uids') : '1:*'} (UID FLAGS MODSEQ) (CHANGEDSINCE ${since.modSeq})`], 'FETCH');
  collect(f.data);
  out.method = 'EXAMINE (CONDSTORE) + UID FETCH CHANGEDSINCE';
  return out;
}

/** RFC 6154 with RFC 5258: LIST "" "*" RETURN (SPECIAL-USE), or only the special-use mailboxes. */
export async function listSpecialUse(s: ImapSession, onlySpecial: boolean): Promise<{ name: string; attributes: string[] }[]> {
  need(s, 'SPECIAL-USE', 'LIST (SPECIAL-USE)');
  const c = await s.ok([onlySpecial ? 'LIST (SPECIAL-USE) "" "*"' : 'LIST "" "*" RETURN (SPECIAL-USE)'], 'LIST');
  return c.data.filter((d) => d.name === 'LIST').map((d) => ({ name: decodeMailboxName(asString(d.values[2], 'mailbox name') ?? ''), attributes: atoms(d.values[0], 'LIST attributes') }));
}
