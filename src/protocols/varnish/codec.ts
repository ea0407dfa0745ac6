// Varnish CLI protocol (varnish-cli(7), Varnish 7): responses framed as "status length\n" + body + "\n",
// commands as one line of quoted words, and the SHA-256 answer to the secret-file challenge.
//
// How it works: every response starts with a 13-byte header, "%-3d %-8d\n" (status code, body length,
// both left-aligned and space-padded), then exactly `length` bytes of body and a newline. The first response
// of a connection is 107 with a 32-character challenge when varnishd runs with -S: the client answers
// `auth <hex SHA-256 of challenge "\n" secret challenge "\n">`.
import { ByteWriter, concat, fromLatin1, fromUtf8, toHex, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

/** varnish-cli(7) "Status codes". */
export const STATUS = {
  100: 'SYNTAX',
  101: 'UNKNOWN',
  102: 'UNIMPL',
  104: 'TOOFEW',
  105: 'TOOMANY',
  106: 'PARAM',
  107: 'AUTH',
  200: 'OK',
  201: 'TRUNCATED',
  300: 'CANT',
  400: 'COMMS',
  500: 'CLOSE',
} as const;

export interface CliResponse {
  status: number;
  body: Uint8Array;
}

const HEADER = 13;

/** One response (header, body, trailing newline); bodies above `max` bytes are a protocol error. */
export function responseFrame(max = 8 * 1024 * 1024): Frame<CliResponse> {
  return (buf) => {
    if (buf.length < HEADER) {
      // Say early when the peer is not a Varnish CLI (a banner, HTTP, TLS).
      for (let i = 0; i < Math.min(buf.length, 3); i++) if (buf[i] < 0x30 || buf[i] > 0x39) throw notCli(buf);
      return undefined;
    }
    const m = /^(\d{3}) ([0-9]+ *)\n$/.exec(fromLatin1(buf.subarray(0, HEADER)));
    if (!m || m[2].length !== 8) throw notCli(buf);
    const length = Number(m[2].trim());
    if (length > max) throw new ProtocolError(`Varnish CLI response body of ${length} bytes exceeds the ${max}-byte limit`);
    if (buf.length < HEADER + length + 1) return undefined;
    if (buf[HEADER + length] !== 0x0a) throw new ProtocolError('Varnish CLI response body is not followed by a newline (varnish-cli(7))');
    return { value: { status: Number(m[1]), body: buf.slice(HEADER, HEADER + length) }, size: HEADER + length + 1 };
  };
}

function notCli(buf: Uint8Array): ProtocolError {
  const text = fromLatin1(buf.subarray(0, 24)).replace(/[^\x20-\x7e]/g, '.');
  return new ProtocolError(`not a Varnish CLI response header ("status length\\n"): ${JSON.stringify(text)}`);
}

export function encodeResponse(r: CliResponse): Uint8Array {
  return new ByteWriter(HEADER + r.body.length + 1).text(`${String(r.status).padEnd(3)} ${String(r.body.length).padEnd(8)}\n`).bytes(r.body).u8(0x0a).finish();
}

/** Quotes a word the way the CLI parser reads it (varnish-cli(7) "Syntax"): bare when safe, else "..." with escapes. */
export function quoteWord(word: string): string {
  if (word !== '' && /^[\x21-\x7e]+$/.test(word) && !/["\\{}]/.test(word)) return word;
  return `"${word.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r')}"`;
}

export function encodeCommand(words: string[]): Uint8Array {
  return utf8(`${words.map(quoteWord).join(' ')}\n`);
}

/** The challenge of a 107 response: its first line, 32 lower-case letters. */
export function challengeOf(r: CliResponse): Uint8Array {
  const nl = r.body.indexOf(0x0a);
  const challenge = r.body.subarray(0, nl < 0 ? r.body.length : nl);
  if (challenge.length !== 32) throw new ProtocolError(`Varnish CLI challenge is ${challenge.length} bytes, not 32`);
  return challenge;
}

/** The bytes whose SHA-256 answers the challenge: challenge "\n" secret challenge "\n" (varnish-cli(7) "Authentication"). */
export function authInput(challenge: Uint8Array, secret: Uint8Array): Uint8Array {
  const nl = new Uint8Array([0x0a]);
  return concat([challenge, nl, secret, challenge, nl]);
}

export function authCommand(digest: Uint8Array): Uint8Array {
  return utf8(`auth ${toHex(digest)}\n`);
}

export function statusName(code: number): string {
  return STATUS[code as keyof typeof STATUS] ?? 'UNKNOWN_STATUS';
}

export function bodyText(r: CliResponse): string {
  return fromUtf8(r.body);
}

/** `backend.list` plain output: a header line and whitespace-separated columns (Admin, Probe, Health, Last change). */
export function parseBackendList(text: string): { name: string; admin: string; probe: string; health: string; lastChange: string }[] {
  return text
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [name, admin, probe, health, ...rest] = l.trim().split(/\s+/);
      return { name, admin, probe, health, lastChange: rest.join(' ') };
    });
}

/** `vcl.list` plain output: status, state, temperature, busy count, name (and labels). */
export function parseVclList(text: string): { status: string; state: string; temperature: string; busy: number; name: string }[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [status, state, temperature, busy, name] = l.trim().split(/\s+/);
      return { status, state, temperature, busy: Number(busy), name };
    });
}
