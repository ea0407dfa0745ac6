// Gopher, RFC 1436: menus are TAB-separated lines ending with a lone "."; text files end the same way.
import { fromUtf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';

export interface MenuItem {
  type: string;
  display: string;
  selector: string;
  host: string;
  port: number;
  /** Gopher+ or other fields after the port. */
  extra?: string;
}

export const ITEM_TYPES: Record<string, string> = {
  '0': 'text file',
  '1': 'menu',
  '2': 'CSO phone book',
  '3': 'error',
  '4': 'BinHex file',
  '5': 'DOS binary',
  '6': 'uuencoded file',
  '7': 'search',
  '8': 'telnet',
  '9': 'binary file',
  '+': 'redundant server',
  T: 'tn3270',
  g: 'GIF image',
  I: 'image',
  h: 'HTML',
  i: 'informational',
  s: 'sound',
  d: 'document',
};

/** Splits on CRLF or LF, drops the terminating "." line and anything after it. */
function lines(bytes: Uint8Array): { lines: string[]; terminated: boolean } {
  const text = fromUtf8(bytes);
  const all = text.split(/\r?\n/);
  const out: string[] = [];
  for (const line of all) {
    if (line === '.') return { lines: out, terminated: true };
    out.push(line);
  }
  if (out.length > 0 && out[out.length - 1] === '') out.pop();
  return { lines: out, terminated: false };
}

export function parseMenu(bytes: Uint8Array, maxItems = 10_000): { items: MenuItem[]; terminated: boolean } {
  const { lines: rows, terminated } = lines(bytes);
  if (rows.length > maxItems) throw new ProtocolError(`menu has more than ${maxItems} items`);
  const items: MenuItem[] = [];
  for (const row of rows) {
    if (row === '') continue;
    const fields = row.slice(1).split('\t');
    if (fields.length < 4) {
      // Informational lines without host and port are common in the wild; keep them readable.
      items.push({ type: row[0], display: fields[0] ?? '', selector: fields[1] ?? '', host: fields[2] ?? '', port: 0 });
      continue;
    }
    const port = Number(fields[3]);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ProtocolError(`menu item port ${JSON.stringify(fields[3])} is not a port`);
    const item: MenuItem = { type: row[0], display: fields[0], selector: fields[1], host: fields[2], port };
    if (fields.length > 4) item.extra = fields.slice(4).join('\t');
    items.push(item);
  }
  return { items, terminated };
}

/** A text item: lines up to the lone ".", with a leading ".." unstuffed. */
export function parseText(bytes: Uint8Array): { text: string; terminated: boolean } {
  const { lines: rows, terminated } = lines(bytes);
  return { text: rows.map((l) => (l.startsWith('..') ? l.slice(1) : l)).join('\n'), terminated };
}

export function formatMenu(items: MenuItem[]): string {
  return items
    .map((i) => (i.type === 'i' || i.type === '3' ? `       ${i.display}` : `[${(ITEM_TYPES[i.type] ?? i.type).padEnd(5).slice(0, 5)}] ${i.display}  →  ${i.type}${i.selector} @ ${i.host}:${i.port}`))
    .join('\n');
}
