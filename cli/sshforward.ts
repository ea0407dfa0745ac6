// `portolan ssh forward -L [BIND:]LOCAL_PORT:TARGET_HOST:TARGET_PORT USER@HOST[:PORT]`: ssh -L through Portolan. One
// `ssh forward` session (one SSH connection, made by the deployment or a Node host in this process) carries every
// connection accepted on the local port, each a direct-tcpip channel from the SSH server to the target.
// What comes from the session is acknowledged once the local socket took it (the session's credit); what goes to
// it stays within FORWARD_WINDOW per connection until the session says it went into the SSH channel (`sent`).
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import WebSocket from 'ws';
import { InvalidInput, PortolanError } from '../src/core/errors.ts';
import { dataFrame, FORWARD_WINDOW, parseDataFrame } from '../src/protocols/ssh/forward.ts';
import { EXIT_CODES } from './exit-codes.ts';
import { promptPassword } from './password.ts';
import { styleFor, type Style } from './render.ts';
import { fail, listenLocal, mib, refusalOf, resolveRemote, statusLine } from './tunnel.ts';

const USAGE =
  'usage: portolan ssh forward -L [BIND:]LOCAL_PORT:TARGET_HOST:TARGET_PORT [-p PORT] [-i KEY_FILE] [--password-stdin] [--host-key-fingerprint SHA256:...] [--remote URL] [--token T] [-q] USER@HOST[:PORT]';
const HELP = `Listens on BIND:LOCAL_PORT (BIND defaults to 127.0.0.1; 0 picks a port) and carries each connection over one SSH
connection to HOST, which connects to TARGET_HOST:TARGET_PORT, as ssh -L does. The SSH connection is made by the
deployment (--remote) or by this machine. The password comes from --password-stdin, SSHPASS, or a prompt; a key from -i.
  portolan ssh forward -L 16379:127.0.0.1:6379 me@bastion.example & redis-cli -p 16379
PORTOLAN_REMOTE and PORTOLAN_TOKEN stand for --remote and --token.`;

/** Largest data message sent (the bytes behind the 4-byte connection id). */
const MAX_SEND = 64 * 1024;

export interface LocalForward {
  bind: string;
  localPort: number;
  targetHost: string;
  targetPort: number;
}

const port = (text: string, field: string, min = 1): number => {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > 65535) throw InvalidInput.field(field, `${JSON.stringify(text)} is not a port (${min}–65535)`);
  return n;
};

/** ssh's -L forms: LOCAL_PORT:HOST:PORT and BIND:LOCAL_PORT:HOST:PORT, with [v6] addresses in brackets. */
export function parseLocalForward(spec: string): LocalForward {
  const parts = [''];
  let bracket = false;
  for (const c of spec) {
    if (c === '[' || c === ']') bracket = c === '[';
    else if (c === ':' && !bracket) parts.push('');
    else parts[parts.length - 1] += c;
  }
  if (parts.length !== 3 && parts.length !== 4) throw InvalidInput.field('L', `${JSON.stringify(spec)} is not [BIND:]LOCAL_PORT:TARGET_HOST:TARGET_PORT`);
  const [bind, local, host, target] = parts.length === 4 ? parts : ['127.0.0.1', ...parts];
  if (!host) throw InvalidInput.field('L', `${JSON.stringify(spec)} names no target host`);
  return { bind: bind === '' || bind === 'localhost' ? '127.0.0.1' : bind === '*' ? '0.0.0.0' : bind, localPort: port(local, 'L', 0), targetHost: host, targetPort: port(target, 'L') };
}

interface Args {
  forwards: LocalForward[];
  user: string;
  host: string;
  port: number;
  identity?: string;
  passwordStdin: boolean;
  hostKeyFingerprint?: string;
  remote?: string;
  token?: string;
  quiet: boolean;
}

export function parseSshForwardArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Args {
  const out: Partial<Args> & { forwards: LocalForward[]; positionals: string[] } = { forwards: [], positionals: [], passwordStdin: false, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    // -L16379:... as ssh takes it, and -L 16379:..., --flag=value and --flag value.
    const [flag, inline] = a.startsWith('--') ? a.split(/=(.*)/s, 2) : a.length > 2 && a.startsWith('-') ? [a.slice(0, 2), a.slice(2)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw InvalidInput.field(flag.replace(/^-+/, ''), 'needs a value');
      return v;
    };
    if (flag === '-L') out.forwards.push(parseLocalForward(value()));
    else if (flag === '-p') out.port = port(value(), 'p');
    else if (flag === '-i') out.identity = value();
    else if (flag === '--password-stdin') out.passwordStdin = true;
    else if (flag === '--host-key-fingerprint') out.hostKeyFingerprint = value();
    else if (flag === '--remote') out.remote = value();
    else if (flag === '--token') out.token = value();
    else if (flag === '-q' || flag === '--quiet') out.quiet = true;
    else if (flag.startsWith('-')) throw InvalidInput.field(flag.replace(/^-+/, ''), 'is not a flag of portolan ssh forward');
    else out.positionals.push(a);
  }
  if (out.forwards.length === 0) throw InvalidInput.field('L', 'give at least one -L [BIND:]LOCAL_PORT:TARGET_HOST:TARGET_PORT');
  if (out.positionals.length !== 1) throw InvalidInput.field('destination', 'one USER@HOST[:PORT]');
  const m = /^([^@]+)@(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(out.positionals[0]);
  if (!m) throw InvalidInput.field('destination', `${JSON.stringify(out.positionals[0])} is not USER@HOST[:PORT]`);
  return {
    forwards: out.forwards,
    user: m[1],
    host: m[2].replace(/^\[|\]$/g, ''),
    port: out.port ?? (m[3] ? port(m[3], 'destination') : 22),
    identity: out.identity,
    passwordStdin: out.passwordStdin!,
    hostKeyFingerprint: out.hostKeyFingerprint,
    remote: out.remote ?? (env.PORTOLAN_REMOTE || undefined),
    token: out.token ?? (env.PORTOLAN_TOKEN || undefined),
    quiet: out.quiet!,
  };
}

async function readStdinLine(): Promise<string> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk as string;
  return text.split(/\r?\n/)[0];
}

interface Local {
  socket: net.Socket;
  from: string;
  /** Bytes sent and not yet confirmed by `sent`. */
  inFlight: number;
  closedByServer: boolean;
}

export async function sshForwardCommand(argv: string[]): Promise<number> {
  const style: Style = styleFor(process.stderr, process.env, argv.includes('--no-color'));
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n\n${HELP}\n`);
    return 0;
  }
  let a: Args;
  const input: Record<string, unknown> = {};
  try {
    a = parseSshForwardArgs(argv.filter((x) => x !== '--no-color'));
    Object.assign(input, { host: a.host, port: a.port, username: a.user });
    if (a.identity) {
      try {
        input.privateKey = readFileSync(a.identity, 'utf8');
      } catch (e) {
        throw InvalidInput.field('i', `cannot read ${a.identity}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    if (a.hostKeyFingerprint) input.hostKeyFingerprint = a.hostKeyFingerprint;
    if (a.passwordStdin) input.password = await readStdinLine();
    else if (process.env.SSHPASS !== undefined) input.password = process.env.SSHPASS;
    else if (!a.identity && process.stdin.isTTY) {
      const pw = await promptPassword(`${a.user}@${a.host}'s password: `);
      if (pw === null) return EXIT_CODES.invalid_input;
      input.password = pw;
    }
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return EXIT_CODES.invalid_input;
  }
  let r: Awaited<ReturnType<typeof resolveRemote>>;
  try {
    r = await resolveRemote(a);
  } catch (e) {
    return fail(style, e instanceof PortolanError ? e.code : 'invalid_input', (e as Error).message);
  }
  const ssh = `${a.user}@${a.host}:${a.port}`;
  const url = `${r.remote.base.replace(/^http/, 'ws')}/api/ssh/forward`;
  const ws = new WebSocket(url, { headers: r.remote.token ? { authorization: `Bearer ${r.remote.token}` } : {}, perMessageDeflate: false });
  const locals = new Map<number, Local>();
  const servers: net.Server[] = [];
  const status = statusLine(!a.quiet && process.stderr.isTTY === true);
  const totals = { open: 0, done: 0, failed: 0, sent: 0, received: 0 };
  const draw = () => status.show(`${totals.open} open, ${totals.done} done${totals.failed ? `, ${totals.failed} failed` : ''} · ${mib(totals.sent)} sent, ${mib(totals.received)} received`);
  let nextId = 1;
  const say = (m: Record<string, unknown>) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(m));

  const accept = (fwd: LocalForward) => (socket: net.Socket) => {
    const id = nextId++;
    const l: Local = { socket, from: `${socket.remoteAddress}:${socket.remotePort}`, inFlight: 0, closedByServer: false };
    locals.set(id, l);
    totals.open++;
    draw();
    say({ type: 'open', id, host: fwd.targetHost, port: fwd.targetPort });
    socket.on('data', (chunk: Buffer) => {
      for (let at = 0; at < chunk.length; at += MAX_SEND) {
        const part = chunk.subarray(at, at + MAX_SEND);
        if (ws.readyState === ws.OPEN) ws.send(dataFrame(id, part));
        l.inFlight += part.length;
        totals.sent += part.length;
      }
      if (l.inFlight > FORWARD_WINDOW - MAX_SEND) socket.pause();
      draw();
    });
    socket.on('end', () => say({ type: 'eof', id }));
    socket.on('close', () => {
      if (locals.get(id) !== l) return;
      locals.delete(id);
      totals.open--;
      totals.done++;
      draw();
      if (!l.closedByServer) say({ type: 'close', id });
    });
  };

  const outcome = await new Promise<{ code: string; message: string } | null>((resolve) => {
    const stop = () => {
      if (ws.readyState === ws.OPEN) say({ type: 'stop' });
      else resolve(null);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'start', input })));
    ws.on('message', async (data: Buffer, isBinary) => {
      // Credit: bytes of binary messages, characters of JSON ones, acknowledged once taken.
      if (isBinary) {
        const { id, data: bytes } = parseDataFrame(new Uint8Array(data.buffer, data.byteOffset, data.length));
        const l = locals.get(id);
        totals.received += bytes.length;
        draw();
        if (!l || l.socket.destroyed) return void say({ type: 'ack', bytes: data.length });
        l.socket.write(bytes, () => say({ type: 'ack', bytes: data.length }));
        return;
      }
      const text = data.toString('utf8');
      say({ type: 'ack', bytes: text.length });
      const m = JSON.parse(text) as { type: string; id?: number; bytes?: number; error?: { code: string; message: string }; result?: unknown };
      const l = m.id !== undefined ? locals.get(m.id) : undefined;
      if (m.type === 'connected') {
        for (const fwd of a.forwards) {
          const s = await listenLocal(fwd.bind, fwd.localPort, accept(fwd));
          if (s instanceof Error) {
            say({ type: 'stop' });
            return resolve({ code: 'invalid_input', message: `cannot listen on ${fwd.bind}:${fwd.localPort}: ${s.message}` });
          }
          servers.push(s);
          const bound = (s.address() as net.AddressInfo).port;
          process.stdout.write(`Forwarding ${fwd.bind}:${bound} to ${fwd.targetHost}:${fwd.targetPort} via SSH ${ssh}${r.local ? '' : ` through ${r.label}`}\n`);
        }
      } else if (m.type === 'sent' && l) {
        l.inFlight = Math.max(0, l.inFlight - (m.bytes ?? 0));
        if (l.inFlight <= FORWARD_WINDOW / 2 && l.socket.isPaused() && !l.socket.readableEnded) l.socket.resume();
      } else if (m.type === 'eof' && l) l.socket.end();
      else if (m.type === 'closed' && l) {
        l.closedByServer = true;
        l.socket.end(() => l.socket.destroy());
      } else if (m.type === 'failed' && l) {
        l.closedByServer = true;
        totals.failed++;
        status.clear();
        // The reason always shows: the next connection gets its own try.
        process.stderr.write(`${style.red(`portolan: ${m.error?.code}`)}: connection from ${l.from}: ${m.error?.message}\n`);
        l.socket.resetAndDestroy();
      } else if (m.type === 'end') resolve(null);
      else if (m.type === 'error') resolve(m.error ?? { code: 'closed', message: 'the session failed' });
    });
    ws.on('unexpected-response', (_req, res) => void refusalOf(res, r.label).then(resolve));
    ws.on('error', (e) => resolve({ code: 'refused', message: `could not reach ${r.label}: ${e.message}` }));
    ws.on('close', () => resolve({ code: 'closed', message: 'the session closed without an answer' }));
  });
  status.clear();
  for (const s of servers) s.close();
  for (const l of locals.values()) l.socket.destroy();
  ws.terminate();
  await r.local?.close();
  if (outcome) return fail(style, outcome.code, `ssh forward via ${ssh}: ${outcome.message}`);
  return 0;
}
