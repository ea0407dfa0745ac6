// Varnish CLI (varnish-cli(7)): the management port of varnishd (-T), with the secret-file challenge (-S).
import * as z from 'zod';
import { fromBase64, utf8 } from '../../core/bytes.ts';
import { InvalidInput } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { VarnishCli } from './client.ts';
import { bodyText, parseBackendList, statusName } from './codec.ts';
import { identification } from './identify.ts';

const auth = {
  secret: z.string().max(64 * 1024).optional().describe('The contents of varnishd\'s -S secret file, as text (its trailing newline included)'),
  secretBase64: z.string().max(90_000).optional().describe('The secret file\'s bytes in base64 (for a secret of random bytes)'),
};

function secretOf(input: { secret?: string; secretBase64?: string }): Uint8Array | undefined {
  if (input.secret !== undefined && input.secretBase64 !== undefined) throw InvalidInput.field('secret', 'give secret or secretBase64, not both');
  if (input.secretBase64 !== undefined) {
    try {
      return fromBase64(input.secretBase64);
    } catch {
      throw InvalidInput.field('secretBase64', 'not valid base64');
    }
  }
  return input.secret === undefined ? undefined : utf8(input.secret);
}

async function withCli<T>(ctx: OperationContext, input: { secret?: string; secretBase64?: string }, fn: (cli: VarnishCli) => Promise<T>): Promise<T> {
  const secret = secretOf(input);
  const cli = new VarnishCli(await ctx.dial(), ctx.crypto);
  await cli.open(secret);
  ctx.timing.mark('authenticatedMs');
  const out = await fn(cli);
  await cli.quit();
  return out;
}

const record = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const authOut = { authenticated: z.boolean().describe('The secret-file challenge was answered') };

export default defineProtocol({
  id: 'varnish',
  title: 'Varnish CLI',
  category: 'web',
  summary: 'Manages a running varnishd through its CLI port: answers the secret-file challenge (SHA-256), then status, ping, parameters, VCLs, backends and bans.',
  ports: [{ port: 6082, transport: 'tcp', label: 'management (-T)' }],
  specs: ['varnish-cli(7)', 'varnishadm(1)'],
  rating: {
    stars: 5,
    reason:
      'Lab-tested against Debian\'s varnishd 7.1 with a -S secret file through workerd: the SHA-256 challenge answered (a wrong secret is auth_failed after varnishd\'s 500), status, ping, one parameter or all of them, vcl.list, backend.list with admin and probe health, ban then ban.list, and any command, with 1xx/3xx statuses reported in varnishd\'s words. The CLI has no TLS of its own; varnishd with -S none (no challenge) is handled. Not covered: vcl.inline/vcl.load editing as structured operations (the command operation sends them).',
  },
  verifiedAgainst: 'varnishd 7.1.1-2+deb12u1 (Debian 12)',
  defaultOperation: 'status',
  identify: identification,
  operations: {
    status: operation({
      summary: 'status: the state of the cache child process, and the CLI banner',
      input: z.object({ ...auth }),
      output: z.object({ state: z.string(), banner: z.string(), ...authOut }),
      text: (r) => `Child in state ${r.state}`,
      run: (ctx, input) =>
        withCli(ctx, input, async (cli) => {
          const [state] = await cli.json(['status', '-j']);
          return { state: String(state), banner: cli.banner, authenticated: cli.authenticated };
        }),
    }),
    ping: operation({
      summary: 'ping: a round trip through the manager',
      input: z.object({ ...auth }),
      output: z.object({ reply: z.string(), rttMs: z.number(), ...authOut }),
      text: (r) => `${r.reply} (${r.rttMs} ms)`,
      run: (ctx, input) =>
        withCli(ctx, input, async (cli) => {
          const t0 = performance.now();
          const { text } = await cli.must(['ping']);
          return { reply: text.trim(), rttMs: Math.round((performance.now() - t0) * 1000) / 1000, authenticated: cli.authenticated };
        }),
    }),
    params: operation({
      summary: 'param.show: one parameter with its value, units, default, limits and description; or every parameter\'s value',
      input: z.object({ name: z.string().min(1).max(128).regex(/^[a-z0-9_.]+$/, 'a parameter name such as default_ttl').optional(), ...auth }),
      output: z.object({ params: z.array(z.object({ name: z.string(), value: z.union([z.string(), z.number(), z.boolean()]).nullable(), units: z.string().nullable(), default: z.string().nullable(), minimum: z.string().nullable(), maximum: z.string().nullable(), description: z.string().nullable() })) }),
      text: (r) => r.params.map((p) => `${p.name.padEnd(28)} ${p.value}${p.units ? ` [${p.units}]` : ''}`).join('\n'),
      run: (ctx, input) =>
        withCli(ctx, input, async (cli) => {
          const opt = (v: unknown) => (v === undefined || v === null ? null : String(v));
          if (input.name) {
            const items = await cli.json(['param.show', '-j', input.name]);
            return {
              params: items.map(record).map((p) => ({ name: String(p.name), value: (p.value as string | number | boolean | undefined) ?? null, units: opt(p.units), default: opt(p.default), minimum: opt(p.minimum), maximum: opt(p.maximum), description: opt(p.description) })),
            };
          }
          // Every parameter in JSON exceeds the default cli_limit (48 KiB): the short listing, "name value [units] (default)".
          const { text } = await cli.must(['param.show']);
          const params = text
            .split('\n')
            .map((l) => /^(\S+)\s+(.*?)(?: \[([^\]]+)\])?(?: \((default)\))?\s*$/.exec(l))
            .filter((m): m is RegExpExecArray => m !== null && m[1] !== '')
            .map((m) => ({ name: m[1], value: m[2], units: m[3] ?? null, default: m[4] ? m[2] : null, minimum: null, maximum: null, description: null }));
          return { params };
        }),
    }),
    vcls: operation({
      summary: 'vcl.list: the loaded VCLs with their status (active or available), state, temperature and busy count',
      input: z.object({ ...auth }),
      output: z.object({ vcls: z.array(z.object({ name: z.string(), status: z.string(), state: z.string(), temperature: z.string(), busy: z.number() })) }),
      text: (r) => r.vcls.map((v) => `${v.status.padEnd(10)} ${v.state.padEnd(6)} ${v.temperature.padEnd(6)} ${String(v.busy).padStart(4)} ${v.name}`).join('\n'),
      run: (ctx, input) =>
        withCli(ctx, input, async (cli) => ({
          vcls: (await cli.json(['vcl.list', '-j'])).map(record).map((v) => ({ name: String(v.name), status: String(v.status), state: String(v.state), temperature: String(v.temperature), busy: Number(v.busy ?? 0) })),
        })),
    }),
    backends: operation({
      summary: 'backend.list: each backend with its administrative health, probe result and last change',
      input: z.object({ pattern: z.string().min(1).max(256).regex(/^\S+$/).optional().describe('A backend name pattern such as boot.*'), ...auth }),
      output: z.object({ backends: z.array(z.object({ name: z.string(), type: z.string().nullable(), admin: z.string(), probe: z.string(), health: z.string(), lastChange: z.string() })) }),
      text: (r) => r.backends.map((b) => `${b.name.padEnd(24)} ${b.admin.padEnd(8)} ${b.probe.padEnd(8)} ${b.health.padEnd(8)} ${b.lastChange}`).join('\n'),
      run: (ctx, input) =>
        withCli(ctx, input, async (cli) => {
          const words = ['backend.list', '-j', ...(input.pattern ? [input.pattern] : [])];
          const [all] = await cli.json(words);
          // backend.list -j: { "vcl.backend": { type, admin_health, probe_message: [good, total, health], last_change } }
          const plain = parseBackendList((await cli.must(['backend.list', ...(input.pattern ? [input.pattern] : [])])).text);
          return {
            backends: Object.entries(record(all)).map(([name, v]) => {
              const b = record(v);
              const probe = Array.isArray(b.probe_message) ? b.probe_message : [];
              const row = plain.find((x) => x.name === name);
              return {
                name,
                type: b.type === undefined ? null : String(b.type),
                admin: String(b.admin_health ?? row?.admin ?? ''),
                probe: probe.length >= 2 ? `${probe[0]}/${probe[1]}` : (row?.probe ?? ''),
                health: probe.length >= 3 ? String(probe[2]) : (row?.health ?? ''),
                lastChange: row?.lastChange ?? (typeof b.last_change === 'number' ? new Date(b.last_change * 1000).toUTCString() : ''),
              };
            }),
          };
        }),
    }),
    ban: operation({
      summary: 'ban: invalidate cached objects matching an expression (e.g. req.url ~ ^/news), then the ban list',
      input: z.object({ expression: z.string().min(1).max(4096).regex(/^[^\r\n]+$/, 'one line').describe('Ban expression: field operator argument [&& ...]').meta({ examples: ['req.url ~ ^/news'] }), ...auth }),
      output: z.object({ bans: z.array(z.object({ time: z.number(), refs: z.number(), completed: z.boolean(), spec: z.string() })) }),
      text: (r) => r.bans.map((b) => `${b.time.toFixed(6)} ${String(b.refs).padStart(5)} ${b.completed ? 'C' : '-'} ${b.spec}`).join('\n'),
      run: (ctx, input) =>
        withCli(ctx, input, async (cli) => {
          // ban takes the expression as separate words: field, operator, argument, && ...
          const words = input.expression.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
          await cli.must(['ban', ...words.map((w) => (w.startsWith('"') ? JSON.parse(w) as string : w))]);
          return { bans: (await cli.json(['ban.list', '-j'])).map(record).map((b) => ({ time: Number(b.time), refs: Number(b.refs ?? 0), completed: Boolean(b.completed), spec: String(b.spec ?? '') })) };
        }),
    }),
    command: operation({
      summary: 'Any CLI command (words, quoted as the CLI reads them), answered with its status and text',
      input: z.object({ words: z.array(z.string().max(64 * 1024)).min(1).max(64).describe('The command and its arguments').meta({ examples: [['help']] }), ...auth }),
      output: z.object({ status: z.number(), statusName: z.string(), text: z.string() }),
      text: (r) => `${r.status} ${r.statusName}\n${r.text}`,
      run: (ctx, input) =>
        withCli(ctx, input, async (cli) => {
          const r = await cli.send(input.words);
          return { status: r.status, statusName: statusName(r.status), text: bodyText(r) };
        }),
    }),
  },
});
