// Redis session driver (redis.io docs: HELLO, AUTH, SELECT, INFO, SCAN, SENTINEL, SUBSCRIBE, MONITOR) over the RESP codec.
//
// How it works: `RedisClient` wraps one Conn. `handshake` sends HELLO 3 (with
// AUTH and SETNAME folded in) for RESP3, falling back to AUTH for servers
// without HELLO, then SELECT. `call` writes one command and reads the next
// reply that is not an out-of-band RESP3 push; `pipeline` writes every command
// in one write and reads as many replies. A reply the codec had to truncate
// (larger than the byte limit) marks the client `broken`: the rest of it is
// still on the wire, so nothing more is read from this connection.
import type { Conn } from '../../core/conn.ts';
import { fromLatin1, fromUtf8 } from '../../core/bytes.ts';
import { AuthError, ProtocolError, ServerError } from '../../core/errors.ts';
import {
  bytesOf,
  describeCommand,
  describeReply,
  encodeCommand,
  encodeCommands,
  errorParts,
  integerOf,
  itemsOf,
  pairsOf,
  recordOf,
  replyFrame,
  repliesFrame,
  textOf,
  type CommandArg,
  type RespLimits,
  type RespValue,
} from './codec.ts';

export interface HandshakeOptions {
  protocol: 2 | 3;
  username?: string;
  password?: string;
  db?: number;
  clientName?: string;
}

const MAX_PUSHES = 1000;

function describeBatch(replies: RespValue[]): string {
  if (replies.length === 1) return describeReply(replies[0]);
  return `${replies.length} replies: ${replies.slice(0, 3).map((r) => describeReply(r, 60)).join(', ')}${replies.length > 3 ? ', …' : ''}`;
}

export class RedisClient {
  readonly conn: Conn;
  private readonly frame;
  protocol: 2 | 3 = 2;
  /** HELLO's answer (server, version, proto, id, mode, role, modules) when RESP3 was negotiated. */
  server: Record<string, string> | undefined;
  /** RESP3 push messages that arrived while waiting for replies. */
  readonly pushes: RespValue[] = [];
  /** A reply was truncated: the connection is out of step and must not be read again. */
  broken = false;

  private readonly limits: Partial<RespLimits>;

  constructor(conn: Conn, limits: Partial<RespLimits> = {}) {
    this.conn = conn;
    this.limits = limits;
    this.frame = replyFrame(limits);
  }

  /** Writes one command. `mask` lists argument positions kept out of the transcript (passwords). */
  async send(args: readonly CommandArg[], mask: readonly number[] = []): Promise<void> {
    const shown = mask.length ? args.map((a, i) => (mask.includes(i) ? '****' : a)) : args;
    await this.conn.write(encodeCommand(args), mask.length ? { secret: true, decode: describeCommand(shown) } : { decode: describeCommand(args) });
  }

  /** The next reply, whatever its type (push messages included). */
  async next(): Promise<RespValue> {
    if (this.broken) throw new ProtocolError('the connection is out of step after a truncated reply');
    const v = await this.conn.readFrame(this.frame, 'Redis reply', (r) => describeReply(r));
    if (v.truncated) this.broken = true;
    return v;
  }

  /** The next reply that is not an out-of-band push (RESP3.md "Push type": replies keep their order). */
  async reply(): Promise<RespValue> {
    for (;;) {
      const v = await this.next();
      if (v.kind !== 'push' || this.protocol !== 3) return v;
      if (this.pushes.length < MAX_PUSHES) this.pushes.push(v);
    }
  }

  async call(args: readonly CommandArg[], mask: readonly number[] = []): Promise<RespValue> {
    await this.send(args, mask);
    return this.reply();
  }

  /** A command whose error reply is thrown (auth errors as auth_failed, others as server_error). */
  async must(args: readonly CommandArg[], mask: readonly number[] = []): Promise<RespValue> {
    return throwIfError(await this.call(args, mask));
  }

  /** Every command in one write, then their replies in order; stops early at a truncated reply. */
  async pipeline(commands: readonly (readonly CommandArg[])[]): Promise<RespValue[]> {
    await this.conn.write(encodeCommands(commands), { decode: `pipeline of ${commands.length}: ${commands.slice(0, 3).map((c) => describeCommand(c, 60)).join('; ')}${commands.length > 3 ? '; …' : ''}` });
    const out: RespValue[] = [];
    while (out.length < commands.length) {
      if (this.broken) throw new ProtocolError('the connection is out of step after a truncated reply');
      const batch = await this.conn.readFrame(repliesFrame(commands.length - out.length, this.limits), 'Redis replies', describeBatch);
      for (const v of batch) {
        if (v.kind === 'push' && this.protocol === 3) {
          if (this.pushes.length < MAX_PUSHES) this.pushes.push(v);
          continue;
        }
        out.push(v);
        if (v.truncated) {
          this.broken = true;
          return out;
        }
      }
    }
    return out;
  }

  /**
   * HELLO 3 [AUTH user pass] [SETNAME name] for RESP3 (falls back to RESP2 where HELLO is
   * unknown or NOPROTO), AUTH [user] pass for RESP2, then SELECT db.
   */
  async handshake(opts: HandshakeOptions): Promise<void> {
    let needAuth = opts.password !== undefined;
    if (opts.protocol === 3) {
      const args: string[] = ['HELLO', '3'];
      const mask: number[] = [];
      if (opts.password !== undefined) {
        args.push('AUTH', opts.username ?? 'default', opts.password);
        mask.push(4);
      }
      if (opts.clientName) args.push('SETNAME', opts.clientName);
      const r = await this.call(args, mask);
      if (r.kind === 'error') {
        const { code, message } = errorParts(r);
        // Redis before 6 has no HELLO; NOPROTO: the version is not supported.
        const unknown = code === 'NOPROTO' || (code === 'ERR' && /unknown command/i.test(message));
        if (!unknown) throwIfError(r);
      } else {
        this.protocol = 3;
        this.server = recordOf(r);
        needAuth = false;
      }
    }
    if (needAuth) {
      const args = opts.username ? ['AUTH', opts.username, opts.password!] : ['AUTH', opts.password!];
      await this.must(args, [args.length - 1]);
    }
    if (opts.clientName && this.protocol === 2) await this.must(['CLIENT', 'SETNAME', opts.clientName]);
    if (opts.db) await this.must(['SELECT', String(opts.db)]);
  }
}

/** Throws a reply error: WRONGPASS and NOAUTH as auth_failed, everything else (NOPERM included) as server_error. */
export function throwIfError(v: RespValue): RespValue {
  if (v.kind !== 'error') return v;
  const { code, message } = errorParts(v);
  if (code === 'WRONGPASS' || code === 'NOAUTH' || (code === 'ERR' && /invalid password|AUTH.*without any password configured|invalid username-password/i.test(message))) {
    throw new AuthError(message, { code });
  }
  throw new ServerError(message, { code });
}

// INFO: "# Section" headers and "key:value" lines (redis.io docs, INFO command).

export type InfoValue = string | Record<string, string>;

export function parseInfo(text: string): Record<string, Record<string, InfoValue>> {
  const sections: Record<string, Record<string, InfoValue>> = {};
  let current: Record<string, InfoValue> = {};
  sections.default = current;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const name = line.slice(1).trim().toLowerCase();
      current = sections[name] ??= {};
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1);
    // "db0:keys=1,expires=0,avg_ttl=0", "cmdstat_get:calls=2,usec=5,...": comma-separated k=v pairs.
    if (/^[\w-]+=[^,]*(,[\w-]+=[^,]*)*$/.test(value)) {
      const fields: Record<string, string> = {};
      for (const part of value.split(',')) {
        const eq = part.indexOf('=');
        fields[part.slice(0, eq)] = part.slice(eq + 1);
      }
      current[key] = fields;
    } else current[key] = value;
  }
  if (Object.keys(sections.default).length === 0) delete sections.default;
  return sections;
}

export interface InfoSummary {
  version?: string;
  mode?: string;
  role?: string;
  os?: string;
  uptimeSeconds?: number;
  connectedClients?: number;
  usedMemoryBytes?: number;
  keyspace: { db: number; keys: number; expires: number }[];
}

export function summarizeInfo(sections: Record<string, Record<string, InfoValue>>): InfoSummary {
  const get = (s: string, k: string): string | undefined => {
    const v = sections[s]?.[k];
    return typeof v === 'string' ? v : undefined;
  };
  const num = (s: string, k: string): number | undefined => {
    const v = get(s, k);
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
  };
  const keyspace = Object.entries(sections.keyspace ?? {})
    .filter(([k, v]) => /^db\d+$/.test(k) && typeof v === 'object')
    .map(([k, v]) => ({ db: Number(k.slice(2)), keys: Number((v as Record<string, string>).keys ?? 0), expires: Number((v as Record<string, string>).expires ?? 0) }));
  return {
    version: get('server', 'redis_version'),
    mode: get('server', 'redis_mode'),
    role: get('replication', 'role'),
    os: get('server', 'os'),
    uptimeSeconds: num('server', 'uptime_in_seconds'),
    connectedClients: num('clients', 'connected_clients'),
    usedMemoryBytes: num('memory', 'used_memory'),
    keyspace,
  };
}

// Key browser: SCAN pages with TYPE and TTL, and a bounded view of one key's value.

export interface ScanPage {
  cursor: string;
  keys: Uint8Array[];
  calls: number;
}

/** Runs SCAN from `cursor` until `count` keys are collected or the iteration ends (at most `maxCalls` calls). */
export async function scanKeys(c: RedisClient, opts: { cursor: string; match?: string; type?: string; count: number; pageSize: number; maxCalls: number }): Promise<ScanPage> {
  let cursor = opts.cursor;
  const keys: Uint8Array[] = [];
  let calls = 0;
  do {
    const args = ['SCAN', cursor, 'COUNT', String(opts.count)];
    if (opts.match) args.push('MATCH', opts.match);
    if (opts.type) args.push('TYPE', opts.type);
    const r = await c.must(args);
    calls++;
    const [next, batch] = itemsOf(r) ?? [];
    const nextCursor = next && bytesOf(next);
    const batchItems = batch && itemsOf(batch);
    if (!nextCursor || !batchItems) throw new ProtocolError('SCAN reply is not [cursor, [keys]]');
    cursor = fromLatin1(nextCursor);
    for (const k of batchItems) {
      const kb = bytesOf(k);
      if (kb) keys.push(kb);
    }
  } while (cursor !== '0' && keys.length < opts.pageSize && calls < opts.maxCalls);
  return { cursor, keys, calls };
}

/** TYPE and TTL of every key, pipelined. */
export async function keyDetails(c: RedisClient, keys: Uint8Array[]): Promise<{ type: string; ttl: number | null }[]> {
  if (keys.length === 0) return [];
  const replies = await c.pipeline(keys.flatMap((k) => [['TYPE', k], ['TTL', k]]));
  return keys.map((_, i) => {
    const t = replies[i * 2];
    const ttl = replies[i * 2 + 1];
    return { type: t ? (textOf(t) ?? (t.kind === 'error' ? `error: ${errorParts(t).message}` : 'unknown')) : 'unknown', ttl: ttl ? (integerOf(ttl) ?? null) : null };
  });
}

export interface StreamGroup {
  name: string;
  /** Entries delivered and not yet acknowledged (the pending entries list). */
  pending: number | null;
  lastDeliveredId: string | null;
  /** Redis 7.0+: entries read by the group, and how many are left to read (null when unknown). */
  entriesRead: number | null;
  lag: number | null;
  consumers: { name: string; pending: number | null; idleMs: number | null }[];
}

export interface KeyView {
  exists: boolean;
  type: string;
  /** Seconds; -1 when the key has no expiry. */
  ttl: number | null;
  encoding: string | null;
  /** Elements, fields, members or bytes, as the server counts them. */
  size: number | null;
  string?: Uint8Array;
  list?: Uint8Array[];
  set?: Uint8Array[];
  zset?: { member: Uint8Array; score: string }[];
  hash?: { field: Uint8Array; value: Uint8Array }[];
  stream?: { id: string; fields: { field: Uint8Array; value: Uint8Array }[] }[];
  /** A stream's consumer groups. */
  groups?: StreamGroup[];
  /** Index of the first element shown (lists and sorted sets). */
  offset?: number;
  /** The score range a sorted set was read in; `size` then counts the members in it (ZCOUNT). */
  scores?: { min: string; max: string };
  truncated: boolean;
  limit: string | null;
}

/**
 * Which page of a collection to show: `offset` for lists and sorted sets (by index), `after` for streams (by ID);
 * `scores` narrows a sorted set to a score range (ZRANGE BYSCORE, bounds as Redis writes them: 1.5, (1.5, -inf).
 */
export interface KeyPage {
  offset?: number;
  after?: string;
  scores?: { min: string; max: string };
}

function pairsAsBytes(v: RespValue | undefined): [Uint8Array, Uint8Array][] {
  const pairs = (v && pairsOf(v)) ?? [];
  return pairs.map(([a, b]) => [bytesOf(a) ?? new Uint8Array(0), bytesOf(b) ?? new Uint8Array(0)]);
}

/** Collects up to `limit` elements with SSCAN / HSCAN / ZSCAN. */
async function scanCollection(c: RedisClient, command: 'SSCAN' | 'HSCAN', key: Uint8Array, limit: number): Promise<{ items: RespValue[]; complete: boolean }> {
  let cursor = '0';
  const items: RespValue[] = [];
  let calls = 0;
  do {
    const r = await c.must([command, key, cursor, 'COUNT', String(Math.min(1000, Math.max(10, limit)))]);
    calls++;
    const [next, batch] = itemsOf(r) ?? [];
    const nb = next && bytesOf(next);
    const bi = batch && itemsOf(batch);
    if (!nb || !bi) throw new ProtocolError(`${command} reply is not [cursor, [elements]]`);
    cursor = fromLatin1(nb);
    items.push(...bi);
  } while (cursor !== '0' && items.length < limit * (command === 'HSCAN' ? 2 : 1) && calls < 1000);
  return { items, complete: cursor === '0' };
}

/**
 * TYPE, TTL, OBJECT ENCODING, the size, and `limit` elements (or `maxBytes` of a string): of a list or sorted
 * set from `page.offset`, of a stream after `page.after` (exclusive), of a set or hash the first SCAN finds.
 */
export async function viewKey(c: RedisClient, key: Uint8Array, limit: number, maxBytes: number, page: KeyPage = {}): Promise<KeyView> {
  const from = page.offset ?? 0;
  const [t, ttlR, enc] = await c.pipeline([
    ['TYPE', key],
    ['TTL', key],
    ['OBJECT', 'ENCODING', key],
  ]);
  throwIfError(t);
  const type = textOf(t) ?? 'unknown';
  const view: KeyView = {
    exists: type !== 'none',
    type,
    ttl: integerOf(ttlR) ?? null,
    encoding: enc && enc.kind !== 'error' ? (textOf(enc) ?? null) : null,
    size: null,
    truncated: false,
    limit: null,
  };
  if (!view.exists) return view;
  const elementLimit = `limit: ${limit} elements`;
  switch (type) {
    case 'string': {
      const [len, range] = await c.pipeline([
        ['STRLEN', key],
        ['GETRANGE', key, '0', String(maxBytes - 1)],
      ]);
      view.size = integerOf(throwIfError(len)) ?? null;
      view.string = bytesOf(throwIfError(range)) ?? new Uint8Array(0);
      if ((view.size ?? 0) > view.string.length) Object.assign(view, { truncated: true, limit: `maxBytes: ${maxBytes}` });
      break;
    }
    case 'list': {
      const [len, range] = await c.pipeline([
        ['LLEN', key],
        ['LRANGE', key, String(from), String(from + limit - 1)],
      ]);
      view.size = integerOf(throwIfError(len)) ?? null;
      view.offset = from;
      view.list = (itemsOf(throwIfError(range)) ?? []).map((x) => bytesOf(x) ?? new Uint8Array(0));
      break;
    }
    case 'set': {
      view.size = integerOf(await c.must(['SCARD', key])) ?? null;
      const { items } = await scanCollection(c, 'SSCAN', key, limit);
      view.set = items.slice(0, limit).map((x) => bytesOf(x) ?? new Uint8Array(0));
      break;
    }
    case 'zset': {
      const s = page.scores;
      const [len, range] = await c.pipeline(
        s
          ? [
              ['ZCOUNT', key, s.min, s.max],
              ['ZRANGE', key, s.min, s.max, 'BYSCORE', 'LIMIT', String(from), String(limit), 'WITHSCORES'],
            ]
          : [
              ['ZCARD', key],
              ['ZRANGE', key, String(from), String(from + limit - 1), 'WITHSCORES'],
            ],
      );
      view.size = integerOf(throwIfError(len)) ?? null;
      view.offset = from;
      if (s) view.scores = s;
      const r = throwIfError(range);
      const items = itemsOf(r) ?? [];
      // RESP2: flat member, score; RESP3: [member, score] pairs with a double score.
      view.zset =
        items.length > 0 && itemsOf(items[0])
          ? items.map((pair) => {
              const [m, s] = itemsOf(pair) ?? [];
              return { member: (m && bytesOf(m)) ?? new Uint8Array(0), score: (s && textOf(s)) ?? '' };
            })
          : pairsAsBytes(r).map(([member, score]) => ({ member, score: fromLatin1(score) }));
      break;
    }
    case 'hash': {
      view.size = integerOf(await c.must(['HLEN', key])) ?? null;
      const { items } = await scanCollection(c, 'HSCAN', key, limit);
      const fields: { field: Uint8Array; value: Uint8Array }[] = [];
      for (let i = 0; i + 1 < items.length && fields.length < limit; i += 2) fields.push({ field: bytesOf(items[i]) ?? new Uint8Array(0), value: bytesOf(items[i + 1]) ?? new Uint8Array(0) });
      view.hash = fields;
      break;
    }
    case 'stream': {
      const [len, range] = await c.pipeline([
        ['XLEN', key],
        // "(" makes the start exclusive (Redis 6.2): the page after the last entry shown.
        ['XRANGE', key, page.after ? `(${page.after}` : '-', '+', 'COUNT', String(limit)],
      ]);
      view.size = integerOf(throwIfError(len)) ?? null;
      view.stream = (itemsOf(throwIfError(range)) ?? []).map((entry) => {
        const [id, fields] = itemsOf(entry) ?? [];
        return { id: (id && textOf(id)) ?? '', fields: pairsAsBytes(fields).map(([field, value]) => ({ field, value })) };
      });
      view.groups = await streamGroups(c, key, limit);
      break;
    }
    default:
      // Module types (ReJSON-RL, ...): the type and size are shown, the value is not read.
      return view;
  }
  const shown = view.list?.length ?? view.set?.length ?? view.zset?.length ?? view.hash?.length ?? view.stream?.length;
  // A page that is not the whole collection: more elements than shown, before or after it.
  if (shown !== undefined && view.size !== null && view.size > shown) Object.assign(view, { truncated: true, limit: elementLimit });
  return view;
}

/** XINFO GROUPS and, per group, XINFO CONSUMERS: the consumer groups of a stream with their pending entries. */
async function streamGroups(c: RedisClient, key: Uint8Array, limit: number): Promise<StreamGroup[]> {
  const num = (r: Record<string, string>, k: string) => (r[k] !== undefined && /^-?\d+$/.test(r[k]) ? Number(r[k]) : null);
  const groups = (itemsOf(throwIfError(await c.call(['XINFO', 'GROUPS', key]))) ?? []).slice(0, limit).map((g) => recordOf(g) ?? {});
  if (groups.length === 0) return [];
  const consumers = await c.pipeline(groups.map((g) => ['XINFO', 'CONSUMERS', key, g.name ?? '']));
  return groups.map((g, i) => ({
    name: g.name ?? '',
    pending: num(g, 'pending'),
    lastDeliveredId: g['last-delivered-id'] ?? null,
    entriesRead: num(g, 'entries-read'),
    lag: num(g, 'lag'),
    consumers: (itemsOf(throwIfError(consumers[i])) ?? []).slice(0, limit).map((x) => {
      const r = recordOf(x) ?? {};
      return { name: r.name ?? '', pending: num(r, 'pending'), idleMs: num(r, 'idle') };
    }),
  }));
}

// Sentinel (redis.io docs "High availability with Redis Sentinel", Sentinel API).

export function sentinelRecords(v: RespValue): Record<string, string>[] {
  const items = itemsOf(throwIfError(v));
  if (!items) throw new ProtocolError('SENTINEL reply is not an array');
  return items.map((x) => recordOf(x) ?? {});
}

export function masterAddress(v: RespValue): { ip: string; port: number } | null {
  throwIfError(v);
  if (v.kind === 'null') return null;
  const [ip, port] = itemsOf(v) ?? [];
  const ipText = ip && textOf(ip);
  const portNum = port && integerOf(port);
  if (ipText === undefined || portNum === undefined) throw new ProtocolError('SENTINEL get-master-addr-by-name reply is not [ip, port]');
  return { ip: ipText, port: portNum };
}

// Pub/Sub messages (redis.io docs "Pub/Sub": message, pmessage, subscribe... replies).

export type PubSubEvent =
  | { kind: 'message'; channel: Uint8Array; data: Uint8Array }
  | { kind: 'pmessage'; pattern: Uint8Array; channel: Uint8Array; data: Uint8Array }
  | { kind: 'subscription'; action: string; name: Uint8Array; count: number }
  | { kind: 'pong'; data: Uint8Array | null };

/** Reads a pub/sub reply: a RESP2 array or a RESP3 push whose first element names its kind. */
export function pubSubEvent(v: RespValue): PubSubEvent | undefined {
  const items = itemsOf(v);
  if (!items || items.length < 2) return undefined;
  const kindBytes = bytesOf(items[0]);
  if (!kindBytes) return undefined;
  const kind = fromLatin1(kindBytes).toLowerCase();
  const b = (i: number) => (items[i] && bytesOf(items[i])) ?? new Uint8Array(0);
  if (kind === 'message' && items.length === 3) return { kind: 'message', channel: b(1), data: b(2) };
  if (kind === 'pmessage' && items.length === 4) return { kind: 'pmessage', pattern: b(1), channel: b(2), data: b(3) };
  if (kind === 'pong') return { kind: 'pong', data: items[1] ? (bytesOf(items[1]) ?? null) : null };
  if (/^(p|s)?(un)?subscribe$/.test(kind) && items.length === 3) return { kind: 'subscription', action: kind, name: b(1), count: integerOf(items[2]) ?? 0 };
  return undefined;
}

// MONITOR lines: `+1700000000.123456 [0 127.0.0.1:50000] "SET" "key" "value"` (redis.io docs, MONITOR).

export interface MonitorLine {
  time: number;
  db: number;
  client: string;
  args: string[];
}

export function parseMonitorLine(bytes: Uint8Array): MonitorLine | undefined {
  const text = fromLatin1(bytes);
  const m = /^(\d+(?:\.\d+)?) \[(\d+) ([^\]]*)\] (.*)$/.exec(text);
  if (!m) return undefined;
  const args: string[] = [];
  // Arguments are double-quoted with C escapes (\", \\, \n, \r, \t, \a, \b, \xHH).
  const re = /"((?:[^"\\]|\\.)*)"/g;
  for (let a = re.exec(m[4]); a; a = re.exec(m[4])) args.push(unescapeMonitorArg(a[1]));
  return { time: Number(m[1]), db: Number(m[2]), client: m[3], args };
}

function unescapeMonitorArg(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (s[i] !== '\\' || i + 1 >= s.length) {
      bytes.push(ch & 0xff);
      continue;
    }
    const next = s[++i];
    if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push({ n: 10, r: 13, t: 9, a: 7, b: 8 }[next as 'n'] ?? next.charCodeAt(0));
  }
  return fromUtf8(new Uint8Array(bytes));
}
