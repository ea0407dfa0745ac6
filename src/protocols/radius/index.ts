// RADIUS, RFC 2865/2866: Access-Request (PAP, CHAP), Status-Server (RFC 5997) and Accounting-Request, over UDP
// (Node host), TCP (RFC 6613) or TLS (RadSec, RFC 6614); replies verified and their attributes named.
import * as z from 'zod';
import { utf8 } from '../../core/bytes.ts';
import { AuthError, InvalidInput, PortolanError, ProtocolError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { exchange, retryFields } from '../datagram/exchange.ts';
import {
  chapPassword,
  Code,
  codeName,
  decodeAttributes,
  decodePacket,
  describePacket,
  encodeRequest,
  encodeValue,
  hidePassword,
  packetFrame,
  verifyReply,
  type DecodedAttribute,
  type Packet,
  type RawAttribute,
} from './codec.ts';

const STREAM_ALTERNATIVE = 'On Workers, use transport tcp (RADIUS over TCP, RFC 6613) or tls implicit (RadSec, RFC 6614, port 2083) where the server listens on them.';

const common = {
  secret: z.string().min(1).max(256).describe('Shared secret (RadSec: "radsec" unless the server says otherwise); never in the transcript').meta({ examples: ['testing123'] }),
  transport: z.enum(['udp', 'tcp']).default('udp').describe('udp (Node host) or tcp: RADIUS over TCP (RFC 6613), or with tls implicit RadSec (RFC 6614)'),
  messageAuthenticator: z.boolean().default(true).describe('Add a Message-Authenticator (RFC 3579 §3.2; RFC 5997 requires it on Status-Server)'),
  attributes: z
    .record(z.string().min(1).max(64), z.union([z.string().max(253), z.number(), z.array(z.union([z.string().max(253), z.number()])).max(64)]))
    .default({})
    .describe('More attributes by dictionary name: NAS-Identifier, Calling-Station-Id, Cisco-AVPair, ... (octets as hex)'),
  ...retryFields({ retries: 2, waitMs: 2000 }),
};

type Common = { secret: string; transport: 'udp' | 'tcp'; messageAuthenticator: boolean; attributes: Record<string, string | number | (string | number)[]>; retries: number; waitMs: number; tls: string };

const attribute = z.object({ type: z.number(), name: z.string(), vendor: z.string().optional(), vendorId: z.number().optional(), vendorType: z.number().optional(), value: z.union([z.string(), z.number()]), hex: z.string().optional() });

const reply = z.object({
  code: z.string().describe('Access-Accept, Access-Reject, Access-Challenge, Accounting-Response, ...'),
  identifier: z.number(),
  attributes: z.array(attribute),
  replyMessage: z.string().nullable(),
  verified: z.object({ responseAuthenticator: z.boolean(), messageAuthenticator: z.boolean().nullable().describe('null: the reply carried none') }),
  transport: z.string(),
  attempts: z.number(),
  rttMs: z.number(),
});

function extraAttributes(input: Common): RawAttribute[] {
  const out: RawAttribute[] = [];
  for (const [name, v] of Object.entries(input.attributes)) {
    for (const one of Array.isArray(v) ? v : [v]) {
      try {
        out.push(encodeValue(name, one));
      } catch (e) {
        throw InvalidInput.field(`attributes.${name}`, (e as Error).message);
      }
    }
  }
  return out;
}

function render(r: z.infer<typeof reply>): string {
  return [`${r.code} (id ${r.identifier}, ${r.transport}, ${r.rttMs} ms)`, ...r.attributes.map((a) => `  ${a.name} = ${a.value}`)].join('\n');
}

/**
 * Sends one request and returns the verified reply. UDP retransmits the same packet (RFC 2865 §2.4: same
 * Identifier and authenticator); TCP and TLS send it once, RFC 6613 §2.5 leaves retransmission to the transport.
 */
async function send(ctx: OperationContext, input: Common, build: (authenticator: Uint8Array, identifier: number) => { packet: Uint8Array; label: string; hidden: boolean }): Promise<{ reply: Packet; attempts: number; rttMs: number; verified: ReturnType<typeof verifyReply> }> {
  if (input.tls === 'implicit' && input.transport === 'udp') throw InvalidInput.field('transport', 'RadSec (tls implicit) runs over tcp; DTLS is not offered');
  const secret = utf8(input.secret);
  const authenticator = ctx.crypto.randomBytes(16);
  const identifier = ctx.crypto.randomBytes(1)[0];
  const { packet, label, hidden } = build(authenticator, identifier);
  const requestAuth = packet.slice(4, 20);
  const check = (b: Uint8Array) => {
    const p = decodePacket(b);
    if (p.identifier !== identifier) return undefined;
    return { p, verified: verifyReply(ctx.crypto, p, requestAuth, secret) };
  };
  const describe = (b: Uint8Array) => {
    try {
      return describePacket(decodePacket(b));
    } catch (e) {
      return `malformed: ${(e as Error).message}`;
    }
  };
  if (input.transport === 'udp') {
    const conn = await ctx.dialUdp();
    const got = await exchange(ctx, conn, packet, { retries: input.retries, waitMs: input.waitMs, what: 'RADIUS reply', describeRequest: label, describeAnswer: describe, accept: check, secret: hidden });
    return { reply: got.value.p, verified: got.value.verified, attempts: got.attempts, rttMs: got.rttMs };
  }
  const conn = await ctx.dial();
  const t0 = performance.now();
  await conn.write(packet, { decode: label, secret: hidden });
  const bytes = await conn.readFrame(packetFrame, 'RADIUS reply', describe);
  const answer = check(bytes);
  if (!answer) throw new ProtocolError(`RADIUS over ${input.tls === 'implicit' ? 'TLS' : 'TCP'}: a reply with identifier ${decodePacket(bytes).identifier}, expected ${identifier}`);
  return { reply: answer.p, verified: answer.verified, attempts: 1, rttMs: Math.round((performance.now() - t0) * 1000) / 1000 };
}

function result(input: Common, r: Awaited<ReturnType<typeof send>>): z.infer<typeof reply> {
  const attributes: DecodedAttribute[] = decodeAttributes(r.reply.attributes);
  const messages = attributes.filter((a) => a.name === 'Reply-Message').map((a) => String(a.value));
  return {
    code: codeName(r.reply.code),
    identifier: r.reply.identifier,
    attributes,
    replyMessage: messages.length ? messages.join('\n') : null,
    verified: r.verified,
    transport: input.tls === 'implicit' ? 'tls' : input.transport,
    attempts: r.attempts,
    rttMs: r.rttMs,
  };
}

const acctPort = (input: Record<string, unknown>) => (input.tls === 'implicit' ? 2083 : 1813);

export default defineProtocol({
  id: 'radius',
  title: 'RADIUS',
  category: 'directory',
  summary: 'Asks a RADIUS server: Access-Request with PAP or CHAP, Status-Server, Accounting-Request; replies verified and their attributes named from a dictionary of RFC and vendor attributes. UDP on the Node host, RADIUS over TCP and RadSec (TLS) anywhere.',
  ports: [
    { port: 1812, transport: 'udp', label: 'authentication' },
    { port: 1813, transport: 'udp', label: 'accounting' },
    { port: 1812, transport: 'tcp', label: 'RFC 6613' },
    { port: 2083, transport: 'tls', label: 'RadSec' },
  ],
  specs: ['RFC 2865', 'RFC 2866', 'RFC 2869', 'RFC 3579', 'RFC 5080', 'RFC 5997', 'RFC 6613', 'RFC 6614'],
  rating: {
    stars: 4,
    reason:
      'Access-Request with PAP and CHAP, Message-Authenticator on requests and checked on replies, Response Authenticators verified, Status-Server and Accounting-Request; reply attributes named from the RFC dictionary and the Cisco, Microsoft, WISPr, Juniper and MikroTik vendor attributes; over UDP with retransmission (Node host), TCP and RadSec. Lab-tested against FreeRADIUS with UDP, TCP and TLS listeners. Not covered: EAP methods, MS-CHAPv2, CoA/Disconnect, RadSec client certificates.',
  },
  verifiedAgainst: 'FreeRADIUS 3.2.1',
  tls: { implicit: { port: 2083 } },
  defaultOperation: 'authenticate',
  identify: { unprobed: 'RADIUS over TCP and RadSec drop packets without the shared secret' },
  operations: {
    authenticate: operation({
      summary: 'Access-Request with a user name and password (PAP or CHAP): accepted, rejected or challenged, and the reply attributes',
      alternatives: [STREAM_ALTERNATIVE],
      input: z.object({
        username: z.string().min(1).max(253).meta({ examples: ['testuser'] }),
        password: z.string().max(128).describe('The password (hidden as RFC 2865 §5.2 says for PAP, hashed for CHAP; never in the transcript)').meta({ examples: ['testpass'] }),
        method: z.enum(['pap', 'chap']).default('pap').describe('PAP (User-Password) or CHAP (CHAP-Password with a CHAP-Challenge)'),
        ...common,
      }),
      output: reply,
      text: render,
      async run(ctx, input) {
        const r = await send(ctx, input, (authenticator, identifier) => {
          const attrs: RawAttribute[] = [{ type: 1, value: utf8(input.username) }];
          const pw = utf8(input.password);
          if (input.method === 'pap') attrs.push({ type: 2, value: hidePassword(ctx.crypto, pw, utf8(input.secret), authenticator) });
          else {
            const challenge = ctx.crypto.randomBytes(16);
            attrs.push({ type: 3, value: chapPassword(ctx.crypto, identifier, pw, challenge) }, { type: 60, value: challenge });
          }
          attrs.push(...extraAttributes(input));
          const packet = encodeRequest(ctx.crypto, { code: Code['Access-Request'], identifier, attributes: attrs, secret: utf8(input.secret), authenticator, messageAuthenticator: input.messageAuthenticator });
          return { packet, label: `Access-Request id=${identifier} User-Name=${JSON.stringify(input.username)} ${input.method === 'pap' ? 'User-Password' : 'CHAP-Password'}=**** (${pw.length} bytes)${input.messageAuthenticator ? ' Message-Authenticator' : ''}`, hidden: true };
        });
        const out = result(input, r);
        if (r.reply.code === Code['Access-Reject']) {
          throw new AuthError(`Access-Reject for ${input.username}${out.replyMessage ? `: ${out.replyMessage}` : ''}`, { code: out.code, replyMessage: out.replyMessage, attributes: out.attributes });
        }
        if (r.reply.code !== Code['Access-Accept'] && r.reply.code !== Code['Access-Challenge']) throw new ProtocolError(`Access-Request answered with ${out.code}`);
        return out;
      },
    }),
    statusServer: operation({
      summary: 'Status-Server (RFC 5997): is the server up, and does it share this secret?',
      alternatives: [STREAM_ALTERNATIVE],
      input: z.object({ ...common, messageAuthenticator: z.literal(true).default(true).describe('RFC 5997 §3: Status-Server always carries a Message-Authenticator') }),
      output: reply,
      text: render,
      async run(ctx, input) {
        const r = await send(ctx, input, (authenticator, identifier) => ({
          packet: encodeRequest(ctx.crypto, { code: Code['Status-Server'], identifier, attributes: extraAttributes(input), secret: utf8(input.secret), authenticator, messageAuthenticator: true }),
          label: `Status-Server id=${identifier} Message-Authenticator`,
          hidden: false,
        }));
        return result(input, r);
      },
    }),
    accounting: operation({
      summary: 'Accounting-Request (Start, Interim-Update, Stop, Accounting-On/Off) and the server\'s Accounting-Response',
      alternatives: [STREAM_ALTERNATIVE],
      defaultPort: acctPort,
      input: z.object({
        statusType: z.enum(['Start', 'Stop', 'Interim-Update', 'Accounting-On', 'Accounting-Off']).default('Start'),
        sessionId: z.string().min(1).max(253).describe('Acct-Session-Id').meta({ examples: ['portolan-0001'] }),
        username: z.string().max(253).optional(),
        sessionTime: z.number().int().min(0).max(0xffffffff).optional().describe('Acct-Session-Time in seconds (Stop, Interim-Update)'),
        ...common,
        messageAuthenticator: z.boolean().default(false).describe('Add a Message-Authenticator (optional on accounting, RFC 5080 §2.2.2)'),
      }),
      output: reply,
      text: render,
      async run(ctx, input) {
        const r = await send(ctx, input, (authenticator, identifier) => {
          const attrs: RawAttribute[] = [encodeValue('Acct-Status-Type', input.statusType), { type: 44, value: utf8(input.sessionId) }];
          if (input.username) attrs.push({ type: 1, value: utf8(input.username) });
          if (input.sessionTime !== undefined) attrs.push(encodeValue('Acct-Session-Time', input.sessionTime));
          attrs.push(...extraAttributes(input));
          return {
            packet: encodeRequest(ctx.crypto, { code: Code['Accounting-Request'], identifier, attributes: attrs, secret: utf8(input.secret), authenticator, messageAuthenticator: input.messageAuthenticator }),
            label: `Accounting-Request id=${identifier} ${input.statusType} Acct-Session-Id=${JSON.stringify(input.sessionId)}`,
            hidden: false,
          };
        });
        const out = result(input, r);
        if (r.reply.code !== Code['Accounting-Response']) throw new PortolanError('protocol_error', `Accounting-Request answered with ${out.code}`);
        return out;
      },
    }),
  },
});
