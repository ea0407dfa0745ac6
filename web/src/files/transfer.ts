// File transfers from the browser: the API's WebSocket transfer (docs/files.md) both ways, with the credit
// scheme (a download's data acknowledged as it is taken, an upload sent only within the server's window),
// progress (bytes, bytes/s over the last seconds, ETA) and cancel.
import type { ApiError } from '../lib/api.ts';
import { sessionUrl } from '../lib/api.ts';

export interface Progress {
  bytes: number;
  /** Bytes in all, when known. */
  total: number | null;
  bytesPerSecond: number;
  /** Seconds left, when the total and a rate are known. */
  etaSeconds: number | null;
}

export class TransferError extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

export interface Transfer<T> {
  /** Stops the transfer: the server ends the operation ({"type":"cancel"}), the promise rejects with closed. */
  cancel(): void;
  done: Promise<T>;
}

/** A rate over the last few seconds, from samples of the byte count. */
class Meter {
  private samples: [number, number][] = [];

  constructor(private readonly onProgress: (p: Progress) => void) {}

  report(bytes: number, total: number | null, force = false): void {
    const now = performance.now();
    const last = this.samples.at(-1);
    if (!force && last && now - last[0] < 100) return;
    this.samples.push([now, bytes]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 3000) this.samples.shift();
    const [t0, b0] = this.samples[0];
    const rate = now > t0 ? ((bytes - b0) * 1000) / (now - t0) : 0;
    this.onProgress({ bytes, total, bytesPerSecond: rate, etaSeconds: total !== null && rate > 0 ? (total - bytes) / rate : null });
  }
}

interface Socket {
  ws: WebSocket;
  closed: Promise<void>;
}

function open(protocol: string, operation: string, start: Record<string, unknown>, onMessage: (msg: Record<string, any> | ArrayBuffer) => void, fail: (e: Error) => void): Socket {
  const ws = new WebSocket(sessionUrl(protocol, operation));
  ws.binaryType = 'arraybuffer';
  let ended = false;
  const closed = new Promise<void>((resolve) =>
    ws.addEventListener('close', (e) => {
      resolve();
      if (!ended) fail(new TransferError({ code: 'closed', message: `the transfer ended before its answer (WebSocket close ${e.code}${e.reason ? `: ${e.reason}` : ''})` }));
    }),
  );
  ws.addEventListener('open', () => ws.send(JSON.stringify({ type: 'start', ...start })));
  ws.addEventListener('error', () => fail(new TransferError({ code: 'network', message: 'the WebSocket failed' })));
  ws.addEventListener('message', (e) => {
    if (typeof e.data !== 'string') return onMessage(e.data as ArrayBuffer);
    const msg = JSON.parse(e.data) as Record<string, any>;
    if (msg.type === 'end' || msg.type === 'error') ended = true;
    onMessage(msg);
  });
  return { ws, closed };
}

export interface Downloaded {
  blob: Blob;
  name: string;
  size: number;
  result: unknown;
}

/**
 * Downloads a file with a download operation as a WebSocket transfer. The bytes are gathered in a Blob
 * (the browser may keep large ones on disk) and acknowledged as they arrive.
 */
export function downloadFile(protocol: string, operation: string, input: Record<string, unknown>, onProgress: (p: Progress) => void, opts: { offset?: number; window?: number } = {}): Transfer<Downloaded> {
  const meter = new Meter(onProgress);
  let socket: Socket | undefined;
  const done = new Promise<Downloaded>((resolve, reject) => {
    const parts: ArrayBuffer[] = [];
    let bytes = 0;
    let name = 'download';
    let total: number | null = null;
    let type = 'application/octet-stream';
    socket = open(
      protocol,
      operation,
      { input, ...(opts.offset ? { offset: opts.offset } : {}), window: opts.window ?? 4 * 1024 * 1024 },
      (msg) => {
        if (msg instanceof ArrayBuffer) {
          parts.push(msg);
          bytes += msg.byteLength;
          socket!.ws.send(JSON.stringify({ type: 'ack', bytes: msg.byteLength }));
          meter.report(bytes, total);
          return;
        }
        if (msg.type === 'file') {
          name = msg.name;
          total = typeof msg.size === 'number' ? msg.size - (msg.offset ?? 0) : null;
          type = msg.contentType ?? type;
          meter.report(0, total, true);
        } else if (msg.type === 'end') {
          meter.report(bytes, total, true);
          resolve({ blob: new Blob(parts, { type }), name, size: bytes, result: msg.result });
        } else if (msg.type === 'error') reject(new TransferError(msg.error as ApiError));
      },
      reject,
    );
  });
  return {
    cancel() {
      if (socket?.ws.readyState === WebSocket.OPEN) socket.ws.send(JSON.stringify({ type: 'cancel' }));
      else socket?.ws.close();
    },
    done,
  };
}

/** What an upload reads a file in: slices of this size, never more than the server's window in flight. */
const SLICE = 256 * 1024;

/** Uploads a File with an upload operation as a WebSocket transfer, within the window the server gives. */
export function uploadFile(protocol: string, operation: string, input: Record<string, unknown>, file: File, onProgress: (p: Progress) => void): Transfer<unknown> {
  const meter = new Meter(onProgress);
  let socket: Socket | undefined;
  const done = new Promise<unknown>((resolve, reject) => {
    let window = 0;
    let sent = 0;
    let acked = 0;
    let reading = false;
    let eofSent = false;
    const pump = async () => {
      if (reading) return;
      reading = true;
      try {
        while (sent < file.size && sent - acked + Math.min(SLICE, file.size - sent) <= window) {
          const piece = await file.slice(sent, sent + SLICE).arrayBuffer();
          if (socket!.ws.readyState !== WebSocket.OPEN) return;
          socket!.ws.send(piece);
          sent += piece.byteLength;
        }
        if (sent >= file.size && !eofSent) {
          eofSent = true;
          socket!.ws.send(JSON.stringify({ type: 'eof' }));
        }
      } finally {
        reading = false;
      }
    };
    socket = open(
      protocol,
      operation,
      { input, name: file.name, size: file.size, window: 4 * 1024 * 1024 },
      (msg) => {
        if (msg instanceof ArrayBuffer) return;
        if (msg.type === 'ready') {
          window = msg.window;
          meter.report(0, file.size, true);
          void pump();
        } else if (msg.type === 'ack') {
          acked += msg.bytes;
          meter.report(acked, file.size);
          void pump();
        } else if (msg.type === 'end') {
          meter.report(file.size, file.size, true);
          resolve(msg.result);
        } else if (msg.type === 'error') reject(new TransferError(msg.error as ApiError));
      },
      reject,
    );
  });
  return {
    cancel() {
      if (socket?.ws.readyState === WebSocket.OPEN) socket.ws.send(JSON.stringify({ type: 'cancel' }));
      else socket?.ws.close();
    },
    done,
  };
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB". */
export function humanBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[u]}`;
}

/** Seconds as m:ss or h:mm:ss. */
export function humanDuration(s: number | null): string {
  if (s === null || !Number.isFinite(s) || s < 0) return '–';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const pad = (x: number) => String(x).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(t % 60)}` : `${m}:${pad(t % 60)}`;
}
