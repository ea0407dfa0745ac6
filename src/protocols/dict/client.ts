// DICT session driver: banner, one command, its preliminary replies and bodies, QUIT.
import type { Conn } from '../../core/conn.ts';
import { AuthError, InvalidInput, ProtocolError, ServerError } from '../../core/errors.ts';
import { toHex, utf8 } from '../../core/bytes.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { parseDefinitionHeader, parsePairs, statusFrame, textBlockFrame, type Status } from './codec.ts';

const body = textBlockFrame();

async function status(conn: Conn): Promise<Status> {
  return conn.readFrame(statusFrame, 'DICT status', (s) => `${s.code} ${s.text}`);
}

export async function greet(conn: Conn): Promise<{ banner: string; capabilities: string[]; msgId: string | null }> {
  const s = await status(conn);
  if (s.code === 530) throw new ServerError(`access denied: ${s.text}`, { code: s.code });
  if (s.code !== 220) throw new ProtocolError(`expected DICT banner 220, got ${s.code} ${s.text}`);
  // 220 text <capabilities> <msg-id>
  const caps = /<([\w.]*)>\s*(<[^>]*>)?\s*$/.exec(s.text);
  return { banner: s.text, capabilities: caps?.[1] ? caps[1].split('.').filter(Boolean) : [], msgId: caps?.[2] ?? null };
}

/**
 * AUTH, RFC 2229 3.11: the auth string is the hex MD5 of the banner's msg-id followed by the
 * shared secret. 230 is success, 531 access denied.
 */
export async function authenticate(conn: Conn, crypto: CryptoPort, msgId: string | null, user: string, secret: string, q: (s: string) => string): Promise<void> {
  if (!msgId) throw new ProtocolError('server banner has no msg-id, so AUTH cannot be computed');
  const digest = toHex(crypto.md5(utf8(msgId + secret)));
  await conn.write(`AUTH ${q(user)} ${digest}\r\n`, { secret: true, decode: `AUTH ${user} ****` });
  const s = await status(conn);
  if (s.code === 230) return;
  if (s.code === 531) throw new AuthError(`DICT server refused AUTH for ${user}: ${s.code} ${s.text}`, { code: s.code });
  if (s.code === 502) throw InvalidInput.field('auth', `server does not implement AUTH: ${s.text}`);
  throw new ServerError(`DICT server answered AUTH with ${s.code} ${s.text}`, { code: s.code });
}

export interface Definition {
  word: string;
  database: string;
  description: string;
  text: string;
}

/** Sends a command; collects 15x bodies until the final reply. No match is an answer, not a failure. */
async function command(conn: Conn, line: string): Promise<{ final: Status; bodies: { head: Status; text: string }[] }> {
  await conn.write(`${line}\r\n`, { decode: line });
  const bodies: { head: Status; text: string }[] = [];
  for (let n = 0; n < 10_000; n++) {
    const s = await status(conn);
    if (s.code === 151 || s.code === 152 || s.code === 110 || s.code === 111 || s.code === 112 || s.code === 113 || s.code === 114) {
      bodies.push({ head: s, text: await conn.readFrame(body, 'DICT text', (t) => `text (${t.length} chars)`) });
      continue;
    }
    if (s.code === 150) continue;
    return { final: s, bodies };
  }
  throw new ProtocolError('DICT server sent more than 10000 preliminary replies');
}

function expectOk(final: Status, allowNoMatch: number[] = []): boolean {
  if (final.code === 250) return true;
  if (allowNoMatch.includes(final.code)) return false;
  throw new ServerError(`DICT server answered ${final.code} ${final.text}`, { code: final.code });
}

export async function define(conn: Conn, database: string, word: string, q: (s: string) => string): Promise<Definition[]> {
  const r = await command(conn, `DEFINE ${q(database)} ${q(word)}`);
  if (!expectOk(r.final, [552])) return [];
  return r.bodies.filter((b) => b.head.code === 151).map((b) => ({ ...parseDefinitionHeader(b.head.text), text: b.text }));
}

export async function match(conn: Conn, database: string, strategy: string, word: string, q: (s: string) => string): Promise<{ database: string; word: string }[]> {
  const r = await command(conn, `MATCH ${q(database)} ${q(strategy)} ${q(word)}`);
  if (!expectOk(r.final, [552])) return [];
  return r.bodies.flatMap((b) => parsePairs(b.text).map((p) => ({ database: p.name, word: p.description })));
}

export async function show(conn: Conn, what: 'DB' | 'STRAT' | 'SERVER' | 'INFO', arg?: string): Promise<{ pairs: { name: string; description: string }[]; text: string }> {
  const r = await command(conn, arg ? `SHOW ${what} ${arg}` : `SHOW ${what}`);
  if (!expectOk(r.final, [554, 555])) return { pairs: [], text: '' };
  const text = r.bodies.map((b) => b.text).join('\n');
  return { pairs: what === 'DB' || what === 'STRAT' ? parsePairs(text) : [], text };
}

export async function quit(conn: Conn): Promise<void> {
  await conn.write('QUIT\r\n', { decode: 'QUIT' });
  await status(conn).catch(() => undefined);
}
