// Running one command over rsh or rexec (rshd(8), rexecd(8)): the request, the go-ahead byte, standard input, then
// standard output on this connection and standard error on a second one the server opens back to us.
//
// How it works: the request's first field is a port number. With `exec` we listen first (on the local address the
// server sees; rshd wants a port in 512–1023 and connects back from one, rexecd takes any), send that port, and the
// server connects back before it even reads the user names — so when the first connection closes with no answer,
// whether the connection back came tells "could not reach us" from "refused the login". With `execMerged` the
// field is "0": no second connection, and standard error arrives mixed into standard output.
import * as z from 'zod';
import { fromUtf8, utf8 } from '../../core/bytes.ts';
import { RESERVED_PORTS, splitHostPort, type Capability, type Conn } from '../../core/conn.ts';
import { AuthError, PortolanError, ProtocolError, ServerError, classify } from '../../core/errors.ts';
import { operation, type AnyObject, type OperationContext, type OperationSpec, type TargetFields } from '../../core/protocol.ts';
import { replyFrame, splitExitStatus, withExitStatus } from './codec.ts';

export const MAX_OUTPUT = 4 * 1024 * 1024;

export const commandFields = {
  command: z.string().min(1).max(8000).describe('The command line, run by the remote user\'s shell'),
  stdin: z.string().max(1024 * 1024).optional().describe('Text for the command\'s standard input (then end of file)'),
  exitStatus: z.boolean().default(true).describe('The protocol has no exit status: wrap the command to print it after the output, and strip it again'),
};

export const commandOutput = z.object({
  stdout: z.string().describe('Standard output (with standard error mixed in when no second connection is used)'),
  stderr: z.string().nullable().describe('Standard error, read from the connection the server opened back; null when merged into stdout'),
  exitStatus: z.number().nullable(),
  stderrChannel: z
    .object({ listenPort: z.number().describe('The port this host listened on and sent as the first field'), serverPort: z.number().describe('The port the server connected back from') })
    .nullable(),
  truncated: z.boolean(),
  sourcePort: z.number().nullable(),
});
export type CommandOutput = z.infer<typeof commandOutput>;

type CommandInput = TargetFields & { command: string; stdin?: string; exitStatus: boolean };

export interface CommandProtocol<I extends CommandInput> {
  /** The operation's own fields besides command, stdin and exitStatus. */
  fields: z.ZodRawShape;
  /** Capabilities both operations need (rsh: a privileged source port). */
  needs: Capability[];
  /** rsh: the listening port must be reserved (rshd refuses another), and so must the port the server connects from. */
  reservedBackPort: boolean;
  summary: { exec: string; execMerged: string };
  connect(ctx: OperationContext, input: I): Promise<Conn>;
  /** The request bytes for a standard-error port (0: none), and its transcript line. */
  request(stderrPort: number, input: I): { bytes: Uint8Array; decode: string; secret: boolean };
  /** What a close before the go-ahead byte means once the server did connect back (rexecd's wrong password). */
  closedBeforeAnswer?: () => Error;
}

const text = (r: CommandOutput) =>
  r.stdout + (r.stderr ? `${r.stdout && !r.stdout.endsWith('\n') ? '\n' : ''}--- stderr ---\n${r.stderr}` : '') + (r.exitStatus !== null && r.exitStatus !== 0 ? `\n(exit status ${r.exitStatus})\n` : '');

/** `exec` (standard error on its own connection, needs `listen`) and `execMerged` (one connection, no `listen`). */
export function commandOperations<I extends CommandInput>(p: CommandProtocol<I>): { exec: OperationSpec; execMerged: OperationSpec } {
  const input = z.object({ ...p.fields, ...commandFields }) as AnyObject;
  const build = (channel: boolean): OperationSpec =>
    operation({
      summary: channel ? p.summary.exec : p.summary.execMerged,
      input,
      output: commandOutput,
      needs: channel ? [...p.needs, 'listen'] : p.needs,
      text,
      run: (ctx, i) => runCommand(ctx, p, i as unknown as I, channel),
    });
  return { exec: build(true), execMerged: build(false) };
}

/** The refusals rshd/rexecd print, mapped to outcomes: a login or trust problem is auth_failed. */
function refusal(message: string): Error {
  if (/permission denied|login incorrect|password|not allowed|unknown user|ruserok/i.test(message)) return new AuthError(`server refused: ${message}`, { message });
  return new ServerError(`server refused: ${message}`, { message });
}

async function runCommand<I extends CommandInput>(ctx: OperationContext, p: CommandProtocol<I>, input: I, channel: boolean): Promise<CommandOutput> {
  const conn = await p.connect(ctx, input);
  // Read now: once the server has closed, the socket no longer knows its local address.
  const local = conn.info().localAddress;
  const sourcePort = local ? splitHostPort(local).port : null;
  const back = channel ? await ctx.listen({ for: conn, privilegedPort: p.reservedBackPort }) : undefined;
  let backConn: Conn | undefined;
  const accepting = back?.accept('standard error').then((c) => (backConn = c));
  accepting?.catch(() => {});
  const request = p.request(back?.port ?? 0, input);
  await conn.write(request.bytes, request.secret ? { secret: true, decode: request.decode } : { decode: request.decode });
  let reply;
  try {
    reply = await conn.readFrame(replyFrame, 'the server\'s answer', (r) => (r.ok ? 'go-ahead (0)' : `refused (1): ${r.message}`));
  } catch (e) {
    if (classify(e).code !== 'closed' || conn.bytesIn > 0) throw e;
    if (back) {
      // The server connects back before it reads the user names: give an accept already queued a moment to land.
      const came = await ctx.within(1000, () => accepting!).then(() => true, () => false);
      if (!came) {
        throw new PortolanError('closed', `the server closed the connection without connecting back to port ${back.port} for standard error: it could not reach this host on that port (a firewall or NAT between), or refused the port${p.reservedBackPort ? ' (rshd wants one below 1024)' : ''}; execMerged reads standard error mixed into the output instead`, { stderrPort: back.port });
      }
    }
    if (p.closedBeforeAnswer) throw p.closedBeforeAnswer();
    throw e;
  }
  if (!reply.ok) throw refusal(reply.message);
  if (accepting) {
    await accepting;
    const serverPort = backConn!.port;
    if (p.reservedBackPort && (serverPort < RESERVED_PORTS.low || serverPort > RESERVED_PORTS.high)) {
      // rcmd(3): "protocol failure in circuit setup" — only root on the server can connect from a reserved port.
      throw new ProtocolError(`the server connected back for standard error from port ${serverPort}, not from a reserved port (${RESERVED_PORTS.low}–${RESERVED_PORTS.high})`);
    }
  }
  if (input.stdin !== undefined) await conn.write(utf8(input.stdin));
  // End of our data: the command sees end of file on its standard input.
  await conn.end();
  const [out, err] = await Promise.all([conn.readToEnd(MAX_OUTPUT), backConn?.readToEnd(MAX_OUTPUT)]);
  const split = input.exitStatus ? splitExitStatus(out.bytes) : { output: out.bytes, exitStatus: null };
  return {
    stdout: fromUtf8(split.output),
    stderr: err ? fromUtf8(err.bytes) : null,
    exitStatus: split.exitStatus,
    stderrChannel: back && backConn ? { listenPort: back.port, serverPort: backConn.port } : null,
    truncated: out.truncated || (err?.truncated ?? false),
    sourcePort,
  };
}

export function commandLine(input: { command: string; exitStatus: boolean }): string {
  return input.exitStatus ? withExitStatus(input.command) : input.command;
}
