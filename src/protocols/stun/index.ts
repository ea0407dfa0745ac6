// STUN (RFC 8489) and TURN (RFC 8656): a Binding request over UDP, TCP or TLS — the address the server
// sees us from, its software, the fingerprint checked — and a TURN Allocate with long-term credentials.
import * as z from 'zod';

import { AuthError, InvalidInput, PortolanError, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { retryFields } from '../datagram/exchange.ts';
import { datagramChannel, longTermKey, streamChannel, type StunChannel } from './client.ts';
import { ATTR, attribute, attributeName, decodeAddress, decodeErrorCode, fingerprintValid, integrityValid, lifetimeAttr, requestedTransport, textAttr, textAttribute, u32Attribute, type StunMessage, type TransportAddress } from './codec.ts';
import { identification } from './identify.ts';

const BINDING = 0x001;
const ALLOCATE = 0x003;
const REFRESH = 0x004;

const transport = z.enum(['tcp', 'udp']).default('tcp').describe('udp (Node host), or tcp — with tls: implicit, TLS on port 5349');

const addressOut = z.object({ family: z.string(), address: z.string(), port: z.number() }).nullable();

async function channel(ctx: OperationContext, input: { transport: 'tcp' | 'udp'; tls: string; retries: number; waitMs: number }): Promise<StunChannel> {
  if (input.transport === 'udp') {
    if (input.tls !== 'off') throw InvalidInput.field('tls', 'STUN over DTLS is not offered: use transport tcp with tls implicit, or udp without TLS');
    return datagramChannel(ctx, await ctx.dialUdp(), input);
  }
  return streamChannel(ctx, await ctx.dial());
}

function address(m: StunMessage, type: number, xor: boolean): TransportAddress | null {
  const v = attribute(m, type);
  return v ? decodeAddress(v, m.transactionId, xor) : null;
}

function errorOf(m: StunMessage): { code: number; reason: string } | null {
  const v = attribute(m, ATTR.ERROR_CODE);
  return v ? decodeErrorCode(v) : null;
}

function fmt(a: { family: string; address: string; port: number } | null): string {
  return a ? (a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`) : '(none)';
}

export default defineProtocol({
  id: 'stun',
  title: 'STUN / TURN',
  category: 'network',
  summary: 'STUN Binding over UDP, TCP or TLS: the address and port the server sees you from (XOR-MAPPED-ADDRESS), its software and other address; TURN Allocate with long-term credentials: the relayed address and its lifetime.',
  ports: [
    { port: 3478, transport: 'udp' },
    { port: 3478, transport: 'tcp' },
    { port: 5349, transport: 'tls' },
  ],
  specs: ['RFC 8489', 'RFC 8656', 'RFC 5780'],
  rating: {
    stars: 4,
    reason:
      'Binding over UDP (Node host), TCP and TLS with XOR-MAPPED-ADDRESS, MAPPED-ADDRESS, RESPONSE-ORIGIN, SOFTWARE and FINGERPRINT checked; TURN Allocate with the long-term credential 401 realm/nonce exchange, MESSAGE-INTEGRITY checked both ways, the relayed address and lifetime, then released; wrong credentials as auth_failed. Lab-tested against coturn 4.6.1. No DTLS, no CreatePermission/ChannelBind or relayed data, no NAT behaviour discovery (RFC 5780 tests).',
  },
  verifiedAgainst: 'coturn 4.6.1',
  tls: { implicit: { port: 5349 } },
  defaultOperation: 'binding',
  identify: identification,
  operations: {
    binding: operation({
      summary: 'Binding request: the address the server sees you from, its software and alternate address',
      input: z.object({ transport, fingerprint: z.boolean().default(true).describe('Add a FINGERPRINT attribute to the request'), ...retryFields({ retries: 2, waitMs: 500 }) }),
      output: z.object({
        transport: z.string(),
        mappedAddress: addressOut.describe('XOR-MAPPED-ADDRESS: where the server saw the request come from'),
        legacyMappedAddress: addressOut.describe('MAPPED-ADDRESS (RFC 3489 clients read this)'),
        responseOrigin: addressOut,
        otherAddress: addressOut.describe('OTHER-ADDRESS: the server’s alternate address for NAT behaviour tests (RFC 5780)'),
        software: z.string().nullable(),
        fingerprint: z.enum(['valid', 'invalid', 'absent']),
        attributes: z.array(z.string()),
        rttMs: z.number(),
      }),
      alternatives: ['STUN over TCP (transport: tcp) or TLS (tcp with tls: implicit) works on Workers'],
      text: (r) => [`mapped address: ${fmt(r.mappedAddress)} (${r.transport})`, `software: ${r.software ?? '(none)'}`, ...(r.otherAddress ? [`other address: ${fmt(r.otherAddress)}`] : []), `round trip: ${r.rttMs} ms`].join('\n'),
      async run(ctx, input) {
        const ch = await channel(ctx, input);
        const { response: m, rttMs } = await ch.request({ method: BINDING, attributes: [], fingerprint: input.fingerprint }, 'Binding request');
        if (m.cls === 'error') {
          const e = errorOf(m);
          throw new ServerError(`the STUN server answered Binding with ${e ? `${e.code} ${e.reason}` : 'an error without ERROR-CODE'}`, { ...e });
        }
        const fp = fingerprintValid(m);
        if (fp === false) throw new PortolanError('protocol_error', 'the Binding response’s FINGERPRINT does not match its bytes');
        return {
          transport: input.tls === 'implicit' ? 'tls' : input.transport,
          mappedAddress: address(m, ATTR.XOR_MAPPED_ADDRESS, true),
          legacyMappedAddress: address(m, ATTR.MAPPED_ADDRESS, false),
          responseOrigin: address(m, ATTR.RESPONSE_ORIGIN, false),
          otherAddress: address(m, ATTR.OTHER_ADDRESS, false),
          software: textAttribute(m, ATTR.SOFTWARE) ?? null,
          fingerprint: fp === null ? ('absent' as const) : ('valid' as const),
          attributes: m.attributes.map((a) => attributeName(a.type)),
          rttMs,
        };
      },
    }),
    turnAllocate: operation({
      summary: 'TURN Allocate with long-term credentials: the 401 realm and nonce, the authenticated request, the relayed address and lifetime (then released)',
      input: z.object({
        transport,
        username: z.string().min(1).max(513).meta({ examples: ['alice'] }),
        password: z.string().max(1024).meta({ examples: ['secret'] }),
        lifetime: z.number().int().min(1).max(3600).default(600).describe('LIFETIME asked for, in seconds'),
        keep: z.boolean().default(false).describe('Leave the allocation in place instead of releasing it (Refresh with LIFETIME 0)'),
        ...retryFields({ retries: 2, waitMs: 500 }),
      }),
      output: z.object({
        transport: z.string(),
        realm: z.string(),
        nonce: z.string(),
        relayedAddress: addressOut.describe('XOR-RELAYED-ADDRESS: where peers reach you through the server'),
        mappedAddress: addressOut,
        lifetime: z.number().nullable().describe('Seconds the server grants'),
        software: z.string().nullable(),
        integrity: z.enum(['valid', 'absent']).describe('MESSAGE-INTEGRITY of the success response, checked with the key'),
        released: z.boolean(),
      }),
      alternatives: ['TURN over TCP (transport: tcp) or TLS (tls: implicit) works on Workers'],
      text: (r) => [`relayed address: ${fmt(r.relayedAddress)} for ${r.lifetime ?? '?'} s`, `mapped address: ${fmt(r.mappedAddress)}`, `realm: ${r.realm}`, `software: ${r.software ?? '(none)'}`, r.released ? 'released' : 'kept'].join('\n'),
      async run(ctx, input) {
        const ch = await channel(ctx, input);
        const base = [requestedTransport(), lifetimeAttr(input.lifetime)];
        // RFC 8656 section 7.2 / RFC 8489 section 9.2: the first request carries no credentials; the 401 says realm and nonce.
        const first = await ch.request({ method: ALLOCATE, attributes: base, fingerprint: true }, 'Allocate request (no credentials)');
        const challenge = errorOf(first.response);
        if (first.response.cls !== 'error' || challenge?.code !== 401) {
          throw new ServerError(`the TURN server answered an Allocate without credentials with ${challenge ? `${challenge.code} ${challenge.reason}` : first.response.cls}, not 401`, { ...challenge });
        }
        const realm = textAttribute(first.response, ATTR.REALM);
        let nonce = textAttribute(first.response, ATTR.NONCE);
        if (realm === undefined || nonce === undefined) throw new PortolanError('protocol_error', 'the 401 carries no REALM or NONCE: the server does not use long-term credentials');
        const key = longTermKey(ctx.crypto, input.username, realm, input.password);
        const hmac = (k: Uint8Array, d: Uint8Array) => ctx.crypto.hmac('SHA-1', k, d);
        const signed = (method: number, attrs: typeof base, what: string) =>
          ch.request({ method, attributes: [...attrs, textAttr(ATTR.USERNAME, input.username, 513), textAttr(ATTR.REALM, realm), textAttr(ATTR.NONCE, nonce!)], integrityKey: key, fingerprint: true }, what);
        let res = await signed(ALLOCATE, base, `Allocate request as ${input.username} (MESSAGE-INTEGRITY)`);
        // 438 Stale Nonce: once more with the new nonce.
        if (errorOf(res.response)?.code === 438) {
          nonce = textAttribute(res.response, ATTR.NONCE) ?? nonce;
          res = await signed(ALLOCATE, base, 'Allocate request with the new nonce');
        }
        const m = res.response;
        if (m.cls === 'error') {
          const e = errorOf(m);
          if (e?.code === 401) throw new AuthError(`the TURN server refused the credentials for ${input.username}: 401 ${e.reason}`, { code: 401, reason: e.reason, realm });
          throw new ServerError(`the TURN server refused the allocation: ${e ? `${e.code} ${e.reason}` : 'no ERROR-CODE'}`, { ...e });
        }
        const integrity = await integrityValid(m, key, hmac);
        if (integrity === false) throw new PortolanError('untrusted_peer', 'the Allocate success response’s MESSAGE-INTEGRITY does not match: it was not made with these credentials');
        let released = false;
        if (!input.keep) {
          const done = await signed(REFRESH, [lifetimeAttr(0)], 'Refresh with LIFETIME 0 (release the allocation)');
          released = done.response.cls === 'success';
        }
        return {
          transport: input.tls === 'implicit' ? 'tls' : input.transport,
          realm,
          nonce,
          relayedAddress: address(m, ATTR.XOR_RELAYED_ADDRESS, true),
          mappedAddress: address(m, ATTR.XOR_MAPPED_ADDRESS, true),
          lifetime: u32Attribute(m, ATTR.LIFETIME) ?? null,
          software: textAttribute(m, ATTR.SOFTWARE) ?? null,
          integrity: integrity === null ? ('absent' as const) : ('valid' as const),
          released,
        };
      },
    }),
  },
});

