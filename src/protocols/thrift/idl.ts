// The Thrift interface definition language (Apache Thrift "Thrift IDL" reference), the part a call needs:
// typedefs, enums, structs, unions, exceptions and services with their functions and throws clauses.
// Constants, namespaces, includes and annotations are read past. Every count is capped.
import { InvalidInput } from '../../core/errors.ts';

export type TypeRef =
  | { kind: 'base'; name: 'bool' | 'byte' | 'i8' | 'i16' | 'i32' | 'i64' | 'double' | 'string' | 'binary' | 'uuid' | 'void' }
  | { kind: 'list' | 'set'; elem: TypeRef }
  | { kind: 'map'; key: TypeRef; value: TypeRef }
  | { kind: 'named'; name: string };

export interface Field {
  id: number;
  name: string;
  type: TypeRef;
  requiredness: 'required' | 'optional' | 'default';
}

export interface StructDef {
  kind: 'struct' | 'union' | 'exception';
  name: string;
  fields: Field[];
}

export interface FunctionDef {
  name: string;
  oneway: boolean;
  returns: TypeRef;
  params: Field[];
  throws: Field[];
}

export interface Document {
  typedefs: Map<string, TypeRef>;
  enums: Map<string, Map<string, number>>;
  structs: Map<string, StructDef>;
  services: Map<string, { name: string; extends?: string; functions: Map<string, FunctionDef> }>;
}

const BASE = new Set(['bool', 'byte', 'i8', 'i16', 'i32', 'i64', 'double', 'string', 'binary', 'uuid', 'void', 'slist']);
const MAX_TOKENS = 200_000;

function tokenize(src: string): string[] {
  const tokens: string[] = [];
  const re = /\s+|\/\/[^\n]*|#[^\n]*|\/\*[\s\S]*?\*\/|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z_][A-Za-z0-9_.]*|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|0x[0-9A-Fa-f]+|[{}()<>,;:=[\]*&]/y;
  let at = 0;
  while (at < src.length) {
    re.lastIndex = at;
    const m = re.exec(src);
    if (!m) throw InvalidInput.field('idl', `cannot read the IDL at ${JSON.stringify(src.slice(at, at + 30))}`);
    at = re.lastIndex;
    const t = m[0];
    if (/^\s/.test(t) || t.startsWith('//') || t.startsWith('#') || t.startsWith('/*')) continue;
    tokens.push(t);
    if (tokens.length > MAX_TOKENS) throw InvalidInput.field('idl', `more than ${MAX_TOKENS} tokens`);
  }
  return tokens;
}

class Parser {
  private i = 0;
  constructor(private readonly t: string[]) {}
  get done(): boolean {
    return this.i >= this.t.length;
  }
  peek(): string | undefined {
    return this.t[this.i];
  }
  next(what: string): string {
    const v = this.t[this.i++];
    if (v === undefined) throw InvalidInput.field('idl', `the IDL ends where ${what} was expected`);
    return v;
  }
  expect(tok: string): void {
    const v = this.next(`"${tok}"`);
    if (v !== tok) throw InvalidInput.field('idl', `expected "${tok}", found "${v}"`);
  }
  eat(tok: string): boolean {
    if (this.t[this.i] === tok) {
      this.i++;
      return true;
    }
    return false;
  }
  ident(what: string): string {
    const v = this.next(what);
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(v)) throw InvalidInput.field('idl', `expected ${what}, found "${v}"`);
    return v;
  }
  /** Skips a balanced ( ... ) annotation list. */
  annotations(): void {
    if (!this.eat('(')) return;
    let depth = 1;
    while (depth > 0) {
      const v = this.next('")"');
      if (v === '(') depth++;
      else if (v === ')') depth--;
    }
  }
  /** Skips a constant value: a literal, a [list] or a {map}. */
  constValue(): void {
    const v = this.next('a value');
    if (v === '[' || v === '{') {
      const close = v === '[' ? ']' : '}';
      let depth = 1;
      while (depth > 0) {
        const x = this.next(close);
        if (x === '[' || x === '{') depth++;
        else if (x === ']' || x === '}') depth--;
      }
    }
  }
  separator(): void {
    if (!this.eat(',')) this.eat(';');
  }

  type(depth = 0): TypeRef {
    if (depth > 32) throw InvalidInput.field('idl', 'types nested deeper than 32');
    const name = this.ident('a type');
    let out: TypeRef;
    if (name === 'list' || name === 'set') {
      this.expect('<');
      const elem = this.type(depth + 1);
      this.expect('>');
      out = { kind: name, elem };
    } else if (name === 'map') {
      this.expect('<');
      const key = this.type(depth + 1);
      this.expect(',');
      const value = this.type(depth + 1);
      this.expect('>');
      out = { kind: 'map', key, value };
    } else if (BASE.has(name)) out = { kind: 'base', name: name === 'slist' ? 'string' : (name as 'i32') };
    else out = { kind: 'named', name };
    this.annotations();
    return out;
  }

  field(auto: { next: number }): Field {
    let id: number;
    if (/^-?\d+$/.test(this.peek() ?? '') && this.t[this.i + 1] === ':') {
      id = Number(this.next('a field id'));
      this.expect(':');
    } else id = auto.next--;
    if (id < -32768 || id > 32767) throw InvalidInput.field('idl', `field id ${id} out of the i16 range`);
    let requiredness: Field['requiredness'] = 'default';
    if (this.peek() === 'required' || this.peek() === 'optional') requiredness = this.next('requiredness') as 'required';
    const type = this.type();
    const name = this.ident('a field name');
    if (this.eat('=')) this.constValue();
    this.annotations();
    this.separator();
    return { id, name, type, requiredness };
  }

  fields(close: string): Field[] {
    const out: Field[] = [];
    const auto = { next: -1 };
    while (!this.eat(close)) {
      out.push(this.field(auto));
      if (out.length > 32767) throw InvalidInput.field('idl', 'too many fields');
    }
    return out;
  }
}

export function parseIdl(src: string): Document {
  const p = new Parser(tokenize(src));
  const doc: Document = { typedefs: new Map(), enums: new Map(), structs: new Map(), services: new Map() };
  while (!p.done) {
    const kw = p.next('a definition');
    switch (kw) {
      case 'namespace':
      case 'cpp_namespace':
      case 'php_namespace':
      case 'py_module':
      case 'perl_package':
      case 'ruby_namespace':
      case 'java_package':
      case 'cocoa_prefix':
      case 'csharp_namespace':
        p.next('a namespace scope');
        if (kw === 'namespace') p.next('a namespace');
        break;
      case 'include':
      case 'cpp_include':
        p.next('a file name');
        break;
      case 'typedef': {
        const type = p.type();
        doc.typedefs.set(p.ident('a typedef name'), type);
        p.annotations();
        p.separator();
        break;
      }
      case 'const':
        p.type();
        p.ident('a constant name');
        p.expect('=');
        p.constValue();
        p.separator();
        break;
      case 'enum': {
        const name = p.ident('an enum name');
        const values = new Map<string, number>();
        p.expect('{');
        let next = 0;
        while (!p.eat('}')) {
          const member = p.ident('an enum value');
          if (p.eat('=')) {
            const v = p.next('a number');
            next = v.startsWith('0x') ? parseInt(v, 16) : Number(v);
            if (!Number.isInteger(next)) throw InvalidInput.field('idl', `enum ${name}.${member} = ${v} is not an integer`);
          }
          values.set(member, next++);
          p.annotations();
          p.separator();
        }
        p.annotations();
        doc.enums.set(name, values);
        break;
      }
      case 'struct':
      case 'union':
      case 'exception': {
        const name = p.ident(`a ${kw} name`);
        if (p.eat('xsd_all')) {
          /* legacy modifier */
        }
        p.expect('{');
        doc.structs.set(name, { kind: kw, name, fields: p.fields('}') });
        p.annotations();
        break;
      }
      case 'service': {
        const name = p.ident('a service name');
        const ext = p.eat('extends') ? p.ident('a service name') : undefined;
        p.expect('{');
        const functions = new Map<string, FunctionDef>();
        while (!p.eat('}')) {
          const oneway = p.eat('oneway') || p.eat('async');
          const returns = p.type();
          const fname = p.ident('a function name');
          p.expect('(');
          const params = p.fields(')');
          let throws: Field[] = [];
          if (p.eat('throws')) {
            p.expect('(');
            throws = p.fields(')');
          }
          p.annotations();
          p.separator();
          functions.set(fname, { name: fname, oneway, returns, params, throws });
        }
        p.annotations();
        doc.services.set(name, { name, extends: ext, functions });
        break;
      }
      default:
        throw InvalidInput.field('idl', `unknown definition "${kw}"`);
    }
  }
  return doc;
}

/** Resolves typedefs; a named type is then an enum or a struct of the document. */
export function resolve(doc: Document, t: TypeRef, depth = 0): TypeRef {
  if (t.kind !== 'named') return t;
  if (depth > 32) throw InvalidInput.field('idl', `typedef ${t.name} refers to itself`);
  const short = t.name.includes('.') ? t.name.slice(t.name.lastIndexOf('.') + 1) : t.name;
  const td = doc.typedefs.get(t.name) ?? doc.typedefs.get(short);
  if (td) return resolve(doc, td, depth + 1);
  if (doc.enums.has(short) || doc.structs.has(short)) return { kind: 'named', name: short };
  throw InvalidInput.field('idl', `unknown type ${t.name}`);
}

/** The function to call: in the named service (or the only one), following `extends` within the document. */
export function findFunction(doc: Document, service: string | undefined, method: string): FunctionDef {
  const names = [...doc.services.keys()];
  if (names.length === 0) throw InvalidInput.field('idl', 'defines no service');
  const start = service ?? (names.length === 1 ? names[0] : undefined);
  if (!start) throw InvalidInput.field('service', `the IDL defines several services (${names.join(', ')}): name one`);
  let s = doc.services.get(start);
  if (!s) throw InvalidInput.field('service', `no service ${start} in the IDL (it has ${names.join(', ')})`);
  for (let hops = 0; s && hops < 32; hops++) {
    const f = s.functions.get(method);
    if (f) return f;
    s = s.extends ? doc.services.get(s.extends.slice(s.extends.lastIndexOf('.') + 1)) : undefined;
  }
  throw InvalidInput.field('method', `service ${start} has no function ${method}`);
}
