// Runs the `portolan` binary as a user does, for the CLI's tests.
import { spawn } from 'node:child_process';
import { BIN } from '../test/node-host.ts';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function portolan(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<Run> {
  const baseEnv = { ...process.env };
  delete baseEnv.NO_COLOR;
  delete baseEnv.FORCE_COLOR;
  return runCommand(process.execPath, [BIN, ...args], { ...baseEnv, ...env }, stdin);
}

/** Runs a command to its end, its standard input given (or empty), and collects its output. */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}
