// IKEv2 IKE_SA_INIT over UDP (RFC 7296 section 1.2): what a responder chooses from our proposals, its DH
// group and nonce, NAT detection, vendor IDs and status notifies — and its error notifies, following
// INVALID_KE_PAYLOAD (the group it wants) and COOKIE the way an initiator does.
import * as z from 'zod';
import { equalBytes, toHex, utf8 } from '../../core/bytes.ts';
import { PortolanError, ProtocolError } from '../../core/errors.ts';
import { parseIp } from '../../core/ip.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { exchange, retryFields } from '../datagram/exchange.ts';
import { MAIN_MODE, V1_PAYLOAD, decodeV1Notification, decodeV1Sa, describeV1Transform, encodeV1Sa } from './v1.ts';
import { KE_SIZES, NOTIFY_TYPES, PAYLOAD, TRANSFORMS, addNonEspMarker, decodeMessage, decodeNotify, decodeSa, describe, encodeMessage, encodeNotify, encodeSa, natDetectionInput, stripNonEspMarker, transformName, type Message, type Proposal, type Transform } from './codec.ts';

const IKE_SA_INIT = 34;
const KNOWN_VENDOR_IDS = ['strongSwan', 'Libreswan', 'Openswan', 'FRAGMENTATION', 'RFC 3947', 'Cisco Unity'];
/** IKEv1 vendor IDs that are not the MD5 of a name: XAUTH (draft-beaulieu-ike-xauth) and Dead Peer Detection (RFC 3706). */
const RAW_VENDOR_IDS: Record<string, string> = { '09002689dfd6b712': 'XAUTH', afcad71368a1f1c96b8696fc77570100: 'DPD' };

const GROUPS = { 'modp2048': 14, 'modp3072': 15, 'modp4096': 16, 'ecp256': 19, 'ecp384': 20, 'curve25519': 31 } as const;
type GroupName = keyof typeof GROUPS;

function proposal(groups: number[]): Proposal {
  const t: Transform[] = [
    { type: 1, id: 12, keyLength: 256 },
    { type: 1, id: 12, keyLength: 128 },
    { type: 2, id: 5 },
    { type: 2, id: 2 },
    { type: 3, id: 12 },
    { type: 3, id: 2 },
    ...groups.map((id) => ({ type: 4, id })),
  ];
  return { number: 1, protocol: 1, spi: new Uint8Array(0), transforms: t };
}

const notifyOut = z.object({ type: z.number(), name: z.string(), data: z.string() });

export default defineProtocol({
  id: 'ike',
  title: 'IKE',
  category: 'network',
  summary: 'IKEv2 IKE_SA_INIT over UDP: the proposal a VPN responder chooses (encryption, PRF, integrity, DH group), its nonce and KE, NAT detection, vendor IDs and notifies; INVALID_KE_PAYLOAD followed with the group it asks for, NO_PROPOSAL_CHOSEN reported; and IKEv1 Main Mode’s first exchange (the ISAKMP transform chosen).',
  ports: [
    { port: 500, transport: 'udp' },
    { port: 4500, transport: 'udp', label: 'NAT traversal' },
  ],
  specs: ['RFC 7296', 'RFC 7383', 'RFC 5685', 'RFC 2408', 'RFC 2409', 'RFC 3948'],
  rating: {
    stars: 3,
    reason:
      'Verified against strongSwan charon 5.9.8 on the Node host (UDP; Workers have no datagram sockets), on its IKE and NAT-T ports: IKEv2 IKE_SA_INIT — the proposal it chooses, INVALID_KE_PAYLOAD followed to the group it asks for (or reported), NO_PROPOSAL_CHOSEN, its vendor ID, status notifies and NAT detection — and IKEv1 Main Mode’s first exchange (the transform it chooses, its cookie and vendor IDs; its NO-PROPOSAL-CHOSEN answer is not lab-tested: charon answered it once by hand and stayed silent in the suite). COOKIE following is tested on its bytes only (charon asks for cookies only under load). No IKE_AUTH or later Main Mode messages (no keys are computed), no Aggressive Mode.',
  },
  verifiedAgainst: 'strongSwan charon 5.9.8',
  defaultOperation: 'init',
  identify: { unprobed: 'UDP' },
  operations: {
    init: operation({
      summary: 'IKE_SA_INIT: the responder’s chosen proposal, DH group, nonce, NAT detection, vendor IDs and notifies',
      input: z.object({
        groups: z.array(z.enum(Object.keys(GROUPS) as [GroupName, ...GroupName[]])).min(1).max(6).default(['ecp256', 'modp2048', 'modp3072']).describe('DH groups offered; the KE payload is for the first (an INVALID_KE_PAYLOAD is followed with the group asked for)'),
        followInvalidKe: z.boolean().default(true),
        natT: z
          .boolean()
          .optional()
          .describe('Each message after the four-byte non-ESP marker, as on the NAT-T port (RFC 3948 section 2.2). Default: on for every port but 500 — a responder takes a datagram without it there for ESP'),
        ...retryFields({ retries: 2, waitMs: 1000 }),
      }),
      output: z.object({
        responderSpi: z.string(),
        chosen: z.array(z.string()).describe('The transforms of the proposal the responder chose'),
        dhGroup: z.string(),
        keLength: z.number(),
        nonceLength: z.number(),
        natDetection: z.object({ responderBehindNat: z.boolean().nullable(), destinationHash: z.string().nullable() }),
        vendorIds: z.array(z.string()),
        notifies: z.array(notifyOut),
        invalidKe: z.object({ offered: z.string(), requested: z.string() }).nullable().describe('The INVALID_KE_PAYLOAD the responder answered first, when it did'),
        cookie: z.boolean(),
        rttMs: z.number(),
      }),
      needs: ['udp'],
      text: (r) => [`chose ${r.chosen.join(', ')}`, `DH ${r.dhGroup}, KE ${r.keLength} bytes, nonce ${r.nonceLength} bytes`, ...(r.invalidKe ? [`INVALID_KE_PAYLOAD: offered ${r.invalidKe.offered}, responder wants ${r.invalidKe.requested}`] : []), `vendor IDs: ${r.vendorIds.join(', ') || 'none'}`, `notifies: ${r.notifies.map((n) => n.name).join(', ')}`].join('\n'),
      async run(ctx, input) {
        const conn = await ctx.dialUdp();
        const natT = input.natT ?? input.port !== 500;
        // The IKE message of a datagram: after the marker on the NAT-T port (a datagram there without it is ESP).
        const ikeOf = (b: Uint8Array) => (natT ? stripNonEspMarker(b) : b);
        const spiI = ctx.crypto.randomBytes(8);
        const zero = new Uint8Array(8);
        const offered: number[] = input.groups.map((g) => GROUPS[g]);
        const target = parseIp(conn.info().remoteAddress)?.bytes ?? new Uint8Array(4);
        const knownVids = KNOWN_VENDOR_IDS.map((name) => ({ name, hash: ctx.crypto.md5(utf8(name)) }));
        let group: number = offered[0];
        let cookie: Uint8Array | undefined;
        let invalidKe: { offered: string; requested: string } | null = null;
        let sawCookie = false;
        for (let attempt = 0; attempt < 4; attempt++) {
          const keSize = KE_SIZES[group];
          if (!keSize) throw new ProtocolError(`no KE size known for DH group ${group}`);
          // A random public value: the responder answers IKE_SA_INIT before any shared secret is used.
          const ke = new Uint8Array(4 + keSize);
          ke[0] = group >> 8;
          ke[1] = group & 0xff;
          ke.set(ctx.crypto.randomBytes(keSize), 4);
          ke[4] &= 0x7f;
          // RFC 7296 section 2.23: both NAT detection hashes, or the responder sends none back. The source
          // address this socket leaves from is not known here: the hash of 0.0.0.0:0 says "maybe behind a NAT".
          const natSrc = await ctx.crypto.digest('SHA-1', natDetectionInput(spiI, zero, new Uint8Array(4), 0));
          const natDst = await ctx.crypto.digest('SHA-1', natDetectionInput(spiI, zero, target, conn.port));
          const payloads = [
            ...(cookie ? [{ type: PAYLOAD.NOTIFY, body: encodeNotify(16390, cookie) }] : []),
            { type: PAYLOAD.SA, body: encodeSa([proposal(offered)]) },
            { type: PAYLOAD.KE, body: ke },
            { type: PAYLOAD.NONCE, body: ctx.crypto.randomBytes(32) },
            { type: PAYLOAD.NOTIFY, body: encodeNotify(16388, natSrc) },
            { type: PAYLOAD.NOTIFY, body: encodeNotify(16389, natDst) },
            { type: PAYLOAD.NOTIFY, body: encodeNotify(16430, new Uint8Array(0)) },
          ];
          const message = encodeMessage({ spiI, spiR: zero, exchange: IKE_SA_INIT, flags: 0x08, messageId: 0 }, payloads);
          const request = natT ? addNonEspMarker(message) : message;
          const answer = await exchange<Message>(ctx, conn, request, {
            ...input,
            what: 'IKE_SA_INIT response',
            describeRequest: `IKE_SA_INIT request, KE for ${TRANSFORMS[4][group] ?? group}${cookie ? ' with COOKIE' : ''}${natT ? ', after the non-ESP marker' : ''}`,
            describeAnswer: (b) => {
              const ike = ikeOf(b);
              if (!ike) return 'ESP (no non-ESP marker): not an IKE message';
              try {
                return describe(decodeMessage(ike));
              } catch (e) {
                return `not IKEv2: ${(e as Error).message}`;
              }
            },
            accept: (b) => {
              const ike = ikeOf(b);
              if (!ike) return undefined;
              const m = decodeMessage(ike);
              return equalBytes(m.spiI, spiI) && m.exchange === IKE_SA_INIT && (m.flags & 0x20) !== 0 ? m : undefined;
            },
          });
          const m = answer.value;
          const notifies = m.payloads.filter((p) => p.type === PAYLOAD.NOTIFY).map((p) => decodeNotify(p.body));
          const errorNotify = notifies.find((n) => n.type < 16384);
          const cookieNotify = notifies.find((n) => n.type === 16390);
          if (cookieNotify) {
            cookie = cookieNotify.data;
            sawCookie = true;
            continue;
          }
          if (errorNotify?.type === 17 && errorNotify.data.length >= 2) {
            const wanted = (errorNotify.data[0] << 8) | errorNotify.data[1];
            invalidKe = { offered: TRANSFORMS[4][group] ?? String(group), requested: TRANSFORMS[4][wanted] ?? String(wanted) };
            if (!input.followInvalidKe || !offered.includes(wanted) || wanted === group) {
              throw new PortolanError('refused', `the responder answered INVALID_KE_PAYLOAD: it wants DH group ${invalidKe.requested}${offered.includes(wanted) ? '' : ', which was not offered'}`, { ...invalidKe });
            }
            group = wanted;
            continue;
          }
          if (errorNotify) {
            const name = NOTIFY_TYPES[errorNotify.type] ?? `error ${errorNotify.type}`;
            throw new PortolanError('refused', `the responder answered ${name}${errorNotify.type === 14 ? ': none of the proposals offered is acceptable to it' : ''}`, { notify: errorNotify.type, name, data: toHex(errorNotify.data) });
          }
          const sa = m.payloads.find((p) => p.type === PAYLOAD.SA);
          if (!sa) throw new ProtocolError('the IKE_SA_INIT response has no SA payload');
          const chosen = decodeSa(sa.body)[0];
          const kePayload = m.payloads.find((p) => p.type === PAYLOAD.KE);
          const nonce = m.payloads.find((p) => p.type === PAYLOAD.NONCE);
          const dh = chosen?.transforms.find((t) => t.type === 4);
          const srcHash = notifies.find((n) => n.type === 16388);
          const dstHash = notifies.find((n) => n.type === 16389);
          const expected = srcHash ? await ctx.crypto.digest('SHA-1', natDetectionInput(spiI, m.spiR, target, conn.port)) : undefined;
          const vendorIds = m.payloads.filter((p) => p.type === PAYLOAD.VENDOR_ID).map((p) => knownVids.find((k) => equalBytes(k.hash, p.body.subarray(0, 16)) && p.body.length === 16)?.name ?? toHex(p.body));
          return {
            responderSpi: toHex(m.spiR),
            chosen: (chosen?.transforms ?? []).map(transformName),
            dhGroup: dh ? transformName(dh) : 'none',
            keLength: kePayload ? kePayload.body.length - 4 : 0,
            nonceLength: nonce?.body.length ?? 0,
            natDetection: { responderBehindNat: srcHash && expected ? !equalBytes(srcHash.data, expected) : null, destinationHash: dstHash ? toHex(dstHash.data) : null },
            vendorIds,
            notifies: notifies.map((n) => ({ type: n.type, name: NOTIFY_TYPES[n.type] ?? `notify ${n.type}`, data: toHex(n.data) })),
            invalidKe,
            cookie: sawCookie,
            rttMs: answer.rttMs,
          };
        }
        throw new ProtocolError('the responder kept asking for another KE group or cookie');
      },
    }),
    mainMode: operation({
      summary: 'IKEv1 Main Mode, first exchange: the ISAKMP transform the responder chooses (encryption, hash, authentication, group, lifetime), its cookie and vendor IDs',
      input: z.object({
        groups: z.array(z.enum(Object.keys(GROUPS) as [GroupName, ...GroupName[]])).min(1).max(6).default(['modp2048', 'modp3072']).describe('DH groups offered, each in a transform of its own'),
        auth: z.enum(['psk', 'rsa']).default('psk').describe('Authentication method offered'),
        natT: z.boolean().optional().describe('Each message after the non-ESP marker (default: on for every port but 500)'),
        ...retryFields({ retries: 2, waitMs: 1000 }),
      }),
      output: z.object({
        responderCookie: z.string(),
        chosen: z.record(z.string(), z.union([z.string(), z.number()])).describe('The attributes of the transform the responder chose'),
        vendorIds: z.array(z.string()),
        rttMs: z.number(),
      }),
      needs: ['udp'],
      text: (r) => [`chose ${Object.entries(r.chosen).map(([k, v]) => `${k} ${v}`).join(', ')}`, `responder cookie ${r.responderCookie}`, `vendor IDs: ${r.vendorIds.join(', ') || 'none'}`].join('\n'),
      async run(ctx, input) {
        const conn = await ctx.dialUdp();
        const natT = input.natT ?? input.port !== 500;
        const ikeOf = (b: Uint8Array) => (natT ? stripNonEspMarker(b) : b);
        const cookie = ctx.crypto.randomBytes(8);
        const knownVids = KNOWN_VENDOR_IDS.map((name) => ({ name, hash: ctx.crypto.md5(utf8(name)) }));
        // AES-CBC-256, SHA2-256, the method, the group, 8 hours: RFC 2409 Appendix A attribute classes.
        const transforms = input.groups.map((g, i) => ({ number: i + 1, id: 1, attributes: [[1, 7], [14, 256], [2, 4], [3, input.auth === 'psk' ? 1 : 3], [4, GROUPS[g]], [11, 1], [12, 28800]] as [number, number][] }));
        const message = encodeMessage({ spiI: cookie, spiR: new Uint8Array(8), exchange: MAIN_MODE, flags: 0, messageId: 0, version: 0x10 }, [{ type: V1_PAYLOAD.SA, body: encodeV1Sa(transforms) }]);
        const answer = await exchange<Message>(ctx, conn, natT ? addNonEspMarker(message) : message, {
          ...input,
          what: 'Main Mode response',
          describeRequest: `IKEv1 Main Mode SA, ${transforms.length} transform${transforms.length === 1 ? '' : 's'} (${input.groups.join(', ')})${natT ? ', after the non-ESP marker' : ''}`,
          describeAnswer: (b) => {
            const ike = ikeOf(b);
            if (!ike) return 'ESP (no non-ESP marker): not an IKE message';
            try {
              const m = decodeMessage(ike, 1);
              return `IKEv1 ${m.exchange === MAIN_MODE ? 'Main Mode' : `exchange ${m.exchange}`}: ${m.payloads.map((p) => (p.type === V1_PAYLOAD.SA ? 'SA' : p.type === V1_PAYLOAD.VENDOR_ID ? 'VID' : p.type === V1_PAYLOAD.NOTIFICATION ? `N(${decodeV1Notification(p.body).name})` : `payload ${p.type}`)).join(', ')}`;
            } catch (e) {
              return `not IKEv1: ${(e as Error).message}`;
            }
          },
          accept: (b) => {
            const ike = ikeOf(b);
            if (!ike) return undefined;
            const m = decodeMessage(ike, 1);
            return equalBytes(m.spiI, cookie) ? m : undefined;
          },
        });
        const m = answer.value;
        const notify = m.payloads.find((p) => p.type === V1_PAYLOAD.NOTIFICATION);
        if (notify) {
          const n = decodeV1Notification(notify.body);
          throw new PortolanError('refused', `the responder answered ${n.name}${n.type === 14 ? ': none of the transforms offered is acceptable to it' : ''}`, { notify: n.type, name: n.name });
        }
        const sa = m.payloads.find((p) => p.type === V1_PAYLOAD.SA);
        if (!sa) throw new ProtocolError('the Main Mode response has no SA payload');
        const chosen = decodeV1Sa(sa.body).transforms[0];
        if (!chosen) throw new ProtocolError('the Main Mode response chose no transform');
        return {
          responderCookie: toHex(m.spiR),
          chosen: describeV1Transform(chosen),
          vendorIds: m.payloads.filter((p) => p.type === V1_PAYLOAD.VENDOR_ID).map((p) => knownVids.find((k) => p.body.length === 16 && equalBytes(k.hash, p.body))?.name ?? RAW_VENDOR_IDS[toHex(p.body)] ?? toHex(p.body)),
          rttMs: answer.rttMs,
        };
      },
    }),
  },
});
