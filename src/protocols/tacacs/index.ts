// TACACS+ (RFC 8907): authentication (ASCII login and PAP), authorization and accounting, with the MD5 pad.
import * as z from 'zod';
import { utf8 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { AuthError, ProtocolError, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import {
  ACCT_FLAG,
  acctRequestBody,
  AUTHEN_ACTION,
  AUTHEN_METHOD,
  AUTHEN_SERVICE,
  AUTHEN_TYPE,
  authorRequestBody,
  checkReply,
  clearBody,
  continueBody,
  decodeAcctReply,
  decodeAuthenReply,
  decodeAuthorResponse,
  encodePacket,
  packetFrame,
  startBody,
  TYPE,
  VERSION,
  type AuthorRequest,
  type Header,
} from './codec.ts';

const frame = packetFrame();

const common = {
  key: z.string().max(1024).default('').describe('The shared secret that obfuscates bodies (RFC 8907 §4.5); empty sends them unobfuscated (TAC_PLUS_UNENCRYPTED_FLAG)'),
  user: z.string().max(255).default('').describe('User name').meta({ examples: ['operator'] }),
  userPort: z.string().max(255).default('portolan').describe('The port on the network access server the user is on (tty0, vty1 ...): the packet\'s port field'),
  remAddr: z.string().max(255).default('').describe('Where the user comes from (rem_addr)'),
  privLvl: z.number().int().min(0).max(15).default(1).describe('Privilege level 0–15'),
};
const argsField = z.array(z.string().min(1).max(255).regex(/^[^=*]+[=*]/, 'an argument is name=value (mandatory) or name*value (optional)')).max(255);

/** One TACACS+ session on one connection: the client's sequence numbers are odd, the server's even. */
class Session {
  private seq = 1;
  readonly sessionId: number;
  private readonly key: Uint8Array;
  constructor(
    readonly ctx: OperationContext,
    readonly conn: Conn,
    key: string,
    readonly type: number,
  ) {
    const r = ctx.crypto.randomBytes(4);
    this.sessionId = ((r[0] << 24) | (r[1] << 16) | (r[2] << 8) | r[3]) >>> 0;
    this.key = utf8(key);
  }

  async exchange(body: Uint8Array, decode: string, secret = false, version: number = VERSION.default): Promise<Uint8Array> {
    if (this.seq > 253) throw new ProtocolError('TACACS+: the session ran out of sequence numbers (RFC 8907 §4.1)');
    const sent = { version, type: this.type, seq: this.seq, sessionId: this.sessionId };
    await this.conn.write(encodePacket(this.ctx.crypto.md5, sent, body, this.key), { decode: `seq ${this.seq} session 0x${this.sessionId.toString(16)} ${decode}`, secret });
    const got = await this.conn.readFrame(frame, 'TACACS+ reply', (p) => `seq ${p.header.seq} ${this.key.length ? 'obfuscated' : 'clear'} body of ${p.header.length} bytes`);
    checkReply(sent, got.header as Header);
    this.seq += 2;
    return clearBody(this.ctx.crypto.md5, got, this.key);
  }
}

const authenOut = z.object({ status: z.string(), authenticated: z.boolean(), serverMsg: z.string(), rounds: z.number().describe('Packets exchanged'), prompts: z.array(z.string()).describe('What the server asked for (GETUSER, GETPASS ...) with its prompts') });

export default defineProtocol({
  id: 'tacacs',
  title: 'TACACS+',
  category: 'directory',
  summary: 'Asks a TACACS+ server (RFC 8907) to authenticate a user (ASCII login or PAP), authorize a command or service, and record accounting, with the MD5-pad body obfuscation.',
  ports: [{ port: 49, transport: 'tcp' }],
  specs: ['RFC 8907'],
  rating: {
    stars: 0,
    reason:
      'Built to RFC 8907 and tested on its codec only (the §4.5 pad and obfuscation, every packet body, split feed and fuzzing): Debian 12 packages no TACACS+ server (only client libraries), and no npm package is a server others run in production, so no lab test backs a star. Not covered: CHAP and MS-CHAP authentication, enable and change-password actions, TLS (RFC 9887).',
  },
  verifiedAgainst: null,
  defaultOperation: 'authenticate',
  identify: { unprobed: 'TACACS+ bodies are obfuscated with the shared secret' },
  operations: {
    authenticate: operation({
      summary: 'Authentication (RFC 8907 §5): an ASCII login answering GETUSER and GETPASS, or PAP with the password in START',
      input: z.object({
        method: z.enum(['ascii', 'pap']).default('ascii').describe('ascii: the server prompts for the user name and password; pap: both in START'),
        password: z.string().max(255).default('').describe('The password (never in the transcript)'),
        ...common,
      }),
      output: authenOut,
      text: (r) => `${r.status}${r.serverMsg ? `: ${r.serverMsg}` : ''}`,
      async run(ctx, input) {
        const s = new Session(ctx, await ctx.dial(), input.key, TYPE.authentication);
        const pap = input.method === 'pap';
        const start = startBody({ action: AUTHEN_ACTION.login, privLvl: input.privLvl, authenType: pap ? AUTHEN_TYPE.pap : AUTHEN_TYPE.ascii, service: AUTHEN_SERVICE.login, user: input.user, port: input.userPort, remAddr: input.remAddr, data: pap ? utf8(input.password) : new Uint8Array(0) });
        let reply = decodeAuthenReply(await s.exchange(start, `authentication START ${input.method} user ${JSON.stringify(input.user)}${pap ? ' password ****' : ''}`, pap, pap ? VERSION.one : VERSION.default));
        const prompts: string[] = [];
        let rounds = 1;
        // §5.4.2: GETUSER and GETPASS ask for the next value; GETDATA asks for something we were not given.
        while (reply.statusName === 'GETUSER' || reply.statusName === 'GETPASS' || reply.statusName === 'GETDATA') {
          prompts.push(`${reply.statusName}${reply.serverMsg ? ` ${JSON.stringify(reply.serverMsg)}` : ''}`);
          if (rounds >= 8) throw new ProtocolError('TACACS+: the server kept asking after 8 rounds');
          rounds++;
          if (reply.statusName === 'GETDATA') {
            reply = decodeAuthenReply(await s.exchange(continueBody(new Uint8Array(0), new Uint8Array(0), true), 'authentication CONTINUE abort (no data to give)'));
            break;
          }
          const pass = reply.statusName === 'GETPASS';
          reply = decodeAuthenReply(await s.exchange(continueBody(utf8(pass ? input.password : input.user)), pass ? 'authentication CONTINUE password ****' : `authentication CONTINUE user ${JSON.stringify(input.user)}`, pass));
        }
        const detail = { status: reply.statusName, serverMsg: reply.serverMsg };
        if (reply.statusName === 'FAIL') throw new AuthError(`TACACS+ authentication failed${reply.serverMsg ? `: ${reply.serverMsg}` : ''}`, detail);
        if (reply.statusName === 'ERROR') throw new ServerError(`TACACS+ authentication error${reply.serverMsg ? `: ${reply.serverMsg}` : ''}`, detail);
        return { status: reply.statusName, authenticated: reply.statusName === 'PASS', serverMsg: reply.serverMsg, rounds, prompts };
      },
    }),
    authorize: operation({
      summary: 'Authorization (RFC 8907 §6): may this user run this service or command? With the attribute-value pairs the server adds or replaces',
      input: z.object({ args: argsField.min(1).default(['service=shell', 'cmd=']).describe('Attribute-value pairs: service=shell, cmd=show, cmd-arg=running-config ...'), ...common }),
      output: z.object({ status: z.string(), allowed: z.boolean(), args: z.array(z.string()), serverMsg: z.string(), data: z.string() }),
      text: (r) => `${r.status}${r.args.length ? ` ${r.args.join(' ')}` : ''}${r.serverMsg ? `: ${r.serverMsg}` : ''}`,
      async run(ctx, input) {
        const s = new Session(ctx, await ctx.dial(), input.key, TYPE.authorization);
        const q: AuthorRequest = { method: AUTHEN_METHOD.tacacsplus, privLvl: input.privLvl, authenType: AUTHEN_TYPE.ascii, service: AUTHEN_SERVICE.login, user: input.user, port: input.userPort, remAddr: input.remAddr, args: input.args };
        const r = decodeAuthorResponse(await s.exchange(authorRequestBody(q), `authorization REQUEST user ${JSON.stringify(input.user)} ${input.args.join(' ')}`));
        if (r.statusName === 'ERROR') throw new ServerError(`TACACS+ authorization error${r.serverMsg ? `: ${r.serverMsg}` : ''}`, { status: r.statusName, serverMsg: r.serverMsg });
        return { status: r.statusName, allowed: r.statusName === 'PASS_ADD' || r.statusName === 'PASS_REPL', args: r.args, serverMsg: r.serverMsg, data: r.data };
      },
    }),
    account: operation({
      summary: 'Accounting (RFC 8907 §7): a START, STOP or WATCHDOG record for a task',
      input: z.object({ record: z.enum(['start', 'stop', 'watchdog']).default('start'), args: argsField.min(1).default(['task_id=1', 'service=shell']).describe('Attribute-value pairs: task_id, start_time, elapsed_time, service, cmd ...'), ...common }),
      output: z.object({ status: z.string(), recorded: z.boolean(), serverMsg: z.string(), data: z.string() }),
      text: (r) => `${r.status}${r.serverMsg ? `: ${r.serverMsg}` : ''}`,
      async run(ctx, input) {
        const s = new Session(ctx, await ctx.dial(), input.key, TYPE.accounting);
        const q: AuthorRequest = { method: AUTHEN_METHOD.tacacsplus, privLvl: input.privLvl, authenType: AUTHEN_TYPE.ascii, service: AUTHEN_SERVICE.login, user: input.user, port: input.userPort, remAddr: input.remAddr, args: input.args };
        const r = decodeAcctReply(await s.exchange(acctRequestBody(ACCT_FLAG[input.record], q), `accounting REQUEST ${input.record.toUpperCase()} user ${JSON.stringify(input.user)} ${input.args.join(' ')}`));
        if (r.statusName === 'ERROR') throw new ServerError(`TACACS+ accounting error${r.serverMsg ? `: ${r.serverMsg}` : ''}`, { status: r.statusName, serverMsg: r.serverMsg });
        return { status: r.statusName, recorded: r.statusName === 'SUCCESS', serverMsg: r.serverMsg, data: r.data };
      },
    }),
  },
});
