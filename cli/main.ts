// The `portolan` command: runs one operation locally (the Node host's dialer, in process) or through a
// deployed Portolan's API (--remote), prints the result, and exits with the outcome's code.
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { joinHostPort } from '../src/core/conn.ts';
import { classify, InvalidInput, PortolanError } from '../src/core/errors.ts';
import type { DefinedOperation, Protocol, SessionChannel, SessionMessage } from '../src/core/protocol.ts';
import { runOperation, type Answer } from '../src/core/runner.ts';
import type { TranscriptEntry } from '../src/core/transcript.ts';
import { nodeHostEnv, OPEN_POLICY } from '../src/hosts/node/env.ts';
import { probeRuntime } from '../src/hosts/node/probe.ts';
import { optionsFromEnv, startNodeHost } from '../src/hosts/node/server.ts';
import { protocols } from '../src/protocols/all.ts';
import { operationProperties, parseCommand, remoteBase, type ParsedCommand } from './args.ts';
import { EXIT_CODES, EXIT_INTERNAL, exitCodeOf } from './exit-codes.ts';
import { completeInput, hasField, promptPassword, wantsPassword } from './password.ts';
import { mainHelp, operationHelp, protocolHelp, USAGE } from './help.ts';
import { forwardCommand, tunnelCommand } from './tunnel.ts';
import { sshForwardCommand } from './sshforward.ts';
import { renderValue, startProgress, styleFor, type Style } from './render.ts';
import { humanBytes, inputFile, infoFromHeaders, multipartBody, OutputFile, TransferBar } from './files.ts';
import type { UploadSource } from '../src/core/files.ts';

/** The local ends of a transfer: the file a download goes to, the file an upload comes from. */
interface FileEnds {
  out?: OutputFile;
  upload?: UploadSource;
  uploadPath?: string;
  onUploadBytes?: (n: number) => void;
  bar?: TransferBar;
}

const VERSION = '0.1.0';

interface Failure {
  ok: false;
  error: { code: string; message: string; detail?: Record<string, unknown> };
  transcript?: { entries: TranscriptEntry[]; dropped: number };
}

type Outcome = Answer | Failure;

function failureOf(e: unknown): Failure {
  const err = classify(e);
  const out: Failure = { ok: false, error: err.toJSON() };
  const transcript = (err as { transcript?: Failure['transcript'] }).transcript;
  if (transcript) out.transcript = transcript;
  return out;
}

/** Binary session data to stdout, stdin to the session; control messages are shown on stderr. */
function terminalChannel(onControl: (msg: Exclude<SessionMessage, Uint8Array>) => void): SessionChannel & { dispose(): void } {
  const queue: (SessionMessage | null)[] = [];
  let waiter: (() => void) | undefined;
  const push = (m: SessionMessage | null) => {
    queue.push(m);
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  const onData = (chunk: Buffer) => push(new Uint8Array(chunk));
  const onEnd = () => push(null);
  stdin.on('data', onData);
  stdin.on('end', onEnd);
  const onResize = () => push({ type: 'resize', cols: process.stdout.columns, rows: process.stdout.rows });
  if (process.stdout.isTTY) process.stdout.on('resize', onResize);
  return {
    send(msg) {
      if (msg instanceof Uint8Array) process.stdout.write(msg);
      else onControl(msg);
    },
    async receive() {
      while (queue.length === 0) await new Promise<void>((r) => (waiter = r));
      const next = queue.shift()!;
      if (next === null) queue.unshift(null);
      return next;
    },
    dispose() {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      process.stdout.off('resize', onResize);
      if (raw) stdin.setRawMode(false);
      stdin.pause();
    },
  };
}

/**
 * A feed session (an operation with `sessionText`: mqtt subscribe, amqp consume...): one line per message on
 * stdout (a JSON line each with --json), every other control message on stderr; each message is acknowledged
 * as printed (the session's flow credits); Ctrl-C asks the session to stop, so it ends cleanly (DISCONNECT...).
 */
function feedChannel(op: DefinedOperation, json: boolean, onControl: (msg: Exclude<SessionMessage, Uint8Array>) => void): SessionChannel & { dispose(): void } {
  const queue: (SessionMessage | null)[] = [];
  let waiter: (() => void) | undefined;
  const push = (m: SessionMessage | null) => {
    queue.push(m);
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  let stopping = false;
  const onSigint = () => {
    if (stopping) process.exit(EXIT_CODES.io_timeout);
    stopping = true;
    push({ type: 'stop' });
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  return {
    send(msg) {
      if (msg instanceof Uint8Array) {
        process.stdout.write(msg);
        return;
      }
      const line = msg.type === 'message' ? (json ? JSON.stringify(msg) : op.sessionText?.(msg)) : undefined;
      if (line === undefined) return onControl(msg);
      process.stdout.write(`${line}\n`);
      push({ type: 'ack', messages: 1 });
    },
    async receive() {
      while (queue.length === 0) await new Promise<void>((r) => (waiter = r));
      const next = queue.shift()!;
      if (next === null) queue.unshift(null);
      return next;
    },
    dispose() {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    },
  };
}

/** The session's channel: a feed prints lines, anything else is a terminal. */
function sessionChannel(cmd: ParsedCommand, op: DefinedOperation, style: Style): SessionChannel & { dispose(): void } {
  const onControl = (m: Exclude<SessionMessage, Uint8Array>) => {
    if (!cmd.globals.quiet) process.stderr.write(style.dim(`[${JSON.stringify(m)}]\n`));
  };
  return op.sessionText ? feedChannel(op, cmd.globals.json, onControl) : terminalChannel(onControl);
}

/**
 * Fields whose schema says `x-cli-file` (a payload) read `-` as standard input and `@path` as a file's bytes:
 * UTF-8 text stays text, other bytes go as {"base64": ...}.
 */
export function readFileInputs(op: DefinedOperation, input: Record<string, unknown>, readStdin: () => Buffer = () => readFileSync(0)): void {
  const props = (operationProperties(op).props ?? {}) as Record<string, { 'x-cli-file'?: unknown }>;
  for (const [key, schema] of Object.entries(props)) {
    const v = input[key];
    if (schema['x-cli-file'] !== true || typeof v !== 'string' || !(v === '-' || v.startsWith('@'))) continue;
    let bytes: Buffer;
    try {
      bytes = v === '-' ? readStdin() : readFileSync(v.slice(1));
    } catch (e) {
      throw InvalidInput.field(key, `cannot read ${v === '-' ? 'standard input' : v.slice(1)}: ${(e as Error).message}`);
    }
    const text = new TextDecoder('utf-8', { fatal: true });
    try {
      input[key] = text.decode(bytes);
    } catch {
      input[key] = { base64: bytes.toString('base64') };
    }
  }
}

function sessionInput(op: DefinedOperation, input: Record<string, unknown>): Record<string, unknown> {
  const shape = op.schema.shape as Record<string, unknown>;
  const out = { ...input };
  if (process.stdout.isTTY) {
    if ('cols' in shape && out.cols === undefined) out.cols = process.stdout.columns;
    if ('rows' in shape && out.rows === undefined) out.rows = process.stdout.rows;
    if ('terminalType' in shape && out.terminalType === undefined && process.env.TERM) out.terminalType = process.env.TERM;
  }
  return out;
}

async function runLocal(cmd: ParsedCommand, p: Protocol, op: DefinedOperation, style: Style, files: FileEnds = {}): Promise<Outcome> {
  const env = nodeHostEnv({ policy: OPEN_POLICY, probe: await probeRuntime() });
  try {
    if (files.out || files.upload) return await runOperation(env, p, op, cmd.input, { transcript: cmd.globals.transcript, download: files.out?.target(), upload: files.upload });
    if (op.session && (!op.run || op.sessionText)) {
      const channel = sessionChannel(cmd, op, style);
      try {
        return await runOperation(env, p, op, sessionInput(op, cmd.input), { channel, transcript: cmd.globals.transcript });
      } finally {
        channel.dispose();
      }
    }
    return await runOperation(env, p, op, cmd.input, { transcript: cmd.globals.transcript });
  } catch (e) {
    return failureOf(e);
  }
}

async function runRemote(cmd: ParsedCommand, p: Protocol, op: DefinedOperation, style: Style, files: FileEnds = {}): Promise<Outcome> {
  const base = remoteBase(cmd.globals.remote!);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (cmd.globals.token) headers.authorization = `Bearer ${cmd.globals.token}`;
  if (op.session && (!op.run || op.sessionText)) return runRemoteSession(base, headers, cmd, p, op, style);
  const url = `${base}/api/${p.id}/${op.name}${cmd.globals.transcript ? '?transcript=1' : ''}`;
  let res: Response;
  try {
    if (files.out) {
      // The file as the body (docs/files.md): JSON only when it fails before the first byte.
      res = await fetch(url, { method: 'POST', headers: { ...headers, accept: 'application/octet-stream' }, body: JSON.stringify(cmd.input) });
      if (res.ok) return await receiveRemoteFile(res, files.out, p, op, cmd);
    } else if (files.uploadPath) {
      const { body, contentType, length } = multipartBody(cmd.input, files.uploadPath, files.onUploadBytes ?? (() => {}));
      res = await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': contentType, 'content-length': String(length) }, body, duplex: 'half' } as RequestInit);
    } else {
      res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(cmd.input) });
    }
  } catch (e) {
    return failureOf(new PortolanError('refused', `could not reach ${base}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}`));
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return failureOf(new PortolanError('protocol_error', `${base} answered HTTP ${res.status} without a JSON body: is it a Portolan deployment?`));
  }
  const b = body as Outcome;
  if (b && typeof b === 'object' && (b.ok === true || (b.ok === false && typeof b.error?.code === 'string'))) return b;
  return failureOf(new PortolanError('protocol_error', `${base} answered HTTP ${res.status} with an unexpected body`));
}

/** Writes a streamed download answer to the output file; a body cut short is a failure, never a finished file. */
async function receiveRemoteFile(res: Response, out: OutputFile, p: Protocol, op: DefinedOperation, cmd: ParsedCommand): Promise<Outcome> {
  const info = infoFromHeaders(res.headers);
  const sink = out.begin(info);
  const t0 = performance.now();
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) await sink.write(chunk);
  } catch (e) {
    const cause = (e as { cause?: Error }).cause;
    return failureOf(new PortolanError('closed', `the download was cut short after ${out.written} bytes: ${cause?.message ?? (e as Error).message}`));
  }
  const expected = res.headers.get('content-length');
  if (expected !== null && Number(expected) !== out.written) return failureOf(new PortolanError('closed', `the download ended after ${out.written} of ${expected} bytes`));
  return {
    ok: true,
    protocol: p.id,
    operation: op.name,
    target: { host: String(cmd.input.host), port: Number(cmd.input.port ?? 0) },
    result: { file: out.path, name: info.name, bytes: out.written, size: info.size ?? null, offset: info.offset ?? 0, modified: info.modified ?? null },
    timing: { totalMs: Math.round((performance.now() - t0) * 1000) / 1000 },
  };
}

async function runRemoteSession(base: string, headers: Record<string, string>, cmd: ParsedCommand, p: Protocol, op: DefinedOperation, style: Style): Promise<Outcome> {
  const url = `${base.replace(/^http/, 'ws')}/api/${p.id}/${op.name}`;
  const ws = new WebSocket(url, { headers: cmd.globals.token ? { authorization: headers.authorization } : {} });
  const channel = sessionChannel(cmd, op, style);
  try {
    return await new Promise<Outcome>((resolve) => {
      ws.on('open', async () => {
        ws.send(JSON.stringify({ type: 'start', input: sessionInput(op, cmd.input) }));
        for (;;) {
          const m = await channel.receive();
          if (m === null) return ws.close(1000, 'client done');
          if (ws.readyState !== ws.OPEN) return;
          ws.send(m instanceof Uint8Array ? m : JSON.stringify(m));
        }
      });
      ws.on('message', (data, isBinary) => {
        const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        const text = isBinary ? '' : buf.toString('utf8');
        // Credit flow control: acknowledge what was read (bytes of binary data, characters of JSON).
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'ack', bytes: isBinary ? buf.length : text.length }));
        if (isBinary) return channel.send(new Uint8Array(buf));
        const msg = JSON.parse(text) as Record<string, unknown>;
        if (msg.type === 'end') resolve({ ok: true, protocol: p.id, operation: op.name, target: { host: String(cmd.input.host), port: Number(cmd.input.port ?? 0) }, result: msg.result, timing: (msg.timing ?? {}) as Record<string, number> });
        else if (msg.type === 'error') resolve({ ok: false, error: msg.error as Failure['error'] });
        else channel.send(msg as Exclude<SessionMessage, Uint8Array>);
      });
      ws.on('unexpected-response', async (_req, res) => {
        let text = '';
        for await (const chunk of res) text += chunk;
        try {
          resolve(JSON.parse(text) as Failure);
        } catch {
          resolve(failureOf(new PortolanError('protocol_error', `${url} answered HTTP ${res.statusCode}`)));
        }
      });
      ws.on('error', (e) => resolve(failureOf(new PortolanError('refused', `could not reach ${url}: ${e.message}`))));
      ws.on('close', () => resolve(failureOf(new PortolanError('closed', 'the session closed without an answer'))));
    });
  } finally {
    channel.dispose();
    ws.terminate();
  }
}

function printTranscript(t: { entries: TranscriptEntry[] } | undefined, style: Style): void {
  if (!t) return;
  for (const e of t.entries) {
    const arrow = e.dir === 'out' ? '>' : e.dir === 'in' ? '<' : '*';
    const text = e.decode ?? (e as { hex?: string }).hex ?? '';
    process.stderr.write(style.dim(`${String((e as { t?: number }).t ?? '').padStart(9)} ${arrow} ${text}\n`));
  }
}

function printFailure(f: Failure, style: Style): void {
  process.stderr.write(`${style.red(`portolan: ${f.error.code}`)}: ${f.error.message}\n`);
  const d = f.error.detail ?? {};
  const issues = d.issues as { field: string; message: string }[] | undefined;
  if (issues && issues.length > 1) for (const i of issues) process.stderr.write(`  ${i.field}: ${i.message}\n`);
  for (const r of (d.reasons as string[] | undefined) ?? []) if (!f.error.message.includes(r)) process.stderr.write(`  why: ${r}\n`);
  for (const a of (d.alternatives as string[] | undefined) ?? []) process.stderr.write(`  instead: ${a}\n`);
  if (typeof d.fingerprintSha256 === 'string') process.stderr.write(`  the server's certificate: SHA256:${d.fingerprintSha256} (pass it as --pin-sha256 if you trust it)\n`);
}

async function serve(argv: string[]): Promise<number> {
  const opts = optionsFromEnv();
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--port':
        opts.port = Number(value());
        break;
      case '--host':
        opts.host = value();
        break;
      case '--allow':
        opts.allowTargets = value();
        break;
      case '--token':
        opts.accessToken = value();
        break;
      case '--rate-limit-client':
        opts.rateLimitClient = value();
        break;
      case '--rate-limit-target':
        opts.rateLimitTarget = value();
        break;
      case '--assets':
        opts.assetsDir = value();
        break;
      case '--trust-proxy':
        opts.trustProxy = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(
          [
            'Usage: portolan serve [--port 8787] [--host 127.0.0.1] [--allow CIDRs|loopback] [--token T]',
            '                      [--rate-limit-client 120/60|off] [--rate-limit-target 60/60|off] [--assets web/dist] [--trust-proxy]',
            '',
            'The Node host: the same API and UI as the Worker, with UDP, ALPN, peer certificates, self-signed',
            'targets (with --pin-sha256) and privileged source ports when run as root. Environment: PORT, HOST,',
            'ALLOW_TARGETS, ACCESS_TOKEN, RATE_LIMIT_CLIENT, RATE_LIMIT_TARGET, PORTOLAN_ASSETS, TRUST_PROXY.',
            '',
          ].join('\n'),
        );
        return 0;
      default:
        process.stderr.write(`portolan serve: unknown flag ${flag}\n`);
        return EXIT_CODES.invalid_input;
    }
  }
  if (opts.port !== undefined && !(Number.isInteger(opts.port) && opts.port >= 0 && opts.port <= 65535)) {
    process.stderr.write('portolan serve: --port must be 0–65535\n');
    return EXIT_CODES.invalid_input;
  }
  let host;
  try {
    host = await startNodeHost(opts);
  } catch (e) {
    process.stderr.write(`portolan serve: ${(e as Error).message}\n`);
    return EXIT_INTERNAL;
  }
  const probe = host.probe;
  process.stderr.write(
    [
      `udp: ${probe.udp.ok ? 'yes' : 'no'} (${probe.udp.detail})`,
      `privileged source ports: ${probe.privilegedSourcePorts.ok ? 'yes' : 'no'} (${probe.privilegedSourcePorts.detail})`,
      `icmp echo: no (${probe.icmpEcho.detail})`,
      `targets: public${opts.allowTargets ? ` + ${opts.allowTargets}` : ' only'}`,
      '',
    ].join('\n'),
  );
  process.stdout.write(`Portolan Node host listening on ${host.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await host.close();
  return 0;
}

/**
 * `-o FILE` (a download's file; `-` for stdout) and `--file PATH` (an upload's file), checked against what
 * the operation transfers. The bar, when given, follows the bytes.
 */
function fileEnds(cmd: ParsedCommand, p: Protocol, op: DefinedOperation, bar?: TransferBar): FileEnds {
  const { out, file, json } = cmd.globals;
  if (out === undefined && file === undefined) return {};
  const direction = op.transfer?.direction;
  if (out !== undefined && direction !== 'download') throw InvalidInput.field('o', `-o is for download operations; ${p.id} ${op.name} ${direction === 'upload' ? 'uploads (--file PATH)' : 'moves no file'}`);
  if (file !== undefined && direction !== 'upload') throw InvalidInput.field('file', `--file is for upload operations; ${p.id} ${op.name} ${direction === 'download' ? 'downloads (-o FILE)' : 'moves no file'}`);
  if (out === '-' && json) throw InvalidInput.field('o', '-o - writes the file to stdout: --json cannot go there too');
  if (out !== undefined) return { bar, out: new OutputFile(out, (n, info) => bar?.update(n, typeof info.size === 'number' ? info.size - (info.offset ?? 0) : null)) };
  const onUploadBytes = (n: number) => bar?.update(n);
  if (cmd.globals.remote) {
    const size = inputFile(file!, () => {}).size;
    // A multipart part carries no length: an operation that must announce the size first (scp) gets it as a field.
    if ('size' in op.schema.shape && cmd.input.size === undefined) cmd.input.size = size;
    return { bar, uploadPath: file, onUploadBytes: (n) => bar?.update(n, size ?? null) };
  }
  const upload = inputFile(file!, (n) => onUploadBytes(n));
  bar?.update(0, upload.size ?? null);
  return { bar, upload, uploadPath: file };
}

/** The end of a transfer: the JSON answer with --json, else a status line on stderr (never on stdout, which may hold the file). */
function finishTransfer(outcome: Outcome, files: FileEnds, label: string, err: Style, globals: ParsedCommand['globals']): number {
  if (globals.json) {
    process.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
    return outcome.ok ? 0 : exitCodeOf(outcome.error.code);
  }
  if (globals.transcript) printTranscript(outcome.transcript, err);
  if (!outcome.ok) {
    printFailure(outcome, err);
    if (files.out && files.out.path !== '-' && files.out.written > 0) process.stderr.write(`  ${files.out.path} holds the ${files.out.written} bytes that came before: not the whole file\n`);
    return exitCodeOf(outcome.error.code);
  }
  if (!globals.quiet) {
    const ms = outcome.timing.totalMs ?? 0;
    const bytes = files.out ? files.out.written : Number((outcome.result as { bytes?: number }).bytes ?? 0);
    const what = files.out ? `wrote ${humanBytes(bytes)} to ${files.out.path === '-' ? 'stdout' : files.out.path}` : `sent ${humanBytes(bytes)} from ${files.uploadPath}`;
    const rate = ms > 0 ? ` (${humanBytes((bytes * 1000) / ms)}/s)` : '';
    process.stderr.write(`${err.green('ok')} ${label}: ${what} in ${(ms / 1000).toFixed(1)} s${rate}${globals.remote ? ` via ${remoteBase(globals.remote)}` : ''}\n`);
  }
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'serve') return serve(argv.slice(1));
  if (argv[0] === 'tunnel') return tunnelCommand(argv.slice(1));
  if (argv[0] === 'forward') return forwardCommand(argv.slice(1));
  if (argv[0] === 'ssh' && argv[1] === 'forward') return sshForwardCommand(argv.slice(2));
  if (argv[0] === 'help') argv = [...argv.slice(1), '--help'];
  let cmd: ParsedCommand;
  const noColorFlag = argv.includes('--no-color');
  try {
    cmd = parseCommand(argv, protocols);
  } catch (e) {
    const style = styleFor(process.stderr, process.env, noColorFlag);
    printFailure(failureOf(e), style);
    process.stderr.write(`usage: ${USAGE} (portolan --help)\n`);
    return EXIT_CODES.invalid_input;
  }
  const { globals } = cmd;
  const err = styleFor(process.stderr, process.env, globals.noColor);
  if (globals.version) {
    process.stdout.write(`portolan ${VERSION}\n`);
    return 0;
  }
  if (globals.help || !cmd.protocol) {
    const text = cmd.operation && cmd.protocol ? operationHelp(cmd.protocol, cmd.operation) : cmd.protocol ? protocolHelp(cmd.protocol) : mainHelp(protocols);
    process.stdout.write(`${text}\n`);
    return globals.help ? 0 : EXIT_CODES.invalid_input;
  }
  const p = cmd.protocol;
  const op = cmd.operation!;
  if (cmd.input.host === undefined) {
    printFailure(failureOf(InvalidInput.field('host', `${p.id} ${op.name} needs a target: portolan ${p.id} <host[:port]> ${op.name}`)), err);
    return EXIT_CODES.invalid_input;
  }
  if (cmd.guessed && !globals.quiet && !globals.json) {
    const others = cmd.guessed.candidates.slice(1);
    process.stderr.write(err.dim(`portolan: ${p.id} (guessed from port ${cmd.guessed.port}${others.length ? `; also ${others.join(', ')}` : ''})\n`));
  }
  const label = `${p.id} ${op.name} ${cmd.input.port ? joinHostPort(String(cmd.input.host), String(cmd.input.port)) : String(cmd.input.host)}`;
  try {
    readFileInputs(op, cmd.input);
    await completeInput(cmd, p, op);
  } catch (e) {
    printFailure(failureOf(e), err);
    return EXIT_CODES.invalid_input;
  }
  // A feed runs as a session on the command line: messages print as they come until Ctrl-C.
  const feed = !!op.session && !!op.sessionText;
  const interactive = (!!op.session && !op.run) || feed;
  const showProgress = !interactive && (process.stderr.isTTY || process.env.PORTOLAN_PROGRESS === '1') && !globals.quiet;
  let files: FileEnds;
  try {
    files = fileEnds(cmd, p, op, showProgress ? new TransferBar(process.stderr, label) : undefined);
  } catch (e) {
    printFailure(failureOf(e), err);
    return EXIT_CODES.invalid_input;
  }
  const progress = showProgress && !files.bar ? startProgress(process.stderr, label, Number(process.env.PORTOLAN_PROGRESS_DELAY_MS ?? 300)) : undefined;
  let outcome: Outcome;
  try {
    outcome = globals.remote ? await runRemote(cmd, p, op, err, files) : await runLocal(cmd, p, op, err, files);
    await files.out?.close();
  } catch (e) {
    outcome = failureOf(e);
  } finally {
    progress?.stop();
    files.bar?.stop();
  }
  // No password given and the login needs one: ask on the terminal, as psql and ssh do, and run again.
  if (wantsPassword(outcome) && cmd.input.password === undefined && hasField(op, 'password') && process.stdin.isTTY && !globals.passwordStdin) {
    const user = cmd.input.user ?? cmd.input.username;
    const password = await promptPassword(`Password for ${user !== undefined ? `${String(user)}@` : ''}${String(cmd.input.host)}: `);
    if (password !== null) {
      cmd.input.password = password;
      try {
        outcome = globals.remote ? await runRemote(cmd, p, op, err, files) : await runLocal(cmd, p, op, err, files);
      } catch (e) {
        outcome = failureOf(e);
      }
    }
  }
  if (files.out || files.uploadPath) return finishTransfer(outcome, files, label, err, globals);
  // A complete answer can still be a failure to its user (a ping nobody answered): exit with that outcome.
  const failedAs = outcome.ok ? op.failedAs?.(outcome.result as never) : undefined;
  const success = failedAs ? exitCodeOf(failedAs) : 0;
  if (globals.json) {
    // A feed's stdout is JSON lines: the answer is one more line.
    process.stdout.write(feed ? `${JSON.stringify(outcome)}\n` : `${JSON.stringify(outcome, null, 2)}\n`);
    return outcome.ok ? success : exitCodeOf(outcome.error.code);
  }
  if (globals.transcript) printTranscript(outcome.transcript, err);
  if (!outcome.ok) {
    printFailure(outcome, err);
    return exitCodeOf(outcome.error.code);
  }
  if (!interactive) {
    const input = { ...cmd.input, port: outcome.target.port } as never;
    let text: string;
    try {
      text = op.text ? op.text(outcome.result as never, input) : renderValue(outcome.result);
    } catch {
      text = renderValue(outcome.result);
    }
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }
  if (!globals.quiet) {
    const ms = outcome.timing.totalMs;
    const verdict = failedAs ? err.red(failedAs) : err.green('ok');
    // As precise as the runtime's clock: Workers count whole milliseconds, Node microseconds.
    process.stderr.write(`${verdict} ${label}${ms !== undefined ? ` in ${ms} ms` : ''}${globals.remote ? ` via ${remoteBase(globals.remote)}` : ''}\n`);
  }
  return success;
}
