// Diameter base protocol, RFC 6733: the message header (§3), AVPs (§4) and the base commands a peer connection
// lives on — Capabilities-Exchange (§5.3), Device-Watchdog (§5.5) and Disconnect-Peer (§5.4).
//
// How it works: a message is a 20-byte header whose 24-bit length covers the whole message, then AVPs, each a
// code, flags, a 24-bit length (header and data, not the padding), an optional Vendor-Id, and data padded to a
// multiple of 4. `messageFrame` cuts messages off a stream; `decodeMessage` reads the AVPs, recursing into the
// Grouped ones it knows (depth-capped); values are typed by a small dictionary of the base protocol's AVPs.
import { ByteReader, ByteWriter, fromUtf8, toHex, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const FLAG = { request: 0x80, proxiable: 0x40, error: 0x20, retransmit: 0x10 } as const;
export const AVP_FLAG = { vendor: 0x80, mandatory: 0x40, protected: 0x20 } as const;
export const COMMAND = { CapabilitiesExchange: 257, DeviceWatchdog: 280, DisconnectPeer: 282 } as const;
const COMMAND_NAMES: Record<number, [string, string]> = { 257: ['CER', 'CEA'], 280: ['DWR', 'DWA'], 282: ['DPR', 'DPA'], 258: ['RAR', 'RAA'], 271: ['ACR', 'ACA'], 274: ['ASR', 'ASA'], 275: ['STR', 'STA'] };

type AvpType = 'OctetString' | 'UTF8String' | 'DiameterIdentity' | 'Unsigned32' | 'Integer32' | 'Address' | 'Grouped' | 'Enumerated' | 'Time' | 'Unsigned64';

/** RFC 6733 §4.5 and §7: the base protocol's AVPs, with their types. */
export const AVPS: Record<number, { name: string; type: AvpType }> = {
  1: { name: 'User-Name', type: 'UTF8String' },
  25: { name: 'Class', type: 'OctetString' },
  27: { name: 'Session-Timeout', type: 'Unsigned32' },
  33: { name: 'Proxy-State', type: 'OctetString' },
  44: { name: 'Accounting-Session-Id', type: 'OctetString' },
  50: { name: 'Acct-Multi-Session-Id', type: 'UTF8String' },
  55: { name: 'Event-Timestamp', type: 'Time' },
  85: { name: 'Acct-Interim-Interval', type: 'Unsigned32' },
  257: { name: 'Host-IP-Address', type: 'Address' },
  258: { name: 'Auth-Application-Id', type: 'Unsigned32' },
  259: { name: 'Acct-Application-Id', type: 'Unsigned32' },
  260: { name: 'Vendor-Specific-Application-Id', type: 'Grouped' },
  261: { name: 'Redirect-Host-Usage', type: 'Enumerated' },
  262: { name: 'Redirect-Max-Cache-Time', type: 'Unsigned32' },
  263: { name: 'Session-Id', type: 'UTF8String' },
  264: { name: 'Origin-Host', type: 'DiameterIdentity' },
  265: { name: 'Supported-Vendor-Id', type: 'Unsigned32' },
  266: { name: 'Vendor-Id', type: 'Unsigned32' },
  267: { name: 'Firmware-Revision', type: 'Unsigned32' },
  268: { name: 'Result-Code', type: 'Unsigned32' },
  269: { name: 'Product-Name', type: 'UTF8String' },
  270: { name: 'Session-Binding', type: 'Unsigned32' },
  271: { name: 'Session-Server-Failover', type: 'Enumerated' },
  272: { name: 'Multi-Round-Time-Out', type: 'Unsigned32' },
  273: { name: 'Disconnect-Cause', type: 'Enumerated' },
  274: { name: 'Auth-Request-Type', type: 'Enumerated' },
  276: { name: 'Auth-Grace-Period', type: 'Unsigned32' },
  277: { name: 'Auth-Session-State', type: 'Enumerated' },
  278: { name: 'Origin-State-Id', type: 'Unsigned32' },
  279: { name: 'Failed-AVP', type: 'Grouped' },
  280: { name: 'Proxy-Host', type: 'DiameterIdentity' },
  281: { name: 'Error-Message', type: 'UTF8String' },
  282: { name: 'Route-Record', type: 'DiameterIdentity' },
  283: { name: 'Destination-Realm', type: 'DiameterIdentity' },
  284: { name: 'Proxy-Info', type: 'Grouped' },
  285: { name: 'Re-Auth-Request-Type', type: 'Enumerated' },
  287: { name: 'Accounting-Sub-Session-Id', type: 'Unsigned64' },
  291: { name: 'Authorization-Lifetime', type: 'Integer32' },
  292: { name: 'Redirect-Host', type: 'OctetString' },
  293: { name: 'Destination-Host', type: 'DiameterIdentity' },
  294: { name: 'Error-Reporting-Host', type: 'DiameterIdentity' },
  295: { name: 'Termination-Cause', type: 'Enumerated' },
  296: { name: 'Origin-Realm', type: 'DiameterIdentity' },
  297: { name: 'Experimental-Result', type: 'Grouped' },
  298: { name: 'Experimental-Result-Code', type: 'Unsigned32' },
  299: { name: 'Inband-Security-Id', type: 'Unsigned32' },
  480: { name: 'Accounting-Record-Type', type: 'Enumerated' },
  483: { name: 'Accounting-Realtime-Required', type: 'Enumerated' },
  485: { name: 'Accounting-Record-Number', type: 'Unsigned32' },
};
const AVP_CODE = Object.fromEntries(Object.entries(AVPS).map(([code, d]) => [d.name, Number(code)])) as Record<string, number>;

/** RFC 6733 §7.1 Result-Code values. */
export const RESULT_CODES: Record<number, string> = {
  1001: 'DIAMETER_MULTI_ROUND_AUTH',
  2001: 'DIAMETER_SUCCESS',
  2002: 'DIAMETER_LIMITED_SUCCESS',
  3001: 'DIAMETER_COMMAND_UNSUPPORTED',
  3002: 'DIAMETER_UNABLE_TO_DELIVER',
  3003: 'DIAMETER_REALM_NOT_SERVED',
  3004: 'DIAMETER_TOO_BUSY',
  3005: 'DIAMETER_LOOP_DETECTED',
  3006: 'DIAMETER_REDIRECT_INDICATION',
  3007: 'DIAMETER_APPLICATION_UNSUPPORTED',
  3008: 'DIAMETER_INVALID_HDR_BITS',
  3009: 'DIAMETER_INVALID_AVP_BITS',
  3010: 'DIAMETER_UNKNOWN_PEER',
  4001: 'DIAMETER_AUTHENTICATION_REJECTED',
  4002: 'DIAMETER_OUT_OF_SPACE',
  4003: 'ELECTION_LOST',
  5001: 'DIAMETER_AVP_UNSUPPORTED',
  5002: 'DIAMETER_UNKNOWN_SESSION_ID',
  5003: 'DIAMETER_AUTHORIZATION_REJECTED',
  5004: 'DIAMETER_INVALID_AVP_VALUE',
  5005: 'DIAMETER_MISSING_AVP',
  5006: 'DIAMETER_RESOURCES_EXCEEDED',
  5007: 'DIAMETER_CONTRADICTING_AVPS',
  5008: 'DIAMETER_AVP_NOT_ALLOWED',
  5009: 'DIAMETER_AVP_OCCURS_TOO_MANY_TIMES',
  5010: 'DIAMETER_NO_COMMON_APPLICATION',
  5011: 'DIAMETER_UNSUPPORTED_VERSION',
  5012: 'DIAMETER_UNABLE_TO_COMPLY',
  5013: 'DIAMETER_INVALID_BIT_IN_HEADER',
  5014: 'DIAMETER_INVALID_AVP_LENGTH',
  5015: 'DIAMETER_INVALID_MESSAGE_LENGTH',
  5016: 'DIAMETER_INVALID_AVP_BIT_COMBO',
  5017: 'DIAMETER_NO_COMMON_SECURITY',
};

/** Application identifiers users meet (IANA "Application IDs"). */
export const APPLICATIONS: Record<number, string> = {
  0: 'Diameter common messages',
  1: 'NASREQ (RFC 7155)',
  2: 'Mobile IPv4 (RFC 4004)',
  3: 'Diameter base accounting',
  4: 'Credit-Control (RFC 4006)',
  5: 'EAP (RFC 4072)',
  6: 'SIP (RFC 4740)',
  16777216: '3GPP Cx',
  16777217: '3GPP Sh',
  16777238: '3GPP Gx',
  16777251: '3GPP S6a/S6d',
  16777252: '3GPP S13',
  16777272: '3GPP S6b',
  0xffffffff: 'Relay',
};

export const DISCONNECT_CAUSES = { REBOOTING: 0, BUSY: 1, DO_NOT_WANT_TO_TALK_TO_YOU: 2 } as const;
/** RFC 6733 §6.10 Inband-Security-Id. */
export const INBAND_SECURITY = ['NO_INBAND_SECURITY', 'TLS'];

export interface Avp {
  code: number;
  flags: number;
  vendorId?: number;
  data: Uint8Array;
}

export interface DecodedAvp {
  code: number;
  name: string;
  vendorId?: number;
  mandatory: boolean;
  value: string | number | DecodedAvp[];
}

export interface Message {
  flags: number;
  command: number;
  applicationId: number;
  hopByHop: number;
  endToEnd: number;
  avps: DecodedAvp[];
}

// Encoding

export function avp(code: number, data: Uint8Array, o: { mandatory?: boolean; vendorId?: number } = {}): Avp {
  return { code, flags: (o.mandatory ?? true ? AVP_FLAG.mandatory : 0) | (o.vendorId !== undefined ? AVP_FLAG.vendor : 0), vendorId: o.vendorId, data };
}

export const u32 = (n: number) => new ByteWriter(4).u32(n >>> 0).finish();

/** §4.3.1 Address: a 2-byte address family (1 IPv4, 2 IPv6) and the address. */
export function address(ip: string): Uint8Array {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) return new ByteWriter(6).u16(1).bytes(Uint8Array.from(v4.slice(1).map(Number))).finish();
  const groups = expandIpv6(ip);
  const w = new ByteWriter(18).u16(2);
  for (const g of groups) w.u16(g);
  return w.finish();
}

function expandIpv6(ip: string): number[] {
  const [head, tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined ? (tail ? tail.split(':') : []) : [];
  const fill = tail !== undefined ? 8 - h.length - t.length : 0;
  const all = [...h, ...Array(Math.max(0, fill)).fill('0'), ...t];
  if (all.length !== 8 || all.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) throw new ProtocolError(`not an IP address: ${ip}`);
  return all.map((g) => parseInt(g, 16));
}

export function encodeAvps(avps: readonly Avp[]): Uint8Array {
  const w = new ByteWriter(256);
  for (const a of avps) {
    const header = a.vendorId !== undefined ? 12 : 8;
    w.u32(a.code).u8(a.flags).u24(header + a.data.length);
    if (a.vendorId !== undefined) w.u32(a.vendorId);
    w.bytes(a.data);
    for (let i = (header + a.data.length) % 4; i !== 0 && i < 4; i++) w.u8(0);
  }
  return w.finish();
}

/** §3 Diameter header and the AVPs. */
export function encodeMessage(m: { flags: number; command: number; applicationId?: number; hopByHop: number; endToEnd: number; avps: readonly Avp[] }): Uint8Array {
  const body = encodeAvps(m.avps);
  return new ByteWriter(20 + body.length)
    .u8(1)
    .u24(20 + body.length)
    .u8(m.flags)
    .u24(m.command)
    .u32(m.applicationId ?? 0)
    .u32(m.hopByHop >>> 0)
    .u32(m.endToEnd >>> 0)
    .bytes(body)
    .finish();
}

export interface Capabilities {
  originHost: string;
  originRealm: string;
  hostIpAddresses: string[];
  vendorId: number;
  productName: string;
  originStateId?: number;
  supportedVendorIds?: number[];
  authApplicationIds?: number[];
  acctApplicationIds?: number[];
  vendorSpecificApplications?: { vendorId: number; authApplicationId?: number; acctApplicationId?: number }[];
  inbandSecurityIds?: number[];
  firmwareRevision?: number;
}

/** §5.3.1 Capabilities-Exchange-Request. */
export function capabilitiesAvps(c: Capabilities): Avp[] {
  return [
    avp(AVP_CODE['Origin-Host'], utf8(c.originHost)),
    avp(AVP_CODE['Origin-Realm'], utf8(c.originRealm)),
    ...c.hostIpAddresses.map((ip) => avp(AVP_CODE['Host-IP-Address'], address(ip))),
    avp(AVP_CODE['Vendor-Id'], u32(c.vendorId)),
    avp(AVP_CODE['Product-Name'], utf8(c.productName), { mandatory: false }),
    ...(c.originStateId !== undefined ? [avp(AVP_CODE['Origin-State-Id'], u32(c.originStateId))] : []),
    ...(c.supportedVendorIds ?? []).map((v) => avp(AVP_CODE['Supported-Vendor-Id'], u32(v))),
    ...(c.authApplicationIds ?? []).map((v) => avp(AVP_CODE['Auth-Application-Id'], u32(v))),
    ...(c.inbandSecurityIds ?? []).map((v) => avp(AVP_CODE['Inband-Security-Id'], u32(v))),
    ...(c.acctApplicationIds ?? []).map((v) => avp(AVP_CODE['Acct-Application-Id'], u32(v))),
    ...(c.vendorSpecificApplications ?? []).map((v) =>
      avp(
        AVP_CODE['Vendor-Specific-Application-Id'],
        encodeAvps([
          avp(AVP_CODE['Vendor-Id'], u32(v.vendorId)),
          ...(v.authApplicationId !== undefined ? [avp(AVP_CODE['Auth-Application-Id'], u32(v.authApplicationId))] : []),
          ...(v.acctApplicationId !== undefined ? [avp(AVP_CODE['Acct-Application-Id'], u32(v.acctApplicationId))] : []),
        ]),
      ),
    ),
    ...(c.firmwareRevision !== undefined ? [avp(AVP_CODE['Firmware-Revision'], u32(c.firmwareRevision), { mandatory: false })] : []),
  ];
}

/** The Origin-Host, Origin-Realm (and Origin-State-Id) every base message carries. */
export function originAvps(host: string, realm: string): Avp[] {
  return [avp(AVP_CODE['Origin-Host'], utf8(host)), avp(AVP_CODE['Origin-Realm'], utf8(realm))];
}

export function disconnectCauseAvp(cause: number): Avp {
  return avp(AVP_CODE['Disconnect-Cause'], u32(cause));
}

// Decoding

export const MAX_MESSAGE = 1024 * 1024;
const MAX_DEPTH = 8;
const MAX_AVPS = 4096;

/** A whole message off a stream: version 1, then a 24-bit length covering the message. */
export function messageFrame(max = MAX_MESSAGE): Frame<Uint8Array> {
  return (buf) => {
    if (buf.length >= 1 && buf[0] !== 1) throw new ProtocolError(`Diameter: version ${buf[0]}, expected 1 (RFC 6733 §3)`);
    if (buf.length < 4) return undefined;
    const len = (buf[1] << 16) | (buf[2] << 8) | buf[3];
    if (len < 20 || len % 4 !== 0) throw new ProtocolError(`Diameter: message length ${len} (at least 20, a multiple of 4)`);
    if (len > max) throw new ProtocolError(`Diameter: message of ${len} bytes exceeds ${max}`);
    if (buf.length < len) return undefined;
    return { value: buf.slice(0, len), size: len };
  };
}

function valueOf(code: number, data: Uint8Array, depth: number): DecodedAvp['value'] {
  const type = AVPS[code]?.type ?? 'OctetString';
  switch (type) {
    case 'Unsigned32':
    case 'Enumerated':
    case 'Time':
      if (data.length !== 4) throw new ProtocolError(`Diameter AVP ${code}: ${type} of ${data.length} bytes`);
      return new ByteReader(data).u32();
    case 'Integer32':
      if (data.length !== 4) throw new ProtocolError(`Diameter AVP ${code}: Integer32 of ${data.length} bytes`);
      return new ByteReader(data).i32();
    case 'Unsigned64':
      if (data.length !== 8) throw new ProtocolError(`Diameter AVP ${code}: Unsigned64 of ${data.length} bytes`);
      return new ByteReader(data).u64().toString();
    case 'UTF8String':
    case 'DiameterIdentity':
      return fromUtf8(data);
    case 'Address': {
      const r = new ByteReader(data);
      const family = r.u16('address family');
      if (family === 1 && r.remaining === 4) return [...r.bytesN(4)].join('.');
      if (family === 2 && r.remaining === 16) {
        const g: string[] = [];
        for (let i = 0; i < 8; i++) g.push(r.u16().toString(16));
        return g.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
      }
      return `family ${family}: ${toHex(r.rest())}`;
    }
    case 'Grouped':
      return decodeAvps(data, depth + 1);
    default:
      return toHex(data);
  }
}

export function decodeAvps(bytes: Uint8Array, depth = 0): DecodedAvp[] {
  if (depth > MAX_DEPTH) throw new ProtocolError(`Diameter: Grouped AVPs nested deeper than ${MAX_DEPTH}`);
  const r = new ByteReader(bytes);
  const out: DecodedAvp[] = [];
  while (!r.done) {
    if (out.length >= MAX_AVPS) throw new ProtocolError(`Diameter: more than ${MAX_AVPS} AVPs`);
    const code = r.u32('AVP Code');
    const flags = r.u8('AVP Flags');
    const len = r.u24('AVP Length');
    const vendor = (flags & AVP_FLAG.vendor) !== 0;
    const header = vendor ? 12 : 8;
    if (len < header) throw new ProtocolError(`Diameter AVP ${code}: length ${len} shorter than its header`);
    const vendorId = vendor ? r.u32('Vendor-ID') : undefined;
    const data = r.bytesN(len - header, `AVP ${code} data`);
    r.skip(Math.min((4 - (len % 4)) % 4, r.remaining), 'AVP padding');
    const known = vendorId === undefined ? AVPS[code] : undefined;
    out.push({ code, name: known?.name ?? (vendorId !== undefined ? `vendor ${vendorId} AVP ${code}` : `AVP ${code}`), ...(vendorId !== undefined ? { vendorId } : {}), mandatory: (flags & AVP_FLAG.mandatory) !== 0, value: known ? valueOf(code, data, depth) : toHex(data) });
  }
  return out;
}

export function decodeMessage(bytes: Uint8Array): Message {
  const r = new ByteReader(bytes);
  const version = r.u8('Version');
  if (version !== 1) throw new ProtocolError(`Diameter: version ${version}`);
  const length = r.u24('Message Length');
  if (length !== bytes.length) throw new ProtocolError(`Diameter: Message Length ${length} but ${bytes.length} bytes`);
  const flags = r.u8('Command Flags');
  const command = r.u24('Command Code');
  const applicationId = r.u32('Application-ID');
  const hopByHop = r.u32('Hop-by-Hop Identifier');
  const endToEnd = r.u32('End-to-End Identifier');
  return { flags, command, applicationId, hopByHop, endToEnd, avps: decodeAvps(r.rest()) };
}

export function commandName(m: Pick<Message, 'command' | 'flags'>): string {
  const n = COMMAND_NAMES[m.command];
  return n ? n[m.flags & FLAG.request ? 0 : 1] : `command ${m.command}${m.flags & FLAG.request ? ' request' : ' answer'}`;
}

export function resultName(code: number): string {
  return RESULT_CODES[code] ?? `Result-Code ${code}`;
}

/** All values of one AVP at the top level. */
export function values<T extends DecodedAvp['value']>(m: { avps: DecodedAvp[] }, name: string): T[] {
  return m.avps.filter((a) => a.name === name).map((a) => a.value as T);
}

export function describeMessage(m: Message): string {
  const rc = values<number>(m, 'Result-Code')[0];
  const host = values<string>(m, 'Origin-Host')[0];
  return `${commandName(m)}${m.flags & FLAG.error ? ' (E bit)' : ''} hop-by-hop 0x${m.hopByHop.toString(16)}${host ? ` from ${host}` : ''}${rc !== undefined ? ` ${rc} ${resultName(rc)}` : ''} (${m.avps.length} AVPs)`;
}
