// Diameter base protocol (RFC 6733) over TCP and TLS/TCP: capabilities exchange, device watchdog, disconnect.
import * as z from 'zod';
import { splitHostPort, type Conn } from '../../core/conn.ts';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import {
  APPLICATIONS,
  avp,
  u32,
  capabilitiesAvps,
  COMMAND,
  decodeMessage,
  describeMessage,
  DISCONNECT_CAUSES,
  disconnectCauseAvp,
  encodeMessage,
  FLAG,
  INBAND_SECURITY,
  messageFrame,
  originAvps,
  resultName,
  values,
  type Avp,
  type DecodedAvp,
  type Message,
} from './codec.ts';

const frame = messageFrame();
const identity = z.string().min(1).max(255).regex(/^[A-Za-z0-9.-]+$/, 'a DiameterIdentity: a fully qualified domain name');
const appId = z.number().int().min(0).max(0xffffffff);

const peerFields = {
  originHost: identity.default('portolan.invalid').describe('Our Origin-Host (servers often accept only peers they know)').meta({ examples: ['client.example.net'] }),
  originRealm: identity.default('invalid').describe('Our Origin-Realm').meta({ examples: ['example.net'] }),
  hostIpAddress: z.string().max(64).optional().describe('Host-IP-Address to advertise (default: the connection\'s local address where the host knows it, else 127.0.0.1)'),
  vendorId: z.number().int().min(0).max(0xffffffff).default(0).describe('Our Vendor-Id (0: none)'),
  productName: z.string().min(1).max(128).default('Portolan').describe('Our Product-Name'),
  firmwareRevision: z.number().int().min(0).max(0xffffffff).optional().describe('Our Firmware-Revision'),
  authApplicationIds: z.array(appId).max(32).default([0xffffffff]).describe('Auth-Application-Id values to advertise (4294967295: relay)'),
  acctApplicationIds: z.array(appId).max(32).default([]).describe('Acct-Application-Id values to advertise'),
  supportedVendorIds: z.array(appId).max(32).default([]).describe('Supported-Vendor-Id values to advertise'),
  inbandSecurity: z.boolean().default(false).describe('Advertise Inband-Security-Id NO_INBAND_SECURITY (0)'),
};

type PeerInput = { originHost: string; originRealm: string; hostIpAddress?: string; vendorId: number; productName: string; firmwareRevision?: number; authApplicationIds: number[]; acctApplicationIds: number[]; supportedVendorIds: number[]; inbandSecurity: boolean };

const capabilitiesOut = z.object({
  resultCode: z.number(),
  result: z.string(),
  errorMessage: z.string().nullable(),
  originHost: z.string().nullable(),
  originRealm: z.string().nullable(),
  hostIpAddresses: z.array(z.string()),
  vendorId: z.number().nullable(),
  productName: z.string().nullable(),
  firmwareRevision: z.number().nullable(),
  originStateId: z.number().nullable(),
  supportedVendorIds: z.array(z.number()),
  authApplications: z.array(z.object({ id: z.number(), name: z.string().nullable() })),
  acctApplications: z.array(z.object({ id: z.number(), name: z.string().nullable() })),
  vendorSpecificApplications: z.array(z.object({ vendorId: z.number().nullable(), authApplicationId: z.number().nullable(), acctApplicationId: z.number().nullable() })),
  inbandSecurity: z.array(z.string()),
  failedAvps: z.array(z.string()),
  avps: z.array(z.any()).describe('Every AVP of the CEA as decoded'),
});

const apps = (ids: number[]) => ids.map((id) => ({ id, name: APPLICATIONS[id] ?? null }));

function capabilitiesJson(m: Message) {
  const rc = values<number>(m, 'Result-Code')[0] ?? 0;
  const vsa = values<DecodedAvp[]>(m, 'Vendor-Specific-Application-Id').map((g) => {
    const of = (name: string) => (g.find((a) => a.name === name)?.value as number | undefined) ?? null;
    return { vendorId: of('Vendor-Id'), authApplicationId: of('Auth-Application-Id'), acctApplicationId: of('Acct-Application-Id') };
  });
  return {
    resultCode: rc,
    result: resultName(rc),
    errorMessage: values<string>(m, 'Error-Message')[0] ?? null,
    originHost: values<string>(m, 'Origin-Host')[0] ?? null,
    originRealm: values<string>(m, 'Origin-Realm')[0] ?? null,
    hostIpAddresses: values<string>(m, 'Host-IP-Address'),
    vendorId: values<number>(m, 'Vendor-Id')[0] ?? null,
    productName: values<string>(m, 'Product-Name')[0] ?? null,
    firmwareRevision: values<number>(m, 'Firmware-Revision')[0] ?? null,
    originStateId: values<number>(m, 'Origin-State-Id')[0] ?? null,
    supportedVendorIds: values<number>(m, 'Supported-Vendor-Id'),
    authApplications: apps(values<number>(m, 'Auth-Application-Id')),
    acctApplications: apps(values<number>(m, 'Acct-Application-Id')),
    vendorSpecificApplications: vsa,
    inbandSecurity: values<number>(m, 'Inband-Security-Id').map((n) => INBAND_SECURITY[n] ?? String(n)),
    failedAvps: values<DecodedAvp[]>(m, 'Failed-AVP').flatMap((g) => g.map((a) => a.name)),
    avps: m.avps,
  };
}

/** One Diameter peer connection: numbered requests, answers matched by hop-by-hop identifier. */
class Peer {
  private hop: number;
  private readonly e2e: number;

  constructor(
    readonly ctx: OperationContext,
    readonly conn: Conn,
    readonly input: PeerInput,
  ) {
    const r = ctx.crypto.randomBytes(8);
    this.hop = ((r[0] << 24) | (r[1] << 16) | (r[2] << 8) | r[3]) >>> 0;
    // RFC 6733 §3: the high 12 bits of the End-to-End Identifier from the clock, the low 20 random.
    this.e2e = ((((Date.now() / 1000) & 0xfff) << 20) | ((r[5] << 12) | (r[6] << 4) | (r[7] >> 4))) >>> 0;
  }

  async request(command: number, avps: Avp[]): Promise<{ answer: Message; rttMs: number }> {
    const hopByHop = this.hop++ >>> 0;
    const msg = { flags: FLAG.request, command, hopByHop, endToEnd: (this.e2e + hopByHop) >>> 0, avps };
    const bytes = encodeMessage(msg);
    const t0 = performance.now();
    await this.conn.write(bytes, { decode: describeMessage({ ...msg, applicationId: 0, avps: [] }).replace(/ \(0 AVPs\)$/, ` (${avps.length} AVPs)`) });
    for (let i = 0; i < 16; i++) {
      const m = decodeMessage(await this.conn.readFrame(frame, 'Diameter answer', (b) => describeMessage(decodeMessage(b))));
      if (m.flags & FLAG.request) {
        // A request of the peer's own (its DWR while we wait): answer the watchdog, ignore the rest.
        if (m.command === COMMAND.DeviceWatchdog) await this.answer(m, 2001);
        continue;
      }
      if (m.hopByHop !== hopByHop) throw new ProtocolError(`Diameter: an answer with hop-by-hop 0x${m.hopByHop.toString(16)}, expected 0x${hopByHop.toString(16)}`);
      if (m.command !== command) throw new ProtocolError(`Diameter: command ${m.command} answered command ${command}`);
      return { answer: m, rttMs: Math.round((performance.now() - t0) * 1000) / 1000 };
    }
    throw new ProtocolError('Diameter: the peer sent 16 requests and no answer');
  }

  async answer(req: Message, resultCode: number): Promise<void> {
    const avps = [avp(268, u32(resultCode)), ...originAvps(this.input.originHost, this.input.originRealm)];
    const msg = { flags: 0, command: req.command, hopByHop: req.hopByHop, endToEnd: req.endToEnd, avps };
    await this.conn.write(encodeMessage(msg), { decode: `${describeMessage({ ...msg, applicationId: 0, avps: [] })} ${resultCode}` });
  }

  /** §5.3 CER/CEA; a Result-Code other than success is the server's refusal, with its words. */
  async capabilities(): Promise<ReturnType<typeof capabilitiesJson>> {
    const local = this.conn.info().localAddress;
    const ip = this.input.hostIpAddress ?? (local ? splitHostPort(local).address.replace(/^::ffff:/, '') : '127.0.0.1');
    const { answer } = await this.request(
      COMMAND.CapabilitiesExchange,
      capabilitiesAvps({
        originHost: this.input.originHost,
        originRealm: this.input.originRealm,
        hostIpAddresses: [ip],
        vendorId: this.input.vendorId,
        productName: this.input.productName,
        originStateId: Math.floor(Date.now() / 1000) >>> 0,
        supportedVendorIds: this.input.supportedVendorIds,
        authApplicationIds: this.input.authApplicationIds,
        acctApplicationIds: this.input.acctApplicationIds,
        inbandSecurityIds: this.input.inbandSecurity ? [0] : [],
        firmwareRevision: this.input.firmwareRevision,
      }),
    );
    const cea = capabilitiesJson(answer);
    if (cea.resultCode !== 2001) {
      throw new ServerError(`the peer refused the capabilities exchange: ${cea.resultCode} ${cea.result}${cea.errorMessage ? `: ${cea.errorMessage}` : ''}`, { resultCode: cea.resultCode, result: cea.result, errorMessage: cea.errorMessage, originHost: cea.originHost, failedAvps: cea.failedAvps });
    }
    return cea;
  }

  /** §5.4 DPR/DPA: the peer's Result-Code to our disconnect. */
  async disconnect(cause: number): Promise<{ resultCode: number; result: string }> {
    const { answer } = await this.request(COMMAND.DisconnectPeer, [...originAvps(this.input.originHost, this.input.originRealm), disconnectCauseAvp(cause)]);
    const rc = values<number>(answer, 'Result-Code')[0] ?? 0;
    return { resultCode: rc, result: resultName(rc) };
  }
}

async function open(ctx: OperationContext, input: PeerInput) {
  const conn = await ctx.dial();
  const peer = new Peer(ctx, conn, input);
  const cea = await peer.capabilities();
  return { peer, cea };
}

const disconnectOut = z.object({ resultCode: z.number(), result: z.string() });

export default defineProtocol({
  id: 'diameter',
  title: 'Diameter',
  category: 'directory',
  summary: 'Connects to a Diameter peer (RFC 6733): capabilities exchange with the peer\'s identity, product, vendor and applications, device watchdog round trips, and a clean disconnect.',
  ports: [{ port: 3868, transport: 'tcp' }, { port: 5658, transport: 'tls', label: 'Diameter over TLS' }],
  specs: ['RFC 6733'],
  rating: {
    stars: 3,
    reason:
      'CER/CEA with every capability AVP both ways (Origin-Host/Realm, Host-IP-Address, Vendor-Id, Product-Name, Firmware-Revision, Origin-State-Id, Supported-Vendor-Id, Auth/Acct and vendor-specific applications, Inband-Security-Id), refusals with the peer\'s Result-Code and Error-Message (an unknown peer), DWR/DWA round trips, DPR/DPA, over TCP. Lab-tested against freeDiameter 1.2.1 through workerd. Not covered: TLS from the first byte is offered but not lab-tested (freeDiameter demands a client certificate, which Workers cannot present); SCTP (Workers open only TCP; the Node host has no SCTP either); in-band TLS after CER (RFC 3588); application messages (accounting, credit control, 3GPP interfaces).',
  },
  verifiedAgainst: 'freeDiameter 1.2.1',
  tls: { implicit: { port: 5658 } },
  defaultOperation: 'capabilities',
  identify: { unprobed: 'a Capabilities-Exchange-Request opens a peer session; not sent' },
  operations: {
    capabilities: operation({
      summary: 'Capabilities exchange (CER/CEA): the peer\'s identity, product, vendor, applications and security, then a clean disconnect (DPR/DPA)',
      input: z.object({ ...peerFields }),
      output: capabilitiesOut.extend({ disconnect: disconnectOut }),
      text: (r) =>
        [
          `${r.resultCode} ${r.result}${r.errorMessage ? `: ${r.errorMessage}` : ''}`,
          `Origin-Host: ${r.originHost}  Origin-Realm: ${r.originRealm}`,
          `Product: ${r.productName}${r.firmwareRevision !== null ? ` (firmware ${r.firmwareRevision})` : ''}, Vendor-Id ${r.vendorId}`,
          `Host-IP-Address: ${r.hostIpAddresses.join(', ')}`,
          `Auth applications: ${r.authApplications.map((a) => `${a.id}${a.name ? ` ${a.name}` : ''}`).join(', ') || 'none'}`,
          `Acct applications: ${r.acctApplications.map((a) => `${a.id}${a.name ? ` ${a.name}` : ''}`).join(', ') || 'none'}`,
          `Disconnect: ${r.disconnect.resultCode} ${r.disconnect.result}`,
        ].join('\n'),
      async run(ctx, input) {
        const { peer, cea } = await open(ctx, input);
        const disconnect = await peer.disconnect(DISCONNECT_CAUSES.DO_NOT_WANT_TO_TALK_TO_YOU);
        return { ...cea, disconnect };
      },
    }),
    watchdog: operation({
      summary: 'Device watchdog (DWR/DWA) round trips after the capabilities exchange, then DPR/DPA',
      input: z.object({ count: z.number().int().min(1).max(20).default(3).describe('Watchdog requests to send'), ...peerFields }),
      output: z.object({ originHost: z.string().nullable(), productName: z.string().nullable(), watchdogs: z.array(z.object({ resultCode: z.number(), result: z.string(), originStateId: z.number().nullable(), rttMs: z.number() })), disconnect: disconnectOut }),
      text: (r) => [...r.watchdogs.map((w, i) => `DWA ${i + 1}: ${w.resultCode} ${w.result} in ${w.rttMs} ms`), `Disconnect: ${r.disconnect.resultCode} ${r.disconnect.result}`].join('\n'),
      async run(ctx, input) {
        const { peer, cea } = await open(ctx, input);
        const watchdogs = [];
        for (let i = 0; i < input.count; i++) {
          const { answer, rttMs } = await peer.request(COMMAND.DeviceWatchdog, originAvps(input.originHost, input.originRealm));
          const rc = values<number>(answer, 'Result-Code')[0] ?? 0;
          watchdogs.push({ resultCode: rc, result: resultName(rc), originStateId: values<number>(answer, 'Origin-State-Id')[0] ?? null, rttMs });
        }
        return { originHost: cea.originHost, productName: cea.productName, watchdogs, disconnect: await peer.disconnect(DISCONNECT_CAUSES.DO_NOT_WANT_TO_TALK_TO_YOU) };
      },
    }),
    disconnect: operation({
      summary: 'Disconnect-Peer (DPR/DPA) with a chosen cause, after the capabilities exchange',
      input: z.object({ cause: z.enum(['REBOOTING', 'BUSY', 'DO_NOT_WANT_TO_TALK_TO_YOU']).default('DO_NOT_WANT_TO_TALK_TO_YOU').describe('Disconnect-Cause'), ...peerFields }),
      output: disconnectOut.extend({ cause: z.string(), originHost: z.string().nullable() }),
      text: (r) => `DPA from ${r.originHost}: ${r.resultCode} ${r.result} (cause ${r.cause})`,
      async run(ctx, input) {
        const { peer, cea } = await open(ctx, input);
        const r = await peer.disconnect(DISCONNECT_CAUSES[input.cause]);
        return { ...r, cause: input.cause, originHost: cea.originHost };
      },
    }),
  },
});
