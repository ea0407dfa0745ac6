// The CLI's command line: `portolan <protocol> <host[:port]> [operation] [--field value ...]`, with the
// flags generated from each operation's input JSON Schema (the same schema the API validates with).
//
// How it works: leading words (before the first flag) are positionals: a protocol id, the target, and
// the operation. When the first word is not a protocol, it is the target and the protocol is guessed
// from its port. Every flag after that is either global (--json, --remote, ...) or an input field of
// the operation: `--timeout-ms 500` and `--timeoutMs=500` both set timeoutMs, converted to the type the
// schema declares (numbers, booleans with --no-x, JSON or dotted paths for objects, lists).
import { inputJsonSchema } from '../src/api/describe.ts';
import { parseTarget } from '../src/api/short.ts';
import { InvalidInput } from '../src/core/errors.ts';
import type { DefinedOperation, Protocol } from '../src/core/protocol.ts';

export interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
}

export interface GlobalFlags {
  json: boolean;
  transcript: boolean;
  help: boolean;
  version: boolean;
  noColor: boolean;
  quiet: boolean;
  remote?: string;
  token?: string;
  /** -o FILE: a download operation's file goes there (`-` for stdout). */
  out?: string;
  /** --file PATH: an upload operation's file comes from there. */
  file?: string;
}

export interface ParsedCommand {
  globals: GlobalFlags;
  protocol?: Protocol;
  operation?: DefinedOperation;
  /** The protocol was guessed from the target's port. */
  guessed?: { port: number; candidates: string[] };
  target?: { host: string; port?: number };
  input: Record<string, unknown>;
  positionals: string[];
}

const GLOBAL_BOOLEANS: Record<string, keyof GlobalFlags> = {
  json: 'json',
  transcript: 'transcript',
  help: 'help',
  h: 'help',
  version: 'version',
  'no-color': 'noColor',
  quiet: 'quiet',
  q: 'quiet',
};
const GLOBAL_VALUES: Record<string, 'remote' | 'token' | 'out' | 'file'> = { remote: 'remote', token: 'token', o: 'out', file: 'file' };

export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function schemaType(s: JsonSchema | undefined): string {
  if (!s) return 'string';
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type;
  if (t) return t;
  const alt = s.anyOf ?? s.oneOf;
  if (alt) {
    const types = new Set(alt.map(schemaType));
    return types.size === 1 ? [...types][0] : 'json';
  }
  if (s.enum) return typeof s.enum[0] === 'number' ? 'number' : 'string';
  return 'json';
}

export function operationProperties(op: DefinedOperation): { props: Record<string, JsonSchema>; required: string[] } {
  const schema = inputJsonSchema(op) as JsonSchema;
  return { props: schema.properties ?? {}, required: schema.required ?? [] };
}

/** The protocols whose declared ports include `port`, those listing it first ahead. */
export function protocolsForPort(protocols: readonly Protocol[], port: number): Protocol[] {
  const first = protocols.filter((p) => p.ports[0]?.port === port);
  const rest = protocols.filter((p) => !first.includes(p) && (p.ports.some((x) => x.port === port) || p.tls?.implicit?.port === port));
  return [...first, ...rest];
}

function convert(field: string, schema: JsonSchema | undefined, raw: string): unknown {
  const type = schemaType(schema);
  const bad = (what: string) => InvalidInput.field(field, `${JSON.stringify(raw)} is not ${what}`);
  switch (type) {
    case 'integer':
    case 'number': {
      if (raw.trim() === '' || !Number.isFinite(Number(raw))) throw bad('a number');
      return Number(raw);
    }
    case 'boolean':
      if (['true', '1', 'yes', 'on', ''].includes(raw)) return true;
      if (['false', '0', 'no', 'off'].includes(raw)) return false;
      throw bad('true or false');
    case 'array': {
      if (raw.trim().startsWith('[')) {
        try {
          return JSON.parse(raw);
        } catch {
          throw bad('a JSON list');
        }
      }
      return raw.split(',').map((part) => convert(field, schema?.items, part.trim()));
    }
    case 'object':
    case 'json':
      try {
        return JSON.parse(raw);
      } catch {
        if (type === 'json') return raw;
        throw bad('a JSON object (or use --field.key value)');
      }
    default:
      return raw;
  }
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let at = target;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  at[path[path.length - 1]] = value;
}

interface FlagToken {
  name: string;
  value?: string;
}

function isFlag(tok: string): boolean {
  return tok.startsWith('-') && tok !== '-' && !/^-\d/.test(tok);
}

function splitFlag(tok: string): { name: string; inline?: string } {
  const body = tok.replace(/^--?/, '');
  const eq = body.indexOf('=');
  return eq >= 0 ? { name: body.slice(0, eq), inline: body.slice(eq + 1) } : { name: body };
}

function setGlobal(globals: GlobalFlags, name: string, value: string | undefined): void {
  const g = GLOBAL_BOOLEANS[name];
  if (g) {
    (globals as unknown as Record<string, boolean>)[g] = value === undefined ? true : (convert(name, { type: 'boolean' }, value) as boolean);
    return;
  }
  if (value === undefined || value === '') throw InvalidInput.field(name, `--${name} needs a value`);
  globals[GLOBAL_VALUES[name]] = value;
}

export function parseCommand(argv: readonly string[], protocols: readonly Protocol[]): ParsedCommand {
  const globals: GlobalFlags = { json: false, transcript: false, help: false, version: false, noColor: false, quiet: false };
  // Global flags may come first (`portolan --json dict ...`); then the positionals; then every other flag.
  let i = 0;
  for (; i < argv.length && isFlag(argv[i]); i++) {
    const { name, inline } = splitFlag(argv[i]);
    if (!(name in GLOBAL_BOOLEANS) && !(name in GLOBAL_VALUES)) break;
    setGlobal(globals, name, name in GLOBAL_VALUES ? (inline ?? argv[++i]) : inline);
  }
  const positionals: string[] = [];
  for (; i < argv.length && !isFlag(argv[i]); i++) positionals.push(argv[i]);
  const flagTokens = argv.slice(i);
  if (flagTokens.some((t) => t === '--help' || t === '-h')) globals.help = true;

  const byId = new Map(protocols.map((p) => [p.id, p]));
  const out: ParsedCommand = { globals, input: {}, positionals };
  const words = [...positionals];
  let protocol = words[0] !== undefined ? byId.get(words[0].toLowerCase()) : undefined;
  if (protocol) words.shift();
  if (!protocol && words.length === 0) return out;

  if (protocol && globals.help && words.length === 0) {
    out.protocol = protocol;
    return out;
  }
  // The second word is an operation rather than a target when asking for help (`portolan dict define --help`).
  if (protocol && globals.help && words.length === 1 && protocol.operations[words[0]]) {
    out.protocol = protocol;
    out.operation = protocol.operations[words[0]];
    return out;
  }
  // `portolan ldap search HOST ...` as well as `portolan ldap HOST search ...`: a first word that names one of the
  // protocol's operations, followed by one that does not, is the operation and the target comes next.
  const operationFirst = protocol && words.length >= 2 && Object.hasOwn(protocol.operations, words[0]) && !Object.hasOwn(protocol.operations, words[1]) ? words.shift() : undefined;
  const targetWord = words.shift();
  if (targetWord !== undefined) {
    out.target = parseTarget(targetWord);
    if (out.target.port !== undefined) out.input.port = out.target.port;
    out.input.host = out.target.host;
  }
  if (!protocol) {
    const port = out.target?.port;
    if (port === undefined) {
      throw InvalidInput.field('protocol', `${JSON.stringify(targetWord)} is not a protocol; give one (portolan --help lists them), or a host:port to guess it from the port`);
    }
    const candidates = protocolsForPort(protocols, port);
    if (candidates.length === 0) throw InvalidInput.field('protocol', `no protocol is known for port ${port}; name one: portolan <protocol> ${targetWord}`);
    protocol = candidates[0];
    out.guessed = { port, candidates: candidates.map((p) => p.id) };
  }
  out.protocol = protocol;
  const opName = operationFirst ?? words.shift() ?? protocol.defaultOperation ?? Object.keys(protocol.operations)[0];
  const op = protocol.operations[opName];
  if (!op) throw InvalidInput.field('operation', `${protocol.id} has no operation ${JSON.stringify(opName)}; it has ${Object.keys(protocol.operations).join(', ')}`);
  out.operation = op;
  // Words after the operation, and words between flags, fill the operation's declared arguments (op.cli.args).
  const argWords = [...words];
  if (argWords.length > 0 && !op.cli?.args) throw InvalidInput.field('arguments', `unexpected ${JSON.stringify(argWords[0])} after the operation; fields are given as --flags`);

  const { props } = operationProperties(op);
  const known = new Map<string, string>();
  for (const key of Object.keys(props)) {
    known.set(key, key);
    known.set(kebab(key), key);
  }
  for (const [letter, key] of Object.entries(op.cli?.short ?? {})) if (props[key]) known.set(letter, key);
  const fieldOf = (name: string): string | undefined => {
    const head = name.split('.')[0];
    return known.get(head) ?? known.get(camel(head)) ?? (head.startsWith('no-') ? known.get(head.slice(3)) ?? known.get(camel(head.slice(3))) : undefined);
  };
  // An operation's own field wins over a global flag of the same name (snmp --version v1).
  const opFlags: FlagToken[] = [];
  for (let j = 0; j < flagTokens.length; j++) {
    const tok = flagTokens[j];
    if (tok === '--') break;
    if (!isFlag(tok)) {
      if (op.cli?.args) {
        argWords.push(tok);
        continue;
      }
      throw InvalidInput.field('arguments', `unexpected ${JSON.stringify(tok)}: give the protocol, target and operation first, then --flags`);
    }
    const { name, inline } = splitFlag(tok);
    const field = fieldOf(name);
    const next = flagTokens[j + 1];
    // A true/false flag takes the next word only when it is a truth value: otherwise the word is an argument.
    const nextIsValue = next !== undefined && !isFlag(next) && (!op.cli?.args || !field || schemaType(props[field]) !== 'boolean' || /^(true|false|yes|no|on|off|1|0)$/.test(next));
    if (!field && name in GLOBAL_BOOLEANS) {
      setGlobal(globals, name, inline);
      continue;
    }
    if (!field && name in GLOBAL_VALUES) {
      setGlobal(globals, name, inline ?? (nextIsValue ? flagTokens[++j] : undefined));
      continue;
    }
    if (inline !== undefined) opFlags.push({ name, value: inline });
    else {
      opFlags.push({ name, value: nextIsValue ? next : undefined });
      if (nextIsValue) j++;
    }
  }
  if (globals.help) return out;
  const argNames = op.cli?.args ?? [];
  for (let k = 0; k < argWords.length; k++) {
    const name = argNames[Math.min(k, argNames.length - 1)];
    if (!name || (k >= argNames.length && !name.endsWith('...'))) throw InvalidInput.field('arguments', `unexpected ${JSON.stringify(argWords[k])}: ${protocol.id} ${op.name} takes ${argNames.map((a) => `<${a}>`).join(' ')}`);
    if (name.endsWith('...')) {
      const field = name.slice(0, -3);
      out.input[field] = [...((out.input[field] as unknown[]) ?? []), ...argWords.slice(k).map((w) => convert(field, props[field]?.items, w))];
      break;
    }
    out.input[name] = convert(name, props[name], argWords[k]);
  }
  for (const f of opFlags) {
    const [head, ...path] = f.name.split('.');
    let name = head;
    let negated = false;
    if (!known.has(name) && name.startsWith('no-') && known.has(name.slice(3))) {
      name = name.slice(3);
      negated = true;
    }
    const field = known.get(name) ?? known.get(camel(name));
    if (!field) {
      throw InvalidInput.field(f.name, `unknown flag --${f.name}; ${protocol.id} ${op.name} takes ${Object.keys(props).map((k) => `--${kebab(k)}`).join(', ')}`);
    }
    const schema = props[field];
    if (path.length > 0) {
      if (f.value === undefined) throw InvalidInput.field(f.name, `--${f.name} needs a value`);
      let sub: JsonSchema | undefined = schema;
      for (const key of path) sub = sub?.properties?.[key];
      const current = (out.input[field] ?? {}) as Record<string, unknown>;
      setPath(current, path, convert(f.name, sub, f.value));
      out.input[field] = current;
      continue;
    }
    const type = schemaType(schema);
    if (type === 'boolean') {
      const value = f.value === undefined ? true : convert(f.name, schema, f.value);
      out.input[field] = negated ? !value : value;
      continue;
    }
    if (negated) throw InvalidInput.field(f.name, `--no-${name} only applies to true/false flags`);
    if (f.value === undefined) throw InvalidInput.field(f.name, `--${f.name} needs a value`);
    const value = convert(f.name, schema, f.value);
    // A list flag may be repeated: --names a --names b.
    if (type === 'array' && Array.isArray(out.input[field])) out.input[field] = [...(out.input[field] as unknown[]), ...(value as unknown[])];
    else out.input[field] = value;
  }
  return out;
}
