// Running one command over rsh or rexec: send the request, read the go-ahead byte, pass stdin, read stdout to the end.
import { z } from 'zod';
import { fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { AuthError, ServerError, classify } from '../../core/errors.ts';
import { replyFrame, splitExitStatus, withExitStatus } from './codec.ts';

export const MAX_OUTPUT = 4 * 1024 * 1024;

export const commandFields = {
  command: z.string().min(1).max(8000).describe('The command line, run by the remote user\'s shell'),
  stdin: z.string().max(1024 * 1024).optional().describe('Text for the command\'s standard input (then end of file)'),
  exitStatus: z.boolean().default(true).describe('The protocol has no exit status: wrap the command to print it after the output, and strip it again'),
};

export const commandOutput = z.object({
  output: z.string().describe('Standard output, with standard error mixed in (no second channel is opened)'),
  exitStatus: z.number().nullable(),
  stderrChannel: z.literal(false).describe('Standard error has its own channel only when the client can accept the server\'s connection back; this host cannot yet'),
  truncated: z.boolean(),
  sourcePort: z.number().nullable(),
});

/** The refusals rshd/rexecd print, mapped to outcomes: a login or trust problem is auth_failed. */
function refusal(message: string): Error {
  if (/permission denied|login incorrect|password|not allowed|unknown user|ruserok/i.test(message)) return new AuthError(`server refused: ${message}`, { message });
  return new ServerError(`server refused: ${message}`, { message });
}

export async function runCommand(
  conn: Conn,
  request: Uint8Array,
  decode: string,
  input: { stdin?: string; exitStatus: boolean },
  opts: { secret: boolean; closedBeforeAnswer?: () => Error },
): Promise<z.infer<typeof commandOutput>> {
  // Read now: once the server has closed, the socket no longer knows its local address.
  const local = conn.info().localAddress;
  await conn.write(request, opts.secret ? { secret: true, decode } : { decode });
  let reply;
  try {
    reply = await conn.readFrame(replyFrame, 'the server\'s answer', (r) => (r.ok ? 'go-ahead (0)' : `refused (1): ${r.message}`));
  } catch (e) {
    if (opts.closedBeforeAnswer && classify(e).code === 'closed' && conn.bytesIn === 0) throw opts.closedBeforeAnswer();
    throw e;
  }
  if (!reply.ok) throw refusal(reply.message);
  if (input.stdin !== undefined) await conn.write(utf8(input.stdin));
  // End of our data: the command sees end of file on its standard input.
  await conn.end();
  const got = await conn.readToEnd(MAX_OUTPUT);
  const split = input.exitStatus ? splitExitStatus(got.bytes) : { output: got.bytes, exitStatus: null };
  return {
    output: fromUtf8(split.output),
    exitStatus: split.exitStatus,
    stderrChannel: false,
    truncated: got.truncated,
    sourcePort: local ? Number(local.slice(local.lastIndexOf(':') + 1)) : null,
  };
}

export function commandLine(input: { command: string; exitStatus: boolean }): string {
  return input.exitStatus ? withExitStatus(input.command) : input.command;
}
