// Kerberos V5 (RFC 4120) against a KDC: probe (AS-REQ without pre-authentication), asRequest (PA-ENC-TIMESTAMP,
// the TGT decrypted and shown), tgsRequest (a service ticket with that TGT); over TCP, or UDP on the Node host.
import * as z from 'zod';
import { utf8 } from '../../core/bytes.ts';
import { AuthError, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { exchange, retryFields } from '../datagram/exchange.ts';
import {
  apReq,
  authenticator,
  decodeEncKdcRepPart,
  decodeEtypeInfo2,
  decodeMethodData,
  decodeReply,
  encryptedData,
  flagBits,
  flagsToNames,
  kdcReq,
  MsgType,
  PaType,
  paData,
  paEncTsEnc,
  parsePrincipal,
  principalText,
  reqBody,
  tcpFrame,
  tcpMessage,
  type EncKdcRepPart,
  type EtypeInfo2Entry,
  type KdcRep,
  type KrbError,
} from './codec.ts';
import { checksum, decrypt, encrypt, enctypeName, ENCTYPES, iterationsOf, stringToKey } from './crypto.ts';

const TCP_ALTERNATIVE = 'On Workers, use transport tcp: KDCs listen on TCP port 88 too (RFC 4120 §7.2.2).';
const ETYPE_NAMES = ['aes256-cts-hmac-sha1-96', 'aes128-cts-hmac-sha1-96', 'aes256-cts-hmac-sha384-192', 'aes128-cts-hmac-sha256-128'] as const;
const ID_OF: Record<string, number> = { 'aes128-cts-hmac-sha1-96': 17, 'aes256-cts-hmac-sha1-96': 18, 'aes128-cts-hmac-sha256-128': 19, 'aes256-cts-hmac-sha384-192': 20 };

const common = {
  realm: z.string().min(1).max(255).regex(/^[^\s/@]+$/, 'a realm name (EXAMPLE.ORG)').describe('Kerberos realm').meta({ examples: ['EXAMPLE.ORG'] }),
  principal: z.string().min(1).max(255).regex(/^[^\s@]+$/, 'a principal name without the realm (alice, host/server.example.org)').describe('Client principal, without @REALM').meta({ examples: ['alice'] }),
  transport: z.enum(['tcp', 'udp']).default('tcp').describe('tcp (RFC 4120 §7.2.2), or udp on the Node host'),
  etypes: z.array(z.enum(ETYPE_NAMES)).min(1).max(4).default([...ETYPE_NAMES]).describe('Encryption types to ask for, in order of preference'),
  ...retryFields({ retries: 2, waitMs: 2000 }),
};

type Common = { realm: string; principal: string; transport: 'tcp' | 'udp'; etypes: string[]; retries: number; waitMs: number };

function describeReply(b: Uint8Array): string {
  try {
    const r = decodeReply(b);
    if (r.type === 'KRB-ERROR') return `KRB-ERROR ${r.errorCode} ${r.errorName}${r.eText ? ` ${JSON.stringify(r.eText)}` : ''} realm ${r.realm} stime ${r.stime}`;
    return `${r.type} ${principalText(r.cname)}@${r.crealm} ticket for ${principalText(r.ticketSname)}@${r.ticketRealm} (${enctypeName(r.ticketEncPart.etype)}), enc-part ${enctypeName(r.encPart.etype)}`;
  } catch (e) {
    return `malformed: ${(e as Error).message}`;
  }
}

/** Sends one KDC request and returns the decoded reply (TCP: length-prefixed; UDP: with retransmission). */
async function ask(ctx: OperationContext, input: Common, msg: Uint8Array, label: string): Promise<KrbError | KdcRep> {
  if (input.transport === 'udp') {
    const conn = await ctx.dialUdp();
    const got = await exchange(ctx, conn, msg, { retries: input.retries, waitMs: input.waitMs, what: 'KDC reply', describeRequest: label, describeAnswer: describeReply, accept: (b) => decodeReply(b) });
    // RFC 4120 §7.2.1: a reply too big for UDP is KRB_ERR_RESPONSE_TOO_BIG; ask again over TCP.
    if (got.value.type === 'KRB-ERROR' && got.value.errorCode === 52) {
      ctx.transcript.info(-1, 'KDC answered KRB_ERR_RESPONSE_TOO_BIG: asking again over TCP');
      return ask(ctx, { ...input, transport: 'tcp' }, msg, label);
    }
    return got.value;
  }
  const conn = await ctx.dial({ tls: 'off' });
  await conn.write(tcpMessage(msg), { decode: label });
  const reply = await conn.readFrame(tcpFrame(), 'KDC reply', describeReply);
  await conn.close();
  return decodeReply(reply);
}

function nonce(ctx: OperationContext): number {
  const b = ctx.crypto.randomBytes(4);
  return ((b[0] & 0x7f) << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
}

function asReqMessage(ctx: OperationContext, input: Common, padata: Uint8Array[], n: number): Uint8Array {
  const till = new Date(Date.now() + 24 * 3600_000);
  return kdcReq(
    MsgType.AS_REQ,
    padata,
    reqBody({
      options: flagBits(['forwardable', 'renewable', 'canonicalize', 'renewable-ok']),
      cname: { type: 1, parts: input.principal.split('/') },
      realm: input.realm,
      sname: { type: 2, parts: ['krbtgt', input.realm] },
      till,
      rtime: new Date(Date.now() + 7 * 24 * 3600_000),
      nonce: n,
      etypes: input.etypes.map((e) => ID_OF[e]),
    }),
  );
}

interface Offered {
  etype: number;
  name: string;
  salt: string | null;
  iterations: number | null;
}

function offered(entries: EtypeInfo2Entry[]): Offered[] {
  return entries.map((e) => {
    const et = ENCTYPES[e.etype];
    return { etype: e.etype, name: enctypeName(e.etype), salt: e.salt, iterations: et ? iterationsOf(et, e.s2kparams ?? undefined) : null };
  });
}

function etypeInfoOf(err: KrbError): EtypeInfo2Entry[] {
  if (!err.eData) return [];
  try {
    const pa = decodeMethodData(err.eData).find((p) => p.type === PaType.ETYPE_INFO2);
    return pa ? decodeEtypeInfo2(pa.value) : [];
  } catch {
    return [];
  }
}

function krbError(what: string, e: KrbError): PortolanError {
  const detail = { errorCode: e.errorCode, errorName: e.errorName, eText: e.eText, realm: e.realm, stime: e.stime };
  const message = `${what}: ${e.errorCode} ${e.errorName}${e.eText ? `: ${e.eText}` : ''}`;
  // RFC 4120 §7.5.9: unknown client, failed pre-authentication, revoked or expired client, integrity failures.
  if ([6, 18, 23, 24, 31].includes(e.errorCode)) return new AuthError(message, detail);
  return new ServerError(message, detail);
}

const ticketInfo = z.object({
  client: z.string(),
  server: z.string(),
  ticketEnctype: z.string().describe('How the KDC encrypted the ticket (the service\'s key)'),
  ticketKvno: z.number().nullable(),
  sessionKeyEnctype: z.string(),
  flags: z.array(z.string()),
  authtime: z.string(),
  starttime: z.string().nullable(),
  endtime: z.string(),
  renewTill: z.string().nullable(),
});

function describeTicket(rep: KdcRep, enc: EncKdcRepPart): z.infer<typeof ticketInfo> {
  return {
    client: `${principalText(rep.cname)}@${rep.crealm}`,
    server: `${principalText(enc.sname)}@${enc.srealm}`,
    ticketEnctype: enctypeName(rep.ticketEncPart.etype),
    ticketKvno: rep.ticketEncPart.kvno ?? null,
    sessionKeyEnctype: enctypeName(enc.keyType),
    flags: flagsToNames(enc.flags),
    authtime: enc.authtime,
    starttime: enc.starttime,
    endtime: enc.endtime,
    renewTill: enc.renewTill,
  };
}

/**
 * AS exchange with a password (RFC 4120 §3.1, §5.2.7.2): ask without pre-authentication to learn the salt and
 * enctype (ETYPE-INFO2), then again with PA-ENC-TIMESTAMP under the password's key; decrypt the reply.
 */
async function getTgt(ctx: OperationContext, input: Common & { password: string }): Promise<{ rep: KdcRep; enc: EncKdcRepPart; preauthEnctype: string }> {
  const first = await ask(ctx, input, asReqMessage(ctx, input, [], nonce(ctx)), `AS-REQ ${input.principal}@${input.realm} without pre-authentication, etypes ${input.etypes.join(',')}`);
  if (first.type !== 'KRB-ERROR') throw new ProtocolError(`the KDC issued a ticket for ${input.principal} without pre-authentication; Portolan only sends PA-ENC-TIMESTAMP logins`);
  if (first.errorCode !== 25) throw krbError('AS-REQ refused', first);
  const info = etypeInfoOf(first).find((e) => ENCTYPES[e.etype] && input.etypes.includes(ENCTYPES[e.etype].name));
  if (!info) throw new ServerError(`the KDC offers none of the enctypes asked for (${input.etypes.join(', ')}); it offers ${offered(etypeInfoOf(first)).map((o) => o.name).join(', ') || 'no ETYPE-INFO2'}`);
  const et = ENCTYPES[info.etype];
  // RFC 4120 §4: the default salt is the realm followed by the principal's components.
  const salt = info.salt ?? `${input.realm}${input.principal.split('/').join('')}`;
  ctx.transcript.info(-1, `string-to-key ${et.name}, salt ${JSON.stringify(salt)}, ${iterationsOf(et, info.s2kparams ?? undefined)} iterations, password of ${utf8(input.password).length} bytes`);
  const key = await stringToKey(ctx.crypto, et, input.password, utf8(salt), iterationsOf(et, info.s2kparams ?? undefined));
  const now = new Date();
  const ts = await encrypt(ctx.crypto, et, key, 1, paEncTsEnc(now, now.getMilliseconds() * 1000));
  const n = nonce(ctx);
  const second = await ask(ctx, input, asReqMessage(ctx, input, [paData(PaType.ENC_TIMESTAMP, encryptedData(et.id, ts))], n), `AS-REQ ${input.principal}@${input.realm} with PA-ENC-TIMESTAMP (${et.name})`);
  if (second.type === 'KRB-ERROR') throw krbError('AS-REQ with pre-authentication refused', second);
  if (second.type !== 'AS-REP') throw new ProtocolError(`expected AS-REP, got ${second.type}`);
  const replyEt = ENCTYPES[second.encPart.etype];
  if (!replyEt) throw new ProtocolError(`AS-REP encrypted with ${enctypeName(second.encPart.etype)}, which was not asked for`);
  // The reply key is the password's key for the enctype the KDC chose (it may differ from the pre-auth one).
  const replyKey = replyEt.id === et.id ? key : await stringToKey(ctx.crypto, replyEt, input.password, utf8(salt));
  const enc = decodeEncKdcRepPart(await decrypt(ctx.crypto, replyEt, replyKey, 3, second.encPart.cipher));
  // RFC 4120 §3.1.5: the nonce must be the one sent.
  if (enc.nonce !== n) throw new ProtocolError(`AS-REP nonce ${enc.nonce} is not the ${n} sent (a replayed or forged reply)`);
  return { rep: second, enc, preauthEnctype: et.name };
}

const passwordField = z.string().min(1).max(1024).describe('The principal\'s password: it never leaves the operation (only its length is logged)').meta({ examples: ['correct horse battery staple'] });

export default defineProtocol({
  id: 'kerberos',
  title: 'Kerberos',
  category: 'directory',
  summary: 'Talks to a Kerberos KDC: the realm, server time and offered enctypes from an AS-REQ; a TGT from a password with PA-ENC-TIMESTAMP, decrypted to show its flags and times; a service ticket from it.',
  ports: [{ port: 88, transport: 'tcp' }, { port: 88, transport: 'udp' }],
  specs: ['RFC 4120', 'RFC 3961', 'RFC 3962', 'RFC 8009', 'RFC 6113'],
  rating: {
    stars: 4,
    reason:
      'AS exchange with PA-ENC-TIMESTAMP for aes128/aes256-cts-hmac-sha1-96 (RFC 3962) and aes128-cts-hmac-sha256-128/aes256-cts-hmac-sha384-192 (RFC 8009), string-to-key with the KDC\'s salt and iteration count, the TGT\'s enc-part decrypted to show flags, times and enctypes, and a TGS exchange for a service ticket; KDC errors with their names and e-text. Over TCP, and UDP with retransmission on the Node host. Lab-tested against MIT krb5-kdc. Not covered: RC4 and DES enctypes, FAST (RFC 6113 armor), PKINIT, cross-realm referrals, keytabs.',
  },
  verifiedAgainst: 'MIT krb5-kdc 1.20.1',
  defaultOperation: 'probe',
  identify: { unprobed: 'an AS-REQ for a made-up principal is a login attempt the KDC logs; not sent' },
  operations: {
    probe: operation({
      summary: 'AS-REQ without pre-authentication: the KDC\'s error, realm, server time and the enctypes it offers (ETYPE-INFO2)',
      alternatives: [TCP_ALTERNATIVE],
      input: z.object({ ...common }),
      output: z.object({
        errorCode: z.number().nullable(),
        errorName: z.string().nullable(),
        eText: z.string().nullable(),
        realm: z.string(),
        serverTime: z.string(),
        clockSkewMs: z.number().describe('Server time minus this host\'s clock'),
        preauthRequired: z.boolean(),
        enctypes: z.array(z.object({ etype: z.number(), name: z.string(), salt: z.string().nullable(), iterations: z.number().nullable() })),
      }),
      text: (r) => [`realm ${r.realm}, server time ${r.serverTime} (skew ${r.clockSkewMs} ms)`, r.errorName ? `${r.errorCode} ${r.errorName}${r.eText ? `: ${r.eText}` : ''}` : 'no error', ...r.enctypes.map((e) => `  ${e.name} (${e.etype})${e.salt !== null ? ` salt ${JSON.stringify(e.salt)}` : ''}${e.iterations !== null ? ` ${e.iterations} iterations` : ''}`)].join('\n'),
      async run(ctx, input) {
        const r = await ask(ctx, input, asReqMessage(ctx, input, [], nonce(ctx)), `AS-REQ ${input.principal}@${input.realm} without pre-authentication`);
        if (r.type !== 'KRB-ERROR') throw new ProtocolError(`the KDC issued a ticket without pre-authentication (${r.type})`);
        const serverMs = Date.parse(r.stime) + Math.floor(r.susec / 1000);
        return {
          errorCode: r.errorCode,
          errorName: r.errorName,
          eText: r.eText,
          realm: r.realm,
          serverTime: r.stime,
          clockSkewMs: serverMs - Date.now(),
          preauthRequired: r.errorCode === 25,
          enctypes: offered(etypeInfoOf(r)),
        };
      },
    }),
    asRequest: operation({
      summary: 'Get a TGT with a password (PA-ENC-TIMESTAMP) and show it: flags, times, enctypes',
      alternatives: [TCP_ALTERNATIVE],
      input: z.object({ ...common, password: passwordField }),
      output: ticketInfo.extend({ preauthEnctype: z.string(), replyEnctype: z.string() }),
      text: (r) => `${r.client} → ${r.server}\n  ticket ${r.ticketEnctype}, session key ${r.sessionKeyEnctype}\n  flags ${r.flags.join(' ')}\n  auth ${r.authtime}, start ${r.starttime ?? r.authtime}, end ${r.endtime}${r.renewTill ? `, renew till ${r.renewTill}` : ''}`,
      async run(ctx, input) {
        const { rep, enc, preauthEnctype } = await getTgt(ctx, input);
        return { ...describeTicket(rep, enc), preauthEnctype, replyEnctype: enctypeName(rep.encPart.etype) };
      },
    }),
    tgsRequest: operation({
      summary: 'Get a service ticket: a TGT with the password, then a TGS-REQ for the service principal',
      alternatives: [TCP_ALTERNATIVE],
      input: z.object({ ...common, password: passwordField, service: z.string().min(1).max(255).regex(/^[^\s@]+$/, 'a service principal without the realm (host/server.example.org)').describe('Service principal').meta({ examples: ['host/server.example.org'] }) }),
      output: ticketInfo.extend({ tgt: ticketInfo }),
      text: (r) => `${r.client} → ${r.server}\n  ticket ${r.ticketEnctype}${r.ticketKvno !== null ? ` kvno ${r.ticketKvno}` : ''}, session key ${r.sessionKeyEnctype}\n  flags ${r.flags.join(' ')}\n  end ${r.endtime}`,
      async run(ctx, input) {
        const tgt = await getTgt(ctx, input);
        const sessionEt = ENCTYPES[tgt.enc.keyType];
        if (!sessionEt) throw new ProtocolError(`the TGT's session key is ${enctypeName(tgt.enc.keyType)}, which Portolan does not implement`);
        const n = nonce(ctx);
        const body = reqBody({
          options: flagBits(['forwardable', 'renewable', 'canonicalize', 'renewable-ok']),
          realm: input.realm,
          sname: parsePrincipal(input.service),
          till: new Date(Date.now() + 24 * 3600_000),
          nonce: n,
          etypes: input.etypes.map((e) => ID_OF[e]),
        });
        // RFC 4120 §7.2.3: the authenticator's checksum covers the req-body (key usage 6), the authenticator is encrypted with usage 7.
        const cksum = await checksum(ctx.crypto, sessionEt, tgt.enc.key, 6, body);
        const now = new Date();
        const auth = authenticator(tgt.rep.crealm, tgt.rep.cname, { type: sessionEt.checksumType, value: cksum }, now, now.getMilliseconds() * 1000);
        const encAuth = encryptedData(sessionEt.id, await encrypt(ctx.crypto, sessionEt, tgt.enc.key, 7, auth));
        const req = kdcReq(MsgType.TGS_REQ, [paData(PaType.TGS_REQ, apReq(tgt.rep.ticket, encAuth))], body);
        const r = await ask(ctx, input, req, `TGS-REQ for ${input.service}@${input.realm} with the TGT (AP-REQ, ${sessionEt.name})`);
        if (r.type === 'KRB-ERROR') throw krbError('TGS-REQ refused', r);
        if (r.type !== 'TGS-REP') throw new ProtocolError(`expected TGS-REP, got ${r.type}`);
        const et = ENCTYPES[r.encPart.etype];
        if (!et) throw new ProtocolError(`TGS-REP encrypted with ${enctypeName(r.encPart.etype)}`);
        // RFC 4120 §5.4.2: the TGS-REP enc-part is under the TGT session key, key usage 8.
        const enc = decodeEncKdcRepPart(await decrypt(ctx.crypto, et, tgt.enc.key, 8, r.encPart.cipher));
        if (enc.nonce !== n) throw new ProtocolError(`TGS-REP nonce ${enc.nonce} is not the ${n} sent`);
        return { ...describeTicket(r, enc), tgt: describeTicket(tgt.rep, tgt.enc) };
      },
    }),
  },
});


