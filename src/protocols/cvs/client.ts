// A pserver session over a Conn: authenticate, announce the responses we understand, then one request at a
// time, each answered by lines ending in ok or error.
import type { Conn } from '../../core/conn.ts';
import { AuthError, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import { OutputCollector, VALID_RESPONSES, authRequest, parseResponse, type ResponseLine } from './codec.ts';

const MAX_LINES = 100_000;
/** Text kept from one answer: a listing of a huge repository is cut here rather than held whole. */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

export interface Login {
  root: string;
  user: string;
  password: string;
}

/** Sends the AUTH (or VERIFICATION) request; anything but I LOVE YOU is the server's refusal in its own words. */
export async function authenticate(conn: Conn, login: Login, kind: 'AUTH' | 'VERIFICATION'): Promise<void> {
  await conn.write(authRequest(kind, login.root, login.user, login.password), { secret: true, decode: `BEGIN ${kind} REQUEST ${login.root} ${login.user} (password masked)` });
  const lines: string[] = [];
  for (;;) {
    let line: string;
    try {
      line = await conn.readLine({ max: 4096 });
    } catch (e) {
      if (lines.length) break;
      if (e instanceof PortolanError && e.code === 'closed') {
        throw new PortolanError('closed', `the server closed the connection without answering the login (pserver does this for a root it does not serve: is ${login.root} right?)`);
      }
      throw e;
    }
    if (line === 'I LOVE YOU') return;
    // pserver answers I HATE YOU, or E lines and an error line; anything else is not a pserver.
    if (line !== 'I HATE YOU' && !line.startsWith('E ') && !line.startsWith('error ')) {
      throw new ProtocolError(`the server answered ${JSON.stringify(line.slice(0, 80))} to the login: not a CVS pserver`);
    }
    lines.push(line);
    if (line === 'I HATE YOU' || line.startsWith('error ')) break;
  }
  const words = lines.map((l) => l.replace(/^(E |error \d* ?)/, '')).filter(Boolean).join('; ');
  if (lines.includes('I HATE YOU')) throw new AuthError(`the server refused the login: I HATE YOU${words !== 'I HATE YOU' ? ` (${words})` : ''}`, { server: lines });
  throw new AuthError(`the server refused the login: ${words}`, { server: lines });
}

export interface Answer {
  lines: string[];
  messages: string[];
  responses: ResponseLine[];
}

/** Writes request lines and reads the answer up to ok; error is the server's words (with its E lines). */
export async function send(conn: Conn, requests: string[]): Promise<Answer> {
  for (const r of requests) if (r.includes('\n')) throw new ProtocolError('a request argument may not contain a newline');
  await conn.write(requests.map((r) => `${r}\n`).join(''), { decode: requests.join(' | ').slice(0, 300) });
  const out = new OutputCollector();
  const responses: ResponseLine[] = [];
  let bytes = 0;
  for (let i = 0; i < MAX_LINES; i++) {
    const line = await conn.readLine({ max: 64 * 1024 });
    bytes += line.length + 1;
    if (bytes > MAX_ANSWER_BYTES) throw new ProtocolError(`the answer is longer than ${MAX_ANSWER_BYTES} bytes`);
    const r = parseResponse(line);
    if (r.kind === 'ok') return { lines: out.lines, messages: out.messages, responses };
    if (r.kind === 'error') {
      const words = [...out.messages, r.text].filter(Boolean).join('; ') || 'error';
      throw new ServerError(`cvs server: ${words}`, { code: r.code, messages: out.messages });
    }
    responses.push(r);
    out.add(r);
  }
  throw new ProtocolError(`more than ${MAX_LINES} response lines`);
}

/** Root, Valid-responses and valid-requests: what every session starts with. */
export async function start(conn: Conn, root: string): Promise<string[]> {
  const a = await send(conn, [`Root ${root}`, `Valid-responses ${VALID_RESPONSES.join(' ')}`, 'valid-requests']);
  const v = a.responses.find((r) => r.kind === 'Valid-requests');
  return v && v.kind === 'Valid-requests' ? v.requests : [];
}
