// Memcached (memcached doc/protocol.txt; doc/protocol-binary.xml): text commands, stats, meta commands, and the binary protocol with SASL.
import { bytesJson } from '../../core/bytes.ts';
import * as z from 'zod';
import { fromBase64, fromHex, toBase64, utf8 } from '../../core/bytes.ts';
import { InvalidInput, ProtocolError, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';

import { MemcachedClient, binaryBatch, binaryProbe, itemStats, saslLogin, slabStats, type Item } from './client.ts';
import { BINARY_COMMANDS, checkKey, type BinaryCommand, type BinaryCommandName } from './codec.ts';
import { identification } from './identify.ts';

const bytesField = z
  .union([z.string().max(8 * 1024 * 1024), z.object({ base64: z.string().max(11_200_000) }).strict(), z.object({ hex: z.string().max(16_800_000) }).strict()])
  .describe('Text (sent as UTF-8), or {"base64": ...} / {"hex": ...} for any bytes');

type BytesInput = z.infer<typeof bytesField>;

function toBytes(v: BytesInput, field: string): Uint8Array {
  if (typeof v === 'string') return utf8(v);
  try {
    return 'base64' in v ? fromBase64(v.base64) : fromHex(v.hex);
  } catch {
    throw InvalidInput.field(field, `is not valid ${'base64' in v ? 'base64' : 'hex'}`);
  }
}

function keyOf(v: BytesInput, field: string): Uint8Array {
  const key = toBytes(v, field);
  const problem = checkKey(key);
  if (problem) throw InvalidInput.field(field, `a memcached key ${problem}`);
  return key;
}

const encoding = z.enum(['auto', 'text', 'base64', 'hex']).default('auto').describe('How bytes come back: auto (UTF-8 text when valid, else base64), text, base64 or hex');
const exptime = z.number().int().min(-1).max(2 ** 31 - 1).default(0).describe('Seconds to live (up to 30 days), a Unix time beyond that, 0 for never, -1 to expire at once');
const flags = z.number().int().min(0).max(0xffffffff).default(0).describe('32-bit client flags stored with the item');
const maxValueBytes = z.number().int().min(1024).max(12 * 1024 * 1024).default(4 * 1024 * 1024).describe('Largest value accepted from the server');

const bytesOut = z.object({ text: z.string().optional(), base64: z.string().optional(), hex: z.string().optional() });
const itemOut = z.object({ key: bytesOut, flags: z.number(), length: z.number(), cas: z.string().nullable(), value: bytesOut });

/** The text protocol's own authentication (memcached -Y): a user name and password, sent as the first command. */
const textAuth = {
  username: z.string().min(1).max(250).regex(/^[^\s]+$/, 'has no spaces').optional().describe('Text-protocol authentication (a server started with -Y): the user'),
  password: z.string().max(4096).optional().describe('Text-protocol authentication: the password'),
};

async function open(ctx: OperationContext, maxValue?: number, auth?: { username?: string; password?: string }): Promise<MemcachedClient> {
  const c = new MemcachedClient(await ctx.dial(), maxValue);
  ctx.timing.mark('connectedMs');
  if (auth?.password !== undefined || auth?.username !== undefined) {
    if (auth.username === undefined || auth.password === undefined) throw InvalidInput.field(auth.username === undefined ? 'username' : 'password', 'text-protocol authentication needs both username and password');
    await c.asciiAuth(auth.username, auth.password);
  }
  return c;
}

function itemJson(i: Item, enc: 'auto' | 'text' | 'base64' | 'hex') {
  return { key: bytesJson(i.key, enc), flags: i.flags, length: i.data.length, cas: i.cas, value: bytesJson(i.data, enc) };
}

/** A latin1 string (one char per byte, as frames decode lines) back to its bytes. */
function utf8Latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const show = (b: { text?: string; base64?: string; hex?: string }) => b.text ?? (b.base64 !== undefined ? `base64:${b.base64}` : `hex:${b.hex}`);

/** Meta flags as the user types them: a letter, then its token (e.g. v, c, T30, Oabc). */
const metaFlag = z.string().regex(/^[A-Za-z][\x21-\x7e]{0,63}$/, 'a meta flag is a letter with an optional token, e.g. v, T30');

export default defineProtocol({
  id: 'memcached',
  title: 'Memcached',
  category: 'database',
  summary: 'Memcached text protocol (get/gets/gat/gats, set/add/replace/append/prepend/cas, delete, incr/decr, touch, flush_all, version), stats parsed by group, meta commands (mg/ms/md/ma/mn), and the binary protocol: every command and its quiet variant in batches, with SASL PLAIN.',
  ports: [{ port: 11211, transport: 'tcp' }],
  specs: ['memcached doc/protocol.txt', 'memcached doc/protocol-binary.xml', 'RFC 4616 (SASL PLAIN)'],
  rating: {
    stars: 5,
    reason:
      'Every text command (get/gets/gat/gats, set/add/replace/append/prepend/cas with flags, expiry and noreply, delete, incr/decr in 64 bits, touch, flush_all, version), stats general/items/slabs/settings parsed, text-protocol authentication (-Y), TLS; the meta commands mg/ms/md/ma/mn with every flag Debian\'s memcached knows (b c f h k l O q s t u v N R T on mg; b c C F I k O q T and the M modes on ms; b C I k O q T on md; b C N J D T M q t c v k O on ma; the W/X/Z flags it returns), binary keys and quiet mode; the binary protocol as a full command set in batches (get/getk/set/add/replace/delete/increment/decrement/append/prepend/touch/gat/gatk/flush/stat/version/noop with every quiet variant, cas, SASL PLAIN) and a binary probe; all lab-tested against Debian\'s memcached (plain, TLS, SASL and -Y instances) through workerd. Not covered: the meta E flag and md x, which memcached 1.6.18 does not know; UDP.',
  },
  verifiedAgainst: 'memcached 1.6.18-1+deb12u1 (Debian 12)',
  // memcached -Z serves TLS on the port it is given; there is no separate well-known TLS port.
  tls: { implicit: { port: 11211 } },
  defaultOperation: 'get',
  identify: identification,
  operations: {
    get: operation({
      summary: 'get / gets (with cas tokens) / gat / gats (touching): values of one or more keys',
      input: z.object({
        ...textAuth,
        keys: z.array(bytesField).min(1).max(1000).describe('Keys: text, or {"base64": ...} for any bytes'),
        cas: z.boolean().default(false).describe('Also return each item\'s cas token (gets / gats)'),
        touch: z.number().int().min(-1).max(2 ** 31 - 1).optional().describe('Set a new expiry while reading (gat / gats)'),
        encoding,
        maxValueBytes,
      }),
      output: z.object({ items: z.array(itemOut), missing: z.array(bytesOut).describe('Keys the server did not return') }),
      text: (r) => [...r.items.map((i) => `${show(i.key)}\t${i.flags}\t${i.cas ?? ''}\t${show(i.value)}`), ...r.missing.map((m) => `${show(m)}\t(miss)`)].join('\n'),
      shortRoute: (extra) => (extra ? { keys: [extra] } : {}),
      async run(ctx, input) {
        const keys = input.keys.map((k, i) => keyOf(k, `keys.${i}`));
        const verb = input.touch !== undefined ? (input.cas ? 'gats' : 'gat') : input.cas ? 'gets' : 'get';
        const c = await open(ctx, input.maxValueBytes, input);
        const items = await c.retrieve(input.touch !== undefined ? [verb, String(input.touch), ...keys] : [verb, ...keys]);
        const found = new Set(items.map((i) => toBase64(i.key)));
        return { items: items.map((i) => itemJson(i, input.encoding)), missing: keys.filter((k) => !found.has(toBase64(k))).map((k) => bytesJson(k, input.encoding)) };
      },
    }),
    set: operation({
      primary: ['key', 'value', 'exptime', 'mode'],
      summary: 'set / add / replace / append / prepend / cas: store a value, with flags, expiry and a cas token',
      input: z.object({
        ...textAuth,
        key: bytesField,
        value: bytesField,
        mode: z.enum(['set', 'add', 'replace', 'append', 'prepend', 'cas']).default('set'),
        flags,
        exptime,
        cas: z.string().regex(/^\d{1,20}$/, 'cas is the unique token gets returned').optional().describe('For mode cas: the token from gets'),
        noreply: z.boolean().default(false).describe('Send with noreply (confirmed by a following mn)'),
      }),
      output: z.object({
        stored: z.boolean().nullable().describe('null with noreply'),
        response: z.enum(['STORED', 'NOT_STORED', 'EXISTS', 'NOT_FOUND']).nullable().describe('EXISTS: the cas token is stale; NOT_FOUND: no item for cas'),
      }),
      text: (r) => r.response ?? 'sent (noreply)',
      async run(ctx, input) {
        const key = keyOf(input.key, 'key');
        const value = toBytes(input.value, 'value');
        if (input.mode === 'cas' && input.cas === undefined) throw InvalidInput.field('cas', 'mode cas needs the cas token from gets');
        if (input.mode !== 'cas' && input.cas !== undefined) throw InvalidInput.field('cas', 'is only for mode cas');
        const c = await open(ctx, undefined, input);
        const r = await c.store(input.mode, key, input.flags, input.exptime, value, input.cas ?? null, input.noreply);
        return { stored: r === null ? null : r === 'STORED', response: r as 'STORED' | 'NOT_STORED' | 'EXISTS' | 'NOT_FOUND' | null };
      },
    }),
    delete: operation({
      summary: 'delete a key',
      input: z.object({ ...textAuth, key: bytesField, noreply: z.boolean().default(false) }),
      output: z.object({ deleted: z.boolean().nullable(), response: z.string().nullable() }),
      text: (r) => r.response ?? 'sent (noreply)',
      async run(ctx, input) {
        const key = keyOf(input.key, 'key');
        const c = await open(ctx, undefined, input);
        const r = await c.simple(['delete', key], input.noreply);
        if (r !== null && r !== 'DELETED' && r !== 'NOT_FOUND') throw new ProtocolError(`unexpected answer to delete: ${r}`);
        return { deleted: r === null ? null : r === 'DELETED', response: r };
      },
    }),
    incr: operation({
      summary: 'incr / decr: change a decimal counter (64-bit, decr stops at 0)',
      input: z.object({
        ...textAuth,
        key: bytesField,
        by: z.union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,20}$/)]).default(1).describe('Amount, up to 2^64-1 (a string beyond 2^53)'),
        direction: z.enum(['incr', 'decr']).default('incr'),
        noreply: z.boolean().default(false),
      }),
      output: z.object({ found: z.boolean().nullable(), value: z.string().nullable().describe('The new value (a decimal string: it may exceed 2^53)') }),
      text: (r) => r.value ?? (r.found === false ? 'NOT_FOUND' : 'sent (noreply)'),
      async run(ctx, input) {
        const key = keyOf(input.key, 'key');
        const by = String(input.by);
        if (BigInt(by) > 18446744073709551615n) throw InvalidInput.field('by', 'is larger than 2^64-1');
        const c = await open(ctx, undefined, input);
        const r = await c.simple([input.direction, key, by], input.noreply);
        if (r === null) return { found: null, value: null };
        if (r === 'NOT_FOUND') return { found: false, value: null };
        if (!/^\d{1,20}$/.test(r)) throw new ProtocolError(`unexpected answer to ${input.direction}: ${r}`);
        return { found: true, value: r };
      },
    }),
    touch: operation({
      summary: 'touch: set a new expiry without reading the value',
      input: z.object({ ...textAuth, key: bytesField, exptime, noreply: z.boolean().default(false) }),
      output: z.object({ touched: z.boolean().nullable(), response: z.string().nullable() }),
      text: (r) => r.response ?? 'sent (noreply)',
      async run(ctx, input) {
        const key = keyOf(input.key, 'key');
        const c = await open(ctx, undefined, input);
        const r = await c.simple(['touch', key, String(input.exptime)], input.noreply);
        if (r !== null && r !== 'TOUCHED' && r !== 'NOT_FOUND') throw new ProtocolError(`unexpected answer to touch: ${r}`);
        return { touched: r === null ? null : r === 'TOUCHED', response: r };
      },
    }),
    flushAll: operation({
      summary: 'flush_all: invalidate every item, now or after a delay',
      input: z.object({ ...textAuth, delay: z.number().int().min(0).max(2 ** 31 - 1).optional().describe('Seconds before the flush takes effect'), noreply: z.boolean().default(false) }),
      output: z.object({ response: z.string().nullable() }),
      text: (r) => r.response ?? 'sent (noreply)',
      async run(ctx, input) {
        const c = await open(ctx, undefined, input);
        const r = await c.simple(input.delay !== undefined ? ['flush_all', String(input.delay)] : ['flush_all'], input.noreply);
        if (r !== null && r !== 'OK') throw new ProtocolError(`unexpected answer to flush_all: ${r}`);
        return { response: r };
      },
    }),
    version: operation({
      summary: 'version: the server version (text protocol)',
      input: z.object({ ...textAuth }),
      output: z.object({ version: z.string() }),
      text: (r) => r.version,
      async run(ctx, input) {
        const c = await open(ctx, undefined, input);
        const r = await c.simple(['version']);
        const m = /^VERSION (.+)$/.exec(r ?? '');
        if (!m) throw new ProtocolError(`unexpected answer to version: ${r}`);
        return { version: m[1] };
      },
    }),
    stats: operation({
      primary: ['group'],
      summary: 'stats (general, items, slabs, settings, sizes, conns): parsed',
      input: z.object({ ...textAuth, group: z.enum(['general', 'items', 'slabs', 'settings', 'sizes', 'conns']).default('general') }),
      output: z.object({
        group: z.string(),
        stats: z.record(z.string(), z.string()).describe('general, settings, sizes, conns: every STAT name and value; slabs: the totals'),
        bySlab: z.record(z.string(), z.record(z.string(), z.string())).optional().describe('items and slabs: per slab class'),
      }),
      text: (r) => [...Object.entries(r.stats).map(([k, v]) => `${k} ${v}`), ...Object.entries(r.bySlab ?? {}).flatMap(([id, f]) => Object.entries(f).map(([k, v]) => `${id}:${k} ${v}`))].join('\n'),
      shortRoute: (extra) => (extra ? { group: extra } : {}),
      async run(ctx, input) {
        const c = await open(ctx, undefined, input);
        const pairs = await c.stats(input.group === 'general' ? undefined : input.group);
        if (input.group === 'items') return { group: input.group, stats: {}, bySlab: itemStats(pairs) };
        if (input.group === 'slabs') {
          const s = slabStats(pairs);
          return { group: input.group, stats: s.totals, bySlab: s.slabs };
        }
        return { group: input.group, stats: Object.fromEntries(pairs) };
      },
    }),
    meta: operation({
      primary: ['command', 'key', 'flags', 'value'],
      summary: 'A meta command (mg get, ms set, md delete, ma arithmetic, mn no-op) with its flags, and the parsed answer',
      input: z.object({
        ...textAuth,
        command: z.enum(['mg', 'ms', 'md', 'ma', 'mn']),
        key: bytesField.optional().describe('The key; given as base64 or hex, it is sent base64-encoded with the b flag'),
        flags: z.array(metaFlag).max(32).default([]).describe('Meta flags, e.g. ["v", "c", "t"] for mg, ["T60", "F5", "MS"] for ms'),
        value: bytesField.optional().describe('ms: the data to store'),
        encoding,
        maxValueBytes,
      }),
      output: z.object({
        code: z.enum(['VA', 'HD', 'EN', 'NS', 'EX', 'NF', 'MN', 'ME']).describe('VA value, HD ok, EN miss, NS not stored, EX cas mismatch, NF not found, MN no-op (also: a quiet command that stayed quiet)'),
        flags: z.array(z.object({ flag: z.string(), token: z.string() })),
        returned: z.record(z.string(), z.string()).describe('The return flags by letter, as sent: c cas, f flags, t ttl (-1 none), s size, k key, ...'),
        key: bytesOut.nullable().describe('The key the server returned (k flag), decoded from base64 when the b flag was used'),
        value: bytesOut.nullable(),
      }),
      text: (r) => `${r.code}${r.flags.map((f) => ` ${f.flag}${f.token}`).join('')}${r.value ? `\n${show(r.value)}` : ''}`,
      async run(ctx, input) {
        if (input.command === 'mn') {
          if (input.key !== undefined || input.value !== undefined) throw InvalidInput.field('key', 'mn takes no key or value');
        } else if (input.key === undefined) throw InvalidInput.field('key', `${input.command} needs a key`);
        if (input.command !== 'ms' && input.value !== undefined) throw InvalidInput.field('value', 'only ms takes a value');
        const flagList = [...input.flags];
        let key: Uint8Array | null = null;
        if (input.key !== undefined) {
          const raw = toBytes(input.key, 'key');
          // protocol.txt "Meta Commands": with b, the key is base64 (binary keys).
          if (typeof input.key !== 'string') {
            key = utf8(toBase64(raw));
            if (!flagList.includes('b')) flagList.push('b');
          } else {
            const problem = checkKey(raw);
            if (problem) throw InvalidInput.field('key', `a memcached key ${problem}`);
            key = raw;
          }
          if (key.length > 250) throw InvalidInput.field('key', 'is longer than 250 bytes as sent');
        }
        const c = await open(ctx, input.maxValueBytes, input);
        const r = await c.meta(input.command, key, flagList, input.command === 'ms' ? toBytes(input.value ?? '', 'value') : null);
        const returned: Record<string, string> = {};
        for (const f of r.flags) returned[f.flag] = f.token;
        // With b, a returned k<key> is base64 too: give back the bytes it stands for.
        let returnedKey: Uint8Array | null = null;
        if (returned.k !== undefined) {
          try {
            returnedKey = flagList.includes('b') ? fromBase64(returned.k) : utf8Latin1(returned.k);
          } catch {
            throw new ProtocolError(`the returned key ${JSON.stringify(returned.k)} is not base64`);
          }
        }
        return { code: r.code, flags: r.flags, returned, key: returnedKey ? bytesJson(returnedKey, input.encoding) : null, value: r.data ? bytesJson(r.data, input.encoding) : null };
      },
    }),
    binary: operation({
      summary: 'Binary protocol commands in one batch (get/getk/set/add/replace/delete/increment/decrement/append/prepend/touch/gat/gatk/flush/stat/version/noop and every quiet variant), after SASL PLAIN when credentials are given',
      input: z.object({
        commands: z
          .array(
            z
              .object({
                op: z.enum(Object.keys(BINARY_COMMANDS) as [BinaryCommandName, ...BinaryCommandName[]]).describe('The command; a name ending in q is the quiet variant'),
                key: bytesField.optional(),
                value: bytesField.optional().describe('set/add/replace/append/prepend: the data'),
                flags: flags.optional(),
                exptime: z.number().int().min(0).max(0xffffffff).optional().describe('Expiry (store, touch, gat, flush, and counters: 0xffffffff = fail on a missing key)'),
                delta: z.string().regex(/^\d{1,20}$/).optional().describe('increment/decrement: the amount (64 bits; 1 when absent)'),
                initial: z.string().regex(/^\d{1,20}$/).optional().describe('increment/decrement: the value a missing key starts at (0 when absent)'),
                cas: z.string().regex(/^\d{1,20}$/).optional().describe('Only if the item still has this cas (set, replace, delete, append, prepend, ...)'),
              })
              .strict(),
          )
          .min(1)
          .max(1000)
          .meta({ examples: [[{ op: 'set', key: 'greeting', value: 'hello' }, { op: 'getk', key: 'greeting' }]] }),
        username: z.string().min(1).max(256).optional().describe('SASL PLAIN user'),
        password: z.string().max(4096).optional().describe('SASL PLAIN password'),
        encoding,
        maxValueBytes,
      }),
      output: z.object({
        authenticated: z.boolean(),
        results: z.array(
          z.object({
            op: z.string(),
            answered: z.boolean().describe('False: a quiet command that stayed quiet (it succeeded, or a quiet get missed)'),
            status: z.number().nullable().describe('0 no error, 1 not found, 2 exists, 5 not stored, 6 non-numeric, 0x20 auth error, 0x81 unknown command, ...'),
            message: z.string().nullable().describe("The server's words for a failure"),
            key: bytesOut.nullable(),
            value: bytesOut.nullable(),
            flags: z.number().nullable(),
            cas: z.string().nullable(),
            counter: z.string().nullable(),
            stats: z.record(z.string(), z.string()).nullable(),
          }),
        ),
      }),
      text: (r) =>
        r.results
          .map((x, i) => `${i + 1}) ${x.op}: ${x.answered ? (x.status === 0 ? 'ok' : x.message) : '(quiet)'}${x.key ? ` key=${show(x.key)}` : ''}${x.value ? ` value=${show(x.value)}` : ''}${x.counter !== null ? ` = ${x.counter}` : ''}${x.flags !== null ? ` flags=${x.flags}` : ''}${x.stats ? `\n${Object.entries(x.stats).map(([k, v]) => `   ${k} ${v}`).join('\n')}` : ''}`)
          .join('\n'),
      async run(ctx, input) {
        if (input.password === undefined && input.username !== undefined) throw InvalidInput.field('password', 'is required with username');
        const commands: BinaryCommand[] = input.commands.map((x, i) => {
          const f = `commands.${i}`;
          const needsKey = !['noop', 'version', 'flush', 'flushq', 'stat'].includes(x.op);
          if (needsKey && x.key === undefined) throw InvalidInput.field(`${f}.key`, `${x.op} needs a key`);
          const takesValue = /^(set|add|replace|append|prepend)/.test(x.op);
          if (x.value !== undefined && !takesValue) throw InvalidInput.field(`${f}.value`, `${x.op} takes no value`);
          if ((x.delta !== undefined || x.initial !== undefined) && !/^(in|de)crement/.test(x.op)) throw InvalidInput.field(`${f}.delta`, 'only increment and decrement take delta and initial');
          const big = (v: string | undefined, name: string) => {
            if (v === undefined) return undefined;
            const n = BigInt(v);
            if (n >= 1n << 64n) throw InvalidInput.field(`${f}.${name}`, 'is beyond 64 bits');
            return n;
          };
          return {
            op: x.op,
            key: x.key === undefined ? undefined : x.op === 'stat' ? toBytes(x.key, `${f}.key`) : keyOf(x.key, `${f}.key`),
            value: takesValue ? toBytes(x.value ?? '', `${f}.value`) : undefined,
            flags: x.flags,
            exptime: x.exptime,
            delta: big(x.delta, 'delta'),
            initial: big(x.initial, 'initial'),
            cas: big(x.cas, 'cas'),
          };
        });
        const c = await open(ctx, input.maxValueBytes);
        let authenticated = false;
        if (input.password !== undefined) {
          await saslLogin(c, input.username ?? '', input.password);
          authenticated = true;
        }
        const results = await binaryBatch(c, commands);
        const bj = (b: Uint8Array | null) => (b ? bytesJson(b, input.encoding) : null);
        return {
          authenticated,
          results: results.map((r) => ({ ...r, key: bj(r.key), value: bj(r.value), stats: r.stats ? Object.fromEntries(r.stats) : null })),
        };
      },
    }),
    binaryProbe: operation({
      summary: 'Binary protocol probe: version, SASL mechanisms, SASL PLAIN login when credentials are given, and a GET',
      input: z.object({
        username: z.string().min(1).max(256).optional(),
        password: z.string().max(4096).optional(),
        key: bytesField.optional().describe('Read this key with a binary GET (after SASL when credentials are given)'),
        encoding,
      }),
      output: z.object({
        binary: z.boolean().describe('The server answered in the binary protocol'),
        version: z.string().nullable(),
        saslMechanisms: z.array(z.string()).nullable().describe('null: SASL is off on this server'),
        authenticated: z.boolean().nullable(),
        authMessage: z.string().nullable(),
        item: z.object({ found: z.boolean(), flags: z.number().nullable(), cas: z.string().nullable(), value: bytesOut.nullable() }).nullable(),
      }),
      text: (r) => `binary: ${r.binary}\nversion: ${r.version ?? '-'}\nSASL: ${r.saslMechanisms?.join(' ') ?? 'off'}${r.authenticated ? '\nauthenticated' : ''}`,
      async run(ctx, input) {
        if (input.password === undefined && input.username !== undefined) throw InvalidInput.field('password', 'is required with username');
        const key = input.key === undefined ? undefined : keyOf(input.key, 'key');
        const c = await open(ctx);
        const p = await binaryProbe(c, { username: input.username, password: input.password, key });
        if (!p.binary && input.password !== undefined) throw new ServerError(`the server does not speak the binary protocol, so SASL is not available: ${p.authMessage}`);
        return {
          ...p,
          item: p.item ? { found: p.item.found, flags: p.item.flags, cas: p.item.cas, value: p.item.data ? bytesJson(p.item.data, input.encoding) : null } : null,
        };
      },
    }),
  },
});
