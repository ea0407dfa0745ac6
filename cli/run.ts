// Runs the `portolan` binary as a user does, for the CLI's tests.
import { spawn } from 'node:child_process';
import { BIN } from '../test/node-host.ts';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function portolan(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const baseEnv = { ...process.env };
    delete baseEnv.NO_COLOR;
    delete baseEnv.FORCE_COLOR;
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...baseEnv, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

