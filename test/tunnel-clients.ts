// Clients of GET /api/tunnel for the tests: a websockify-style binary client (`ws`), and a WebSocket by hand over a
// raw socket that can stop reading, with the server's frames decoded by the WebSocket protocol's own codec.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import WebSocket from 'ws';
import { encodeFrame, frameFrame, MessageAssembler, Opcode, type WsMessage } from '../src/protocols/websocket/codec.ts';

export const MiB = 1024 * 1024;

export function tunnelUrl(base: string, port: number, query = ''): string {
  return `${base.replace(/^http/, 'ws')}/api/tunnel?host=127.0.0.1&port=${port}${query}`;
}

export interface Ended {
  code: number;
  reason: string;
  text: string[];
  data: Buffer;
}

/** Opens a tunnel with `ws` offering `protocols`; collects binary data and any text frame until it closes. */
export function collect(url: string, protocols: string[]): { ws: WebSocket; opened: Promise<string>; received(): number; ended: Promise<Ended> } {
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false });
  const chunks: Buffer[] = [];
  const text: string[] = [];
  let received = 0;
  const opened = new Promise<string>((resolve, reject) => {
    ws.once('open', () => resolve(ws.protocol));
    ws.once('error', reject);
  });
  ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) return void text.push(String(data));
    chunks.push(data);
    received += data.length;
  });
  const ended = new Promise<Ended>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason), text, data: Buffer.concat(chunks) })));
  return { ws, opened, received: () => received, ended };
}

/** Waits until `check` holds, polling; false when `ms` passed first. */
export async function until(check: () => boolean, ms = 20_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/**
 * Sends `total` random bytes through a `binary` tunnel to an echo server in 64 KiB messages, at most `inFlight`
 * unanswered, and reads them back: the SHA-256 of what went and of what came back, and any text frame.
 */
export async function echoBinary(url: string, total: number, inFlight = 8 * MiB): Promise<{ sent: string; back: string; received: number; textFrames: number; ms: number }> {
  const ws = new WebSocket(url, ['binary'], { perMessageDeflate: false });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  assert.equal(ws.protocol, 'binary');
  const out = createHash('sha256');
  const back = createHash('sha256');
  let sent = 0;
  let received = 0;
  let textFrames = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      while (sent < total && sent - received < inFlight) {
        const chunk = randomBytes(Math.min(64 * 1024, total - sent));
        out.update(chunk);
        ws.send(chunk);
        sent += chunk.length;
      }
    };
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) textFrames++;
      back.update(data);
      received += data.length;
      if (received >= total) resolve();
      else pump();
    });
    ws.once('close', (code, reason) => reject(new Error(`closed ${code} ${reason} after ${received} of ${total} bytes`)));
    pump();
  });
  const ms = performance.now() - t0;
  ws.close(1000);
  return { sent: out.digest('hex'), back: back.digest('hex'), received, textFrames, ms };
}

export interface RawTunnel {
  /** The server's handshake answer: status line and headers. */
  head: string;
  socket: net.Socket;
  /** Starts reading (again) and collects every message until the server's close. */
  drain(): Promise<{ messages: WsMessage[]; bytes: number; close?: { code: number | null; reason: string } }>;
}

/**
 * A WebSocket handshake by hand, offering `protocols`, after which the socket is paused: a client that does not
 * read (its kernel's receive buffer fills, then the server's send buffer). `drain()` reads on to the close.
 */
export async function rawTunnel(url: string, protocols?: string): Promise<RawTunnel> {
  const u = new URL(url.replace(/^ws/, 'http'));
  const socket = net.connect(Number(u.port), u.hostname);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const key = randomBytes(16).toString('base64');
  const lines = [`GET ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`, 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13'];
  if (protocols) lines.push(`Sec-WebSocket-Protocol: ${protocols}`);
  socket.write([...lines, '', ''].join('\r\n'));
  let buffered = Buffer.alloc(0);
  const head = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      buffered = Buffer.concat([buffered, d]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      const text = buffered.subarray(0, end).toString('latin1');
      buffered = buffered.subarray(end + 4);
      resolve(text);
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
  return {
    head,
    socket,
    drain() {
      const next = frameFrame(16 * MiB);
      const assembler = new MessageAssembler();
      const messages: WsMessage[] = [];
      let bytes = 0;
      let close: { code: number | null; reason: string } | undefined;
      return new Promise((resolve, reject) => {
        const parse = (d: Buffer) => {
          buffered = Buffer.concat([buffered, d]);
          for (let f = next(buffered); f; f = next(buffered)) {
            buffered = buffered.subarray(f.size);
            const m = assembler.push(f.value);
            if (!m) continue;
            if (m.kind === 'close') {
              close = { code: m.code, reason: m.reason };
              // §5.5.1: answer the close with the same code.
              socket.end(encodeFrame(Opcode.CLOSE, f.value.payload, randomBytes(4)));
            } else {
              if (m.kind === 'binary') bytes += m.data.length;
              messages.push(m);
            }
          }
        };
        parse(Buffer.alloc(0));
        socket.on('data', parse);
        socket.once('close', () => resolve({ messages, bytes, close }));
        socket.once('error', reject);
        socket.resume();
      });
    },
  };
}

/** chargen's stream (RFC 864), checked for what a dropped message would break: whole lines of 72 printable characters. */
export function assertChargenLines(messages: WsMessage[]): void {
  const text = Buffer.concat(messages.map((m) => (m.kind === 'binary' ? m.data : new Uint8Array(0)))).toString('latin1');
  const lines = text.split('\r\n');
  lines.pop();
  assert.ok(lines.length > 1000, `${lines.length} lines`);
  const bad = lines.findIndex((l) => !/^[!-~]{72}$/.test(l));
  assert.equal(bad, -1, `line ${bad} is ${JSON.stringify(lines[bad])}`);
}
