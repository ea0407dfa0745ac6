// STOMP 1.0, 1.1 and 1.2 (stomp.github.io): frames (1.2 "STOMP Frames"), header value escaping (1.1/1.2
// "Value Encoding"), content-length bodies, heart-beat EOLs between frames, and the CONNECT heart-beat
// negotiation ("Heart-beating").
//
// How it works: `stompFrame(max)` skips heart-beat EOLs (returned as heartbeat frames so they count as
// traffic), reads the command and header lines (LF or CRLF), then the body: exactly content-length bytes
// and a NUL when the header is present, else up to the first NUL. The body stays bytes.
import { ByteWriter, fromUtf8, indexOf, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export type StompVersion = '1.0' | '1.1' | '1.2';

export interface StompFrame {
  command: string;
  /** Headers in order; repeated names keep every entry, and the first one counts (1.2 "Repeated Header Entries"). */
  headers: [string, string][];
  body: Uint8Array;
}

export const HEARTBEAT: StompFrame = { command: 'HEARTBEAT', headers: [], body: new Uint8Array(0) };

const SERVER_COMMANDS = new Set(['CONNECTED', 'MESSAGE', 'RECEIPT', 'ERROR']);
const CLIENT_COMMANDS = new Set(['CONNECT', 'STOMP', 'SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'ACK', 'NACK', 'BEGIN', 'COMMIT', 'ABORT', 'DISCONNECT']);
const MAX_HEADERS = 1000;

export function header(f: StompFrame, name: string): string | undefined {
  return f.headers.find(([k]) => k === name)?.[1];
}

/** 1.2 "Value Encoding": \r \n : \ as \\r \\n \\c \\\\ (1.1 has all but \r); CONNECT and CONNECTED frames are never escaped. */
export function escapeValue(v: string, version: StompVersion): string {
  if (version === '1.0') return v;
  let out = v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/:/g, '\\c');
  if (version === '1.2') out = out.replace(/\r/g, '\\r');
  return out;
}

export function unescapeValue(v: string, version: StompVersion): string {
  if (version === '1.0' || !v.includes('\\')) return v;
  return v.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === 'c') return ':';
    if (c === 'r' && version === '1.2') return '\r';
    // 1.2: undefined escape sequences are fatal protocol errors.
    throw new ProtocolError(`header value with an undefined escape sequence \\${c} (STOMP ${version} Value Encoding)`);
  });
}

export function encodeFrame(command: string, headers: [string, string][], body: Uint8Array = new Uint8Array(0), version: StompVersion = '1.2'): Uint8Array {
  const escape = command !== 'CONNECT' && command !== 'STOMP';
  const w = new ByteWriter(body.length + 128).text(`${command}\n`);
  for (const [k, v] of headers) {
    const name = escape ? escapeValue(k, version) : k;
    const value = escape ? escapeValue(v, version) : v;
    if (!escape && /[\n\r]/.test(k + v)) throw new ProtocolError(`${command} header ${k} may not contain a line break`);
    w.text(`${name}:${value}\n`);
  }
  return w.text('\n').bytes(body).u8(0).finish();
}

/**
 * One frame. `version` is read when frames are decoded, as escaping depends on the negotiated version
 * (CONNECTED itself is never escaped).
 */
export function stompFrame(version: () => StompVersion, maxBody = 16 * 1024 * 1024, maxHead = 64 * 1024, side: 'server' | 'client' = 'server'): Frame<StompFrame> {
  return (buf) => {
    // Heart-beats: an EOL (LF or CRLF) between frames.
    if (buf[0] === 0x0a) return { value: HEARTBEAT, size: 1 };
    if (buf[0] === 0x0d) {
      if (buf.length < 2) return undefined;
      if (buf[1] === 0x0a) return { value: HEARTBEAT, size: 2 };
      throw new ProtocolError('a CR not followed by LF between STOMP frames');
    }
    let headEnd = -1;
    let bodyAt = -1;
    // The head ends at the first empty line: LF LF or LF CR LF.
    for (let i = buf.indexOf(0x0a); i !== -1; i = buf.indexOf(0x0a, i + 1)) {
      if (buf[i + 1] === 0x0a) {
        headEnd = i;
        bodyAt = i + 2;
        break;
      }
      if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) {
        headEnd = i;
        bodyAt = i + 3;
        break;
      }
      if (i + 2 >= buf.length) break;
    }
    if (headEnd === -1) {
      if (buf.length > maxHead) throw new ProtocolError(`STOMP frame head longer than ${maxHead} bytes`);
      const nul = buf.indexOf(0);
      if (nul !== -1 && nul < buf.length) throw new ProtocolError('STOMP frame ended (NUL) before its headers did');
      return undefined;
    }
    if (headEnd > maxHead) throw new ProtocolError(`STOMP frame head longer than ${maxHead} bytes`);
    const lines = fromUtf8(buf.subarray(0, headEnd), true, 'STOMP frame head').split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
    const command = lines[0];
    const known = side === 'server' ? SERVER_COMMANDS : CLIENT_COMMANDS;
    if (!known.has(command)) throw new ProtocolError(`unknown STOMP ${side} command ${JSON.stringify(command.slice(0, 40))}`);
    if (lines.length - 1 > MAX_HEADERS) throw new ProtocolError(`more than ${MAX_HEADERS} STOMP headers`);
    const v = command === 'CONNECTED' || command === 'CONNECT' || command === 'STOMP' ? '1.0' : version();
    const headers: [string, string][] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new ProtocolError(`STOMP header line without a name and colon: ${JSON.stringify(line.slice(0, 60))}`);
      headers.push([unescapeValue(line.slice(0, colon), v), unescapeValue(line.slice(colon + 1), v)]);
    }
    const lengthText = headers.find(([k]) => k === 'content-length')?.[1];
    let bodyEnd: number;
    if (lengthText !== undefined) {
      if (!/^\d{1,10}$/.test(lengthText.trim())) throw new ProtocolError(`content-length ${JSON.stringify(lengthText)} is not a number`);
      const len = Number(lengthText.trim());
      if (len > maxBody) throw new ProtocolError(`STOMP body of ${len} bytes exceeds the ${maxBody}-byte limit`);
      if (buf.length < bodyAt + len + 1) return undefined;
      bodyEnd = bodyAt + len;
      if (buf[bodyEnd] !== 0) throw new ProtocolError('STOMP frame body not followed by NUL at content-length');
    } else {
      bodyEnd = buf.indexOf(0, bodyAt);
      if (bodyEnd === -1) {
        if (buf.length - bodyAt > maxBody) throw new ProtocolError(`STOMP body longer than ${maxBody} bytes without a NUL`);
        return undefined;
      }
    }
    return { value: { command, headers, body: buf.slice(bodyAt, bodyEnd) }, size: bodyEnd + 1 };
  };
}

/** "Heart-beating": each side sends every max(its cx, the other's cy) ms; 0 on either side turns it off. */
export function negotiateHeartbeat(ours: [number, number], theirs: string | undefined): { sendEveryMs: number; expectEveryMs: number } {
  const [sx, sy] = (theirs ?? '0,0').split(',').map((x) => Number(x.trim()));
  const send = ours[0] === 0 || !sy ? 0 : Math.max(ours[0], sy);
  const expect = ours[1] === 0 || !sx ? 0 : Math.max(ours[1], sx);
  return { sendEveryMs: send, expectEveryMs: expect };
}

export function describeFrame(f: StompFrame): string {
  if (f.command === 'HEARTBEAT') return 'heart-beat';
  const hidden = new Set(['passcode']);
  const hs = f.headers.map(([k, v]) => `${k}:${hidden.has(k) ? '***' : v}`).join(' ');
  const body = f.body.length ? ` + ${f.body.length} bytes${f.body.length <= 60 && indexOf(f.body, utf8('\u0000')) === -1 ? ` ${JSON.stringify(fromUtf8(f.body))}` : ''}` : '';
  return `${f.command} ${hs}${body}`.slice(0, 400);
}
