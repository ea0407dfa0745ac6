// ra_svn session (subversion/libsvn_ra_svn/protocol): greeting, client response with the URL, authentication
// (ANONYMOUS or CRAM-MD5), the repository info, then commands, each preceded by an auth request.
import type { Conn } from '../../core/conn.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { AuthError, ProtocolError, ServerError } from '../../core/errors.ts';
import { cramMd5Response } from '../mail/sasl.ts';
import { describeItem, encodeItem, itemFrame, list, num, response, str, word, wordOf, type Item, type Out } from './codec.ts';

const CLIENT_CAPS = ['edit-pipeline', 'svndiff1', 'absent-entries', 'depth', 'mergeinfo', 'log-revprops'];

export interface RepoInfo {
  uuid: string;
  root: string;
  capabilities: string[];
}

export class SvnClient {
  serverCaps: string[] = [];
  mechanisms: string[] = [];
  realm = '';
  mechanism: 'ANONYMOUS' | 'CRAM-MD5' | 'none' = 'none';
  repo: RepoInfo | undefined;
  private readonly frame = itemFrame();

  constructor(
    readonly conn: Conn,
    private readonly crypto: CryptoPort,
  ) {}

  async read(what: string): Promise<Item> {
    return this.conn.readFrame(this.frame, what, (i) => describeItem(i));
  }

  async send(item: Out, secret = false): Promise<void> {
    await this.conn.write(encodeItem(item), secret ? { secret: true, decode: 'CRAM-MD5 response (user and digest)' } : undefined);
  }

  private must(i: Item, what: string): Item[] {
    const r = response(i, what);
    if (!r.ok) throw svnError(what, r.errors);
    return r.params;
  }

  async open(url: string, credentials?: { username: string; password: string }): Promise<void> {
    const greeting = this.must(await this.read('greeting'), 'greeting');
    const [minVer, maxVer] = [num(greeting[0], 'minver'), num(greeting[1], 'maxver')];
    if (minVer > 2 || maxVer < 2) throw new ProtocolError(`the server speaks ra_svn ${minVer}–${maxVer}; we speak 2`);
    this.serverCaps = list(greeting[3], 'server capabilities').map((c) => wordOf(c, 'capability'));
    await this.send([2, CLIENT_CAPS.map(word), url, 'Portolan/0.1', []]);
    await this.authenticate(credentials);
    const info = this.must(await this.read('repository info'), 'repository info');
    this.repo = { uuid: str(info[0], 'uuid'), root: str(info[1], 'repos-url'), capabilities: info[2] ? list(info[2], 'repository capabilities').map((c) => wordOf(c, 'capability')) : [] };
  }

  /** The auth request: ( ( mechs ) realm ); nothing to do when it lists none. */
  private async authenticate(credentials?: { username: string; password: string }): Promise<void> {
    const req = this.must(await this.read('auth request'), 'auth request');
    this.mechanisms = list(req[0], 'mechanisms').map((m) => wordOf(m, 'mechanism'));
    this.realm = str(req[1], 'realm');
    if (this.mechanisms.length === 0) return;
    if (credentials && this.mechanisms.includes('CRAM-MD5')) {
      this.mechanism = 'CRAM-MD5';
      await this.send([word('CRAM-MD5'), []]);
      for (let step = 0; step < 4; step++) {
        const r = list(await this.read('CRAM-MD5 challenge'), 'CRAM-MD5 step');
        const status = wordOf(r[0], 'auth status');
        if (status === 'success') return;
        if (status === 'failure') throw new AuthError(`svnserve refused ${credentials.username}: ${str(list(r[1], 'failure')[0], 'message')}`, { realm: this.realm });
        if (status !== 'step') throw new ProtocolError(`auth status ${status}`);
        const challenge = list(r[1], 'step')[0];
        if (!challenge || challenge.t !== 'string') throw new ProtocolError('CRAM-MD5 step without a challenge');
        await this.send(cramMd5Response(this.crypto, credentials, challenge.v), true);
      }
      throw new ProtocolError('CRAM-MD5 did not finish');
    }
    if (!this.mechanisms.includes('ANONYMOUS')) {
      throw new AuthError(`svnserve requires authentication (${this.mechanisms.join(', ')}) for realm ${this.realm}${credentials ? '; we only speak CRAM-MD5 and ANONYMOUS' : ': give username and password'}`, { mechanisms: this.mechanisms });
    }
    this.mechanism = 'ANONYMOUS';
    await this.send([word('ANONYMOUS'), ['']]);
    const r = list(await this.read('ANONYMOUS answer'), 'auth answer');
    if (wordOf(r[0], 'auth status') !== 'success') throw new AuthError(`svnserve refused anonymous access: ${r[1] ? describeItem(r[1]) : ''}`);
  }

  /** A command: ( name ( params ) ), its auth request, then its response parameters. */
  async command(name: string, params: Out[]): Promise<Item[]> {
    await this.send([word(name), params]);
    await this.commandAuth(name);
    return this.must(await this.read(`${name} response`), name);
  }

  /** Before each command's response the server repeats the auth request: empty when nothing more is needed. */
  async commandAuth(name: string): Promise<void> {
    const r = response(await this.read(`${name} auth request`), `${name} auth request`);
    if (!r.ok) throw svnError(name, r.errors);
    const mechs = list(r.params[0], 'mechanisms');
    if (mechs.length) throw new AuthError(`${name} needs authentication in realm ${str(r.params[1], 'realm')}: anonymous access does not reach it`, { mechanisms: mechs.map((m) => describeItem(m)) });
  }
}

export function svnError(what: string, errors: { code: number; message: string }[]): Error {
  const text = `${what}: ${errors.map((e) => `${e.message} (E${e.code})`).join('; ')}`;
  // E170001 authorization failed, E220001 item not readable (authz), E170013 authentication failed.
  if (errors.some((e) => e.code === 170001 || e.code === 220001 || e.code === 170013)) return new AuthError(text, { errors });
  return new ServerError(text, { errors });
}
