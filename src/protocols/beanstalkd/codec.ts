// beanstalkd protocol (beanstalkd doc/protocol.txt, 1.12): command lines, replies with optional bodies, and the YAML of stats and lists.
//
// How it works: every reply is one CRLF-terminated line. RESERVED, FOUND and OK lines end with a
// byte count; exactly that many bytes and CRLF follow (a job body, or a YAML document). `replyFrame`
// waits for the line, checks the count against its cap before waiting for the body, and returns the
// reply's words and body. Job bodies are bytes; YAML documents are ASCII text from the server.
import { concat, fromLatin1, fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export interface Reply {
  /** The first word: INSERTED, RESERVED, NOT_FOUND, ... */
  status: string;
  /** The other words of the line. */
  args: string[];
  /** The body of RESERVED, FOUND and OK. */
  body?: Uint8Array;
}

/** Replies followed by `<bytes>` of body: the last word of the line is the count. */
const WITH_BODY = new Set(['RESERVED', 'FOUND', 'OK']);

const MAX_LINE = 1024;

export function replyFrame(maxBody = 16 * 1024 * 1024): Frame<Reply> {
  return (buf) => {
    const nl = buf.indexOf(0x0a);
    if (nl === -1) {
      if (buf.length > MAX_LINE) throw new ProtocolError(`reply line longer than ${MAX_LINE} bytes`);
      return undefined;
    }
    if (nl === 0 || buf[nl - 1] !== 0x0d) throw new ProtocolError('reply line does not end with CRLF');
    if (nl - 1 > MAX_LINE) throw new ProtocolError(`reply line longer than ${MAX_LINE} bytes`);
    const words = fromLatin1(buf.subarray(0, nl - 1)).split(' ');
    const [status, ...args] = words;
    if (!/^[A-Z_]+$/.test(status)) throw new ProtocolError(`reply ${JSON.stringify(status.slice(0, 40))} is not a beanstalkd status`);
    if (!WITH_BODY.has(status)) return { value: { status, args }, size: nl + 1 };
    const countText = args[args.length - 1];
    if (countText === undefined || !/^\d{1,12}$/.test(countText)) throw new ProtocolError(`${status} has no byte count`);
    const n = Number(countText);
    if (n > maxBody) throw new ProtocolError(`${status} body of ${n} bytes exceeds the ${maxBody}-byte limit`);
    const start = nl + 1;
    if (buf.length < start + n + 2) return undefined;
    if (buf[start + n] !== 0x0d || buf[start + n + 1] !== 0x0a) throw new ProtocolError(`${status} body is not followed by CRLF`);
    return { value: { status, args: args.slice(0, -1), body: buf.slice(start, start + n) }, size: start + n + 2 };
  };
}

/** One command line (and the job body for put). */
export function encodeCommand(words: readonly (string | number)[], body?: Uint8Array): Uint8Array {
  const line = utf8(`${words.join(' ')}\r\n`);
  return body ? concat([line, body, utf8('\r\n')]) : line;
}

/** Tube names (protocol.txt "Name"): letters, digits and - + / ; . $ _ ( ), not starting with "-", at most 200 bytes. */
export function tubeProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 200) return 'is longer than 200 bytes';
  if (!/^[A-Za-z0-9+/;.$_()-]+$/.test(name)) return 'may hold only letters, digits and - + / ; . $ _ ( )';
  if (name.startsWith('-')) return 'must not start with "-"';
  return undefined;
}

export type YamlValue = string | number;

/** The YAML beanstalkd writes: a "---" line, then "key: value" lines or "- item" lines. */
export function parseYaml(body: Uint8Array): Record<string, YamlValue> | string[] {
  const lines = fromUtf8(body, true, 'YAML').split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines[0] !== '---') throw new ProtocolError('YAML document does not start with ---');
  const rest = lines.slice(1).filter((l) => l.length > 0);
  if (rest.length > 0 && rest.every((l) => l.startsWith('- '))) return rest.map((l) => unquote(l.slice(2)));
  const out: Record<string, YamlValue> = {};
  for (const line of rest) {
    const colon = line.indexOf(': ');
    if (colon <= 0) throw new ProtocolError(`YAML line is not "key: value": ${JSON.stringify(line.slice(0, 60))}`);
    const raw = line.slice(colon + 2);
    const text = unquote(raw);
    out[line.slice(0, colon)] = raw === text && /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : text;
  }
  return out;
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

export function describeReply(r: Reply): string {
  return `${r.status}${r.args.length ? ` ${r.args.join(' ')}` : ''}${r.body ? ` (${r.body.length} bytes)` : ''}`;
}
