// LDIF content records, RFC 2849, and CSV: how search results leave Portolan (CLI text, UI export).
//
// An entry in JSON form has its attributes as text, or as base64 for the types listed in `binary`. LDIF writes
// a value after `: ` when it is a SAFE-STRING (§"SAFE-INIT-CHAR"/"SAFE-CHAR": no NUL, LF, CR, not starting with
// space, ':' or '<', ASCII only, not ending with a space) and base64 after `:: ` otherwise; lines fold at 76
// columns with a leading space on the continuation (RFC 2849 note 2).
import { toBase64, utf8 } from '../../core/bytes.ts';

export interface EntryJson {
  dn: string;
  attributes: Record<string, string[]>;
  /** Attribute types whose values are base64 in `attributes`. */
  binary?: string[];
}

const SAFE = /^[\x01-\x09\x0b\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*$/;

function fold(line: string, width = 76): string {
  if (line.length <= width) return line;
  const parts = [line.slice(0, width)];
  for (let i = width; i < line.length; i += width - 1) parts.push(` ${line.slice(i, i + width - 1)}`);
  return parts.join('\n');
}

/** One `name: value` line (or `name:: base64`), folded. */
export function ldifLine(name: string, value: string, isBase64 = false): string {
  if (isBase64) return fold(`${name}:: ${value}`);
  if (value === '') return `${name}:`;
  if (SAFE.test(value) && !value.endsWith(' ')) return fold(`${name}: ${value}`);
  return fold(`${name}:: ${toBase64(utf8(value))}`);
}

export function entryToLdif(e: EntryJson): string {
  const binary = new Set(e.binary ?? []);
  const lines = [ldifLine('dn', e.dn)];
  for (const [name, values] of Object.entries(e.attributes)) {
    if (values.length === 0) lines.push(`${name}:`);
    for (const v of values) lines.push(ldifLine(name, v, binary.has(name)));
  }
  return lines.join('\n');
}

/** Entries as an LDIF file: `version: 1` when asked, one record per entry, a blank line between records. */
export function toLdif(entries: readonly EntryJson[], opts: { version?: boolean } = {}): string {
  const body = entries.map(entryToLdif).join('\n\n');
  return `${opts.version ? 'version: 1\n\n' : ''}${body}${entries.length ? '\n' : ''}`;
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Entries as CSV: a dn column, then one column per attribute (the given ones, else every one seen), multiple values joined by `; `. */
export function toCsv(entries: readonly EntryJson[], columns?: readonly string[]): string {
  const cols = columns && columns.length > 0 ? [...columns] : [...new Set(entries.flatMap((e) => Object.keys(e.attributes)))];
  const lower = (e: EntryJson) => new Map(Object.entries(e.attributes).map(([k, v]) => [k.toLowerCase(), v]));
  const rows = [['dn', ...cols].map(csvField).join(',')];
  for (const e of entries) {
    const attrs = lower(e);
    rows.push([e.dn, ...cols.map((c) => (attrs.get(c.toLowerCase()) ?? []).join('; '))].map(csvField).join(','));
  }
  return `${rows.join('\r\n')}\r\n`;
}
