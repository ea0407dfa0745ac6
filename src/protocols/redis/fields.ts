// Inputs, outputs and the connection step shared by the Redis operations.
import * as z from 'zod';
import { bytesJson, fromBase64, fromHex, utf8, type ByteEncoding } from '../../core/bytes.ts';
import { InvalidInput, PortolanError } from '../../core/errors.ts';
import type { Conn } from '../../core/conn.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { itemsOf, splitCommandLine, type CommandArg, type ReplyJson, type RespValue } from './codec.ts';
import { RedisClient, type KeyView } from './client.ts';

export const argField = z
  .union([
    z.string().max(1024 * 1024),
    z.object({ base64: z.string().max(1_400_000) }).strict(),
    z.object({ hex: z.string().max(2_100_000) }).strict(),
  ])
  .describe('An argument: text (sent as UTF-8), or {"base64": ...} / {"hex": ...} for any bytes');

export type ArgInput = z.infer<typeof argField>;

export const connection = {
  username: z.string().min(1).max(256).optional().describe('ACL user name (Redis 6+); without it AUTH uses the default user'),
  password: z.string().max(4096).optional().describe('Password for AUTH (requirepass or the ACL user\'s)'),
  db: z.number().int().min(0).max(100_000).default(0).describe('Database number selected with SELECT'),
  protocol: z.union([z.literal(2), z.literal(3)]).default(2).describe('RESP version: 2, or 3 negotiated with HELLO 3'),
  encoding: z.enum(['auto', 'text', 'base64', 'hex']).default('auto').describe('How bytes come back: auto (UTF-8 text when valid, else base64), text, base64 or hex'),
};

export const limits = {
  maxReplyBytes: z.number().int().min(1024).max(12 * 1024 * 1024).default(4 * 1024 * 1024).describe('A reply larger than this is cut and flagged truncated'),
  maxElements: z.number().int().min(1).max(1_000_000).default(100_000).describe('Elements kept per reply; more are counted and flagged truncated'),
};

export type ConnInput = { username?: string; password?: string; db: number; protocol: 2 | 3; timeoutMs: number };

export function toBytes(arg: ArgInput, field: string): CommandArg {
  if (typeof arg === 'string') return arg;
  try {
    return 'base64' in arg ? fromBase64(arg.base64) : fromHex(arg.hex);
  } catch {
    throw InvalidInput.field(field, `is not valid ${'base64' in arg ? 'base64' : 'hex'}`);
  }
}

/** The filters and page size of a key browser. */
export const scanFields = {
  match: z.string().max(1024).optional().describe('Glob pattern, e.g. user:*'),
  type: z.string().regex(/^[\w-]{1,32}$/).optional().describe('Only keys of this type: string, list, set, zset, hash, stream, ...'),
  pageSize: z.number().int().min(1).max(10_000).default(100).describe('Keys wanted on this page (SCAN is called until it has them or the iteration ends)'),
  count: z.number().int().min(1).max(100_000).default(100).describe('COUNT hint for each SCAN call'),
  details: z.boolean().default(true).describe('Also read TYPE and TTL of every key (pipelined)'),
};

/** A command given as `args` or as a redis-cli `line`. */
export const commandFields = {
  args: z.array(argField).min(1).max(1024).optional().describe('The command and its arguments, e.g. ["SET", "key", {"base64": "AP8="}]'),
  line: z.string().min(1).max(1024 * 1024).optional().describe('Alternatively, a command line as redis-cli reads it: SET "my key" "a\\x00b"'),
};

export function commandArgs(input: { args?: ArgInput[]; line?: string }): CommandArg[] {
  if ((input.args === undefined) === (input.line === undefined)) throw InvalidInput.field('args', 'give either args or line');
  if (input.args) return input.args.map((a, i) => toBytes(a, `args.${i}`));
  let args: CommandArg[];
  try {
    args = splitCommandLine(input.line!);
  } catch (e) {
    throw InvalidInput.field('line', e instanceof Error ? e.message : String(e));
  }
  if (args.length === 0) throw InvalidInput.field('line', 'has no command');
  return args;
}

export function keyBytes(arg: ArgInput, field: string): Uint8Array {
  const v = toBytes(arg, field);
  return typeof v === 'string' ? utf8(v) : v;
}

/**
 * Dials and handshakes (HELLO or AUTH, SELECT). `at` names another node than the target (a cluster redirect, the
 * other masters of a key browser): a second hop the guard checks as such.
 */
export async function open(ctx: OperationContext, input: ConnInput, lim: { maxReplyBytes?: number; maxElements?: number } = {}, at?: { host: string; port: number }): Promise<RedisClient> {
  const conn = await dialChecked(ctx, input.timeoutMs, at);
  const client = new RedisClient(conn, { maxBytes: lim.maxReplyBytes, maxElements: lim.maxElements });
  const opts = { protocol: input.protocol, username: input.username, password: input.password, db: input.db };
  const anyCommand = input.protocol === 3 || input.password !== undefined || input.db !== 0;
  await firstExchange(ctx, client, input.timeoutMs, async () => {
    await client.handshake(opts);
    // Under TLS, one round trip proves the handshake worked before the operation's own command runs.
    if (!anyCommand && ctx.target.tls === 'implicit') await client.must(['PING']);
  });
  ctx.timing.mark('readyMs');
  return client;
}

/** The TLS window: long enough for a handshake, short enough to leave time to say what went wrong. */
export function tlsWindow(timeoutMs: number): number {
  return Math.max(300, Math.min(5000, Math.floor(timeoutMs * 0.7)));
}

/**
 * Dials; with implicit TLS, a connect that times out is checked with a plain TCP connect: a port
 * that accepts TCP but never finishes the handshake does not speak TLS (tls_error, not a timeout).
 */
export async function dialChecked(ctx: OperationContext, timeoutMs: number, at?: { host: string; port: number }): Promise<Conn> {
  const where = at ? { host: at.host, port: at.port, secondHop: true } : {};
  if (ctx.target.tls !== 'implicit') return ctx.dial(where);
  const window = tlsWindow(timeoutMs);
  try {
    return await ctx.dial({ ...where, connectTimeoutMs: window });
  } catch (e) {
    if (!(e instanceof PortolanError) || e.code !== 'connect_timeout' || ctx.signal.aborted) throw e;
    let plain: Conn;
    try {
      plain = await ctx.dial({ ...where, tls: 'off', connectTimeoutMs: Math.min(2000, timeoutMs - window) });
    } catch {
      throw e;
    }
    await plain.close();
    throw new PortolanError('tls_error', `${at?.host ?? ctx.target.host}:${at?.port ?? ctx.target.port} accepts TCP connections but did not complete a TLS handshake within ${window} ms: the port most likely does not speak TLS`);
  }
}

/**
 * Runs the first exchange. With implicit TLS it gets a shorter window: a plain Redis port reads a
 * ClientHello as the start of an inline command and never answers, which would otherwise surface as
 * a bare timeout at the end of the operation's deadline.
 */
export async function firstExchange(ctx: OperationContext, client: RedisClient, timeoutMs: number, fn: () => Promise<void>): Promise<void> {
  if (ctx.target.tls !== 'implicit') return fn();
  const window = tlsWindow(timeoutMs);
  try {
    await ctx.within(window, fn);
  } catch (e) {
    if (e instanceof PortolanError && e.code === 'io_timeout' && client.conn.bytesIn === 0 && !ctx.signal.aborted) {
      throw new PortolanError('tls_error', `no TLS answer from ${ctx.target.host}:${ctx.target.port} within ${window} ms: the port most likely does not speak TLS`);
    }
    throw e;
  }
}

// Outputs.

export const bytesOut = z.object({ text: z.string().optional(), base64: z.string().optional(), hex: z.string().optional() });

export const replyOut: z.ZodType<ReplyJson> = z.lazy(() =>
  z.object({
    type: z.enum(['simple', 'error', 'integer', 'bulk', 'verbatim', 'null', 'boolean', 'double', 'bignum', 'array', 'set', 'push', 'map']),
    text: z.string().optional(),
    base64: z.string().optional(),
    hex: z.string().optional(),
    length: z.number().optional(),
    code: z.string().optional(),
    message: z.string().optional(),
    value: z.union([z.number(), z.string(), z.boolean()]).optional(),
    format: z.string().optional(),
    items: z.array(replyOut).optional(),
    entries: z.array(z.object({ key: replyOut, value: replyOut })).optional(),
    attributes: z.array(z.object({ key: replyOut, value: replyOut })).optional(),
    truncated: z.boolean().optional(),
    declared: z.number().optional(),
  }),
);

export const truncation = {
  truncated: z.boolean().describe('Part of the answer was cut by a limit'),
  limit: z.string().nullable().describe('The limit that cut it, when truncated'),
};

export function limitNote(v: RespValue | undefined, lim: { maxReplyBytes: number; maxElements: number }): string | null {
  if (!v || !anyTruncated(v)) return null;
  return v.truncated && v.kind !== 'array' && v.kind !== 'map' && v.kind !== 'set' ? `maxReplyBytes: ${lim.maxReplyBytes}` : `maxReplyBytes: ${lim.maxReplyBytes} or maxElements: ${lim.maxElements}`;
}

export function anyTruncated(v: RespValue): boolean {
  if (v.truncated) return true;
  if (v.kind === 'map') return v.entries.some(([k, x]) => anyTruncated(k) || anyTruncated(x));
  const items = itemsOf(v);
  return items ? items.some(anyTruncated) : false;
}

export function renderReply(r: ReplyJson, indent = ''): string {
  const bytes = (x: ReplyJson) => (x.text !== undefined ? JSON.stringify(x.text) : x.base64 !== undefined ? `base64:${x.base64}` : `hex:${x.hex}`);
  switch (r.type) {
    case 'simple':
      return r.text ?? bytes(r);
    case 'error':
      return `(error) ${r.message}`;
    case 'integer':
      return `(integer) ${r.value}`;
    case 'double':
      return `(double) ${r.value}`;
    case 'boolean':
      return `(boolean) ${r.value}`;
    case 'bignum':
      return `(big number) ${r.value}`;
    case 'null':
      return '(nil)';
    case 'bulk':
    case 'verbatim':
      return bytes(r);
    case 'map':
      return (r.entries ?? []).map((e, i) => `${indent}${i + 1}# ${renderReply(e.key, indent + '   ')} => ${renderReply(e.value, indent + '   ')}`).join('\n').trimStart() || '(empty map)';
    default:
      return (r.items ?? []).map((x, i) => `${i === 0 ? '' : indent}${i + 1}) ${renderReply(x, indent + '   ')}`).join('\n') || '(empty array)';
  }
}

/** The value view of one key (the `key` operation's answer). */
export const keyViewShape = {
  key: bytesOut,
  exists: z.boolean(),
  type: z.string(),
  ttl: z.number().nullable(),
  encoding: z.string().nullable(),
  size: z.number().nullable().describe('Bytes of a string, elements of a collection'),
  string: bytesOut.optional(),
  list: z.array(bytesOut).optional(),
  set: z.array(bytesOut).optional(),
  zset: z.array(z.object({ member: bytesOut, score: z.string() })).optional(),
  hash: z.array(z.object({ field: bytesOut, value: bytesOut })).optional(),
  stream: z.array(z.object({ id: z.string(), fields: z.array(z.object({ field: bytesOut, value: bytesOut })) })).optional(),
  groups: z
    .array(
      z.object({
        name: z.string(),
        pending: z.number().nullable(),
        lastDeliveredId: z.string().nullable(),
        entriesRead: z.number().nullable(),
        lag: z.number().nullable(),
        consumers: z.array(z.object({ name: z.string(), pending: z.number().nullable(), idleMs: z.number().nullable() })),
      }),
    )
    .optional()
    .describe("A stream's consumer groups (XINFO GROUPS, XINFO CONSUMERS)"),
  offset: z.number().optional().describe('Index of the first element shown of a list or sorted set'),
  scores: z.object({ min: z.string(), max: z.string() }).optional().describe('The score range a sorted set was read in (size counts the members in it)'),
  ...truncation,
};

export function keyViewJson(key: Uint8Array, v: KeyView, e: ByteEncoding) {
  const bj = (b: Uint8Array) => bytesJson(b, e);
  return {
    key: bj(key),
    exists: v.exists,
    type: v.type,
    ttl: v.ttl,
    encoding: v.encoding,
    size: v.size,
    ...(v.string ? { string: bj(v.string) } : {}),
    ...(v.list ? { list: v.list.map(bj) } : {}),
    ...(v.set ? { set: v.set.map(bj) } : {}),
    ...(v.zset ? { zset: v.zset.map((m) => ({ member: bj(m.member), score: m.score })) } : {}),
    ...(v.hash ? { hash: v.hash.map((h) => ({ field: bj(h.field), value: bj(h.value) })) } : {}),
    ...(v.stream ? { stream: v.stream.map((s) => ({ id: s.id, fields: s.fields.map((f) => ({ field: bj(f.field), value: bj(f.value) })) })) } : {}),
    ...(v.groups ? { groups: v.groups } : {}),
    ...(v.offset !== undefined ? { offset: v.offset } : {}),
    ...(v.scores ? { scores: v.scores } : {}),
    truncated: v.truncated,
    limit: v.limit,
  };
}
