// Interactive shells, RFC 4254 6.2 (pty-req, terminal modes in 8), 6.5 (shell), 6.7 (window-change), 6.9 (signal),
// with recordings in asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/), and the WebSocket session driver.
//
// How the terminal session works (GET /api/ssh/terminal as a WebSocket; the API sends {"type":"start","input"}
// first and {"type":"end","result"} or {"type":"error"} last):
//   client → Worker: binary frames are keystrokes (channel stdin); control messages {"type":"resize","cols","rows"},
//     {"type":"signal","name":"INT"}, {"type":"interrupt"} (Ctrl-C), {"type":"eof"}, {"type":"stop"}.
//   Worker → client: {"type":"connected","server","auth"} once the shell runs, then binary terminal output.
//   The result says who ended it, the exit status or signal, and the asciicast v2 recording when asked for.
//   Flow control is the session channel's credit ({"type":"ack","bytes"} from the client, src/api/websocket.ts):
//   the Worker stops reading the SSH channel (so the server's window fills and it stops sending) once
//   `window` bytes sent to the client are unacknowledged.
import { fromUtf8, utf8, concat } from '../../core/bytes.ts';
import { classify, InvalidInput, PortolanError } from '../../core/errors.ts';
import type { OperationContext, SessionChannel, SessionMessage } from '../../core/protocol.ts';
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
    output: fromUtf8(concat(out)),
    truncated,
    exitStatus: ch.exitStatus,
    exitSignal: ch.exitSignal,
    stillRunning: !finished,
    asciicast: rec ? rec.toString() : null,
  };
}


// ---------------------------------------------------------------- the WebSocket session driver

export interface ShellSessionInput extends Omit<AuthInput, 'host' | 'port'>, ShellOptions {
  /** Keep an asciicast v2 recording, returned with the session's result. */
  record?: boolean;
  /** Also record what the client typed ("i" events); off, so a password typed at a prompt is never in a recording. */
  recordInput?: boolean;
  /** Unacknowledged output bytes allowed in flight to the client. */
  window?: number;
  /** Send keepalive@openssh.com this often (ms); 0 disables. */
  keepaliveMs?: number;
  /** Connect and authentication must finish within this (ms). */
  connectTimeoutMs?: number;
}

export interface ShellSessionResult {
  ended: 'server' | 'client';
  exitStatus: number | null;
  exitSignal: ExitSignal | null;
  bytesIn: number;
  bytesOut: number;
  asciicast: string | null;
  recordingTruncated: boolean;
  /** Key exchanges on the connection: 1 plus every re-exchange, by volume, by time or by the server. */
  keyExchanges: number;
}

/**
 * Drives one interactive shell over a session channel (the API's WebSocket). `ctx`'s deadline is
 * the session's whole lifetime; connect and authentication get `connectTimeoutMs`. Resolves with a
 * summary when the shell exits or the client stops.
 */
export async function shellSession(ctx: OperationContext, input: ShellSessionInput, channel: SessionChannel): Promise<ShellSessionResult> {
  const rec = input.record ? new AsciicastRecorder({ width: input.cols, height: input.rows, term: input.term }) : null;
  const session = await ctx.within(input.connectTimeoutMs ?? 15_000, () => openSession(ctx, { ...input, host: ctx.target.host, port: ctx.target.port }));
  const ch = await ctx.within(input.connectTimeoutMs ?? 15_000, () => openShell(session.connection, input));
  channel.send({ type: 'connected', server: serverSummary(session.transport), auth: { method: session.auth.method, banner: session.auth.banner } });
  let stopped = false;
  if (input.keepaliveMs) {
    const every = input.keepaliveMs;
    void (async () => {
      while (!ch.closeReceived && !stopped) {
        await ctx.sleep(every);
        await session.connection.keepalive();
      }
    })().catch(() => {});
  }
  const fromServer = (async (): Promise<'server' | 'client'> => {
    for (;;) {
      // Credit flow control (the channel's window): an unread channel stops the server once its window fills.
      await channel.ready?.();
      if (stopped) return 'client';
      const chunk = await ch.read();
      if (!chunk) return 'server';
      rec?.output(chunk.data);
      channel.send(chunk.data);
    }
  })();
  const fromClient = (async (): Promise<'client'> => {
    for (;;) {
      const m: SessionMessage | null = await channel.receive();
      if (m === null) return 'client';
      if (m instanceof Uint8Array) {
        if (input.recordInput) rec?.input(m);
        await ch.write(m);
        continue;
      }
      const n = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) ? v : NaN);
      if (m.type === 'resize' && n(m.cols) > 0 && n(m.rows) > 0) {
        const cols = Math.min(1000, n(m.cols));
        const rows = Math.min(1000, n(m.rows));
        rec?.resize(cols, rows);
        await windowChange(ch, cols, rows);
      } else if (m.type === 'signal' && typeof m.name === 'string' && /^[A-Z0-9]{1,16}$/.test(m.name)) await signal(ch, m.name);
      else if (m.type === 'interrupt') await ch.write(Uint8Array.of(3));
      else if (m.type === 'eof') await ch.eof();
      else if (m.type === 'stop') return 'client';
      else channel.send({ type: 'error', error: { code: 'invalid_input', message: `unknown message type ${JSON.stringify(m.type)}: binary data, resize, signal, interrupt, eof or stop` } });
    }
  })();
  let ended: 'server' | 'client';
  try {
    ended = await Promise.race([fromServer, fromClient]);
  } finally {
    stopped = true;
    fromServer.catch(() => {});
    fromClient.catch(() => {});
  }
  if (ended === 'server') await Promise.race([ch.closed(), ctx.sleep(2000).catch(() => {})]);
  else await ch.close().catch(() => {});
  await session.transport.disconnect();
  return {
    ended,
    exitStatus: ch.exitStatus,
    exitSignal: ch.exitSignal,
    bytesIn: ch.bytesIn,
    bytesOut: ch.bytesOut,
    asciicast: rec ? rec.toString() : null,
    recordingTruncated: rec?.truncated ?? false,
    keyExchanges: session.transport.exchanges.length,
  };
}
