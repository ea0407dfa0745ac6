// LDAP search filters, RFC 4515 (string form) to RFC 4511 §4.5.1.7 (the BER Filter CHOICE), exactly as written.
//
// How it works: a recursive-descent parser over the filter text, one function per ABNF rule of RFC 4515 §3,
// keeping the position of every token so that a malformed filter is refused naming where (1-based character
// position). Assertion values are bytes: normal characters as their UTF-8 encoding, `\XX` escapes as the octet
// they name (RFC 4515 §3: `valueencoding`). Nothing is normalised or widened: `(cn=a*b*c)` becomes one
// SubstringFilter with initial "a", any "b", final "c"; `(!(x=1))` stays a NOT. The empty AND and OR of
// RFC 4526 (absolute true and false) are accepted, since servers such as OpenLDAP implement them.
import { boolean, octetString, sequence, tlv } from '../../core/ber.ts';
import { concat, toHex, utf8 } from '../../core/bytes.ts';
import { PortolanError } from '../../core/errors.ts';

export type Filter =
  | { type: 'and' | 'or'; filters: Filter[] }
  | { type: 'not'; filter: Filter }
  | { type: 'equal' | 'approx' | 'greaterOrEqual' | 'lessOrEqual'; attribute: string; value: Uint8Array }
  | { type: 'present'; attribute: string }
  | { type: 'substrings'; attribute: string; initial?: Uint8Array; any: Uint8Array[]; final?: Uint8Array }
  | { type: 'extensible'; attribute?: string; dnAttributes: boolean; matchingRule?: string; value: Uint8Array };

/** A filter that does not parse, with the 1-based character position where it goes wrong. */
export class FilterSyntaxError extends PortolanError {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super('invalid_input', `${message} at position ${position}`, { position });
    this.name = 'FilterSyntaxError';
  }
}

/** Filters nested deeper than this are refused (OpenLDAP's own limit on incoming filters is far higher; no user writes this). */
export const MAX_FILTER_DEPTH = 64;
export const MAX_FILTER_LENGTH = 64 * 1024;

const HEX = /^[0-9A-Fa-f]{2}$/;

class Parser {
  at = 0;
  constructor(private readonly text: string) {}

  fail(message: string, at = this.at): never {
    throw new FilterSyntaxError(message, at + 1);
  }

  peek(): string {
    return this.text[this.at] ?? '';
  }

  expect(ch: string, what: string): void {
    if (this.text[this.at] !== ch) this.fail(this.at >= this.text.length ? `filter ends where ${what} was expected` : `expected ${what}, found ${JSON.stringify(this.text[this.at])}`);
    this.at++;
  }

  // filter = LPAREN filtercomp RPAREN
  filter(depth: number): Filter {
    if (depth > MAX_FILTER_DEPTH) this.fail(`filter nested deeper than ${MAX_FILTER_DEPTH} levels`);
    this.expect('(', "'('");
    let f: Filter;
    const c = this.peek();
    if (c === '&' || c === '|') {
      this.at++;
      const filters: Filter[] = [];
      while (this.peek() === '(') filters.push(this.filter(depth + 1));
      f = { type: c === '&' ? 'and' : 'or', filters };
    } else if (c === '!') {
      this.at++;
      f = { type: 'not', filter: this.filter(depth + 1) };
    } else f = this.item();
    this.expect(')', "')'");
    return f;
  }

  // attributedescription = attributetype options (RFC 4512 §2.5); attributetype = descr / numericoid
  attribute(): string {
    const start = this.at;
    const m = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)(?:;[A-Za-z0-9-]+)*/.exec(this.text.slice(this.at));
    if (!m) this.fail(this.at >= this.text.length ? 'filter ends where an attribute description was expected' : `expected an attribute description, found ${JSON.stringify(this.peek())}`);
    const oid = /^\d/.test(m[0]) ? m[0].split(';')[0] : undefined;
    if (oid && oid.split('.').some((n) => n.length > 1 && n.startsWith('0'))) this.fail('numeric OID with a leading zero', start);
    this.at += m[0].length;
    return m[0];
  }

  // assertionvalue = valueencoding = 0*(normal / escaped); stops before '(' ')' '*' and the end.
  value(): Uint8Array {
    const parts: Uint8Array[] = [];
    let run = '';
    while (this.at < this.text.length) {
      const c = this.text[this.at];
      if (c === '(' ) this.fail("unescaped '(' in a value (write \\28)");
      if (c === ')' || c === '*') break;
      if (c === '\0') this.fail('NUL in a value (write \\00)');
      if (c === '\\') {
        const hex = this.text.slice(this.at + 1, this.at + 3);
        if (!HEX.test(hex)) this.fail("'\\' must be followed by two hex digits (RFC 4515 escaped)");
        if (run) parts.push(utf8(run));
        run = '';
        parts.push(Uint8Array.of(parseInt(hex, 16)));
        this.at += 3;
        continue;
      }
      const cp = this.text.codePointAt(this.at)!;
      if (cp >= 0xd800 && cp <= 0xdfff) this.fail('lone UTF-16 surrogate in a value');
      const ch = String.fromCodePoint(cp);
      run += ch;
      this.at += ch.length;
    }
    if (run) parts.push(utf8(run));
    return concat(parts);
  }

  // item = simple / present / substring / extensible
  item(): Filter {
    const start = this.at;
    // extensible without an attribute: [dnattrs] matchingrule COLON EQUALS assertionvalue
    if (this.peek() === ':') return this.extensible(undefined, start);
    const attribute = this.attribute();
    const op = this.peek();
    if (op === ':') return this.extensible(attribute, start);
    if (op === '~' || op === '>' || op === '<') {
      this.at++;
      this.expect('=', `'=' after '${op}'`);
      const value = this.value();
      if (this.peek() === '*') this.fail(`'*' in a ${op}= value (write \\2a)`);
      return { type: op === '~' ? 'approx' : op === '>' ? 'greaterOrEqual' : 'lessOrEqual', attribute, value };
    }
    this.expect('=', "'=', '~=', '>=', '<=' or ':'");
    const first = this.value();
    if (this.peek() !== '*') return { type: 'equal', attribute, value: first };
    // present = attr EQUALS ASTERISK
    if (first.length === 0 && this.text[this.at + 1] === ')') {
      this.at++;
      return { type: 'present', attribute };
    }
    // substring = attr EQUALS [initial] any [final]; any = ASTERISK *(assertionvalue ASTERISK)
    const any: Uint8Array[] = [];
    let final: Uint8Array | undefined;
    while (this.peek() === '*') {
      this.at++;
      const pieceStart = this.at;
      const piece = this.value();
      if (this.peek() === '*') {
        if (piece.length === 0) this.fail("two '*' with nothing between them", pieceStart);
        any.push(piece);
      } else if (piece.length > 0) final = piece;
    }
    return { type: 'substrings', attribute, initial: first.length > 0 ? first : undefined, any, final };
  }

  // extensible = ( attr [dnattrs] [matchingrule] COLON EQUALS assertionvalue ) / ( [dnattrs] matchingrule COLON EQUALS assertionvalue )
  extensible(attribute: string | undefined, start: number): Filter {
    let dnAttributes = false;
    let matchingRule: string | undefined;
    if (/^:dn(?=:)/i.test(this.text.slice(this.at))) {
      dnAttributes = true;
      this.at += 3;
    }
    if (this.peek() === ':' && this.text[this.at + 1] !== '=') {
      this.at++;
      const ruleAt = this.at;
      const m = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)/.exec(this.text.slice(this.at));
      if (!m) this.fail('expected a matching rule (a name or a numeric OID) after \':\'');
      if (/^\d/.test(m[0]) && m[0].split('.').some((n) => n.length > 1 && n.startsWith('0'))) this.fail('numeric OID with a leading zero', ruleAt);
      matchingRule = m[0];
      this.at += m[0].length;
    }
    if (!attribute && !matchingRule) this.fail('an extensible match without an attribute needs a matching rule (RFC 4515: [dnattrs] matchingrule := value)', start);
    this.expect(':', "':=' in an extensible match");
    this.expect('=', "':=' in an extensible match");
    const value = this.value();
    if (this.peek() === '*') this.fail("'*' in an extensible match value (write \\2a)");
    return { type: 'extensible', attribute, dnAttributes, matchingRule, value };
  }
}

/** Parses an RFC 4515 filter string; throws FilterSyntaxError naming the 1-based position. */
export function parseFilter(text: string): Filter {
  if (text.length > MAX_FILTER_LENGTH) throw new FilterSyntaxError(`filter longer than ${MAX_FILTER_LENGTH} characters`, MAX_FILTER_LENGTH + 1);
  const p = new Parser(text);
  if (text.length === 0) p.fail('empty filter');
  const f = p.filter(0);
  if (p.at < text.length) p.fail(`unexpected ${JSON.stringify(text[p.at])} after the end of the filter`);
  return f;
}

/** Where a filter is malformed, or null when it parses (for forms that check before sending). */
export function filterError(text: string): { message: string; position: number } | null {
  try {
    parseFilter(text);
    return null;
  } catch (e) {
    if (e instanceof FilterSyntaxError) return { message: e.message, position: e.position };
    throw e;
  }
}

// RFC 4511 §4.5.1.7: Filter ::= CHOICE { and [0], or [1], not [2], equalityMatch [3], substrings [4],
// greaterOrEqual [5], lessOrEqual [6], present [7], approxMatch [8], extensibleMatch [9] }
const AVA_TAG = { equal: 3, greaterOrEqual: 5, lessOrEqual: 6, approx: 8 } as const;

export function encodeFilter(f: Filter): Uint8Array {
  switch (f.type) {
    case 'and':
    case 'or':
      return sequence(f.filters.map(encodeFilter), f.type === 'and' ? 0 : 1, 'context');
    case 'not':
      return sequence([encodeFilter(f.filter)], 2, 'context');
    case 'equal':
    case 'greaterOrEqual':
    case 'lessOrEqual':
    case 'approx':
      return sequence([octetString(f.attribute), octetString(f.value)], AVA_TAG[f.type], 'context');
    case 'present':
      return octetString(f.attribute, 7, 'context');
    case 'substrings': {
      // SubstringFilter ::= SEQUENCE { type, substrings SEQUENCE OF CHOICE { initial [0], any [1], final [2] } }
      const subs: Uint8Array[] = [];
      if (f.initial) subs.push(octetString(f.initial, 0, 'context'));
      for (const a of f.any) subs.push(octetString(a, 1, 'context'));
      if (f.final) subs.push(octetString(f.final, 2, 'context'));
      return sequence([octetString(f.attribute), sequence(subs)], 4, 'context');
    }
    case 'extensible': {
      // MatchingRuleAssertion ::= SEQUENCE { matchingRule [1] OPTIONAL, type [2] OPTIONAL, matchValue [3], dnAttributes [4] BOOLEAN DEFAULT FALSE }
      const parts: Uint8Array[] = [];
      if (f.matchingRule) parts.push(octetString(f.matchingRule, 1, 'context'));
      if (f.attribute) parts.push(octetString(f.attribute, 2, 'context'));
      parts.push(octetString(f.value, 3, 'context'));
      // DEFAULT FALSE is left out when false (X.690 §11.5 for DER; what servers expect).
      if (f.dnAttributes) parts.push(tlv(4, boolean(true).subarray(2), 'context'));
      return sequence(parts, 9, 'context');
    }
  }
}

/** A value back in RFC 4515 form: bytes outside printable ASCII and the five special characters escaped. */
export function escapeFilterValue(v: Uint8Array): string {
  let out = '';
  for (const b of v) {
    if (b < 0x20 || b > 0x7e || b === 0x28 || b === 0x29 || b === 0x2a || b === 0x5c) out += `\\${toHex(Uint8Array.of(b))}`;
    else out += String.fromCharCode(b);
  }
  return out;
}

/** The filter as RFC 4515 text (escapes canonical), for transcripts. */
export function filterToString(f: Filter): string {
  switch (f.type) {
    case 'and':
    case 'or':
      return `(${f.type === 'and' ? '&' : '|'}${f.filters.map(filterToString).join('')})`;
    case 'not':
      return `(!${filterToString(f.filter)})`;
    case 'equal':
      return `(${f.attribute}=${escapeFilterValue(f.value)})`;
    case 'approx':
      return `(${f.attribute}~=${escapeFilterValue(f.value)})`;
    case 'greaterOrEqual':
      return `(${f.attribute}>=${escapeFilterValue(f.value)})`;
    case 'lessOrEqual':
      return `(${f.attribute}<=${escapeFilterValue(f.value)})`;
    case 'present':
      return `(${f.attribute}=*)`;
    case 'substrings':
      return `(${f.attribute}=${f.initial ? escapeFilterValue(f.initial) : ''}*${f.any.map((a) => `${escapeFilterValue(a)}*`).join('')}${f.final ? escapeFilterValue(f.final) : ''})`;
    case 'extensible':
      return `(${f.attribute ?? ''}${f.dnAttributes ? ':dn' : ''}${f.matchingRule ? `:${f.matchingRule}` : ''}:=${escapeFilterValue(f.value)})`;
  }
}
