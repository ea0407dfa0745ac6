// A valid input for any operation, built from its schema: what the hostile-server corpus sends to every
// operation of the registry. Fields with no obvious value carry `.meta({ examples: [...] })`; the
// rest get the first of a few plain candidates their constraints accept.
import * as z from 'zod';
import type { DefinedOperation } from '../src/core/protocol.ts';

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  minItems?: number;
  enum?: unknown[];
  const?: unknown;
  examples?: unknown[];
  default?: unknown;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
};

const STRINGS = ['a', 'example', 'portolan', 'user', 'a@example.org', 'example.org', '/', '1', 'A', 'PING', '*', '.', 'SELECT 1', 'a.b', 'dc=example,dc=org', '00'];

/** Plain values a schema accepts, most likely first. */
export function candidates(schema: JsonSchema, depth = 0): unknown[] {
  if (depth > 6) return [];
  if (schema.examples?.length) return schema.examples;
  if (schema.const !== undefined) return [schema.const];
  if (schema.enum?.length) return schema.enum;
  if (schema.default !== undefined) return [schema.default];
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) return branches.flatMap((b) => candidates(b, depth + 1));
  if (schema.allOf?.length) return candidates(Object.assign({}, ...schema.allOf), depth + 1);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'string': {
      const pattern = schema.pattern ? new RegExp(schema.pattern, 'u') : null;
      const fits = (s: string) => s.length >= (schema.minLength ?? 0) && s.length <= (schema.maxLength ?? Infinity) && (!pattern || pattern.test(s));
      const found = STRINGS.filter(fits);
      if (found.length === 0 && !pattern) return ['a'.repeat(Math.max(1, schema.minLength ?? 1))];
      return found;
    }
    case 'integer':
    case 'number': {
      const low = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : undefined);
      return [...new Set([low ?? 1, 1, 0].filter((n) => (schema.minimum === undefined || n >= schema.minimum) && (schema.maximum === undefined || n <= schema.maximum)))];
    }
    case 'boolean':
      return [false, true];
    case 'array': {
      if (schema.prefixItems) return [schema.prefixItems.map((item) => candidates(item, depth + 1)[0])];
      const item = schema.items ? candidates(schema.items, depth + 1)[0] : 'a';
      return (schema.minItems ?? 0) === 0 ? [[], [item]] : [Array(schema.minItems).fill(item)];
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const key of schema.required ?? []) {
        const prop = schema.properties?.[key];
        if (prop && prop.default === undefined) out[key] = candidates(prop, depth + 1)[0];
      }
      return [out];
    }
    default:
      return [];
  }
}

export type InputResult = { ok: true; input: Record<string, unknown> } | { ok: false; issues: string[] };

/**
 * Builds an input the operation accepts, with `target` merged in: the required fields first; where
 * validation names a field (a refinement such as "give either args or line", here or in the Worker's
 * answer), that field's candidates in turn.
 */
export class InputBuilder {
  readonly input: Record<string, unknown>;
  private readonly props: Record<string, JsonSchema>;
  private readonly tried = new Map<string, number>();

  constructor(
    readonly op: DefinedOperation,
    private readonly target: Record<string, unknown>,
  ) {
    const schema = z.toJSONSchema(op.schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    this.props = schema.properties ?? {};
    this.input = { ...target };
    for (const key of schema.required ?? []) if (!(key in this.input)) this.advance(key);
  }

  /** Gives `field` its next candidate value; false when it has none left (or is part of the target). */
  advance(field: string): boolean {
    if (field in this.target) return false;
    // Examples straight from the field's metadata: the JSON Schema of a field with a transform drops them.
    const shape = (this.op.schema as unknown as { shape: Record<string, z.ZodType> }).shape;
    const examples = shape[field]?.meta()?.examples as unknown[] | undefined;
    const options = examples?.length ? examples : this.props[field] ? candidates(this.props[field]) : [];
    const next = this.tried.get(field) ?? 0;
    if (next >= options.length) return false;
    this.tried.set(field, next + 1);
    this.input[field] = options[next];
    return true;
  }

  /** The fields whose current value names one of `words` (`transport: 'udp'` for a missing `udp`). */
  fieldsValued(words: string[]): string[] {
    return Object.keys(this.props).filter((key) => !(key in this.target) && words.includes(String(this.input[key])));
  }

  /** Advances the first of `fields` that still has a candidate. */
  advanceAny(fields: string[]): boolean {
    return fields.some((f) => this.advance(f));
  }

  /** Valid by the operation's schema, advancing the fields its issues name. */
  validate(): InputResult {
    for (let round = 0; round < 24; round++) {
      const parsed = this.op.schema.safeParse(this.input);
      if (parsed.success) return { ok: true, input: this.input };
      const fields = [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? '')).filter(Boolean))];
      if (!this.advanceAny(fields)) return { ok: false, issues: parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`) };
    }
    return { ok: false, issues: ['no valid input after 24 rounds'] };
  }
}

/** An input the operation's schema accepts, or the issues that stop one. */
export function exampleInput(op: DefinedOperation, target: Record<string, unknown>): InputResult {
  return new InputBuilder(op, target).validate();
}
