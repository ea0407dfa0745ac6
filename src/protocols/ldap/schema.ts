// Subschema descriptions, RFC 4512 §4.1: object classes (§4.1.1) and attribute types (§4.1.2) as servers publish them.
//
// How it works: a description is a parenthesised list — a numeric OID, then keywords each followed by a quoted
// string, a list of quoted strings `( 'a' 'b' )`, an OID, a list of OIDs `( a $ b )`, or nothing (flags such as
// SINGLE-VALUE). `tokenize` splits it; `parseDescription` reads it into a keyword map, which the two readers name.
import { ProtocolError } from '../../core/errors.ts';

type Token = { kind: 'open' | 'close' | 'dollar' } | { kind: 'word' | 'quoted'; text: string };

const MAX_DESCRIPTION = 64 * 1024;

function tokenize(s: string): Token[] {
  if (s.length > MAX_DESCRIPTION) throw new ProtocolError(`schema description longer than ${MAX_DESCRIPTION} characters`);
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    const single = c === '(' ? 'open' : c === ')' ? 'close' : c === '$' ? 'dollar' : undefined;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
    else if (single) {
      out.push({ kind: single });
      i++;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end === -1) throw new ProtocolError(`schema description: unterminated quoted string at ${i}`);
      // RFC 4512 §4.1: qdstring escapes \27 (') and \5C (\).
      out.push({ kind: 'quoted', text: s.slice(i + 1, end).replace(/\\27/gi, "'").replace(/\\5c/gi, '\\') });
      i = end + 1;
    } else {
      let j = i;
      while (j < s.length && !" \t\r\n()$'".includes(s[j])) j++;
      out.push({ kind: 'word', text: s.slice(i, j) });
      i = j;
    }
  }
  return out;
}

/** The keyword map of one description; values are lists (flags map to []). */
export function parseDescription(s: string): { oid: string; fields: Map<string, string[]> } {
  const t = tokenize(s);
  if (t[0]?.kind !== 'open' || t[t.length - 1]?.kind !== 'close') throw new ProtocolError('schema description: not a parenthesised list');
  const first = t[1];
  if (!first || first.kind !== 'word') throw new ProtocolError('schema description: no OID');
  const fields = new Map<string, string[]>();
  let i = 2;
  const end = t.length - 1;
  while (i < end) {
    const k = t[i];
    if (k.kind !== 'word') throw new ProtocolError('schema description: expected a keyword');
    i++;
    const values: string[] = [];
    const v = t[i];
    if (i < end && v.kind === 'open') {
      i++;
      while (i < end && t[i].kind !== 'close') {
        const x = t[i];
        if (x.kind === 'word' || x.kind === 'quoted') values.push(x.text);
        i++;
      }
      i++;
    } else if (i < end && v.kind === 'quoted') {
      values.push(v.text);
      i++;
    } else if (i < end && v.kind === 'word' && !/^[A-Z][A-Z-]*$/.test(v.text)) {
      values.push(v.text);
      i++;
    } else if (i < end && v.kind === 'word' && (k.text === 'SUP' || k.text === 'EQUALITY' || k.text === 'ORDERING' || k.text === 'SUBSTR' || k.text === 'SYNTAX' || k.text === 'USAGE')) {
      // An all-caps name after a keyword that takes one (SUP PERSON is rare but legal).
      values.push(v.text);
      i++;
    }
    fields.set(k.text, values);
  }
  return { oid: first.text, fields };
}

export interface ObjectClass {
  oid: string;
  names: string[];
  description?: string;
  superior: string[];
  kind: 'STRUCTURAL' | 'AUXILIARY' | 'ABSTRACT';
  must: string[];
  may: string[];
  obsolete: boolean;
}

export interface AttributeType {
  oid: string;
  names: string[];
  description?: string;
  superior?: string;
  equality?: string;
  ordering?: string;
  substr?: string;
  /** The syntax OID, with its length bound if any ("1.3.6.1.4.1.1466.115.121.1.15{32768}"). */
  syntax?: string;
  singleValue: boolean;
  collective: boolean;
  noUserModification: boolean;
  usage: string;
  obsolete: boolean;
}

export function parseObjectClass(s: string): ObjectClass {
  const { oid, fields } = parseDescription(s);
  const kind = fields.has('AUXILIARY') ? 'AUXILIARY' : fields.has('ABSTRACT') ? 'ABSTRACT' : 'STRUCTURAL';
  return {
    oid,
    names: fields.get('NAME') ?? [],
    description: fields.get('DESC')?.[0],
    superior: fields.get('SUP') ?? [],
    kind,
    must: fields.get('MUST') ?? [],
    may: fields.get('MAY') ?? [],
    obsolete: fields.has('OBSOLETE'),
  };
}

export function parseAttributeType(s: string): AttributeType {
  const { oid, fields } = parseDescription(s);
  return {
    oid,
    names: fields.get('NAME') ?? [],
    description: fields.get('DESC')?.[0],
    superior: fields.get('SUP')?.[0],
    equality: fields.get('EQUALITY')?.[0],
    ordering: fields.get('ORDERING')?.[0],
    substr: fields.get('SUBSTR')?.[0],
    syntax: fields.get('SYNTAX')?.[0],
    singleValue: fields.has('SINGLE-VALUE'),
    collective: fields.has('COLLECTIVE'),
    noUserModification: fields.has('NO-USER-MODIFICATION'),
    usage: fields.get('USAGE')?.[0] ?? 'userApplications',
    obsolete: fields.has('OBSOLETE'),
  };
}
