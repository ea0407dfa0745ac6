// LDP (RFC 5036): session initialization with a label switching router — its Initialization (session
// parameters, capabilities) and KeepAlive, or the Notification it refuses with — and the addresses and
// label mappings it advertises once the session is up. A targeted Hello over UDP first (Node host) gives
// the peer the adjacency it needs before it accepts a session from this address.
import * as z from 'zod';
import { PortolanError } from '../../core/errors.ts';
import { parseIpv4Strict } from '../../core/ip.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { MessageReader, expect } from './client.ts';
import { LDP_PORT, MESSAGE, capabilityNames, decodeAddresses, decodeLabelMapping, decodeSessionParams, describeMessage, encodeHello, encodeInit, encodeKeepalive, encodeNotification, encodePdu, ldpIdText, type LdpId, type Message } from './codec.ts';

const ipv4 = z.string().regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, 'an IPv4 address');

const sessionOut = z.object({
  version: z.number(),
  keepaliveTime: z.number(),
  advertisement: z.enum(['downstream unsolicited', 'downstream on demand']),
  loopDetection: z.boolean(),
  pathVectorLimit: z.number(),
  maxPduLength: z.number(),
  receiver: z.string().describe('The LDP identifier the peer addressed its Initialization to (ours)'),
});

export default defineProtocol({
  id: 'ldp',
  title: 'LDP',
  category: 'network',
  summary: 'MPLS Label Distribution Protocol: session initialization with an LSR — its LDP identifier, session parameters and capabilities, or the Notification it refuses with — and the addresses and label mappings it advertises; a targeted Hello over UDP first where the host has UDP.',
  ports: [
    { port: LDP_PORT, transport: 'tcp' },
    { port: LDP_PORT, transport: 'udp', label: 'discovery (Hello)' },
  ],
  specs: ['RFC 5036', 'RFC 5561'],
  rating: {
    stars: 3,
    reason:
      'Verified against FRR ldpd 8.4.4: a targeted Hello over UDP (Node host), then Initialization and KeepAlive to an operational session, the peer’s session parameters and capabilities, its Address and Label Mapping messages decoded; without an adjacency its Session Rejected/No Hello notification (Workers and Node). ldpd ignores loopback addresses, so it runs in a network namespace the lab joins to a client namespace by a veth pair. The peer’s own Hello is not read (it goes to port 646 of the sender); no basic (multicast) discovery, no TCP MD5, no label requests, no IPv6 transport.',
  },
  verifiedAgainst: 'FRR ldpd 8.4.4',
  defaultOperation: 'init',
  identify: { unprobed: 'an LDP session starts only after a Hello adjacency over UDP (identify asks over TCP)' },
  operations: {
    init: operation({
      summary: 'Initialization and KeepAlive: the peer’s LDP identifier, session parameters and capabilities; then its addresses and label mappings for listenMs; then Shutdown',
      input: z.object({
        lsrId: ipv4.default('192.0.2.254').describe('Our LSR ID (the LDP identifier is this with label space 0)'),
        peerLsrId: ipv4.optional().describe('The peer’s LSR ID the Initialization is addressed to (a peer refuses one meant for another). Default: the target’s IPv4 address'),
        hello: z.boolean().default(false).describe('Send a targeted Hello over UDP first, so the peer has an adjacency with this address (needs a host with UDP)'),
        helloHoldTime: z.number().int().min(15).max(65535).default(45).describe('Seconds the peer keeps the adjacency after our targeted Hello'),
        keepaliveTime: z.number().int().min(1).max(65535).default(180),
        onDemand: z.boolean().default(false).describe('Propose downstream on demand label advertisement instead of downstream unsolicited'),
        listenMs: z.number().int().min(0).max(60_000).default(1000).describe('How long to collect Address and Label Mapping messages once the session is up'),
        maxLabels: z.number().int().min(1).max(100_000).default(10_000),
      }),
      output: z.object({
        peer: z.string().describe('The peer’s LDP identifier (LSR ID:label space)'),
        session: sessionOut,
        capabilities: z.array(z.string()).describe('The optional TLVs of its Initialization (RFC 5561 capabilities)'),
        negotiatedKeepalive: z.number(),
        operational: z.boolean(),
        helloSent: z.boolean(),
        addresses: z.array(z.string()),
        labels: z.array(z.object({ fec: z.string(), label: z.number().nullable() })),
        notifications: z.array(z.string()).describe('Advisory notifications during the session'),
        messages: z.number().describe('Messages the peer sent after the KeepAlive'),
      }),
      maxTimeoutMs: 90_000,
      text: (r) =>
        [
          `peer ${r.peer}: LDP version ${r.session.version}, KeepAlive ${r.session.keepaliveTime} s (negotiated ${r.negotiatedKeepalive} s), ${r.session.advertisement}, max PDU ${r.session.maxPduLength}`,
          `capabilities: ${r.capabilities.join(', ') || 'none'}`,
          r.operational ? 'session operational' : 'session not operational',
          `addresses: ${r.addresses.join(', ') || 'none'}`,
          ...r.labels.map((l) => `${l.fec} label ${l.label ?? '-'}`),
        ].join('\n'),
      async run(ctx, input) {
        const ours: LdpId = { lsrId: input.lsrId, labelSpace: 0 };
        let id = 1;
        const helloPdu = encodePdu(ours, [encodeHello(id++, { holdTime: input.helloHoldTime, targeted: true, requestTargeted: true })]);
        if (input.hello) {
          // RFC 5036 section 2.4.2: a targeted Hello to port 646 of the peer, asking for targeted Hellos back.
          const udp = await ctx.dialUdp();
          await udp.send(helloPdu, { decode: `Hello (targeted, request targeted), hold ${input.helloHoldTime}s, from ${ldpIdText(ours)}` });
          await udp.close();
        }
        const conn = await ctx.dial();
        const remote = (conn.info().remoteAddress ?? '').replace(/:\d+$/, '');
        const peerLsrId = input.peerLsrId ?? [input.host, remote].find((a) => parseIpv4Strict(a));
        if (!peerLsrId) throw new PortolanError('invalid_input', 'peerLsrId: the target is not an IPv4 address, so the peer’s LSR ID has to be given', { field: 'peerLsrId' });
        const receiver: LdpId = { lsrId: peerLsrId, labelSpace: 0 };
        const init = encodeInit(id++, { version: 1, keepaliveTime: input.keepaliveTime, onDemand: input.onDemand, loopDetection: false, pathVectorLimit: 0, maxPduLength: 0, receiver });
        await conn.write(encodePdu(ours, [init]), { decode: `Initialization from ${ldpIdText(ours)} for ${ldpIdText(receiver)}, KeepAlive ${input.keepaliveTime}s` });
        const reader = new MessageReader(conn);
        const addresses: string[] = [];
        const labels: { fec: string; label: number | null }[] = [];
        const notifications: string[] = [];
        let messages = 0;
        const seen = (m: Message) => {
          if (m.type === MESSAGE.ADDRESS) addresses.push(...decodeAddresses(m));
          else if (m.type === MESSAGE.LABEL_MAPPING) {
            const l = decodeLabelMapping(m);
            for (const fec of l.fec) labels.push({ fec, label: l.label });
          } else if (m.type === MESSAGE.NOTIFICATION) notifications.push(describeMessage(m));
        };
        const theirs = await expect(reader, MESSAGE.INITIALIZATION, 'the peer’s Initialization', seen);
        const s = decodeSessionParams(theirs);
        await conn.write(encodePdu(ours, [encodeKeepalive(id++)]), { decode: 'KeepAlive' });
        await expect(reader, MESSAGE.KEEPALIVE, 'the peer’s KeepAlive', seen);
        try {
          if (input.listenMs > 0) {
            await ctx.within(input.listenMs, async () => {
              while (labels.length < input.maxLabels) {
                const m = await reader.next('Address and Label Mapping messages');
                messages++;
                if (m.type === MESSAGE.KEEPALIVE) await conn.write(encodePdu(ours, [encodeKeepalive(id++)]), { decode: 'KeepAlive' });
                else seen(m);
              }
            });
          }
        } catch (e) {
          if (!(e instanceof PortolanError) || e.code !== 'io_timeout' || ctx.signal.aborted) throw e;
        }
        await conn.write(encodePdu(ours, [encodeNotification(id++, 0x0a, true)]), { decode: 'Notification: Shutdown (fatal)' }).catch(() => undefined);
        return {
          peer: ldpIdText(reader.peer!),
          session: {
            version: s.version,
            keepaliveTime: s.keepaliveTime,
            advertisement: s.onDemand ? ('downstream on demand' as const) : ('downstream unsolicited' as const),
            loopDetection: s.loopDetection,
            pathVectorLimit: s.pathVectorLimit,
            maxPduLength: s.maxPduLength || 4096,
            receiver: ldpIdText(s.receiver),
          },
          capabilities: capabilityNames(theirs),
          negotiatedKeepalive: Math.min(s.keepaliveTime, input.keepaliveTime),
          operational: true,
          helloSent: input.hello,
          addresses,
          labels,
          notifications,
          messages,
        };
      },
    }),
  },
});
