// Telnet, RFC 854/855 with TERMINAL-TYPE (RFC 1091), NAWS (RFC 1073) and END-OF-RECORD (RFC 885): a terminal
// session over a WebSocket, the server's negotiation and banner, and a login that runs one command.
import * as z from 'zod';
import { fromUtf8 } from '../../core/bytes.ts';
import { AuthError, classify } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext, type SessionMessage } from '../../core/protocol.ts';
import { TelnetClient } from './client.ts';
import { identification } from './identify.ts';

const terminal = {
  terminalType: z.string().regex(/^[A-Za-z0-9._+-]{1,40}$/, 'terminalType is a terminal name such as xterm-256color').default('xterm-256color').describe('Sent when the server asks (RFC 1091)'),
  cols: z.number().int().min(10).max(1000).default(80).describe('Window width, sent with NAWS (RFC 1073)'),
  rows: z.number().int().min(2).max(1000).default(24).describe('Window height'),
  linemode: z
    .boolean()
    .default(true)
    .describe('Accept LINEMODE (RFC 1184) when the server asks, as BSD telnet does: while the program on the server reads whole lines, the line is edited here (erase, word erase, kill, reprint, literal next) and sent whole, and interrupt, quit, suspend keys go as Telnet commands. false: WONT LINEMODE, and the server edits'),
};

const optionsState = z.object({
  local: z.array(z.string()),
  remote: z.array(z.string()),
  linemode: z.object({ mode: z.array(z.string()).describe('EDIT, TRAPSIG, SOFT-TAB, LIT-ECHO in force'), keys: z.record(z.string(), z.string()).describe('The special characters the server set (SLC), by function: IP ^C, EC ^?, ...') }).optional().describe('While LINEMODE is on'),
});

const environUser = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[^\s]+$/, 'user is one word')
  .optional()
  .describe('Sent as USER with NEW-ENVIRON (RFC 1572) when the server asks, as telnet -l does: netkit telnetd then has login ask only for the password (inetutils telnetd takes USER only after authentication)');

const oldEnviron = z
  .boolean()
  .default(false)
  .describe('Give USER only with the older ENVIRON option (RFC 1408), refusing NEW-ENVIRON, for a server from before RFC 1572 (ENVIRON is answered either way when the server asks for it)');

async function connect(ctx: OperationContext, input: { terminalType: string; cols: number; rows: number; user?: string; oldEnviron?: boolean; linemode: boolean }): Promise<TelnetClient> {
  const conn = await ctx.dial();
  const client = new TelnetClient(conn, {
    terminalType: input.terminalType,
    cols: input.cols,
    rows: input.rows,
    environ: input.user ? { USER: input.user } : undefined,
    oldEnvironOnly: input.oldEnviron,
    linemode: input.linemode,
    authSsl: ctx.target.tls === 'starttls',
  });
  await client.open();
  if (ctx.target.tls === 'starttls') await client.upgrade();
  return client;
}

/** Text as the user sees it: UTF-8 when it is, CR LF as LF. */
function display(text: string): string {
  const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
  let s: string;
  try {
    s = fromUtf8(bytes, true);
  } catch {
    s = text;
  }
  return s.replace(/\r\n/g, '\n').replace(/\r/g, '\n');
}

const LOGIN_PROMPT = /(login|username|user name):\s*$/i;
const PASSWORD_PROMPT = /password:\s*$/i;
const LOGIN_OR_PASSWORD = /(login|username|user name|password):\s*$/i;

export default defineProtocol({
  id: 'telnet',
  title: 'Telnet',
  category: 'remote',
  summary: 'Terminal sessions with option negotiation (terminal type, window size, echo, end of record, environment, LINEMODE with line editing in the client), over TLS from the first byte or upgraded by AUTH SSL; the server\'s negotiation and banner; a login that runs one command and returns its output and exit status.',
  ports: [
    { port: 23, transport: 'tcp' },
    { port: 992, transport: 'tls', label: 'telnets (Telnet over TLS)' },
  ],
  specs: ['RFC 854', 'RFC 855', 'RFC 856', 'RFC 857', 'RFC 858', 'RFC 885', 'RFC 1073', 'RFC 1091', 'RFC 1143', 'RFC 1184', 'RFC 1408', 'RFC 1571', 'RFC 1572', 'RFC 2941'],
  rating: {
    stars: 5,
    reason:
      "A terminal over WebSocket with TERMINAL-TYPE, NAWS (resizes too), ECHO, SGA, BINARY, EOR, NEW-ENVIRON (USER) and the older ENVIRON (RFC 1408, when NEW-ENVIRON is refused; VAR and VALUE swapped for a server that swaps them, RFC 1571), and LINEMODE (RFC 1184): MODE (EDIT, TRAPSIG, SOFT-TAB, LIT-ECHO) taken and acknowledged as the server's pty moves between line and character mode, the special characters (SLC) by the RFC's rules without loops, FORWARDMASK declined, a line editor here (erase, word erase, kill, reprint, literal next, EOF, FORW1/FORW2) echoing unless the server echoes or shows a password prompt, and interrupt, quit, suspend, AYT, AO and BRK keys sent as Telnet commands; all negotiated by RFC 1143 rules and shown by name in the negotiation and the transcript, IAC escaping and CR NUL; login-and-run with the exit status; TLS both ways telnetd-ssl offers it: from the first byte (port 992) and inside Telnet (AUTHENTICATION with the SSL type, RFC 2941: IS SSL START, the TLS handshake after REPLY SSL ACCEPT, before anything is typed). Lab-tested on the Node host and on workerd (src/protocols/telnet/telnet.lab.test.ts) against inetutils telnetd (negotiation read back, ENVIRON fallback, login, commands, wrong password; with --linemode: a word erased in the client before cat read the line, ^D as IAC EOF ending cat) and netkit telnetd-ssl (both TLS modes, login inside TLS, a server without AUTH SSL named). The interrupt keys under TRAPSIG are codec-tested (linemode.test.ts): inetutils telnetd on Linux turns IAC IP into the interrupt character, which a pty in external processing does not act on, so no lab server here shows their effect.",
  },
  verifiedAgainst: 'inetutils-telnetd 2:2.4-2+deb12u3, telnetd-ssl 0.17.41+really0.17-3',
  tls: { implicit: { port: 992 }, starttls: true },
  defaultOperation: 'negotiate',
  identify: identification,
  operations: {
    negotiate: operation({
      summary: "The server's option negotiation and the text it shows before a login (its banner and prompt)",
      input: z.object({ ...terminal, user: environUser, oldEnviron, waitMs: z.number().int().min(100).max(10_000).default(2000).describe('How long to wait for the login (or, with user, the password) prompt') }),
      output: z.object({ banner: z.string(), prompt: z.boolean().describe('A login prompt was seen'), options: optionsState, negotiation: z.array(z.string()), records: z.number() }),
      text: (r) => [...r.negotiation, '', r.banner].join('\n'),
      async run(ctx, input) {
        const client = await connect(ctx, input);
        let prompt = false;
        let banner: string;
        try {
          banner = await ctx.within(input.waitMs, () => client.readUntil(input.user ? LOGIN_OR_PASSWORD : LOGIN_PROMPT, 'a login prompt'));
          prompt = true;
        } catch (e) {
          if (classify(e).code !== 'io_timeout' || ctx.signal.aborted) throw e;
          banner = client.takePending();
        }
        await client.conn.close();
        return { banner: display(banner), prompt, options: client.state(), negotiation: client.negotiator.log, records: client.records };
      },
    }),
    exec: operation({
      primary: ['user', 'password', 'command'],
      summary: 'Log in with a user name and password, run one command, return its output and exit status',
      input: z.object({
        ...terminal,
        user: z.string().min(1).max(64).regex(/^[^\s]+$/, 'user is one word'),
        password: z.string().max(256).describe('Sent when the server asks for it; masked in the transcript'),
        command: z.string().min(1).max(4096).regex(/^[^\r\n]*$/, 'command is one line'),
        promptWaitMs: z.number().int().min(100).max(30_000).default(5000).describe('How long to wait for a shell prompt ($, #, %, >) after the password before typing anyway'),
      }),
      output: z.object({ output: z.string(), exitStatus: z.number().nullable(), banner: z.string(), options: optionsState, negotiation: z.array(z.string()) }),
      text: (r) => r.output,
      async run(ctx, input) {
        // The user name is typed at the login prompt, not given with NEW-ENVIRON: inetutils telnetd ignores USER there.
        const client = await connect(ctx, { ...input, user: undefined });
        const banner = await client.readUntil(LOGIN_OR_PASSWORD, 'the login prompt');
        if (!PASSWORD_PROMPT.test(banner)) {
          // Enter as a character-mode client types it: CR NUL (RFC 854). CR LF reaches the pty as two line ends, and the
          // terminal's echo of the second, empty line can land inside the command's output.
          await client.send(`${input.user}\r`, { decode: `${input.user} (user name)` });
          await client.readUntil(PASSWORD_PROMPT, 'the password prompt');
        }
        await client.send(`${input.password}\r`, { secret: true, decode: '(password) ****' });
        // login(1) may flush what was typed ahead: wait for the shell's prompt (or the refusal) before typing.
        let afterLogin = '';
        try {
          afterLogin = await ctx.within(input.promptWaitMs, () => client.readUntil(/[$#%>] ?$|login incorrect|authentication failure/i, 'a shell prompt'));
        } catch (e) {
          if (classify(e).code !== 'io_timeout' || ctx.signal.aborted) throw e;
        }
        if (/login incorrect|authentication failure/i.test(afterLogin)) {
          throw new AuthError(`login refused: ${display(afterLogin).split('\n').find((l) => /incorrect|failure/i.test(l))?.trim()}`);
        }
        // The markers are typed split by quotes, so the terminal's echo of the command line never matches them.
        const begin = '__PORTOLAN_BEGIN__';
        const end = '__PORTOLAN_END__';
        // `exit` goes on a line of its own once the output is in: typed on the command's line, the shell can end before
        // telnetd reads the output from the pty, and telnetd closes on the shell's exit without it.
        await client.send(`echo '__PORTOLAN_'BEGIN__; ${input.command}; echo '__PORTOLAN_'END__$?\r`, { decode: `${input.command} (between markers)` });
        // Either the command finishes (the status and its line end), or login says no (and asks for a login again).
        const text = await client.readUntil(new RegExp(`${end}(\\d+)\\r?\\n|login incorrect|authentication failure`, 'i'), 'the command to finish');
        const at = text.lastIndexOf(begin);
        const done = new RegExp(`${end}(\\d+)\\r?\\n$`).exec(text);
        if (!done || at < 0) {
          const line = display(text).split('\n').find((l) => /incorrect|failure/i.test(l))?.trim();
          throw new AuthError(`login refused: ${line ?? 'no shell after the password'}`);
        }
        await client.send('exit\r');
        const body = text.slice(at + begin.length).replace(/^\r?\n/, '');
        const status = Number(done[1]);
        const output = display(body.slice(0, body.lastIndexOf(end)));
        return { output, exitStatus: status, banner: display(banner), options: client.state(), negotiation: client.negotiator.log };
      },
    }),
    terminal: operation({
      summary: 'A terminal on the server, live in the page: option negotiation, window size and interrupt handled for you',
      messages: 'Binary frames are keystrokes and screen output. Client: {"type":"resize","cols","rows"} sends NAWS; {"type":"interrupt"} sends IAC IP.',
      input: z.object({ ...terminal, user: environUser, oldEnviron }),
      output: z.object({ ended: z.enum(['server', 'client']), options: optionsState, negotiation: z.array(z.string()), bytesIn: z.number(), bytesOut: z.number() }),
      async session(ctx, input, channel) {
        const client = await connect(ctx, input);
        let ended: 'server' | 'client' = 'server';
        let announced = '';
        const announce = () => {
          const state = JSON.stringify(client.state());
          if (state !== announced) {
            announced = state;
            channel.send({ type: 'options', ...client.state() });
          }
        };
        const fromServer = (async () => {
          for (;;) {
            const data = await client.readData();
            announce();
            if (data === null) return 'server' as const;
            if (data.length) channel.send(data);
          }
        })();
        const fromClient = (async () => {
          for (;;) {
            const m: SessionMessage | null = await channel.receive();
            if (m === null) return 'client' as const;
            if (m instanceof Uint8Array) {
              const echo = await client.type(m);
              if (echo.length) channel.send(echo);
            }
            else if (m.type === 'resize' && typeof m.cols === 'number' && typeof m.rows === 'number') {
              const naws = client.negotiator.resize(Math.max(1, Math.min(1000, m.cols)), Math.max(1, Math.min(1000, m.rows)));
              if (naws) await client.conn.write(naws, { decode: `IAC SB NAWS ${m.cols}x${m.rows} IAC SE` });
            } else if (m.type === 'interrupt') await client.conn.write(Uint8Array.of(255, 244), { decode: 'IAC IP' });
            else if (m.type === 'stop') return 'client' as const;
            else channel.send({ type: 'error', error: { code: 'invalid_input', message: `unknown message type ${JSON.stringify(m.type)}: binary data, resize, interrupt or stop` } });
          }
        })();
        try {
          ended = await Promise.race([fromServer.catch((e) => (classify(e).code === 'closed' ? ('server' as const) : Promise.reject(e))), fromClient]);
        } finally {
          await client.conn.close();
          fromServer.catch(() => {});
          fromClient.catch(() => {});
        }
        return { ended, options: client.state(), negotiation: client.negotiator.log, bytesIn: client.conn.bytesIn, bytesOut: client.conn.bytesOut };
      },
    }),
  },
});
