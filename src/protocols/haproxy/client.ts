// HAProxy runtime API over TCP (management guide section 9.3): one command line per connection.
//
// How it works: dial the stats socket, write the command line, read until the server closes (it does after
// answering in non-interactive mode), capped at `maxBytes`. Mutating commands are prefixed with
// `set severity-output number` so an error carries its syslog level and success is an empty answer.
import { fromUtf8 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { AuthError, ServerError } from '../../core/errors.ts';
import { encodeCommandLine, severityOf } from './codec.ts';

export interface Answer {
  text: string;
  bytes: number;
  truncated: boolean;
}

export async function runCommands(conn: Conn, commands: string[], maxBytes: number): Promise<Answer> {
  await conn.write(encodeCommandLine(commands));
  const { bytes, truncated } = await conn.readToEnd(maxBytes);
  return { text: fromUtf8(bytes), bytes: bytes.length, truncated };
}

/** Errors the CLI prints for every command it refuses, in its own words. */
export function throwIfRefused(text: string): void {
  const t = text.trim();
  if (/^Permission denied/i.test(t)) throw new AuthError(`HAProxy refused the command: ${t} (the stats socket's level is too low)`);
  if (/^Unknown command/i.test(t)) throw new ServerError(`HAProxy: ${t.split('\n')[0]}`);
}

/** A mutating command run with severity output: an empty answer is success, a level below 5 an error. */
export async function runAction(conn: Conn, command: string, maxBytes: number): Promise<string> {
  const { text } = await runCommands(conn, ['set severity-output number', command], maxBytes);
  throwIfRefused(text);
  const { level, message } = severityOf(text);
  if (level !== null && level < 5) {
    if (/permission denied/i.test(message)) throw new AuthError(`HAProxy refused ${command}: ${message}`);
    throw new ServerError(`HAProxy refused ${command}: ${message}`, { severity: level });
  }
  return message;
}
