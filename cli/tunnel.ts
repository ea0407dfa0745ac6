// Native clients through the raw tunnel (docs/tunnel.md): `portolan tunnel --stdio HOST:PORT` joins standard
// input and output to one tunnel (ssh's ProxyCommand), `portolan forward LOCAL_PORT HOST:PORT` listens on
// 127.0.0.1 and opens one tunnel per accepted connection (psql, redis-cli, a database GUI ...).
// Both speak the credit protocol: data goes out while less than a window is unacknowledged, data that came
// in is acknowledged once the local side took it, and the local end of input half-closes the target.
// Without --remote (or PORTOLAN_REMOTE) the tunnel runs through a Node host started in this process.
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import WebSocket from 'ws';
import { InvalidInput, PortolanError } from '../src/core/errors.ts';
import { startNodeHost, type RunningNodeHost } from '../src/hosts/node/server.ts';
import { remoteBase } from './args.ts';
import { EXIT_CODES, exitCodeOf } from './exit-codes.ts';
import { styleFor, type Style } from './render.ts';

/** Largest data message a client sends (the server gathers its own up to the same size). */
const MAX_SEND = 64 * 1024;
/** Longest an acknowledgement below a quarter window waits for more to cover (docs/tunnel.md). */
const ACK_DELAY_MS = 5;

export interface TunnelTarget {
  host: string;
  port: number;
  tls: boolean;
}

/** How a tunnel ended: every byte carried and a normal close, or an outcome code and its reason. */
export type TunnelEnd = ({ ok: true } | { ok: false; code: string; message: string }) & {
  sent: number;
  received: number;
  /** The local side had sent everything (its end of input was passed on) before the tunnel ended. */
  inputEnded: boolean;
  /** The local side went away with an error (a reset): the tunnel ended for that, not for a failure of its own. */
  localGone: boolean;
};

export interface TunnelProgress {
  sent: number;
  received: number;
  remoteAddress?: string;
}

/** What a close code says, for a tunnel that ended without an error message first. */
function closeOutcome(code: number, reason: string): { code: string; message: string } {
  const why = reason || `closed with ${code}`;
  if (code === 4001 || code === 4004) return { code: 'io_timeout', message: why };
  if (code === 4002) return { code: 'closed', message: why };
  if (code === 4003) return { code: 'protocol_error', message: why };
  return { code: 'closed', message: why };
}

/** `host:port`, `[v6]:port` or (as ssh's %h:%p gives it) `v6:port`. */
export function parseTarget(text: string, tls: boolean): TunnelTarget {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^(.+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || !(port >= 1 && port <= 65535)) throw InvalidInput.field('target', `${JSON.stringify(text)} is not HOST:PORT (like db.example.com:5432)`);
  return { host: m[1], port, tls };
}

export interface Remote {
  /** http(s) origin and path of the deployment. */
  base: string;
  token?: string;
}

/**
 * One tunnel: `input` goes to the target, what the target sends goes to `output`; resolves when the tunnel
 * closed (the target ended and everything was written, or a failure). `input` is paused until the tunnel opens.
 */
export function pipeTunnel(remote: Remote, target: TunnelTarget, input: Readable, output: Writable, progress?: (p: TunnelProgress) => void, opts: { endOutput?: boolean } = {}): Promise<TunnelEnd> {
  // A socket's write side ends with the target's; process.stdout cannot be ended, only flushed.
  const endOutput = opts.endOutput ?? true;
  const query = new URLSearchParams({ host: target.host, port: String(target.port) });
  if (target.tls) query.set('tls', '1');
  const url = `${remote.base.replace(/^http/, 'ws')}/api/tunnel?${query}`;
  const ws = new WebSocket(url, { headers: remote.token ? { authorization: `Bearer ${remote.token}` } : {}, perMessageDeflate: false });
  input.pause();
  const state: TunnelProgress = { sent: 0, received: 0 };
  let window = 0;
  let inFlight = 0; // bytes sent and not yet acknowledged by the server
  let failure: { code: string; message: string } | undefined;
  let done = false;
  let inputEnded = false;
  let localGone = false;
  let toAck = 0; // bytes the local side took, not yet acknowledged
  let ackTimer: ReturnType<typeof setTimeout> | undefined;
  const ack = () => {
    clearTimeout(ackTimer);
    ackTimer = undefined;
    if (toAck > 0 && ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'ack', bytes: toAck }));
    toAck = 0;
  };
  return new Promise<TunnelEnd>((resolve) => {
    const end = (f?: { code: string; message: string }) => {
      if (done) return;
      done = true;
      clearTimeout(ackTimer);
      failure ??= f;
      input.off('data', onData);
      input.off('end', onEnd);
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.terminate();
      const counts = { sent: state.sent, received: state.received, inputEnded, localGone };
      resolve(failure ? { ok: false, ...failure, ...counts } : { ok: true, ...counts });
    };
    const onData = (chunk: Buffer) => {
      for (let at = 0; at < chunk.length; at += MAX_SEND) {
        const part = chunk.subarray(at, at + MAX_SEND);
        ws.send(part);
        inFlight += part.length;
        state.sent += part.length;
      }
      // Pause with room for one more read: the server cuts off a client past its window.
      if (inFlight > window - MAX_SEND) input.pause();
      progress?.(state);
    };
    const onEnd = () => {
      inputEnded = true;
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'eof' }));
    };
    ws.on('open', () => undefined);
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        state.received += data.length;
        progress?.(state);
        // Acknowledge once the local side took it (a slow reader holds the server at a window): a quarter
        // window at once, less a few milliseconds later, so a stream of small messages carries few acks.
        output.write(data, (err) => {
          if (err) return;
          toAck += data.length;
          if (toAck >= window / 4) ack();
          else ackTimer ??= setTimeout(ack, ACK_DELAY_MS);
        });
        return;
      }
      let msg: { type?: string; window?: number; bytes?: number; code?: string; message?: string; remoteAddress?: string | null };
      try {
        msg = JSON.parse(String(data));
      } catch {
        return end({ code: 'protocol_error', message: `${remote.base} sent a control message that is not JSON` });
      }
      if (msg.type === 'open') {
        window = msg.window ?? 1024 * 1024;
        state.remoteAddress = msg.remoteAddress ?? undefined;
        progress?.(state);
        input.on('data', onData);
        input.once('end', onEnd);
        input.resume();
      } else if (msg.type === 'ack') {
        inFlight = Math.max(0, inFlight - (msg.bytes ?? 0));
        if (inFlight <= window / 2 && input.isPaused() && !input.readableEnded) input.resume();
      } else if (msg.type === 'eof') {
        if (endOutput) output.end();
      } else if (msg.type === 'error') {
        failure ??= { code: msg.code ?? 'closed', message: msg.message ?? 'the tunnel failed' };
      }
    });
    ws.on('unexpected-response', (_req, res) => void refusalOf(res, remote.base).then(end));
    ws.on('error', (e) => end({ code: 'refused', message: `could not reach ${remote.base}: ${e.message}` }));
    ws.on('close', (code, reason) => {
      // A failure is the caller's to pass on (a reset of the local socket, an exit code); a normal end is
      // reported once what was written out is flushed (stdout to a pipe, a local socket).
      if (code !== 1000) return end(closeOutcome(code, String(reason)));
      if (!endOutput) return void output.write(new Uint8Array(0), () => end());
      if (!output.writableEnded) output.end();
      if (output.writableFinished || output.destroyed) end();
      else {
        output.once('finish', () => end());
        output.once('error', () => end());
        output.once('close', () => end());
      }
    });
    // The local side went away: the tunnel ends (a local socket reset, ssh closing its end of the pipe).
    const gone = (e: Error) => {
      if (!done && !failure) localGone = true;
      end({ code: 'closed', message: `local side: ${e.message}` });
    };
    output.once('error', gone);
    input.once('error', gone);
  });
}

/** Why the deployment refused a WebSocket upgrade: its JSON error, or what the HTTP status says. */
export function refusalOf(res: IncomingMessage, base: string): Promise<{ code: string; message: string }> {
  return new Promise((resolve) => {
    let text = '';
    res.on('data', (d: Buffer) => (text += d));
    res.on('end', () => {
      let err: { code?: string; message?: string } | undefined;
      try {
        err = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      } catch {
        // not a Portolan answer
      }
      const status = res.statusCode ?? 0;
      const fallback = status === 403 ? 'target_blocked' : status === 429 ? 'rate_limited' : status === 401 ? 'invalid_input' : 'protocol_error';
      resolve({ code: err?.code ?? fallback, message: `HTTP ${status}: ${err?.message ?? (text.trim().slice(0, 200) || 'no reason given')}` });
    });
    res.on('error', () => resolve({ code: 'closed', message: `HTTP ${res.statusCode} from ${base}` }));
  });
}

export const mib = (n: number) => `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 2 : 1)} MiB`;

/** A line on stderr redrawn in place (only on a terminal), at most a few times a second. */
export function statusLine(enabled: boolean): { show(text: string): void; clear(): void } {
  let last = 0;
  let shown = false;
  return {
    show(text) {
      if (!enabled) return;
      const now = Date.now();
      if (now - last < 250) return;
      last = now;
      shown = true;
      process.stderr.write(`\r\x1b[K${text}`);
    },
    clear() {
      if (shown) process.stderr.write('\r\x1b[K');
      shown = false;
      last = 0;
    },
  };
}

interface TunnelArgs {
  remote?: string;
  token?: string;
  tls: boolean;
  quiet: boolean;
  noColor: boolean;
  stdio: boolean;
  positionals: string[];
}

function parseArgs(argv: string[]): TunnelArgs {
  const out: TunnelArgs = { tls: false, quiet: false, noColor: false, stdio: false, positionals: [] };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw InvalidInput.field(flag.replace(/^-+/, ''), 'needs a value');
      return v;
    };
    if (flag === '--remote') out.remote = value();
    else if (flag === '--token') out.token = value();
    else if (flag === '--tls') out.tls = true;
    else if (flag === '--stdio') out.stdio = true;
    else if (flag === '--quiet' || flag === '-q') out.quiet = true;
    else if (flag === '--no-color') out.noColor = true;
    else if (flag.startsWith('-') && flag !== '-') throw InvalidInput.field(flag.replace(/^-+/, ''), `is not a flag of this command`);
    else out.positionals.push(argv[i]);
  }
  out.remote ??= process.env.PORTOLAN_REMOTE || undefined;
  out.token ??= process.env.PORTOLAN_TOKEN || undefined;
  return out;
}

/** The deployment to tunnel through: --remote, or a Node host in this process (every target allowed, as local runs are). */
export async function resolveRemote(a: { remote?: string; token?: string }): Promise<{ remote: Remote; local?: RunningNodeHost; label: string }> {
  if (a.remote) {
    const remote = { base: remoteBase(a.remote), token: a.token };
    return { remote, label: remote.base };
  }
  const local = await startNodeHost({ port: 0, allowTargets: '0.0.0.0/0,::/0', rateLimitClient: 'off', rateLimitTarget: 'off' });
  return { remote: { base: local.url }, local, label: 'this machine' };
}

export function fail(style: Style, code: string, message: string): number {
  process.stderr.write(`${style.red(`portolan: ${code}`)}: ${message}\n`);
  return exitCodeOf(code);
}

const TUNNEL_USAGE = 'usage: portolan tunnel --stdio [--remote URL] [--token T] [--tls] [-q] HOST:PORT';
const FORWARD_USAGE = 'usage: portolan forward [--remote URL] [--token T] [--tls] [-q] LOCAL_PORT HOST:PORT';

type Prepared<T> = { a: TunnelArgs; style: Style; r: Awaited<ReturnType<typeof resolveRemote>>; parsed: T };

/** Help, arguments (usage and exit 2 when wrong), then the deployment; a number is the exit code to return now. */
async function prepare<T>(argv: string[], usage: string, help: string, check: (a: TunnelArgs) => T): Promise<number | Prepared<T>> {
  const style = styleFor(process.stderr, process.env, argv.includes('--no-color'));
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage}\n\n${help}\nPORTOLAN_REMOTE and PORTOLAN_TOKEN stand for --remote and --token.\n`);
    return 0;
  }
  let a: TunnelArgs;
  let parsed: T;
  try {
    a = parseArgs(argv);
    parsed = check(a);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage}\n`);
    return EXIT_CODES.invalid_input;
  }
  try {
    return { a, style, r: await resolveRemote(a), parsed };
  } catch (e) {
    return fail(style, e instanceof PortolanError ? e.code : 'invalid_input', (e as Error).message);
  }
}

/** `portolan tunnel --stdio HOST:PORT`: standard input and output joined to one tunnel; exits with its outcome. */
export async function tunnelCommand(argv: string[]): Promise<number> {
  const p = await prepare(argv, TUNNEL_USAGE, "Joins standard input and output to a TCP connection through the tunnel, e.g.\n  ssh -o ProxyCommand='portolan tunnel --stdio --remote https://portolan.example %h:%p' user@host", (a) => {
    if (!a.stdio) throw InvalidInput.field('stdio', 'portolan tunnel joins standard input and output: pass --stdio');
    if (a.positionals.length !== 1) throw InvalidInput.field('target', 'one HOST:PORT');
    return parseTarget(a.positionals[0], a.tls);
  });
  if (typeof p === 'number') return p;
  const { a, style, r, parsed: target } = p;
  // stdout may be a terminal, a pipe or a file; ssh gives pipes. stderr is often ssh's terminal: a line at the
  // start and one at the end, never redrawn (it would land inside the session's screen).
  const say = !a.quiet && process.stderr.isTTY === true;
  const name = `${target.host}:${target.port}${target.tls ? ' (TLS)' : ''}`;
  let announced = false;
  const end = await pipeTunnel(r.remote, target, process.stdin, process.stdout, (p) => {
    if (say && !announced) {
      announced = true;
      process.stderr.write(style.dim(`portolan: tunnel to ${name} open via ${r.label}${p.remoteAddress ? ` (${p.remoteAddress})` : ''}\r\n`));
    }
  }, { endOutput: false });
  process.stdin.pause();
  await r.local?.close();
  if (!end.ok) return fail(style, end.code, `tunnel to ${name}: ${end.message}`);
  if (say) process.stderr.write(style.dim(`portolan: tunnel to ${name} closed: ${mib(end.sent)} sent, ${mib(end.received)} received\r\n`));
  return 0;
}

/**
 * The local end of a forward: listens on bind:port and hands each accepted connection to `onSocket`; half-open,
 * so a client's end of input is passed on and the target's answer after it still reaches the client.
 */
export function listenLocal(bind: string, port: number, onSocket: (socket: net.Socket) => void): Promise<net.Server | Error> {
  const server = net.createServer({ allowHalfOpen: true }, onSocket);
  server.on('connection', (s) => s.on('error', () => undefined));
  return new Promise((resolve) => {
    server.once('error', resolve);
    server.listen(port, bind, () => resolve(server));
  });
}

/** `portolan forward LOCAL_PORT HOST:PORT`: one tunnel per connection to 127.0.0.1:LOCAL_PORT, until Ctrl-C. */
export async function forwardCommand(argv: string[]): Promise<number> {
  const p = await prepare(argv, FORWARD_USAGE, 'Listens on 127.0.0.1:LOCAL_PORT (0 picks one) and carries each connection through its own tunnel, e.g.\n  portolan forward --remote https://portolan.example 15432 db.internal:5432 & psql -h 127.0.0.1 -p 15432', (a) => {
    if (a.positionals.length !== 2) throw InvalidInput.field('target', 'LOCAL_PORT and HOST:PORT');
    const localPort = Number(a.positionals[0]);
    if (!(Number.isInteger(localPort) && localPort >= 0 && localPort <= 65535)) throw InvalidInput.field('localPort', `${JSON.stringify(a.positionals[0])} is not a port (0–65535)`);
    return { localPort, target: parseTarget(a.positionals[1], a.tls) };
  });
  if (typeof p === 'number') return p;
  const { a, style, r } = p;
  const { localPort, target } = p.parsed;
  const name = `${target.host}:${target.port}${target.tls ? ' (TLS)' : ''}`;
  const status = statusLine(!a.quiet && process.stderr.isTTY === true);
  const totals = { open: 0, done: 0, failed: 0, sent: 0, received: 0 };
  const live = new Set<TunnelProgress>();
  const draw = () => {
    let sent = totals.sent;
    let received = totals.received;
    for (const p of live) {
      sent += p.sent;
      received += p.received;
    }
    status.show(`${totals.open} open, ${totals.done} done${totals.failed ? `, ${totals.failed} failed` : ''} · ${mib(sent)} sent, ${mib(received)} received`);
  };
  const sockets = new Set<net.Socket>();
  const listening = await listenLocal('127.0.0.1', localPort, (socket) => {
    const from = `${socket.remoteAddress}:${socket.remotePort}`;
    sockets.add(socket);
    totals.open++;
    const seen: TunnelProgress = { sent: 0, received: 0 };
    live.add(seen);
    draw();
    void pipeTunnel(r.remote, target, socket, socket, (p) => {
      Object.assign(seen, p);
      draw();
    }).then((end) => {
      live.delete(seen);
      sockets.delete(socket);
      totals.open--;
      totals.sent += end.sent;
      totals.received += end.received;
      if (end.ok) {
        totals.done++;
        socket.destroy();
      } else if (end.code === 'closed' && (end.inputEnded || end.localGone)) {
        // The client had sent everything, then the target reset (a TLS peer that closes without reading the
        // client's close_notify, as PostgreSQL does): the client sees the reset, as it would directly. Or the
        // client reset its own connection (psql does, closing with the server's last bytes still unread): the
        // client's choice, nothing for the forward to report.
        totals.done++;
        socket.resetAndDestroy();
      } else {
        socket.resetAndDestroy();
        totals.failed++;
        status.clear();
        // The reason always shows, terminal or not: the next connection gets its own try.
        process.stderr.write(`${style.red(`portolan: ${end.code}`)}: connection from ${from} to ${name}: ${end.message}\n`);
      }
      draw();
    });
  });
  if (listening instanceof Error) {
    await r.local?.close();
    return fail(style, 'invalid_input', `cannot listen on 127.0.0.1:${localPort}: ${listening.message}`);
  }
  const server = listening;
  const port = (server.address() as net.AddressInfo).port;
  process.stdout.write(`Forwarding 127.0.0.1:${port} to ${name} via ${r.label}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  status.clear();
  server.close();
  for (const s of sockets) s.destroy();
  await r.local?.close();
  return 0;
}
