// FTP directory listings: RFC 3659 §7 (MLSD/MLST facts) and the de-facto LIST formats of RFC 959 §4.1.3 (Unix `ls -l`, DOS/IIS).
//
// How it works: a listing is read whole from the data connection (capped by the caller), split into
// lines (CRLF or LF) and decoded as UTF-8 (RFC 2640). MLSD lines have one fixed grammar. LIST lines have
// none: each line is tried as Unix `ls -l`, then as DOS; `total N` lines are skipped and a line neither
// parser accepts is returned in `unparsed`, never guessed at. Nothing here throws on odd input.
import { fromUtf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { parseTimeVal } from './codec.ts';

export type EntryType = 'file' | 'dir' | 'link' | 'other';

export interface ListEntry {
  name: string;
  type: EntryType;
  /** Bytes, when the listing gives them (never for DOS directories, devices or MLSD entries without `size`). */
  size: number | null;
  /**
   * When the entry was last modified: ISO 8601 in UTC with `Z` from MLSD/MDTM; from LIST, the server's
   * local wall-clock time without a zone, to the minute (or to the day for Unix entries older than six months).
   */
  modified: string | null;
  /** Unix mode string (`rwxr-xr-x`) from LIST, or the MLSD `UNIX.mode` fact. */
  permissions?: string;
  owner?: string;
  group?: string;
  /** Where a symbolic link points. */
  target?: string;
  /** RFC 3659 §7.5.5 `perm`: what this user may do (a append, c create, d delete, e enter, f rename, l list, m mkdir, p purge, r retrieve, w store). */
  perm?: string;
  /** RFC 3659 §7.5.2 `unique`: the server's identifier of the file (the same file under two names has one). */
  unique?: string;
  /** Every MLSD fact, names lower-cased (RFC 3659 §7.1: fact names are case-insensitive). */
  facts?: Record<string, string>;
}

export type ListingFormat = 'mlsd' | 'unix' | 'dos' | 'names' | 'empty' | 'unknown';

export interface Listing {
  format: ListingFormat;
  entries: ListEntry[];
  /** Lines that no parser understood, as sent. */
  unparsed: string[];
  /** More entries than the cap were listed. */
  truncated: boolean;
}

/** Most entries returned from one listing. */
export const MAX_ENTRIES = 20_000;
/** Longest listing line considered; longer lines go to `unparsed`, cut. */
const MAX_LINE = 8192;

/** Splits listing bytes into lines (CRLF or bare LF), decoding each as UTF-8. */
export function listingLines(bytes: Uint8Array): string[] {
  const lines: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let at = bytes.indexOf(0x0a, start);
    if (at === -1) at = bytes.length;
    let end = at;
    if (end > start && bytes[end - 1] === 0x0d) end--;
    if (end > start) lines.push(fromUtf8(bytes.subarray(start, Math.min(end, start + MAX_LINE))));
    start = at + 1;
  }
  return lines;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/**
 * `ls -l` shows `Mmm dd HH:MM` for recent entries: the year is the one that puts the date in the past
 * (a day of slack for clock and time-zone differences), as ls itself decides.
 */
function unixDate(monthName: string, day: number, timeOrYear: string, now: Date): string | null {
  const month = MONTHS.indexOf(monthName.toLowerCase());
  if (month === -1 || day < 1 || day > 31) return null;
  if (/^\d{4}$/.test(timeOrYear)) return `${timeOrYear}-${pad(month + 1)}-${pad(day)}`;
  const [h, m] = timeOrYear.split(':').map(Number);
  if (h > 23 || m > 59) return null;
  let year = now.getUTCFullYear();
  if (Date.UTC(year, month, day, h, m) > now.getTime() + 86_400_000) year--;
  return `${year}-${pad(month + 1)}-${pad(day)}T${pad(h)}:${pad(m)}`;
}

// type, 9 mode chars, optional ACL/xattr marker, links, owner, optional group, size (or "major, minor"), date, one space, name.
const UNIX_LINE =
  /^([-bcdDlps])([-rwxsStTlL]{9})[+@.]?\s+(\d+)\s+(\S+)\s+(?:(\S+)\s+)?(\d+|\d+,\s*\d+)\s+([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}:\d{2}|\d{4})\s(.+)$/;

/** One `ls -l` line (the format most LIST replies use), or null when the line is not one. */
export function parseUnixLine(line: string, now: Date): ListEntry | null {
  const m = UNIX_LINE.exec(line);
  if (!m) return null;
  const [, kind, mode, , owner, group, size, month, day, timeOrYear, rest] = m;
  const modified = unixDate(month, Number(day), timeOrYear, now);
  if (modified === null) return null;
  const type: EntryType = kind === '-' ? 'file' : kind === 'd' ? 'dir' : kind === 'l' ? 'link' : 'other';
  let name = rest;
  let target: string | undefined;
  if (type === 'link') {
    const arrow = rest.indexOf(' -> ');
    if (arrow !== -1) {
      name = rest.slice(0, arrow);
      target = rest.slice(arrow + 4);
    }
  }
  const entry: ListEntry = { name, type, size: /^\d+$/.test(size) ? Number(size) : null, modified, permissions: mode, owner };
  if (group !== undefined) entry.group = group;
  if (target !== undefined) entry.target = target;
  return entry;
}

// MM-DD-YY[YY]  HH:MM[AM|PM]  <DIR>|size  name  (IIS and other DOS-style servers)
const DOS_LINE = /^(\d{2})-(\d{2})-(\d{2}|\d{4})\s+(\d{1,2}):(\d{2})\s*([AaPp][Mm])?\s+(<DIR>|\d+)\s+(.+)$/;

/** One DOS-style line, or null. */
export function parseDosLine(line: string): ListEntry | null {
  const m = DOS_LINE.exec(line);
  if (!m) return null;
  const [, mm, dd, yy, hh, mi, ampm, sizeOrDir, name] = m;
  const month = Number(mm);
  const day = Number(dd);
  let hour = Number(hh);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(mi) > 59) return null;
  if (ampm) {
    if (hour < 1 || hour > 12) return null;
    hour = (hour % 12) + (ampm.toUpperCase() === 'PM' ? 12 : 0);
  } else if (hour > 23) return null;
  // Two-digit years: 70–99 are 19xx, 00–69 are 20xx (the POSIX strptime %y rule).
  const year = yy.length === 4 ? Number(yy) : Number(yy) + (Number(yy) < 70 ? 2000 : 1900);
  const dir = sizeOrDir === '<DIR>';
  return {
    name,
    type: dir ? 'dir' : 'file',
    size: dir ? null : Number(sizeOrDir),
    modified: `${year}-${pad(month)}-${pad(day)}T${pad(hour)}:${mi}`,
  };
}

/** LIST output: Unix or DOS lines (whichever each line is), `total N` skipped, the rest kept as unparsed. */
export function parseList(bytes: Uint8Array, now: Date, maxEntries = MAX_ENTRIES): Listing {
  const entries: ListEntry[] = [];
  const unparsed: string[] = [];
  let unix = 0;
  let dos = 0;
  let truncated = false;
  for (const line of listingLines(bytes)) {
    if (/^total\s+\d+\s*$/i.test(line)) continue;
    const asUnix = parseUnixLine(line, now);
    const entry = asUnix ?? parseDosLine(line);
    if (entry === null) {
      if (unparsed.length < 1000) unparsed.push(line.slice(0, 512));
      continue;
    }
    if (entry.name === '.' || entry.name === '..') continue;
    if (asUnix) unix++;
    else dos++;
    if (entries.length >= maxEntries) {
      truncated = true;
      continue;
    }
    entries.push(entry);
  }
  const format: ListingFormat = unix + dos === 0 ? (unparsed.length === 0 ? 'empty' : 'unknown') : unix >= dos ? 'unix' : 'dos';
  return { format, entries, unparsed, truncated };
}

/** NLST output: one name per line (RFC 959 §4.1.3). */
export function parseNames(bytes: Uint8Array, maxEntries = MAX_ENTRIES): Listing {
  const lines = listingLines(bytes);
  const entries = lines.slice(0, maxEntries).map((name): ListEntry => ({ name, type: 'other', size: null, modified: null }));
  return { format: lines.length === 0 ? 'empty' : 'names', entries, unparsed: [], truncated: lines.length > maxEntries };
}

function mlsxTypeOf(value: string | undefined, facts: Record<string, string>): EntryType | 'cdir' | 'pdir' {
  const v = (value ?? '').toLowerCase();
  if (v === 'file') return 'file';
  if (v === 'dir') return 'dir';
  if (v === 'cdir' || v === 'pdir') return v;
  // RFC 3659 §7.5.1 allows OS-specific types: OS.unix=slink:<target> (ProFTPD), OS.unix=symlink (Pure-FTPd).
  if (v.startsWith('os.unix=slink') || v.startsWith('os.unix=symlink')) {
    const colon = (value ?? '').indexOf(':');
    if (colon !== -1 && colon + 1 < (value ?? '').length) facts['os.unix.target'] = (value ?? '').slice(colon + 1);
    return 'link';
  }
  return 'other';
}

/**
 * One MLSD line, or the fact line of an MLST reply without its leading space. RFC 3659 §7.2: `*( fact ";" ) SP pathname`,
 * fact = factname "=" value. Throws ProtocolError when there is no space before the name.
 */
export function parseFactLine(line: string): ListEntry & { mlsxType: EntryType | 'cdir' | 'pdir' } {
  const space = line.indexOf(' ');
  if (space === -1) throw new ProtocolError(`MLSx line has no space before the name: ${JSON.stringify(line.slice(0, 120))}`);
  const facts = Object.create(null) as Record<string, string>;
  for (const fact of line.slice(0, space).split(';')) {
    if (fact === '') continue;
    const eq = fact.indexOf('=');
    if (eq <= 0) throw new ProtocolError(`MLSx fact ${JSON.stringify(fact.slice(0, 60))} is not name=value`);
    if (Object.keys(facts).length >= 64) throw new ProtocolError('MLSx line has more than 64 facts');
    facts[fact.slice(0, eq).toLowerCase()] = fact.slice(eq + 1);
  }
  const name = line.slice(space + 1);
  const mlsxType = mlsxTypeOf(facts.type, facts);
  const size = facts.size ?? facts.sizd;
  const entry: ListEntry & { mlsxType: EntryType | 'cdir' | 'pdir' } = {
    name,
    type: mlsxType === 'cdir' || mlsxType === 'pdir' ? 'dir' : mlsxType,
    size: size !== undefined && /^\d{1,16}$/.test(size) ? Number(size) : null,
    modified: facts.modify !== undefined ? parseTimeVal(facts.modify) : null,
    facts,
    mlsxType,
  };
  if (facts['unix.mode'] !== undefined) entry.permissions = facts['unix.mode'];
  if (facts['unix.owner'] !== undefined || facts['unix.ownername'] !== undefined) entry.owner = facts['unix.ownername'] ?? facts['unix.owner'];
  if (facts['unix.group'] !== undefined || facts['unix.groupname'] !== undefined) entry.group = facts['unix.groupname'] ?? facts['unix.group'];
  if (facts['os.unix.target'] !== undefined) entry.target = facts['os.unix.target'];
  if (facts.perm !== undefined) entry.perm = facts.perm;
  if (facts.unique !== undefined) entry.unique = facts.unique;
  return entry;
}

/** MLSD output (RFC 3659 §7.2): one fact line per entry; the `cdir` and `pdir` entries are left out. */
export function parseMlsd(bytes: Uint8Array, maxEntries = MAX_ENTRIES): Listing {
  const entries: ListEntry[] = [];
  const unparsed: string[] = [];
  let truncated = false;
  for (const line of listingLines(bytes)) {
    let parsed;
    try {
      parsed = parseFactLine(line);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      if (unparsed.length < 1000) unparsed.push(line.slice(0, 512));
      continue;
    }
    const { mlsxType, ...entry } = parsed;
    if (mlsxType === 'cdir' || mlsxType === 'pdir') continue;
    if (entries.length >= maxEntries) {
      truncated = true;
      continue;
    }
    entries.push(entry);
  }
  return { format: entries.length === 0 && unparsed.length === 0 ? 'empty' : 'mlsd', entries, unparsed, truncated };
}
