// An Rserve session over a Conn: the ID string, login when the server asks for it, then commands one at a time.
// @ts-expect-error unix-crypt-td-js ships no types: it exports crypt(password, salt), the 13-character DES crypt(3) hash.
import unixCrypt from 'unix-crypt-td-js';
import type { Conn } from '../../core/conn.ts';
import { AuthError, InvalidInput, ServerError } from '../../core/errors.ts';
import { CMD, ERRORS, PARSE_STATUS, encodeCommand, idFrame, responseFrame, stringParam, type IdString, type Response } from './codec.ts';

/** Traditional DES crypt(3), as Rserve's "ARuc" login wants it. */
export const crypt = unixCrypt as (password: string, salt: string) => string;

export type LoginMethod = 'auto' | 'plain' | 'crypt';

export class RserveClient {
  id!: IdString;
  private readonly frame;
  constructor(readonly conn: Conn, maxResponse: number) {
    this.frame = responseFrame(maxResponse);
  }

  async hello(): Promise<IdString> {
    this.id = await this.conn.readFrame(idFrame, 'Rserve ID string', (i) => `Rsrv${i.version} ${i.protocol} ${i.attributes.join(' ')}`);
    return this.id;
  }

  async command(cmd: number, name: string, params?: Uint8Array, secret = false): Promise<Response> {
    await this.conn.write(encodeCommand(cmd, params), secret ? { secret: true, decode: `${name} (credentials masked)` } : { decode: name });
    return this.conn.readFrame(this.frame, `${name} response`, (r) => (r.ok ? `OK, ${r.body.length} bytes` : `ERR ${r.status} ${ERRORS[r.status] ?? ''}`));
  }

  /** Logs in when the server requires it; the method actually used is returned ('none' when not required). */
  async login(user: string | undefined, password: string | undefined, method: LoginMethod): Promise<'none' | 'plain' | 'crypt'> {
    const { auth, salt } = this.id;
    if (!auth.plain && !auth.crypt) return 'none';
    if (user === undefined || password === undefined) throw new AuthError(`the server requires a login (${[auth.crypt && 'crypt', auth.plain && 'plain'].filter(Boolean).join(' or ')}): give user and password`);
    // auto: plain where the server accepts it (its admin enabled it; every build checks it), crypt otherwise.
    const use = method === 'auto' ? (auth.plain ? 'plain' : 'crypt') : method;
    if (use === 'plain' && !auth.plain) throw InvalidInput.field('method', 'the server does not accept plain-text logins (it offers crypt)');
    if (use === 'crypt' && !(auth.crypt && salt)) throw InvalidInput.field('method', 'the server does not offer crypt logins');
    const secret = use === 'crypt' ? crypt(password, salt!) : password;
    const r = await this.command(CMD.login, 'CMD_login', stringParam(`${user}\n${secret}`), true);
    if (!r.ok) {
      // Rserve hands crypt(3) its salt attribute with a trailing space; libxcrypt (Debian 12 and later) rejects such a salt,
      // so those builds cannot check a crypt login at all, whatever the password.
      const hint = use === 'crypt' ? ' (crypt login: Rserve builds on libxcrypt, such as Debian 12\'s, cannot verify it; use plain where the server offers it)' : '';
      throw new AuthError(`Rserve refused the login: ${ERRORS[r.status] ?? `error ${r.status}`}${hint}`, { status: r.status, method: use });
    }
    return use;
  }

  /** Evaluates an expression; a parse failure or an R error is the server's answer. */
  async eval(expression: string): Promise<Response> {
    const r = await this.command(CMD.eval, `CMD_eval ${JSON.stringify(expression.slice(0, 120))}`, stringParam(expression));
    if (!r.ok) {
      const why = r.status < 0x40 ? `the expression did not parse (${PARSE_STATUS[r.status] ?? `status ${r.status}`})` : (ERRORS[r.status] ?? `error ${r.status}`);
      throw new ServerError(`Rserve: ${why}`, { status: r.status });
    }
    return r;
  }
}
