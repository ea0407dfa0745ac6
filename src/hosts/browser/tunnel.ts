// The browser host's Dialer: TCP through the Worker's raw tunnel, GET /api/tunnel as a WebSocket (docs/tunnel.md).
// Binary frames carry data both ways; text frames are JSON control messages; credit acks flow both ways.
import type { Capability, DialOptions, Dialer, Transport } from '../../core/conn.ts';
import { OUTCOMES, PortolanError, type FailureCode } from '../../core/errors.ts';

export interface TunnelDialerOptions {
  /** The Worker's origin, e.g. `https://portolan.example` (default: the page's origin). */
  origin?: string;
  /** Flow-control window asked of the tunnel (16 KiB to 16 MiB; default 8 MiB). */
  window?: number;
  /** Sees every data frame relayed, in either direction (for showing what the Worker carried). */
  onData?: (dir: 'out' | 'in', bytes: Uint8Array) => void;
}

type Control = { type: 'open'; window: number; remoteAddress?: string | null } | { type: 'ack'; bytes: number } | { type: 'eof' } | { type: 'error'; code: string; message: string };

function failure(code: string, message: string): PortolanError {
  const known = (OUTCOMES as readonly string[]).includes(code) && code !== 'ok';
  return new PortolanError(known ? (code as FailureCode) : 'closed', message);
}

/** Why the upgrade failed: the tunnel answers a plain GET with the same checks, as JSON (400 bad query, 403 blocked). */
async function explainRefusal(url: string): Promise<PortolanError> {
  try {
    const res = await fetch(url.replace(/^ws/, 'http'), { headers: { accept: 'application/json' } });
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.code && body.error.code !== 'invalid_input') return failure(body.error.code, body.error.message ?? `HTTP ${res.status}`);
    if (body.error?.code === 'invalid_input' && !/upgrade/i.test(body.error.message ?? '')) return failure('invalid_input', body.error.message ?? 'bad tunnel query');
  } catch {
    // no JSON: fall through
  }
  return new PortolanError('refused', 'the tunnel WebSocket could not be opened');
}

export function tunnelDialer(opts: TunnelDialerOptions = {}): Dialer {
  const origin = opts.origin ?? (globalThis as unknown as { location: { origin: string } }).location.origin;
  return {
    runtime: 'browser',
    capabilities: new Set<Capability>(['tcp', 'tls']),
    async dial(o: DialOptions): Promise<Transport> {
      if (o.tls === 'starttls') throw new PortolanError('unsupported_runtime', 'STARTTLS is not available over the tunnel');
      const q = new URLSearchParams({ host: o.host, port: String(o.port) });
      if (o.tls === 'implicit') q.set('tls', '1');
      if (opts.window) q.set('window', String(opts.window));
      const url = `${origin.replace(/^http/, 'ws')}/api/tunnel?${q}`;
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';

      const queue: Uint8Array[] = [];
      let ended: PortolanError | null | undefined; // undefined: open; null: clean end of stream; error: failure
      let wake: (() => void) | undefined;
      let window = 0;
      let inFlight = 0; // our bytes the tunnel has not yet written to TCP
      let credit: (() => void) | undefined;
      let remoteAddress: string | undefined;
      const notify = () => {
        const w = wake;
        wake = undefined;
        w?.();
        const c = credit;
        credit = undefined;
        c?.();
      };
      const end = (why: PortolanError | null) => {
        if (ended === undefined) ended = why;
        notify();
      };

      await new Promise<void>((resolve, reject) => {
        let opened = false;
        const onAbort = () => {
          ws.close();
          reject(new PortolanError('connect_timeout', 'the tunnel did not open in time'));
        };
        o.signal.addEventListener('abort', onAbort, { once: true });
        ws.addEventListener('message', (e: MessageEvent) => {
          if (typeof e.data === 'string') {
            const m = JSON.parse(e.data) as Control;
            if (m.type === 'open') {
              opened = true;
              window = m.window;
              remoteAddress = m.remoteAddress ?? undefined;
              o.signal.removeEventListener('abort', onAbort);
              resolve();
            } else if (m.type === 'ack') {
              inFlight -= m.bytes;
              notify();
            } else if (m.type === 'eof') end(null);
            else if (m.type === 'error') {
              const err = failure(m.code, m.message);
              if (opened) end(err);
              else reject(err);
            }
            return;
          }
          const bytes = new Uint8Array(e.data as ArrayBuffer);
          opts.onData?.('in', bytes);
          queue.push(bytes);
          notify();
        });
        ws.addEventListener('close', (e: CloseEvent) => {
          if (!opened) {
            void explainRefusal(url).then(reject);
            return;
          }
          end(e.code === 1000 || e.code === 1005 ? null : new PortolanError('closed', `the tunnel closed (${e.code}${e.reason ? `: ${e.reason}` : ''})`));
        });
      });

      return {
        async read() {
          for (;;) {
            const next = queue.shift();
            if (next) {
              // Credit back what we consumed, so the tunnel keeps reading TCP.
              if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ack', bytes: next.length }));
              return next;
            }
            if (ended === null) return null;
            if (ended) throw ended;
            await new Promise<void>((r) => (wake = r));
          }
        },
        async write(bytes) {
          // At most `window` bytes in flight; one message larger than the window waits for an empty pipe.
          while (inFlight > 0 && inFlight + bytes.length > window) {
            if (ended !== undefined) break;
            await new Promise<void>((r) => (credit = r));
          }
          if (ended !== undefined || ws.readyState !== WebSocket.OPEN) throw ended ?? new PortolanError('closed', 'the tunnel is closed');
          inFlight += bytes.length;
          const copy = bytes.slice();
          opts.onData?.('out', copy);
          ws.send(copy);
        },
        startTls: () => Promise.reject(new PortolanError('unsupported_runtime', 'STARTTLS is not available over the tunnel')),
        async close() {
          end(null);
          if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000);
        },
        info: () => ({ remoteAddress: remoteAddress ? `${remoteAddress} via /api/tunnel` : `${o.host}:${o.port} via /api/tunnel` }),
      };
    },
  };
}
