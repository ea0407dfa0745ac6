// IMAP session opening shared by every operation and the IDLE session: greeting, STARTTLS (RFC 9051 6.2.1),
// then LOGIN or AUTHENTICATE (6.2.2, 6.2.3) as asked or as the server's capabilities suggest.
import * as z from 'zod';
import { InvalidInput } from '../../core/errors.ts';
import type { OperationContext, TargetFields } from '../../core/protocol.ts';
import { chooseMechanism, type SaslMechanismName } from '../mail/sasl.ts';
import { ImapSession } from './client.ts';

export const authMethod = z
  .enum(['auto', 'LOGIN', 'AUTHENTICATE PLAIN', 'AUTHENTICATE LOGIN', 'AUTHENTICATE CRAM-MD5', 'AUTHENTICATE SCRAM-SHA-256'])
  .default('auto')
  .describe('auto: AUTHENTICATE PLAIN over TLS, SCRAM-SHA-256 or CRAM-MD5 on a plain connection when offered, else LOGIN');

export type AuthMethod = z.infer<typeof authMethod>;

export const compressField = z.boolean().default(false).describe('COMPRESS=DEFLATE (RFC 4978) after login: both directions deflated, when the server offers it');

export type Auth = { username?: string; password?: string; authMethod: z.infer<typeof authMethod>; compress?: boolean };

export interface OpenedImap {
  session: ImapSession;
  greeting: string;
  before: string[];
  afterStartTls: string[] | null;
  method: string | null;
}

/** Connects, reads the greeting, upgrades for tls "starttls", and logs in when credentials are given. */
export async function openImap(ctx: OperationContext, input: TargetFields & Auth): Promise<OpenedImap> {
  const conn = await ctx.dial();
  const session = new ImapSession(conn);
  const g = await session.readGreeting();
  ctx.timing.mark('greetingMs');
  if (session.capabilities.size === 0) await session.capability();
  const before = [...session.capabilities];
  let afterStartTls: string[] | null = null;
  if (input.tls === 'starttls') {
    await session.startTls();
    ctx.timing.mark('tlsMs');
    afterStartTls = [...session.capabilities];
  }
  let method: string | null = null;
  if (input.username !== undefined && !session.authenticated) {
    if (input.password === undefined) throw InvalidInput.field('password', 'is required with username');
    method = await authenticate(ctx, session, input as Required<Auth>);
    ctx.timing.mark('authMs');
  }
  if (input.compress) {
    if (!session.authenticated) throw InvalidInput.field('compress', 'needs a login first (COMPRESS is sent in the authenticated state)');
    await session.compress();
  }
  return { session, greeting: g.text, before, afterStartTls, method };
}

async function authenticate(ctx: OperationContext, s: ImapSession, input: Required<Auth>): Promise<string> {
  let method = input.authMethod as string;
  if (method === 'auto') {
    const mech = chooseMechanism(s.authMechanisms(), 'auto', s.conn.tlsActive);
    method = mech && !(mech === 'LOGIN') ? `AUTHENTICATE ${mech}` : 'LOGIN';
  }
  if (method === 'LOGIN') {
    await s.login(input.username, input.password);
    return method;
  }
  const mech = method.slice('AUTHENTICATE '.length) as SaslMechanismName;
  if (!s.has(`AUTH=${mech}`)) throw InvalidInput.field('authMethod', `the server does not offer AUTH=${mech} (it offers ${s.authMechanisms().join(' ') || 'none'})`);
  await s.authenticate(mech, { username: input.username, password: input.password }, ctx.crypto);
  return method;
}

