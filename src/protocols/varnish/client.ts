// Varnish CLI session over a Conn (varnish-cli(7)): the greeting, the challenge answered with the secret,
// then one command and one response at a time.
import type { Conn } from '../../core/conn.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { AuthError, ProtocolError, ServerError } from '../../core/errors.ts';
import { authCommand, authInput, bodyText, challengeOf, encodeCommand, responseFrame, statusName, type CliResponse } from './codec.ts';

const describe = (r: CliResponse) => `${r.status} ${statusName(r.status)}, ${r.body.length} bytes`;

export class VarnishCli {
  banner = '';
  authenticated = false;
  private readonly frame = responseFrame();

  constructor(
    readonly conn: Conn,
    private readonly crypto: CryptoPort,
  ) {}

  async read(): Promise<CliResponse> {
    return this.conn.readFrame(this.frame, 'Varnish CLI response', describe);
  }

  /** Reads the greeting; answers a 107 challenge with the secret (the -S file's bytes). */
  async open(secret: Uint8Array | undefined): Promise<void> {
    const first = await this.read();
    if (first.status === 200) {
      this.banner = bodyText(first);
      return;
    }
    if (first.status !== 107) throw new ProtocolError(`Varnish CLI greeting has status ${first.status} ${statusName(first.status)}, not 107 or 200`);
    if (!secret) throw new AuthError('varnishd asks for the secret-file challenge (107 Authentication required): give secret or secretBase64, the contents of its -S file');
    const digest = await this.crypto.digest('SHA-256', authInput(challengeOf(first), secret));
    await this.conn.write(authCommand(digest), { secret: true, decode: 'auth <SHA-256 of challenge and secret>' });
    let answer: CliResponse;
    try {
      answer = await this.read();
    } catch (e) {
      if (e instanceof Error && /closed/.test(e.message)) throw new AuthError('varnishd closed the connection after our auth answer: the secret is wrong');
      throw e;
    }
    // A wrong answer: varnishd says 500 (CLOSE) and hangs up, or 107 again.
    if (answer.status !== 200) throw new AuthError(`varnishd refused the secret: ${answer.status} ${statusName(answer.status)}${answer.body.length ? ` ${bodyText(answer).trim()}` : ''}`, { status: answer.status });
    this.authenticated = true;
    this.banner = bodyText(answer);
  }

  /** Sends one command; the response whatever its status. */
  async send(words: string[]): Promise<CliResponse> {
    await this.conn.write(encodeCommand(words), { decode: words.join(' ').slice(0, 200) });
    return this.read();
  }

  /** Sends one command; a status other than 200 (or 201, truncated) is the server's error, in its words. */
  async must(words: string[]): Promise<{ text: string; truncated: boolean }> {
    const r = await this.send(words);
    if (r.status !== 200 && r.status !== 201) {
      throw new ServerError(`varnishd answered ${words[0]} with ${r.status} ${statusName(r.status)}: ${bodyText(r).trim()}`, { status: r.status });
    }
    return { text: bodyText(r), truncated: r.status === 201 };
  }

  /** A `-j` command: the JSON array [version, [command words], time, ...items]; the items. */
  async json(words: string[]): Promise<unknown[]> {
    const { text, truncated } = await this.must(words);
    if (truncated) throw new ProtocolError(`varnishd cut the JSON answer to ${words[0]} at its cli_limit (201 TRUNCATED)`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ProtocolError(`varnishd's ${words[0]} -j answer is not JSON`);
    }
    if (!Array.isArray(parsed) || parsed.length < 3 || typeof parsed[0] !== 'number') throw new ProtocolError(`varnishd's ${words[0]} -j answer is not [version, command, time, ...]`);
    return parsed.slice(3);
  }

  async quit(): Promise<void> {
    await this.conn.write(encodeCommand(['quit'])).catch(() => undefined);
  }
}
