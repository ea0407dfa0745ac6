// TCP probes the lab's health checks are built from: exchange bytes, expect silence, expect a refusal.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

export interface ExchangeOptions {
  host?: string;
  /** Bytes written right after connecting. */
  send?: string | Uint8Array;
  /** Resolve as soon as the bytes received so far satisfy this; otherwise resolve when the peer closes. */
  until?: (received: Buffer) => boolean;
  timeoutMs?: number;
  /** Speak TLS from the first byte, trusting this CA (PEM path); the name checked is localhost. */
  tlsCa?: string;
}

/** Connects, writes `send`, collects what comes back until `until` holds or the peer closes. */
export function exchange(port: number, options: ExchangeOptions = {}): Promise<Buffer> {
  const { host = '127.0.0.1', send, until, timeoutMs = 2000, tlsCa } = options;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const socket = tlsCa ? tls.connect({ host, port, ca: readFileSync(tlsCa), servername: 'localhost' }) : net.connect({ host, port });
    const finish = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(() => {
      const got = Buffer.concat(chunks);
      finish(new Error(`${host}:${port}: no complete answer within ${timeoutMs} ms (got ${got.length} bytes: ${preview(got)})`));
    }, timeoutMs);
    socket.on(tlsCa ? 'secureConnect' : 'connect', () => {
      if (send !== undefined) socket.write(send);
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (until?.(Buffer.concat(chunks))) finish(null);
    });
    socket.on('end', () => finish(null));
    socket.on('close', () => finish(null));
    socket.on('error', (error) => finish(new Error(`${host}:${port}: ${error.message}`)));
  });
}

/** Connects (and writes `send`), then expects the peer to stay open and send nothing for `quietMs`. */
export function expectSilence(port: number, quietMs = 300, send?: string | Uint8Array, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const socket = net.connect({ host, port });
    const finish = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    let timer: NodeJS.Timeout = setTimeout(() => finish(new Error(`${host}:${port}: connect timed out`)), 2000);
    socket.on('connect', () => {
      if (send !== undefined) socket.write(send);
      clearTimeout(timer);
      timer = setTimeout(() => finish(null), quietMs);
    });
    socket.on('data', (chunk: Buffer) => finish(new Error(`${host}:${port}: expected silence, got ${preview(chunk)}`)));
    socket.on('end', () => finish(new Error(`${host}:${port}: expected the connection to stay open, peer closed it`)));
    socket.on('error', (error) => finish(new Error(`${host}:${port}: ${error.message}`)));
  });
}

/** Expects nothing to listen: the connection is refused. */
export function expectRefused(port: number, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${host}:${port}: expected a refusal, connect hung`));
    }, 2000);
    socket.on('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`${host}:${port}: expected nothing to listen, but a connection was accepted`));
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ECONNREFUSED') resolve();
      else reject(new Error(`${host}:${port}: expected ECONNREFUSED, got ${error.message}`));
    });
  });
}

/** True when something accepts connections on the port. */
export async function isListening(port: number, host = '127.0.0.1'): Promise<boolean> {
  try {
    await expectRefused(port, host);
    return false;
  } catch {
    return true;
  }
}

/** Throws when `received` does not contain `expected`. */
export function expectIncludes(what: string, received: Buffer, expected: string): void {
  if (!received.includes(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)} in the answer, got ${preview(received)}`);
  }
}

export function preview(bytes: Buffer, max = 160): string {
  const text = bytes.subarray(0, max).toString('latin1').replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return JSON.stringify(bytes.length > max ? `${text}...` : text);
}
