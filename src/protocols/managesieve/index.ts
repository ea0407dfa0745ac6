// ManageSieve (RFC 5804): managing a user's Sieve filters (RFC 5228) on the mail server.
import * as z from 'zod';
import { fromUtf8 } from '../../core/bytes.ts';
import { InvalidInput } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext, type TargetFields } from '../../core/protocol.ts';
import { SieveSession } from './client.ts';
import { command, text } from './codec.ts';
import { identification } from './identify.ts';

const MAX_SCRIPT = 1024 * 1024;

const authFields = {
  username: z.string().min(1, 'username is required').max(256).describe('Account name').meta({ examples: ['alice@example.com'] }),
  password: z.string().max(256).describe('Password (sent only inside the SASL exchange)').meta({ examples: ['secret'] }),
  mechanism: z.enum(['PLAIN', 'LOGIN', 'CRAM-MD5']).default('PLAIN').describe('SASL mechanism for AUTHENTICATE'),
};

const name = z.string().min(1, 'name is required').max(1024).regex(/^[^\0\r\n]*$/, 'name must not contain NUL, CR or LF').describe('Script name').meta({ examples: ['vacation'] });

type AuthInput = TargetFields & { username: string; password: string; mechanism: 'PLAIN' | 'LOGIN' | 'CRAM-MD5' };

async function open(ctx: OperationContext, input: TargetFields) {
  const s = new SieveSession(await ctx.dial());
  const g = await s.greeting();
  ctx.timing.mark('greetingMs');
  const before = new Map(s.capabilities);
  if (input.tls === 'starttls') {
    await s.startTls();
    ctx.timing.mark('tlsMs');
  }
  return { s, greeting: g.final.text, before };
}

async function withAuth<T>(ctx: OperationContext, input: AuthInput, fn: (s: SieveSession) => Promise<T>): Promise<T> {
  const { s } = await open(ctx, input);
  await s.authenticate(input.mechanism, { username: input.username, password: input.password }, ctx.crypto);
  ctx.timing.mark('authMs');
  const out = await fn(s);
  await s.logout().catch(() => undefined);
  return out;
}

const capsOut = z.object({
  implementation: z.string().nullable(),
  version: z.string().nullable(),
  sieveExtensions: z.array(z.string()),
  saslMechanisms: z.array(z.string()),
  notifyMethods: z.array(z.string()),
  starttls: z.boolean(),
  maxRedirects: z.number().nullable(),
  owner: z.string().nullable().describe('The authenticated user (after AUTHENTICATE)'),
  raw: z.record(z.string(), z.string()),
});

function capsJson(c: Map<string, string>): z.infer<typeof capsOut> {
  const words = (k: string) => (c.get(k) ?? '').split(/\s+/).filter(Boolean);
  const max = c.get('MAXREDIRECTS');
  return {
    implementation: c.get('IMPLEMENTATION') ?? null,
    version: c.get('VERSION') ?? null,
    sieveExtensions: words('SIEVE'),
    saslMechanisms: words('SASL'),
    notifyMethods: words('NOTIFY'),
    starttls: c.has('STARTTLS'),
    maxRedirects: max !== undefined && /^\d+$/.test(max) ? Number(max) : null,
    owner: c.get('OWNER') ?? null,
    raw: Object.fromEntries(c),
  };
}

/** The warnings a server attaches to OK (WARNINGS) "..." (§1.3). */
function warningsOf(r: { final: { code: string | null; text: string | null } }): string | null {
  return r.final.code === 'WARNINGS' ? r.final.text : null;
}

const scriptField = z.string().max(MAX_SCRIPT, `script is longer than ${MAX_SCRIPT} bytes`).describe('The Sieve script (RFC 5228)').meta({ examples: ['require "fileinto";\nif header :contains "subject" "[list]" { fileinto "Lists"; }\n'] });

export default defineProtocol({
  id: 'managesieve',
  title: 'ManageSieve',
  category: 'mail',
  summary: 'Manages Sieve mail filters on the server (RFC 5804): capabilities and Sieve extensions, STARTTLS, SASL logins, list, get, upload with the server\'s syntax check (errors with line numbers), activate, rename and delete scripts.',
  ports: [{ port: 4190, transport: 'tcp' }],
  specs: ['RFC 5804', 'RFC 5228', 'RFC 4616'],
  tls: { starttls: true },
  rating: {
    stars: 5,
    reason:
      'Lab-tested through workerd against Dovecot 2.3.19\'s Pigeonhole managesieved (src/protocols/managesieve/managesieve.lab.test.ts): capabilities before and after STARTTLS and after login, AUTHENTICATE PLAIN, LOGIN and CRAM-MD5 (a wrong password is auth_failed with the server\'s words), PUTSCRIPT (activated), LISTSCRIPTS, GETSCRIPT, HAVESPACE, RENAMESCRIPT, SETACTIVE (and deactivation), DELETESCRIPT (the active script refused with ACTIVE), CHECKSCRIPT and PUTSCRIPT errors with their line numbers, NONEXISTENT. ' +
      'Not covered: SCRAM-SHA-* and other SASL mechanisms beyond PLAIN, LOGIN and CRAM-MD5, NOOP and UNAUTHENTICATE, referrals.',
  },
  verifiedAgainst: 'Dovecot 2.3.19.1 with Pigeonhole (managesieved)',
  defaultOperation: 'capabilities',
  identify: identification,
  operations: {
    capabilities: operation({
      summary: 'The greeting\'s capabilities (implementation, Sieve extensions, SASL mechanisms, STARTTLS), again after STARTTLS, and after logging in when credentials are given',
      input: z.object({ username: authFields.username.optional(), password: z.string().max(256).optional(), mechanism: authFields.mechanism }),
      output: z.object({ greeting: z.string().nullable(), capabilities: capsOut, beforeStartTls: capsOut.nullable(), authenticated: z.boolean() }),
      text: (r) =>
        [
          `${r.capabilities.implementation ?? 'ManageSieve'} (version ${r.capabilities.version ?? '?'})${r.capabilities.starttls ? ', STARTTLS' : ''}`,
          `SASL: ${r.capabilities.saslMechanisms.join(' ') || 'none'}`,
          `Sieve: ${r.capabilities.sieveExtensions.join(' ')}`,
          ...(r.capabilities.owner ? [`owner: ${r.capabilities.owner}`] : []),
        ].join('\n'),
      run: async (ctx, input) => {
        const { s, greeting, before } = await open(ctx, input);
        let authenticated = false;
        if (input.username !== undefined) {
          if (input.password === undefined) throw InvalidInput.field('password', 'is required with username');
          await s.authenticate(input.mechanism, { username: input.username, password: input.password }, ctx.crypto);
          await s.capability();
          authenticated = true;
        } else if (input.password !== undefined) throw InvalidInput.field('username', 'a password needs a username');
        const out = { greeting, capabilities: capsJson(s.capabilities), beforeStartTls: input.tls === 'starttls' ? capsJson(before) : null, authenticated };
        await s.logout().catch(() => undefined);
        return out;
      },
    }),
    list: operation({
      summary: 'The user\'s scripts and which one is active (LISTSCRIPTS)',
      input: z.object({ ...authFields }),
      output: z.object({ scripts: z.array(z.object({ name: z.string(), active: z.boolean() })), active: z.string().nullable() }),
      text: (r) => r.scripts.map((s) => `${s.active ? '*' : ' '} ${s.name}`).join('\n') || '(no scripts)',
      run: (ctx, input) =>
        withAuth(ctx, input, async (s) => {
          const r = await s.run(command('LISTSCRIPTS'), 'LISTSCRIPTS');
          const scripts = r.lines.map((l) => ({ name: text(l[0]) ?? '', active: l[1]?.kind === 'atom' && l[1].value.toUpperCase() === 'ACTIVE' }));
          return { scripts, active: scripts.find((x) => x.active)?.name ?? null };
        }),
    }),
    get: operation({
      summary: 'A script\'s text (GETSCRIPT)',
      input: z.object({ ...authFields, name }),
      output: z.object({ name: z.string(), script: z.string(), bytes: z.number() }),
      text: (r) => r.script,
      run: (ctx, input) =>
        withAuth(ctx, input, async (s) => {
          const r = await s.run(command('GETSCRIPT', input.name), `GETSCRIPT ${input.name}`);
          const t = r.lines[0]?.[0];
          const bytes = t?.kind === 'string' ? t.value : new Uint8Array(0);
          return { name: input.name, script: fromUtf8(bytes), bytes: bytes.length };
        }),
    }),
    put: operation({
      summary: 'Uploads a script (PUTSCRIPT), checked by the server first: a script with errors is refused with its line numbers; optionally made active',
      input: z.object({ ...authFields, name, script: scriptField, activate: z.boolean().default(false).describe('Make it the active script (SETACTIVE) once stored') }),
      output: z.object({ name: z.string(), stored: z.boolean(), active: z.boolean(), warnings: z.string().nullable(), bytes: z.number() }),
      text: (r) => `stored ${r.name} (${r.bytes} bytes)${r.active ? ', active' : ''}${r.warnings ? `\nwarnings: ${r.warnings}` : ''}`,
      run: (ctx, input) =>
        withAuth(ctx, input, async (s) => {
          const r = await s.run(command('PUTSCRIPT', input.name, new TextEncoder().encode(input.script)), `PUTSCRIPT ${input.name}`);
          if (input.activate) await s.run(command('SETACTIVE', input.name), `SETACTIVE ${input.name}`);
          return { name: input.name, stored: true, active: input.activate, warnings: warningsOf(r), bytes: new TextEncoder().encode(input.script).length };
        }),
    }),
    check: operation({
      summary: 'Checks a script without storing it (CHECKSCRIPT): valid, or the server\'s errors with their line numbers',
      input: z.object({ ...authFields, script: scriptField }),
      output: z.object({ valid: z.boolean(), errors: z.string().nullable(), warnings: z.string().nullable(), lines: z.array(z.number()).describe('Line numbers the server names in its errors') }),
      text: (r) => (r.valid ? `valid${r.warnings ? `\nwarnings: ${r.warnings}` : ''}` : `invalid:\n${r.errors}`),
      failedAs: (r) => (r.valid ? undefined : 'server_error'),
      run: (ctx, input) =>
        withAuth(ctx, input, async (s) => {
          const r = await s.run(command('CHECKSCRIPT', new TextEncoder().encode(input.script)), 'CHECKSCRIPT', { allowNo: true });
          const valid = r.final.status === 'OK';
          const errors = valid ? null : r.final.text;
          const lines = [...(errors ?? '').matchAll(/line (\d+)/g)].map((m) => Number(m[1]));
          return { valid, errors, warnings: warningsOf(r), lines: [...new Set(lines)] };
        }),
    }),
    activate: operation({
      summary: 'Makes a script the active one (SETACTIVE); an empty name deactivates all',
      input: z.object({ ...authFields, name: z.string().max(1024).regex(/^[^\0\r\n]*$/, 'name must not contain NUL, CR or LF').describe('Script name; empty to deactivate').meta({ examples: ['vacation'] }) }),
      output: z.object({ active: z.string().nullable(), message: z.string().nullable() }),
      text: (r) => (r.active ? `active: ${r.active}` : 'no script active'),
      run: (ctx, input) =>
        withAuth(ctx, input, async (s) => {
          const r = await s.run(command('SETACTIVE', input.name), `SETACTIVE ${input.name}`);
          return { active: input.name || null, message: r.final.text };
        }),
    }),
    delete: operation({
      summary: 'Deletes a script (DELETESCRIPT; the active one cannot be)',
      input: z.object({ ...authFields, name }),
      output: z.object({ name: z.string(), deleted: z.boolean() }),
      text: (r) => `deleted ${r.name}`,
      run: (ctx, input) =>
        withAuth(ctx, input, async (s) => {
          await s.run(command('DELETESCRIPT', input.name), `DELETESCRIPT ${input.name}`);
          return { name: input.name, deleted: true };
        }),
    }),
    rename: operation({
      summary: 'Renames a script (RENAMESCRIPT)',
      input: z.object({ ...authFields, from: name, to: name }),
      output: z.object({ from: z.string(), to: z.string() }),
      text: (r) => `renamed ${r.from} to ${r.to}`,
      run: (ctx, input) =>
        withAuth(ctx, input, async (s) => {
          await s.run(command('RENAMESCRIPT', input.from, input.to), `RENAMESCRIPT ${input.from} ${input.to}`);
          return { from: input.from, to: input.to };
        }),
    }),
    havespace: operation({
      summary: 'Whether a script of a given size would fit the quota (HAVESPACE)',
      input: z.object({ ...authFields, name, size: z.number().int().min(0).max(2 ** 32 - 1).describe('Script size in bytes').meta({ examples: [2048] }) }),
      output: z.object({ fits: z.boolean(), code: z.string().nullable(), message: z.string().nullable() }),
      text: (r) => (r.fits ? 'fits' : `does not fit: ${r.code ?? ''} ${r.message ?? ''}`),
      run: (ctx, input) =>
        withAuth(ctx, input, async (s) => {
          const r = await s.run(command('HAVESPACE', input.name, input.size), 'HAVESPACE', { allowNo: true });
          return { fits: r.final.status === 'OK', code: r.final.code, message: r.final.text };
        }),
    }),
  },
});
