// Interactive shells, RFC 4254 6.2 (pty-req, terminal modes in 8), 6.5 (shell), 6.7 (window-change), 6.9 (signal),
// with recordings in asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/), and the WebSocket session driver.
//
// How the WebSocket session works (the wire contract the UI's terminal speaks):
//   browser → Worker: first a text frame {"type":"start", ...the `shell` operation's input}; then binary
//     frames are keystrokes (channel stdin), and text frames are control messages:
//     {"type":"resize","cols":n,"rows":n} {"type":"signal","name":"INT"} {"type":"eof"} {"type":"ack","bytes":n}
//     {"type":"close"}
//   Worker → browser: {"type":"connected","server":{...},"auth":{...}} once the shell runs; binary frames are
//     terminal output; {"type":"exit","exitStatus":n|null,"exitSignal":{...}|null};
//     {"type":"recording","asciicast":"..."} when the start message asked for one; {"type":"error","code","message"};
//     the socket closes after exit or error.
//   Flow control is by credit, as on /api/tunnel: the Worker stops reading the SSH channel (so the server's
//   window fills and it stops sending) once `window` bytes sent to the browser are unacknowledged.
import { fromUtf8, utf8 } from '../../core/bytes.ts';
import { classify, InvalidInput, PortolanError } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { openSession, serverSummary, type AuthInput } from './client.ts';
import { requestPty, sendEnv, type Channel, type ExitSignal, type SshConnection } from './connection.ts';

/** RFC 4254 8: terminal mode opcodes we let users set by name. */
export const TERMINAL_MODES: Record<string, number> = {
  VINTR: 1,
  VQUIT: 2,
  VERASE: 3,
  VKILL: 4,
  VEOF: 5,
  ISIG: 50,
  ICANON: 51,
  ECHO: 53,
  ICRNL: 36,
  ONLCR: 72,
  OPOST: 70,
  TTY_OP_ISPEED: 128,
  TTY_OP_OSPEED: 129,
};

const DEFAULT_MODES: Record<number, number> = { 3: 127, 53: 1, 51: 1, 50: 1, 128: 38400, 129: 38400 };

export interface ShellOptions {
  term: string;
  cols: number;
  rows: number;
  env?: Record<string, string>;
  modes?: Record<string, number>;
}

/** RFC 4254 6.2, 6.5: a session channel with a terminal and the user's login shell. */
export async function openShell(conn: SshConnection, o: ShellOptions): Promise<Channel> {
  const ch = await conn.openSession();
  if (o.env) await sendEnv(ch, o.env);
  const modes: Record<number, number> = { ...DEFAULT_MODES };
  for (const [name, v] of Object.entries(o.modes ?? {})) {
    const op = TERMINAL_MODES[name];
    if (op === undefined) throw InvalidInput.field('modes', `unknown terminal mode ${name}; known: ${Object.keys(TERMINAL_MODES).join(', ')}`);
    modes[op] = v;
  }
  if (!(await requestPty(ch, { term: o.term, cols: o.cols, rows: o.rows, modes }))) throw new PortolanError('server_error', 'server refused to allocate a terminal (pty-req)');
  if (!(await ch.request('shell', true))) throw new PortolanError('server_error', 'server refused to start a shell');
  return ch;
}

/** RFC 4254 6.7: the terminal changed size (no reply). */
export function windowChange(ch: Channel, cols: number, rows: number): Promise<boolean> {
  return ch.request('window-change', false, (w) => w.u32(cols).u32(rows).u32(0).u32(0));
}

/** RFC 4254 6.9: deliver a signal (name without "SIG"). */
export function signal(ch: Channel, name: string): Promise<boolean> {
  return ch.request('signal', false, (w) => w.string(name));
}

/** Collects an asciicast v2 recording: a header line, then [seconds, code, data] event lines. */
export class AsciicastRecorder {
  private readonly lines: string[] = [];
  private size = 0;
  truncated = false;
  private readonly start: number;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(
    header: { width: number; height: number; term: string; title?: string },
    private readonly maxBytes = 8 * 1024 * 1024,
    now = Date.now(),
  ) {
    this.start = now;
    this.push(JSON.stringify({ version: 2, width: header.width, height: header.height, timestamp: Math.floor(now / 1000), env: { TERM: header.term }, ...(header.title ? { title: header.title } : {}) }));
  }

  private push(line: string): void {
    if (this.size + line.length > this.maxBytes) {
      this.truncated = true;
      return;
    }
    this.lines.push(line);
    this.size += line.length + 1;
  }

  private event(code: 'o' | 'i' | 'r' | 'm', data: string, now: number): void {
    this.push(JSON.stringify([Math.round(now - this.start) / 1000, code, data]));
  }

  /** Terminal output; UTF-8 split across chunks is reassembled. */
  output(bytes: Uint8Array, now = Date.now()): void {
    const text = this.decoder.decode(bytes, { stream: true });
    if (text) this.event('o', text, now);
  }

  input(bytes: Uint8Array, now = Date.now()): void {
    this.event('i', fromUtf8(bytes), now);
  }

  resize(cols: number, rows: number, now = Date.now()): void {
    this.event('r', `${cols}x${rows}`, now);
  }

  toString(): string {
    return this.lines.join('\n') + '\n';
  }
}

// ---------------------------------------------------------------- the scripted shell (an HTTP operation)

export interface ShellStep {
  /** Text to type. */
  send?: string;
  /** Wait until the output (since the previous step) matches this regular expression. */
  expect?: string;
  /** Resize the terminal. */
  resize?: { cols: number; rows: number };
  /** Send a signal (INT, TERM, ...). */
  signal?: string;
  /** Wait this long (ms) before the next step. */
  sleepMs?: number;
}

export interface ShellScriptInput extends ShellOptions {
  steps: ShellStep[];
  /** How long each `expect` may wait. */
  expectTimeoutMs: number;
  maxOutputBytes: number;
  record: boolean;
}

export interface ShellScriptResult {
  output: string;
  truncated: boolean;
  exitStatus: number | null;
  exitSignal: ExitSignal | null;
  /** The shell was still running after the last step (and was closed). */
  stillRunning: boolean;
  asciicast: string | null;
}

/**
 * Runs a shell with a terminal and plays `steps` against it, like expect(1): type, wait for a
 * pattern, resize, signal. Ends with EOF; the output is what the terminal showed.
 */
export async function runShellScript(ctx: OperationContext, ch: Channel, input: ShellScriptInput): Promise<ShellScriptResult> {
  const rec = input.record ? new AsciicastRecorder({ width: input.cols, height: input.rows, term: input.term }) : null;
  const out: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  let sinceStep = '';
  const decoder = new TextDecoder();
  const wakeup: { fn: (() => void) | null } = { fn: null };
  let ended = false;
  const reading = (async () => {
    for (;;) {
      const chunk = await ch.read();
      if (!chunk) break;
      rec?.output(chunk.data);
      if (size + chunk.data.length > input.maxOutputBytes) truncated = true;
      else {
        out.push(chunk.data);
        size += chunk.data.length;
      }
      sinceStep += decoder.decode(chunk.data, { stream: true });
      if (sinceStep.length > 1024 * 1024) sinceStep = sinceStep.slice(-512 * 1024);
      wakeup.fn?.();
    }
    ended = true;
    wakeup.fn?.();
  })();
  reading.catch(() => {});
  for (const [i, step] of input.steps.entries()) {
    if (step.expect !== undefined) {
      let re: RegExp;
      try {
        re = new RegExp(step.expect);
      } catch {
        throw InvalidInput.field(`steps.${i}.expect`, 'is not a valid regular expression');
      }
      await ctx.within(input.expectTimeoutMs, async () => {
        while (!re.test(sinceStep)) {
          if (ended) throw new PortolanError('closed', `the shell ended before step ${i} saw ${JSON.stringify(step.expect)}`);
          await new Promise<void>((r) => (wakeup.fn = r));
          wakeup.fn = null;
        }
      }).catch((e) => {
        const err = classify(e);
        if (err.code === 'io_timeout') throw new PortolanError('io_timeout', `step ${i}: ${JSON.stringify(step.expect)} did not appear within ${input.expectTimeoutMs} ms; last output: ${JSON.stringify(sinceStep.slice(-200))}`);
        throw err;
      });
      sinceStep = '';
    }
    if (step.resize) {
      rec?.resize(step.resize.cols, step.resize.rows);
      await windowChange(ch, step.resize.cols, step.resize.rows);
    }
    if (step.signal) await signal(ch, step.signal);
    if (step.send !== undefined) {
      const bytes = utf8(step.send);
      rec?.input(bytes);
      await ch.write(bytes);
    }
    if (step.sleepMs) await ctx.sleep(step.sleepMs);
  }
  await ch.eof();
  // Give the shell a moment to finish after EOF; a shell still running is closed, not waited for.
  const finished = await ctx.within(2000, () => reading.then(() => ch.closed())).then(
    () => true,
    () => false,
  );
  if (!finished) await ch.close().catch(() => {});
  return {
    output: fromUtf8(joinChunks(out)),
    truncated,
    exitStatus: ch.exitStatus,
    exitSignal: ch.exitSignal,
    stillRunning: !finished,
    asciicast: rec ? rec.toString() : null,
  };
}

function joinChunks(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---------------------------------------------------------------- the WebSocket session driver

/** The socket a host hands a session: the same shape as the tunnel's socket (src/api/tunnel.ts TunnelSocket). */
export interface SessionSocket {
  send(data: Uint8Array | string): void;
  close(code: number, reason: string): void;
  onMessage(listener: (data: Uint8Array | string) => void): void;
  onClose(listener: () => void): void;
}

export interface ShellSessionInput extends Omit<AuthInput, 'host' | 'port'>, ShellOptions {
  /** Ask for an asciicast v2 recording, sent as a text message before the socket closes. */
  record?: boolean;
  /** Unacknowledged output bytes allowed in flight to the browser. */
  window?: number;
  /** Send keepalive@openssh.com this often (ms); 0 disables. */
  keepaliveMs?: number;
}

export const SESSION_CLOSE = { normal: 1000, error: 1011, flowControl: 4003 } as const;

/**
 * Drives one interactive shell over a WebSocket-like socket. `ctx` is an operation context whose
 * deadline is the session's whole lifetime; connect and authentication must finish within
 * `connectTimeoutMs`. Resolves when the session is over (the socket is closed by then).
 */
export async function shellSession(ctx: OperationContext, input: ShellSessionInput, io: SessionSocket, connectTimeoutMs = 15_000): Promise<void> {
  const sendJson = (v: unknown) => io.send(JSON.stringify(v));
  const window = input.window ?? 1024 * 1024;
  let unacked = 0;
  let wake: (() => void) | null = null;
  let closedByClient = false;
  let ch: Channel | null = null;
  const early: Array<Uint8Array | string> = [];
  const rec = input.record ? new AsciicastRecorder({ width: input.cols, height: input.rows, term: input.term }) : null;

  const handle = (msg: Uint8Array | string) => {
    if (!ch) {
      early.push(msg);
      return;
    }
    const c = ch;
    if (typeof msg !== 'string') {
      rec?.input(msg);
      c.write(msg).catch(() => {});
      return;
    }
    let m: { type?: string; cols?: number; rows?: number; name?: string; bytes?: number };
    try {
      m = JSON.parse(msg);
    } catch {
      sendJson({ type: 'error', code: 'invalid_input', message: 'control messages are JSON' });
      return;
    }
    if (m.type === 'resize' && Number.isInteger(m.cols) && Number.isInteger(m.rows) && m.cols! > 0 && m.rows! > 0 && m.cols! <= 1000 && m.rows! <= 1000) {
      rec?.resize(m.cols!, m.rows!);
      windowChange(c, m.cols!, m.rows!).catch(() => {});
    } else if (m.type === 'signal' && typeof m.name === 'string' && /^[A-Z0-9]{1,16}$/.test(m.name)) {
      signal(c, m.name).catch(() => {});
    } else if (m.type === 'eof') {
      c.eof().catch(() => {});
    } else if (m.type === 'ack' && typeof m.bytes === 'number' && m.bytes > 0) {
      unacked = Math.max(0, unacked - m.bytes);
      wake?.();
    } else if (m.type === 'close') {
      closedByClient = true;
      c.close().catch(() => {});
    } else {
      sendJson({ type: 'error', code: 'invalid_input', message: `unknown control message ${JSON.stringify(m.type)}` });
    }
  };
  io.onMessage(handle);
  io.onClose(() => {
    closedByClient = true;
    ch?.close().catch(() => {});
    wake?.();
  });

  try {
    const session = await ctx.within(connectTimeoutMs, async () => {
      const s = await openSession(ctx, { ...input, host: ctx.target.host, port: ctx.target.port });
      ch = await openShell(s.connection, input);
      return s;
    });
    sendJson({ type: 'connected', server: serverSummary(session.transport), auth: { method: session.auth.method, banner: session.auth.banner } });
    for (const m of early.splice(0)) handle(m);
    const c = ch!;
    if (input.keepaliveMs) {
      const every = input.keepaliveMs;
      void (async () => {
        while (!c.closeReceived && !closedByClient) {
          await ctx.sleep(every);
          await session.connection.keepalive();
        }
      })().catch(() => {});
    }
    for (;;) {
      while (unacked >= window && !closedByClient) await new Promise<void>((r) => (wake = r));
      wake = null;
      if (closedByClient) break;
      const chunk = await c.read();
      if (!chunk) break;
      rec?.output(chunk.data);
      unacked += chunk.data.length;
      io.send(chunk.data);
    }
    await Promise.race([c.closed(), ctx.sleep(2000).catch(() => {})]);
    sendJson({ type: 'exit', exitStatus: c.exitStatus, exitSignal: c.exitSignal });
    if (rec) sendJson({ type: 'recording', asciicast: rec.toString(), truncated: rec.truncated });
    await session.transport.disconnect();
    io.close(SESSION_CLOSE.normal, 'session ended');
  } catch (e) {
    const err = classify(e);
    if (!closedByClient) {
      sendJson({ type: 'error', code: err.code, message: err.message });
      if (rec) sendJson({ type: 'recording', asciicast: rec.toString(), truncated: rec.truncated });
      io.close(SESSION_CLOSE.error, err.code);
    }
  }
}
