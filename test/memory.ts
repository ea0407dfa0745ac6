// An in-memory byte pipe for core unit tests of Conn and the runner (no protocol is simulated here).
import type { Capability, DialOptions, Dialer, Transport } from '../src/core/conn.ts';
import { webCrypto } from '../src/core/crypto.ts';
import type { HostEnv } from '../src/core/runner.ts';

export interface Pipe {
  transport: Transport;
  /** Bytes the client wrote. */
  written: Uint8Array[];
  push(bytes: Uint8Array | string): void;
  end(): void;
  fail(err: Error): void;
  closed: boolean;
}

export function pipe(): Pipe {
  const queue: (Uint8Array | null | Error)[] = [];
  let waiter: (() => void) | undefined;
  const p: Pipe = {
    written: [],
    closed: false,
    push(bytes) {
      queue.push(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes);
      waiter?.();
    },
    end() {
      queue.push(null);
      waiter?.();
    },
    fail(err) {
      queue.push(err);
      waiter?.();
    },
    transport: {
      async read() {
        while (queue.length === 0) await new Promise<void>((r) => (waiter = r));
        const next = queue.shift()!;
        if (next instanceof Error) throw next;
        return next;
      },
      async write(bytes) {
        p.written.push(bytes.slice());
      },
      async startTls() {
        return p.transport;
      },
      async close() {
        p.closed = true;
      },
      info() {
        return { remoteAddress: 'memory' };
      },
    },
  };
  return p;
}

/** A host whose dials return the given pipes in order (or hang, when `hang` is set). */
export function memoryHost(pipes: Pipe[], opts: { capabilities?: Capability[]; hang?: boolean; refuse?: boolean } = {}): HostEnv & { dials: DialOptions[] } {
  const dials: DialOptions[] = [];
  const dialer: Dialer = {
    runtime: 'workers',
    capabilities: new Set(opts.capabilities ?? ['tcp', 'tls', 'starttls']),
    async dial(o) {
      dials.push(o);
      if (opts.refuse) throw new Error('connect ECONNREFUSED 127.0.0.1:1');
      if (opts.hang) await new Promise(() => {});
      const next = pipes.shift();
      if (!next) throw new Error('no more pipes');
      return next.transport;
    },
  };
  return { dialer, guard: { check: async () => ({}) }, crypto: webCrypto(), dials };
}
