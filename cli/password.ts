// Passwords for the CLI as the native tools take them: --password-stdin, the tool's environment variable
// (PGPASSWORD, MYSQL_PWD, REDISCLI_AUTH), a prompt on the terminal when the login needs one; and fields
// read from files (--private-key-file).
import { readFileSync } from 'node:fs';
import { InvalidInput } from '../src/core/errors.ts';
import type { DefinedOperation, Protocol } from '../src/core/protocol.ts';
import type { ParsedCommand } from './args.ts';

/** The environment variables the native clients read a password from (psql, mysql, redis-cli). */
export const PASSWORD_ENV: Record<string, string> = { postgres: 'PGPASSWORD', mysql: 'MYSQL_PWD', redis: 'REDISCLI_AUTH' };

export function hasField(op: DefinedOperation, field: string): boolean {
  return field in (op.schema.shape as Record<string, unknown>);
}

/** All of standard input as text (for --password-stdin: its first line). */
async function readStdin(): Promise<string> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk as string;
  return text;
}

/** Asks for a password on the terminal without echoing it; null when the user cancels (Ctrl-C, Ctrl-D). */
export function promptPassword(prompt: string): Promise<string | null> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    // Echo off before the prompt shows: whatever is typed once it is visible stays off the screen.
    stdin.setRawMode(true);
    process.stderr.write(prompt);
    stdin.resume();
    stdin.setEncoding('utf8');
    let typed = '';
    const done = (value: string | null) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done(typed);
        if (ch === '\u0003' || ch === '\u0004') return done(null);
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else if (ch >= ' ') typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** Fills the password from --password-stdin or the native tool's environment variable, and fields from --X-file. */
export async function completeInput(cmd: ParsedCommand, p: Protocol, op: DefinedOperation): Promise<void> {
  for (const [field, path] of Object.entries(cmd.files)) {
    try {
      cmd.input[field] = readFileSync(path, 'utf8');
    } catch (e) {
      throw InvalidInput.field(field, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  if (cmd.globals.passwordStdin) {
    if (!hasField(op, 'password')) throw InvalidInput.field('password-stdin', `${p.id} ${op.name} takes no password`);
    if (process.stdin.isTTY) throw InvalidInput.field('password-stdin', 'standard input is a terminal: pipe the password in (or leave --password-stdin out to be asked)');
    cmd.input.password = (await readStdin()).split(/\r?\n/)[0];
    return;
  }
  const env = PASSWORD_ENV[p.id];
  if (env && cmd.input.password === undefined && hasField(op, 'password') && process.env[env] !== undefined) cmd.input.password = process.env[env];
}

/** A failure that a password would fix: the server refused the login, or the operation asked for one. */
export function wantsPassword(o: { ok: boolean; error?: { code: string; detail?: Record<string, unknown> } }): boolean {
  if (o.ok || !o.error) return false;
  if (o.error.code === 'auth_failed') return true;
  const issues = (o.error.detail?.issues as { field: string }[] | undefined) ?? [];
  return o.error.code === 'invalid_input' && issues.some((i) => i.field === 'password');
}

