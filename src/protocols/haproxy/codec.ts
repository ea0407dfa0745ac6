// HAProxy runtime API (HAProxy 2.6 management guide, section 9.3 "Unix Socket commands"): the answers of
// `show info`, `show stat` (CSV, section 9.1), `show servers state` and `show sess`, parsed from their text.
//
// How it works: the runtime API on a TCP stats socket reads one line of commands (separated by ';'),
// writes their output and closes the connection (non-interactive mode). Each answer is plain text; these
// functions turn it into records. Lengths and counts are capped by the caller's read limit and MAX_ROWS.
import { ProtocolError } from '../../core/errors.ts';

export const MAX_ROWS = 10_000;

/** One command line: no CR or LF inside (the socket reads a line), at most 16 KiB. */
export function encodeCommandLine(commands: string[]): string {
  for (const c of commands) {
    if (/[\r\n]/.test(c)) throw new ProtocolError('a runtime API command is one line');
  }
  return `${commands.join('; ')}\n`;
}

/** `show info`: "Name: value" lines (section 9.3 "show info"). */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines(text)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    out[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return out;
}

export interface StatTable {
  columns: string[];
  rows: Record<string, string | number>[];
}

/** `show stat`: CSV whose first line is "# pxname,svname,..." (section 9.1); numbers become numbers, empty cells are left out. */
export function parseStatCsv(text: string): StatTable {
  const all = lines(text);
  const header = all.find((l) => l.startsWith('# '));
  if (!header) throw new ProtocolError('show stat answered without its "# pxname,svname,..." header line');
  const columns = header.slice(2).split(',');
  while (columns.length && columns[columns.length - 1] === '') columns.pop();
  const rows: Record<string, string | number>[] = [];
  for (const line of all) {
    if (line.startsWith('#') || line === '') continue;
    if (rows.length >= MAX_ROWS) throw new ProtocolError(`show stat has more than ${MAX_ROWS} rows`);
    const cells = line.split(',');
    const row: Record<string, string | number> = {};
    columns.forEach((c, i) => {
      const v = cells[i];
      if (v === undefined || v === '') return;
      row[c] = /^-?\d{1,15}$/.test(v) ? Number(v) : v;
    });
    rows.push(row);
  }
  return { columns, rows };
}

/** `show servers state`: a format version line, a "# be_id be_name ..." header, then space-separated rows (section 9.3). */
export function parseServersState(text: string): { version: number; columns: string[]; servers: Record<string, string | number>[] } {
  const all = lines(text).filter((l) => l !== '');
  if (all.length === 0) throw new ProtocolError('show servers state answered nothing');
  const version = Number(all[0]);
  if (!Number.isInteger(version)) throw new ProtocolError(`show servers state: format version ${JSON.stringify(all[0].slice(0, 40))} is not a number`);
  const header = all.find((l) => l.startsWith('# '));
  if (!header) throw new ProtocolError('show servers state answered without its "# be_id ..." header line');
  const columns = header.slice(2).trim().split(/\s+/);
  const servers: Record<string, string | number>[] = [];
  for (const line of all.slice(1)) {
    if (line.startsWith('#')) continue;
    if (servers.length >= MAX_ROWS) throw new ProtocolError(`show servers state has more than ${MAX_ROWS} rows`);
    const cells = line.trim().split(/\s+/);
    const row: Record<string, string | number> = {};
    columns.forEach((c, i) => {
      const v = cells[i];
      if (v === undefined) return;
      row[c] = /^-?\d{1,15}$/.test(v) ? Number(v) : v;
    });
    servers.push(row);
  }
  return { version, columns, servers };
}

export interface Session {
  id: string;
  fields: Record<string, string>;
}

/** `show sess`: one line per stream, "0x55d...: proto=tcpv4 src=... fe=... be=... srv=... age=..." (section 9.3). */
export function parseSessions(text: string): Session[] {
  const out: Session[] = [];
  for (const line of lines(text)) {
    const m = /^(0x[0-9a-f]+):\s+(.*)$/i.exec(line);
    if (!m) continue;
    if (out.length >= MAX_ROWS) throw new ProtocolError(`show sess has more than ${MAX_ROWS} streams`);
    const fields: Record<string, string> = {};
    // key=value tokens, and key[...] groups such as rq[f=...,i=0] (kept with their brackets).
    for (const t of m[2].matchAll(/([\w.]+)(?:=(\[[^\]]*\]|\S*)|(\[[^\]]*\]))/g)) fields[t[1]] = t[2] ?? t[3];
    out.push({ id: m[1], fields });
  }
  return out;
}

/**
 * The answer to a command sent after `set severity-output number`: messages start with "[N]: " where N is
 * a syslog severity (0 emergency … 7 debug). Below 5 (notice) it is an error; an empty answer is success.
 */
export function severityOf(text: string): { level: number | null; message: string } {
  const m = /^\[(\d)\]: ?([\s\S]*)$/.exec(text.trim());
  if (!m) return { level: null, message: text.trim() };
  return { level: Number(m[1]), message: m[2].trim() };
}

function lines(text: string): string[] {
  return text.split(/\r?\n/);
}
