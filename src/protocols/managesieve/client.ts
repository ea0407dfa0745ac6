// The ManageSieve client session, RFC 5804: the greeting's capabilities (§1.7), STARTTLS (§2.2, capabilities
// again after it), AUTHENTICATE with a SASL mechanism (§2.1: challenges and answers as strings), then one
// command at a time, each answered by a response that ends in OK, NO or BYE.
import { fromBase64, fromUtf8, toBase64 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { AuthError, InvalidInput, ProtocolError, ServerError } from '../../core/errors.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { saslClient, type SaslCredentials, type SaslMechanismName } from '../mail/sasl.ts';
import { authStepFrame, capabilities, command, responseFrame, str, type FinalResponse, type Response } from './codec.ts';

const frame = responseFrame();
const authFrame = authStepFrame();

function describe(r: Response): string {
  const f = r.final;
  return `${r.lines.length ? `${r.lines.length} lines, ` : ''}${f.status}${f.code ? ` (${f.code})` : ''}${f.text !== null ? ` ${JSON.stringify(f.text.slice(0, 200))}` : ''}`;
}

/** A NO or BYE as a typed error carrying the server's words and response code. */
export function failure(what: string, f: FinalResponse): ServerError {
  return new ServerError(`${what}: ${f.status}${f.code ? ` (${f.code})` : ''} ${f.text ?? ''}`.trim(), { status: f.status, code: f.code, text: f.text });
}

export class SieveSession {
  capabilities = new Map<string, string>();
  authenticated = false;

  constructor(readonly conn: Conn) {}

  async read(): Promise<Response> {
    return this.conn.readFrame(frame, 'ManageSieve response', describe);
  }

  async greeting(): Promise<Response> {
    const r = await this.read();
    if (r.final.status !== 'OK') throw failure('greeting', r.final);
    this.capabilities = capabilities(r.lines);
    return r;
  }

  /** Sends a command and reads its response; NO and BYE throw unless `allowNo`. */
  async run(bytes: Uint8Array, what: string, o: { allowNo?: boolean; secret?: boolean } = {}): Promise<Response> {
    await this.conn.write(bytes, o.secret ? { secret: true, decode: `${what} (masked)` } : {});
    const r = await this.read();
    if (r.final.status === 'BYE') throw failure(what, r.final);
    if (r.final.status === 'NO' && !o.allowNo) throw failure(what, r.final);
    return r;
  }

  async capability(): Promise<Map<string, string>> {
    const r = await this.run(command('CAPABILITY'), 'CAPABILITY');
    this.capabilities = capabilities(r.lines);
    return this.capabilities;
  }

  async startTls(): Promise<void> {
    if (!this.capabilities.has('STARTTLS')) throw new ServerError('the server does not offer STARTTLS');
    await this.run(command('STARTTLS'), 'STARTTLS');
    await this.conn.startTls();
    // §2.2: after a successful STARTTLS the server sends its capabilities again, unprompted.
    const r = await this.read();
    if (r.final.status !== 'OK') throw failure('capabilities after STARTTLS', r.final);
    this.capabilities = capabilities(r.lines);
  }

  mechanisms(): string[] {
    return (this.capabilities.get('SASL') ?? '').split(/\s+/).filter(Boolean);
  }

  /** §2.1: AUTHENTICATE "mech" [initial]; each server challenge is a string line, each answer a string. */
  async authenticate(mech: SaslMechanismName, creds: SaslCredentials, crypto: CryptoPort): Promise<void> {
    if (!this.mechanisms().includes(mech)) throw InvalidInput.field('mechanism', `the server does not offer SASL ${mech} (it offers ${this.mechanisms().join(' ') || 'none'})`);
    const sasl = saslClient(mech, creds, crypto);
    const initial = sasl.initial();
    await this.conn.write(initial ? command('AUTHENTICATE', mech, toBase64(initial)) : command('AUTHENTICATE', mech), { secret: true, decode: `AUTHENTICATE "${mech}" (credentials masked)` });
    for (let round = 0; round < 8; round++) {
      const r = await this.readAuthStep();
      if ('final' in r) {
        if (r.final.status === 'OK') {
          this.authenticated = true;
          return;
        }
        throw new AuthError(`AUTHENTICATE ${mech}: ${r.final.status}${r.final.code ? ` (${r.final.code})` : ''} ${r.final.text ?? ''}`.trim(), { code: r.final.code, text: r.final.text });
      }
      const answer = await sasl.respond(r.challenge);
      await this.conn.write(new Uint8Array([...str(toBase64(answer)), 0x0d, 0x0a]), { secret: true, decode: 'SASL response (masked)' });
    }
    throw new ProtocolError(`AUTHENTICATE ${mech}: more than 8 challenges`);
  }

  /** During AUTHENTICATE the server sends either a challenge (base64 in a string alone on a line) or a final response. */
  private async readAuthStep(): Promise<{ challenge: Uint8Array } | Response> {
    const step = await this.conn.readFrame(authFrame, 'ManageSieve AUTHENTICATE step', (s) => ('challenge' in s ? 'SASL challenge' : describe(s)));
    if (!('challenge' in step)) return step;
    try {
      return { challenge: fromBase64(fromUtf8(step.challenge)) };
    } catch {
      throw new ProtocolError('ManageSieve: a SASL challenge that is not base64');
    }
  }

  async logout(): Promise<void> {
    await this.conn.write(command('LOGOUT'));
    await this.read().catch(() => undefined);
  }
}
