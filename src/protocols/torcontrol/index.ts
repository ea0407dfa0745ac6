// Tor's control port (control-spec.txt): PROTOCOLINFO, AUTHENTICATE by password, cookie or SAFECOOKIE,
// GETINFO, GETCONF, SIGNAL, any command, and asynchronous events (SETEVENTS) in a session.
import * as z from 'zod';
import { PortolanError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext, type SessionMessage } from '../../core/protocol.ts';
import { EVENT, TorControl, authenticate, protocolInfo, replyError, type AuthInput } from './client.ts';
import { command, keyValues, type Reply } from './codec.ts';
import { identification } from './identify.ts';

const authFields = {
  auth: z.enum(['auto', 'null', 'password', 'cookie', 'safecookie']).default('auto').describe('How to authenticate: auto picks SAFECOOKIE or COOKIE when a cookie is given, HASHEDPASSWORD when a password is, NULL when tor allows it'),
  password: z.string().max(1024).optional().describe('The control password (HashedControlPassword)'),
  cookie: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'cookie is the control_auth_cookie file’s 32 bytes as 64 hex digits')
    .optional()
    .describe('The control cookie (control_auth_cookie) as hex, for COOKIE or SAFECOOKIE'),
};

const keyName = z.string().min(1).max(256).regex(/^[^\s"]+$/, 'a key is one word');
const pairs = z.array(z.object({ key: z.string(), value: z.string() }));
const replyOut = z.object({ status: z.number(), lines: z.array(z.object({ status: z.number(), text: z.string(), data: z.string().optional() })) });

const authOut = z.object({ method: z.string(), torVersion: z.string().nullable() });

async function open(ctx: OperationContext, input: AuthInput): Promise<{ ctl: TorControl; auth: z.infer<typeof authOut> }> {
  const ctl = new TorControl(await ctx.dial());
  const { info, method } = await authenticate(ctl, ctx.crypto, input);
  return { ctl, auth: { method, torVersion: info.torVersion } };
}

async function quit(ctl: TorControl): Promise<void> {
  await ctl.send(command('QUIT'), 'QUIT').catch(() => undefined);
}

function eventJson(r: Reply) {
  const first = r.lines[0];
  const space = first.text.indexOf(' ');
  return { event: space === -1 ? first.text : first.text.slice(0, space), text: first.text, lines: r.lines.slice(1).map((l) => l.text), data: first.data };
}

const eventOut = z.object({ event: z.string(), text: z.string(), lines: z.array(z.string()), data: z.string().optional() });

const eventNames = z
  .array(z.string().regex(/^[A-Z_]{2,40}$/, 'an event name is upper case, e.g. SIGNAL, CONF_CHANGED, NOTICE, CIRC, STREAM, BW'))
  .min(1)
  .max(64)
  .default(['SIGNAL', 'CONF_CHANGED', 'NOTICE'])
  .describe('Events to subscribe to (SETEVENTS)');

export default defineProtocol({
  id: 'torcontrol',
  title: 'Tor control',
  category: 'network',
  summary: 'Tor’s control port: PROTOCOLINFO, authentication by password, cookie or SAFECOOKIE (with the server’s proof checked), GETINFO, GETCONF, SIGNAL, any command, and events as they happen.',
  ports: [{ port: 9051, transport: 'tcp' }],
  specs: ['Tor control-spec (TC v1)'],
  rating: {
    stars: 5,
    reason:
      'PROTOCOLINFO; AUTHENTICATE by HASHEDPASSWORD, COOKIE and SAFECOOKIE (its server hash verified), right and wrong; GETINFO, GETCONF with data blocks, SIGNAL, any command, and SETEVENTS with events collected or streamed in a session; tor’s own 5xx words on errors. Lab-tested against tor 0.4.9 with the network disabled (control port only), so circuit and stream events are not exercised.',
  },
  verifiedAgainst: 'tor 0.4.9.11',
  defaultOperation: 'protocolinfo',
  identify: identification,
  operations: {
    protocolinfo: operation({
      summary: 'PROTOCOLINFO: the authentication methods tor accepts, its cookie file and version (no authentication needed)',
      input: z.object({}),
      output: z.object({ protocolInfoVersion: z.number().nullable(), methods: z.array(z.string()), cookieFile: z.string().nullable(), torVersion: z.string().nullable() }),
      text: (r) => [`Tor ${r.torVersion ?? '?'}`, `auth methods: ${r.methods.join(', ') || '(none)'}`, ...(r.cookieFile ? [`cookie file: ${r.cookieFile}`] : [])].join('\n'),
      async run(ctx) {
        const ctl = new TorControl(await ctx.dial());
        const info = await protocolInfo(ctl);
        await quit(ctl);
        return info;
      },
    }),
    getinfo: operation({
      summary: 'GETINFO keys after authenticating (version, config-file, status/bootstrap-phase, net/listeners/socks, circuit-status...)',
      input: z.object({ keys: z.array(keyName).min(1).max(100).default(['version']), ...authFields }),
      output: z.object({ auth: authOut, values: pairs }),
      text: (r) => r.values.map((v) => (v.value.includes('\n') ? `${v.key}:\n${v.value}` : `${v.key}=${v.value}`)).join('\n'),
      async run(ctx, input) {
        const { ctl, auth } = await open(ctx, input);
        const r = await ctl.ok(command('GETINFO', ...input.keys), 'GETINFO');
        await quit(ctl);
        return { auth, values: keyValues(r).map(([key, value]) => ({ key, value })) };
      },
    }),
    getconf: operation({
      summary: 'GETCONF options after authenticating: their values (an option set several times gives several)',
      input: z.object({ keys: z.array(keyName).min(1).max(100).meta({ examples: [['ControlPort', 'DisableNetwork']] }), ...authFields }),
      output: z.object({ auth: authOut, values: pairs }),
      text: (r) => r.values.map((v) => `${v.key}=${v.value}`).join('\n'),
      async run(ctx, input) {
        const { ctl, auth } = await open(ctx, input);
        const r = await ctl.ok(command('GETCONF', ...input.keys), 'GETCONF');
        await quit(ctl);
        return { auth, values: keyValues(r).map(([key, value]) => ({ key, value })) };
      },
    }),
    signal: operation({
      summary: 'SIGNAL: RELOAD, NEWNYM, CLEARDNSCACHE, HEARTBEAT, DUMP, DEBUG, DORMANT, ACTIVE, SHUTDOWN or HALT',
      input: z.object({
        signal: z.enum(['RELOAD', 'NEWNYM', 'CLEARDNSCACHE', 'HEARTBEAT', 'DUMP', 'DEBUG', 'DORMANT', 'ACTIVE', 'SHUTDOWN', 'HALT']).meta({ examples: ['NEWNYM'] }),
        ...authFields,
      }),
      output: z.object({ auth: authOut, reply: z.string() }),
      text: (r) => r.reply,
      async run(ctx, input) {
        const { ctl, auth } = await open(ctx, input);
        const r = await ctl.ok(command('SIGNAL', input.signal), `SIGNAL ${input.signal}`);
        await quit(ctl);
        return { auth, reply: `${r.status} ${r.lines[r.lines.length - 1].text}` };
      },
    }),
    command: operation({
      summary: 'Any control command after authenticating (e.g. GETINFO circuit-status, SETCONF, MAPADDRESS): the reply as tor sent it',
      input: z.object({ line: z.string().min(1).max(8192).regex(/^[^\r\n]+$/, 'one command line').meta({ examples: ['GETINFO status/bootstrap-phase'] }), ...authFields }),
      output: z.object({ auth: authOut, reply: replyOut }),
      text: (r) => r.reply.lines.map((l) => `${l.status} ${l.text}${l.data !== undefined ? `\n${l.data}\n.` : ''}`).join('\n'),
      async run(ctx, input) {
        const { ctl, auth } = await open(ctx, input);
        const r = await ctl.send(command(input.line), input.line);
        await quit(ctl);
        if (r.status >= 500) throw replyError(r, input.line.split(' ')[0]);
        return { auth, reply: r };
      },
    }),
    events: operation({
      summary: 'SETEVENTS: events as they happen (live), or those of a time window',
      messages: 'Client: {"type":"command","line"} sends a control command; server: each event as a JSON message.',
      input: z.object({ events: eventNames, durationMs: z.number().int().min(100).max(60_000).default(5000).describe('POST only: how long to listen'), maxEvents: z.number().int().min(1).max(100_000).default(1000), ...authFields }),
      output: z.object({ auth: authOut, events: z.array(eventOut), count: z.number() }),
      text: (r) => r.events.map((e) => e.text).join('\n') || '(no events)',
      async run(ctx, input) {
        const { ctl, auth } = await open(ctx, input);
        await ctl.ok(command('SETEVENTS', ...input.events), 'SETEVENTS');
        const events: z.infer<typeof eventOut>[] = [];
        try {
          await ctx.within(input.durationMs, async () => {
            while (events.length < input.maxEvents) events.push(eventJson(await ctl.nextEvent()));
          });
        } catch (e) {
          if (!(e instanceof PortolanError) || e.code !== 'io_timeout' || ctx.signal.aborted) throw e;
        }
        return { auth, events, count: events.length };
      },
      async session(ctx, input, channel) {
        const { ctl, auth } = await open(ctx, input);
        channel.send({ type: 'authenticated', ...auth });
        await ctl.ok(command('SETEVENTS', ...input.events), 'SETEVENTS');
        let count = 0;
        // One reader: events go out as they come; a command's reply goes to the client in order.
        const fromServer = (async () => {
          for (;;) {
            const r = await ctl.next();
            if (r.status === EVENT) {
              channel.send({ type: 'event', ...eventJson(r) });
              if (++count >= input.maxEvents) return;
            } else channel.send({ type: 'reply', ...r });
          }
        })();
        const fromClient = (async () => {
          for (;;) {
            const m: SessionMessage | null = await channel.receive();
            if (m === null || (!(m instanceof Uint8Array) && m.type === 'stop')) return;
            if (m instanceof Uint8Array || m.type !== 'command' || typeof m.line !== 'string' || !/^[^\r\n]{1,8192}$/.test(m.line)) {
              channel.send({ type: 'error', error: { code: 'invalid_input', message: 'send {"type":"command","line":"GETINFO version"} or {"type":"stop"}' } });
              continue;
            }
            await ctl.conn.write(command(m.line), { decode: m.line });
          }
        })();
        try {
          await Promise.race([fromServer, fromClient]);
        } catch (e) {
          if (!(e instanceof PortolanError) || e.code !== 'closed') throw e;
        }
        return { auth, events: [], count };
      },
    }),
  },
});
