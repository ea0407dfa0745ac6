// Domain names, RFC 1035 §3.1 (wire form), §4.1.4 (compression), §5.1 (presentation escapes); RFC 4343 (case).
//
// How it works: a name travels as a list of labels (byte strings). The presentation form used everywhere in
// Portolan is absolute with a trailing dot ("mail.example.", root is "."), every byte outside the safe set
// written as \DDD and the zone-file specials as \X, the way BIND prints them, so any label survives a round
// trip. Reading follows compression pointers only backwards (so loops cannot exist) and counts every byte
// against the 255-octet limit; writing remembers each suffix it wrote and points at it the next time.
import type { ByteWriter } from '../../core/bytes.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';

/** RFC 1035 §2.3.4: labels are 63 octets or less. */
export const MAX_LABEL = 63;
/** RFC 1035 §2.3.4: names are 255 octets or less, length bytes and the root's zero included. */
export const MAX_NAME_WIRE = 255;
/** Pointers are followed at most this often in one name (each jump goes backwards, so this is belt and braces). */
const MAX_POINTERS = 128;

export type Labels = Uint8Array[];

/** Bytes written as themselves in presentation form; everything else is \X or \DDD. */
function plainByte(b: number): boolean {
  if (b <= 0x20 || b >= 0x7f) return false;
  // RFC 1035 §5.1 specials, as BIND escapes them.
  return b !== 0x2e && b !== 0x5c && b !== 0x22 && b !== 0x28 && b !== 0x29 && b !== 0x3b && b !== 0x40 && b !== 0x24;
}

/** One label in presentation form. */
export function labelToText(label: Uint8Array): string {
  let out = '';
  for (const b of label) {
    if (plainByte(b)) out += String.fromCharCode(b);
    else if (b > 0x20 && b < 0x7f) out += '\\' + String.fromCharCode(b);
    else out += '\\' + String(b).padStart(3, '0');
  }
  return out;
}

export function labelsToText(labels: Labels): string {
  if (labels.length === 0) return '.';
  return labels.map(labelToText).join('.') + '.';
}

/** The wire length of a name: each label's length byte and bytes, plus the root's zero. */
export function wireLength(labels: Labels): number {
  let n = 1;
  for (const l of labels) n += 1 + l.length;
  return n;
}

/**
 * Parses a name typed by a user or read from a zone file: relative or absolute (a trailing dot is optional),
 * `\.` and `\DDD` escapes, and Unicode labels converted to their A-label (IDNA) form.
 * Throws InvalidInput naming `field` for an empty label, a label over 63 octets or a name over 255.
 */
export function parseName(text: string, field = 'name'): Labels {
  const trimmed = text.trim();
  if (trimmed === '') throw InvalidInput.field(field, 'is empty; use "." for the root');
  if (trimmed === '.') return [];
  const source = /[^\x00-\x7f]/.test(trimmed) ? toALabels(trimmed, field) : trimmed;
  const labels: Labels = [];
  let current: number[] = [];
  let i = 0;
  let sawEnd = false;
  const finishLabel = () => {
    if (current.length === 0) throw InvalidInput.field(field, `${JSON.stringify(text)} has an empty label (two dots in a row, or a leading dot)`);
    if (current.length > MAX_LABEL) throw InvalidInput.field(field, `label ${JSON.stringify(labelToText(Uint8Array.from(current)))} is ${current.length} octets; a label has at most ${MAX_LABEL} (RFC 1035 §2.3.4)`);
    labels.push(Uint8Array.from(current));
    current = [];
  };
  while (i < source.length) {
    const c = source.charCodeAt(i);
    if (c === 0x2e) {
      finishLabel();
      i++;
      if (i === source.length) sawEnd = true;
      continue;
    }
    if (c === 0x5c) {
      const next = source.slice(i + 1, i + 4);
      if (/^\d{3}/.test(next)) {
        const v = Number(next);
        if (v > 255) throw InvalidInput.field(field, `escape \\${next} is not a byte (000–255)`);
        current.push(v);
        i += 4;
        continue;
      }
      if (i + 1 >= source.length) throw InvalidInput.field(field, `${JSON.stringify(text)} ends with a lone backslash`);
      current.push(source.charCodeAt(i + 1));
      i += 2;
      continue;
    }
    if (c > 0x7e || c < 0x21) throw InvalidInput.field(field, `${JSON.stringify(text)} contains a space or control character; write it as \\DDD`);
    current.push(c);
    i++;
  }
  if (!sawEnd) finishLabel();
  const length = wireLength(labels);
  if (length > MAX_NAME_WIRE) throw InvalidInput.field(field, `name is ${length} octets on the wire; a name has at most ${MAX_NAME_WIRE} (RFC 1035 §2.3.4)`);
  return labels;
}

/** Presentation form of a user-typed name: absolute, escapes normalised. */
export function normalizeName(text: string, field = 'name'): string {
  return labelsToText(parseName(text, field));
}

/** IDNA: a Unicode host name to its ASCII (xn--) form, using the runtime's URL parser (UTS #46). */
function toALabels(text: string, field: string): string {
  const absolute = text.endsWith('.');
  const bare = absolute ? text.slice(0, -1) : text;
  let host: string;
  try {
    host = new URL(`http://${bare}/`).hostname;
  } catch {
    throw InvalidInput.field(field, `${JSON.stringify(text)} is not a valid internationalised name`);
  }
  if (host === '' || /[^\x21-\x7e]/.test(host)) throw InvalidInput.field(field, `${JSON.stringify(text)} is not a valid internationalised name`);
  return absolute ? `${host}.` : host;
}

function lowerByte(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b + 0x20 : b;
}

/** RFC 4343: names compare without regard to ASCII case. */
export function sameName(a: string, b: string): boolean {
  return a.length === b.length && a.toLowerCase() === b.toLowerCase();
}

/** Canonical key of a name (lowercase ASCII) for maps. */
export function nameKey(labels: Labels): string {
  return labels.map((l) => labelToText(l.map(lowerByte))).join('.') + '.';
}

/** True when `child` is `parent` or below it. */
export function isSubdomain(child: string, parent: string): boolean {
  const c = child.toLowerCase();
  const p = parent.toLowerCase();
  if (p === '.') return true;
  return c === p || c.endsWith(`.${p}`);
}

/** Number of labels (RRSIG's label count ignores a leading `*`). */
export function labelCount(name: string): number {
  return parseName(name).length;
}

export interface ReadName {
  labels: Labels;
  /** Offset right after the name where it appeared (after its first pointer, if any). */
  end: number;
}

/**
 * Reads a name at `offset` of a whole message (pointers refer to the message start).
 * `limit` bounds where the uncompressed part may run (the end of an RDATA field).
 * RFC 1035 §4.1.4: a pointer is the two high bits set; we accept only pointers to earlier offsets.
 */
export function readName(message: Uint8Array, offset: number, limit = message.length, field = 'name'): ReadName {
  const labels: Labels = [];
  let at = offset;
  let end = -1;
  let wire = 1;
  let jumps = 0;
  let bound = limit;
  // Every pointer must land before the lowest position read so far: strictly backwards, no loop possible.
  let lowest = offset;
  for (;;) {
    if (at >= bound) throw new ProtocolError(`${field}: runs past the end of its field at offset ${at}`);
    const len = message[at];
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (at + 1 >= bound) throw new ProtocolError(`${field}: compression pointer cut short at offset ${at}`);
      const target = ((len & 0x3f) << 8) | message[at + 1];
      if (end === -1) end = at + 2;
      // Offsets 0–11 are the header, where no name lives.
      if (target < 12) throw new ProtocolError(`${field}: compression pointer at offset ${at} points into the header (to ${target})`);
      if (target >= lowest) throw new ProtocolError(`${field}: compression pointer at offset ${at} points forward or at itself (to ${target}); pointers must point back (RFC 1035 §4.1.4)`);
      if (++jumps > MAX_POINTERS) throw new ProtocolError(`${field}: more than ${MAX_POINTERS} compression pointers`);
      at = target;
      lowest = target;
      // Once we follow a pointer we read from earlier in the message, bounded by the message itself.
      bound = message.length;
      continue;
    }
    if (kind !== 0) throw new ProtocolError(`${field}: label type 0x${kind.toString(16)} at offset ${at} is not defined (RFC 6891 §5 retired extended labels)`);
    if (len === 0) {
      if (end === -1) end = at + 1;
      return { labels, end };
    }
    wire += 1 + len;
    if (wire > MAX_NAME_WIRE) throw new ProtocolError(`${field}: name longer than ${MAX_NAME_WIRE} octets (RFC 1035 §2.3.4)`);
    if (at + 1 + len > bound) throw new ProtocolError(`${field}: label of ${len} octets runs past the end of its field at offset ${at}`);
    labels.push(message.slice(at + 1, at + 1 + len));
    at += 1 + len;
  }
}

/**
 * Writes names into a message, compressing against suffixes already written (RFC 1035 §4.1.4).
 * Offsets are relative to the message start, which is where the ByteWriter started.
 */
export class NameCompressor {
  private readonly seen = new Map<string, number>();

  constructor(private readonly base = 0) {}

  write(w: ByteWriter, labels: Labels, compress = true): void {
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i);
      const key = nameKey(suffix);
      const known = compress ? this.seen.get(key) : undefined;
      if (known !== undefined) {
        w.u16(0xc000 | known);
        return;
      }
      const offset = w.length - this.base;
      // Only offsets that fit 14 bits can be pointed at.
      if (offset < 0x4000 && !this.seen.has(key)) this.seen.set(key, offset);
      w.u8(labels[i].length).bytes(labels[i]);
    }
    w.u8(0);
  }
}

/** Writes a name without compression (RDATA of types defined after RFC 1035, RFC 3597 §4). */
export function writeNameUncompressed(w: ByteWriter, labels: Labels): void {
  for (const l of labels) w.u8(l.length).bytes(l);
  w.u8(0);
}
