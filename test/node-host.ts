// Starts the Node host (`portolan serve`) for tests, the way a user runs it: the bin, on a free port,
// loopback allowed, the lab CA trusted. callNode() is test/harness.ts call() against it.
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before } from 'node:test';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { caPath } from '../lab/index.ts';
import type { ApiResult } from './harness.ts';

export const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'portolan.mjs');

export interface RunningNodeHost {
  url: string;
  child: ChildProcess;
  /** What the host printed on stderr at start (the probe summary). */
  startup: string;
  stop(): Promise<void>;
}

export interface NodeHostTestOptions {
  /** Extra flags for `portolan serve`. */
  args?: string[];
  env?: Record<string, string>;
}

/** Runs `portolan serve --port 0 --allow loopback` and waits for it to print its URL. */
export async function startNodeHost(opts: NodeHostTestOptions = {}): Promise<RunningNodeHost> {
  const args = [BIN, 'serve', '--port', '0', '--allow', 'loopback', '--rate-limit-client', 'off', '--rate-limit-target', 'off', ...(opts.args ?? [])];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caPath, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`portolan serve printed no URL within 60 s:\n${stdout}\n${stderr}`)), 60_000);
    child.stdout!.on('data', (d) => {
      stdout += d;
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`portolan serve exited (${code}):\n${stdout}\n${stderr}`));
    });
  });
  return {
    url,
    child,
    startup: stderr,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** One Node host for the tests of a file: started before the first, stopped after the last. */
export function useNodeHost(opts: NodeHostTestOptions = {}): { readonly url: string } {
  let host: RunningNodeHost | undefined;
  before(async () => {
    host = await startNodeHost(opts);
  });
  after(() => host?.stop());
  return {
    get url() {
      if (!host) throw new Error('the Node host has not started');
      return host.url;
    },
  };
}

/** POST /api/{protocol}/{operation} on a Node host. */
export async function callNode<T = any>(host: { url: string }, protocol: string, operation: string, input: Record<string, unknown>, opts: { transcript?: boolean } = {}): Promise<ApiResult<T>> {
  const res = await fetch(`${host.url}/api/${protocol}/${operation}${opts.transcript ? '?transcript=1' : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  return { status: res.status, body: (await res.json()) as T };
}
