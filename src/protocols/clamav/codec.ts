// clamd's TCP protocol (clamd(8), "COMMANDS"): commands prefixed with "z" are NUL-terminated and so are their
// replies; INSTREAM sends the data as chunks, each a 4-byte big-endian length and its bytes, ended by a zero
// length. Sans-I/O: reply framing and parsing of scan results, VERSION and STATS.
import { concat, fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

/** A NUL-terminated reply, at most `max` bytes (STATS of a busy server is a few KiB). */
export function nulFrame(max = 1024 * 1024): Frame<string> {
  return (buf) => {
    const at = buf.indexOf(0);
    if (at === -1) {
      if (buf.length > max) throw new ProtocolError(`clamd: a reply longer than ${max} bytes without its NUL terminator`);
      return undefined;
    }
    if (at > max) throw new ProtocolError(`clamd: a reply longer than ${max} bytes`);
    return { value: fromUtf8(buf.subarray(0, at)), size: at + 1 };
  };
}

export function zCommand(name: string): Uint8Array {
  return utf8(`z${name}\0`);
}

/** One INSTREAM chunk: a 4-byte big-endian length and the bytes; an empty chunk ends the stream. */
export function chunk(data: Uint8Array): Uint8Array {
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, data.length);
  return concat([head, data]);
}

export const END_OF_STREAM = new Uint8Array(4);

export type ScanResult = { status: 'clean' } | { status: 'infected'; signature: string } | { status: 'error'; message: string };

/** "stream: OK", "stream: Eicar-Signature FOUND", "INSTREAM size limit exceeded. ERROR", "...: ... ERROR". */
export function parseScanReply(reply: string): ScanResult {
  const text = reply.trim();
  const body = text.replace(/^stream: /, '');
  if (body === 'OK') return { status: 'clean' };
  if (body.endsWith(' FOUND')) return { status: 'infected', signature: body.slice(0, -' FOUND'.length) };
  if (body.endsWith(' ERROR')) return { status: 'error', message: body.slice(0, -' ERROR'.length) };
  throw new ProtocolError(`clamd: a scan reply neither OK, FOUND nor ERROR: ${JSON.stringify(text.slice(0, 200))}`);
}

/** "ClamAV 1.0.7/27000/Mon Jan  1 00:00:00 2024": engine version, signature database version and date. */
export function parseVersion(reply: string): { engine: string; database: number | null; databaseDate: string | null; raw: string } {
  const m = /^ClamAV ([^/\s]+)(?:\/(\d+)\/(.+))?$/.exec(reply.trim());
  if (!m) return { engine: reply.trim(), database: null, databaseDate: null, raw: reply };
  return { engine: m[1], database: m[2] ? Number(m[2]) : null, databaseDate: m[3]?.trim() ?? null, raw: reply };
}

export interface Stats {
  pools: number | null;
  state: string | null;
  threads: { live: number; idle: number; max: number; idleTimeout: number } | null;
  queue: number | null;
  memory: Record<string, string>;
  raw: string;
}

/** STATS (clamd(8)): POOLS, STATE, THREADS, QUEUE, MEMSTATS lines, ending in END. */
export function parseStats(reply: string): Stats {
  const out: Stats = { pools: null, state: null, threads: null, queue: null, memory: {}, raw: reply };
  for (const line of reply.split('\n')) {
    const [key, ...rest] = line.trim().split(':');
    const value = rest.join(':').trim();
    if (key === 'POOLS') out.pools = Number(value);
    else if (key === 'STATE') out.state = value;
    else if (key === 'THREADS') {
      const m = /live (\d+)\s+idle (\d+) max (\d+) idle-timeout (\d+)/.exec(value);
      if (m) out.threads = { live: Number(m[1]), idle: Number(m[2]), max: Number(m[3]), idleTimeout: Number(m[4]) };
    } else if (key === 'QUEUE') out.queue = Number(/^(\d+)/.exec(value)?.[1] ?? NaN);
    else if (key === 'MEMSTATS') {
      for (const pair of value.split(/\s+(?=\w+ )/)) {
        const [k, v] = pair.split(' ');
        if (k && v) out.memory[k] = v;
      }
    }
  }
  return out;
}

/** VERSIONCOMMANDS: "ClamAV 1.4.6| COMMANDS: SCAN QUIT RELOAD PING ...". */
export function parseCommands(reply: string): string[] {
  const at = reply.indexOf('COMMANDS:');
  return at === -1 ? [] : reply.slice(at + 'COMMANDS:'.length).trim().split(/\s+/).filter(Boolean);
}
