// BGP-4 (RFC 4271) messages: the header, OPEN with capabilities (RFC 5492: multiprotocol RFC 4760,
// route refresh RFC 2918, 4-octet AS RFC 6793, ADD-PATH RFC 7911, graceful restart RFC 4724,
// hostname), UPDATE with its path attributes (communities RFC 1997, large communities RFC 8092,
// MP_REACH/MP_UNREACH), KEEPALIVE and NOTIFICATION (RFC 4271 section 4.5, cease subcodes RFC 4486).
// Sans I/O.
import { ByteReader, ByteWriter, fromUtf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';
import { formatIp, parseIpv4Strict } from '../../core/ip.ts';

const HEADER = 19;
/** RFC 4271 section 4.1: 4096 bytes, or 65535 with the extended message capability (RFC 8654). */
const MAX_MESSAGE = 65535;
const MAX_ITEMS = 10_000;

export const TYPES: Record<number, string> = { 1: 'OPEN', 2: 'UPDATE', 3: 'NOTIFICATION', 4: 'KEEPALIVE', 5: 'ROUTE-REFRESH' };
export const AS_TRANS = 23456;

export interface RawMessage {
  type: number;
  body: Uint8Array;
}

/** Marker (16 bytes of 0xff), length, type. */
export const messageFrame: Frame<RawMessage> = (buf) => {
  if (buf.length < HEADER) {
    for (let i = 0; i < Math.min(buf.length, 16); i++) if (buf[i] !== 0xff) throw new ProtocolError('BGP marker is not 16 bytes of 0xff: not a BGP speaker');
    return undefined;
  }
  for (let i = 0; i < 16; i++) if (buf[i] !== 0xff) throw new ProtocolError('BGP marker is not 16 bytes of 0xff: not a BGP speaker');
  const length = (buf[16] << 8) | buf[17];
  if (length < HEADER || length > MAX_MESSAGE) throw new ProtocolError(`BGP message length ${length} is outside 19–65535`);
  if (buf.length < length) return undefined;
  return { value: { type: buf[18], body: buf.slice(HEADER, length) }, size: length };
};

export function encodeMessage(type: number, body: Uint8Array): Uint8Array {
  return new ByteWriter(HEADER + body.length).bytes(new Uint8Array(16).fill(0xff)).u16(HEADER + body.length).u8(type).bytes(body).finish();
}

export const KEEPALIVE = encodeMessage(4, new Uint8Array(0));

export type Family = 'ipv4-unicast' | 'ipv6-unicast' | 'ipv4-multicast' | 'ipv6-multicast' | 'ipv4-labeled' | 'ipv4-vpn' | 'l2vpn-evpn' | 'ipv4-flowspec';

const FAMILIES: Record<string, Family> = { '1/1': 'ipv4-unicast', '2/1': 'ipv6-unicast', '1/2': 'ipv4-multicast', '2/2': 'ipv6-multicast', '1/4': 'ipv4-labeled', '1/128': 'ipv4-vpn', '25/70': 'l2vpn-evpn', '1/133': 'ipv4-flowspec' };

export function familyName(afi: number, safi: number): string {
  return FAMILIES[`${afi}/${safi}`] ?? `afi ${afi} safi ${safi}`;
}

export function familyCode(f: Family): { afi: number; safi: number } {
  const key = Object.entries(FAMILIES).find(([, v]) => v === f)![0];
  const [afi, safi] = key.split('/').map(Number);
  return { afi, safi };
}

export type Capability =
  | { code: 1; name: 'multiprotocol'; family: string }
  | { code: 2; name: 'route-refresh' }
  | { code: 6; name: 'extended-message' }
  | { code: 64; name: 'graceful-restart'; restartTime: number; families: string[] }
  | { code: 65; name: '4-octet-as'; as: number }
  | { code: 69; name: 'add-path'; families: { family: string; mode: 'receive' | 'send' | 'both' }[] }
  | { code: 70; name: 'enhanced-route-refresh' }
  | { code: 73; name: 'hostname'; hostname: string; domain: string }
  | { code: number; name: string; hex: string };

const ADD_PATH_MODES = { 1: 'receive', 2: 'send', 3: 'both' } as const;
const CAP_NAMES: Record<number, string> = { 5: 'extended-next-hop', 71: 'long-lived-graceful-restart', 9: 'bgp-role', 128: 'route-refresh (old Cisco)', 131: 'multisession' };

function decodeCapability(code: number, v: Uint8Array): Capability {
  const r = new ByteReader(v);
  switch (code) {
    case 1: {
      const afi = r.u16('AFI');
      r.u8('reserved');
      return { code, name: 'multiprotocol', family: familyName(afi, r.u8('SAFI')) };
    }
    case 2:
      return { code, name: 'route-refresh' };
    case 6:
      return { code, name: 'extended-message' };
    case 64: {
      const restartTime = r.u16('restart flags and time') & 0x0fff;
      const families: string[] = [];
      while (r.remaining >= 4) {
        const afi = r.u16('AFI');
        const safi = r.u8('SAFI');
        r.u8('flags');
        families.push(familyName(afi, safi));
      }
      return { code, name: 'graceful-restart', restartTime, families };
    }
    case 65:
      return { code, name: '4-octet-as', as: r.u32('4-octet AS') };
    case 69: {
      const families: { family: string; mode: 'receive' | 'send' | 'both' }[] = [];
      while (r.remaining >= 4) {
        const afi = r.u16('AFI');
        const safi = r.u8('SAFI');
        const m = r.u8('send/receive');
        families.push({ family: familyName(afi, safi), mode: ADD_PATH_MODES[m as 1 | 2 | 3] ?? 'both' });
      }
      return { code, name: 'add-path', families };
    }
    case 70:
      return { code, name: 'enhanced-route-refresh' };
    case 73: {
      const hostname = fromUtf8(r.lengthPrefixed('u8', 'hostname'));
      const domain = r.remaining > 0 ? fromUtf8(r.lengthPrefixed('u8', 'domain name')) : '';
      return { code, name: 'hostname', hostname, domain };
    }
    default:
      return { code, name: CAP_NAMES[code] ?? `capability ${code}`, hex: Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('') };
  }
}

export interface Open {
  version: number;
  /** The 2-byte My Autonomous System field (AS_TRANS when the real one needs 4 octets). */
  myAs: number;
  holdTime: number;
  bgpId: string;
  capabilities: Capability[];
  /** The speaker's AS: from the 4-octet AS capability when present. */
  as: number;
}

export function decodeOpen(body: Uint8Array): Open {
  const r = new ByteReader(body);
  const version = r.u8('version');
  const myAs = r.u16('My Autonomous System');
  const holdTime = r.u16('Hold Time');
  const bgpId = formatIp({ family: 4, bytes: r.bytesN(4, 'BGP Identifier') });
  let paramsLength = r.u8('Optional Parameters Length');
  let extended = false;
  // RFC 9072: 255 then type 255 announces extended (2-byte) parameter lengths.
  if (paramsLength === 255 && r.peekU8('non-ext op type') === 255) {
    r.u8('non-ext op type');
    paramsLength = r.u16('extended parameters length');
    extended = true;
  }
  const params = new ByteReader(r.bytesN(paramsLength, 'Optional Parameters'));
  const capabilities: Capability[] = [];
  while (!params.done) {
    const type = params.u8('parameter type');
    const len = extended ? params.u16('parameter length') : params.u8('parameter length');
    const value = new ByteReader(params.bytesN(len, 'parameter value'));
    if (type !== 2) continue;
    while (!value.done) {
      if (capabilities.length >= 256) throw new ProtocolError('more than 256 BGP capabilities');
      const code = value.u8('capability code');
      capabilities.push(decodeCapability(code, value.lengthPrefixed('u8', `capability ${code}`)));
    }
  }
  const four = capabilities.find((c) => c.code === 65) as { as: number } | undefined;
  return { version, myAs, holdTime, bgpId, capabilities, as: four?.as ?? myAs };
}

export interface OpenOptions {
  as: number;
  holdTime: number;
  bgpId: string;
  families: Family[];
  routeRefresh: boolean;
  fourOctetAs: boolean;
  addPath: boolean;
  /** Graceful restart capability (RFC 4724) as a helper: no restart state, so the peer sends End-of-RIB. */
  gracefulRestart?: boolean;
  hostname?: string;
}

export function encodeOpen(o: OpenOptions): Uint8Array {
  const caps = new ByteWriter(128);
  const cap = (code: number, value: Uint8Array) => caps.u8(code).lengthPrefixed('u8', value);
  for (const f of o.families) {
    const { afi, safi } = familyCode(f);
    cap(1, new ByteWriter(4).u16(afi).u8(0).u8(safi).finish());
  }
  if (o.routeRefresh) cap(2, new Uint8Array(0));
  if (o.fourOctetAs) cap(65, new ByteWriter(4).u32(o.as).finish());
  if (o.addPath) {
    const w = new ByteWriter(16);
    for (const f of o.families) {
      const { afi, safi } = familyCode(f);
      w.u16(afi).u8(safi).u8(1);
    }
    cap(69, w.finish());
  }
  if (o.gracefulRestart) cap(64, new ByteWriter(2).u16(0).finish());
  if (o.hostname) cap(73, new ByteWriter(64).lengthPrefixed('u8', o.hostname).u8(0).finish());
  const capBytes = caps.finish();
  const id = parseIpv4Strict(o.bgpId);
  if (!id) throw new ProtocolError(`BGP identifier ${o.bgpId} is not an IPv4 address`);
  const body = new ByteWriter(64 + capBytes.length)
    .u8(4)
    .u16(o.as > 0xffff ? AS_TRANS : o.as)
    .u16(o.holdTime)
    .bytes(id.bytes)
    .u8(capBytes.length + 2)
    .u8(2)
    .lengthPrefixed('u8', capBytes)
    .finish();
  return encodeMessage(1, body);
}

/** RFC 4271 section 4.5 and 6, RFC 4486 (cease), RFC 8203 (shutdown communication). */
export const NOTIFICATION_CODES: Record<number, { name: string; subcodes: Record<number, string> }> = {
  1: { name: 'Message Header Error', subcodes: { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' } },
  2: { name: 'OPEN Message Error', subcodes: { 1: 'Unsupported Version Number', 2: 'Bad Peer AS', 3: 'Bad BGP Identifier', 4: 'Unsupported Optional Parameter', 6: 'Unacceptable Hold Time', 7: 'Unsupported Capability', 8: 'Role Mismatch' } },
  3: { name: 'UPDATE Message Error', subcodes: { 1: 'Malformed Attribute List', 2: 'Unrecognized Well-known Attribute', 3: 'Missing Well-known Attribute', 4: 'Attribute Flags Error', 5: 'Attribute Length Error', 6: 'Invalid ORIGIN Attribute', 8: 'Invalid NEXT_HOP Attribute', 9: 'Optional Attribute Error', 10: 'Invalid Network Field', 11: 'Malformed AS_PATH' } },
  4: { name: 'Hold Timer Expired', subcodes: {} },
  5: { name: 'Finite State Machine Error', subcodes: { 1: 'Unexpected Message in OpenSent State', 2: 'Unexpected Message in OpenConfirm State', 3: 'Unexpected Message in Established State' } },
  6: { name: 'Cease', subcodes: { 1: 'Maximum Number of Prefixes Reached', 2: 'Administrative Shutdown', 3: 'Peer De-configured', 4: 'Administrative Reset', 5: 'Connection Rejected', 6: 'Other Configuration Change', 7: 'Connection Collision Resolution', 8: 'Out of Resources', 9: 'Hard Reset', 10: 'BFD Down' } },
  7: { name: 'ROUTE-REFRESH Message Error', subcodes: { 1: 'Invalid Message Length' } },
};

export interface Notification {
  code: number;
  subcode: number;
  codeName: string;
  subcodeName: string;
  /** RFC 8203: the shutdown communication of a Cease/Administrative Shutdown or Reset, when sent. */
  message?: string;
  dataHex: string;
}

export function decodeNotification(body: Uint8Array): Notification {
  const r = new ByteReader(body);
  const code = r.u8('error code');
  const subcode = r.u8('error subcode');
  const data = r.rest();
  const c = NOTIFICATION_CODES[code];
  let message: string | undefined;
  if (code === 6 && (subcode === 2 || subcode === 4) && data.length > 0 && data[0] + 1 <= data.length) message = fromUtf8(data.subarray(1, 1 + data[0]));
  return { code, subcode, codeName: c?.name ?? `error code ${code}`, subcodeName: c?.subcodes[subcode] ?? (subcode === 0 ? 'unspecific' : `subcode ${subcode}`), message, dataHex: Array.from(data, (b) => b.toString(16).padStart(2, '0')).join('') };
}

export function encodeNotification(code: number, subcode: number, message?: string): Uint8Array {
  const w = new ByteWriter(140).u8(code).u8(subcode);
  if (message !== undefined) w.lengthPrefixed('u8', message.slice(0, 128));
  return encodeMessage(3, w.finish());
}

export interface Route {
  family: string;
  prefix: string;
  pathId?: number;
}

function readPrefixes(bytes: Uint8Array, afi: number, family: string, addPath: boolean): Route[] {
  const r = new ByteReader(bytes);
  const out: Route[] = [];
  const width = afi === 2 ? 16 : 4;
  while (!r.done) {
    if (out.length >= MAX_ITEMS) throw new ProtocolError(`more than ${MAX_ITEMS} prefixes in one UPDATE`);
    const pathId = addPath ? r.u32('path identifier') : undefined;
    const bits = r.u8('prefix length');
    if (bits > width * 8) throw new ProtocolError(`prefix length ${bits} is longer than an ${afi === 2 ? 'IPv6' : 'IPv4'} address`);
    const addr = new Uint8Array(width);
    addr.set(r.bytesN(Math.ceil(bits / 8), 'prefix'));
    out.push({ family, prefix: `${formatIp({ family: afi === 2 ? 6 : 4, bytes: addr })}/${bits}`, ...(pathId !== undefined ? { pathId } : {}) });
  }
  return out;
}

export interface PathAttributes {
  origin?: 'IGP' | 'EGP' | 'INCOMPLETE';
  asPath?: { type: 'sequence' | 'set' | 'confed-sequence' | 'confed-set'; asns: number[] }[];
  nextHop?: string[];
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: { as: number; address: string };
  communities?: string[];
  largeCommunities?: string[];
  extendedCommunities?: string[];
  /** Attributes not decoded here, by type code. */
  other?: { type: number; hex: string }[];
}

export interface Update {
  withdrawn: Route[];
  announced: Route[];
  attributes: PathAttributes;
  /** An End-of-RIB marker (RFC 4724 section 2): the family the peer has finished sending. */
  endOfRib?: string;
}

const WELL_KNOWN_COMMUNITIES: Record<number, string> = { 0xffffff01: 'NO_EXPORT', 0xffffff02: 'NO_ADVERTISE', 0xffffff03: 'NO_EXPORT_SUBCONFED', 0xffff029a: 'BLACKHOLE', 0xffff0000: 'GRACEFUL_SHUTDOWN' };

/** UPDATE (RFC 4271 section 4.3). `fourOctet`: AS_PATH carries 4-byte ASNs (both sides sent the capability). */
export function decodeUpdate(body: Uint8Array, opts: { fourOctet: boolean; addPath: Set<string> }): Update {
  const r = new ByteReader(body);
  const withdrawn = readPrefixes(r.lengthPrefixed('u16', 'Withdrawn Routes'), 1, 'ipv4-unicast', opts.addPath.has('ipv4-unicast'));
  const attrBytes = r.lengthPrefixed('u16', 'Path Attributes');
  const nlri = readPrefixes(r.rest(), 1, 'ipv4-unicast', opts.addPath.has('ipv4-unicast'));
  const attributes: PathAttributes = {};
  const announced: Route[] = [...nlri];
  let endOfRib: string | undefined;
  if (withdrawn.length === 0 && attrBytes.length === 0 && nlri.length === 0) endOfRib = 'ipv4-unicast';
  const a = new ByteReader(attrBytes);
  let count = 0;
  while (!a.done) {
    if (++count > 256) throw new ProtocolError('more than 256 path attributes');
    const flags = a.u8('attribute flags');
    const type = a.u8('attribute type');
    const len = flags & 0x10 ? a.u16('attribute length') : a.u8('attribute length');
    const v = a.bytesN(len, `attribute ${type}`);
    const vr = new ByteReader(v);
    switch (type) {
      case 1:
        attributes.origin = (['IGP', 'EGP', 'INCOMPLETE'] as const)[vr.u8('ORIGIN')] ?? 'INCOMPLETE';
        break;
      case 2: {
        const segs: NonNullable<PathAttributes['asPath']> = [];
        while (!vr.done) {
          const t = vr.u8('segment type');
          const n = vr.u8('segment length');
          const asns: number[] = [];
          for (let i = 0; i < n; i++) asns.push(opts.fourOctet ? vr.u32('ASN') : vr.u16('ASN'));
          segs.push({ type: ({ 1: 'set', 2: 'sequence', 3: 'confed-sequence', 4: 'confed-set' } as const)[t as 1 | 2 | 3 | 4] ?? 'sequence', asns });
        }
        attributes.asPath = segs;
        break;
      }
      case 3:
        attributes.nextHop = [formatIp({ family: 4, bytes: vr.bytesN(4, 'NEXT_HOP') })];
        break;
      case 4:
        attributes.med = vr.u32('MULTI_EXIT_DISC');
        break;
      case 5:
        attributes.localPref = vr.u32('LOCAL_PREF');
        break;
      case 6:
        attributes.atomicAggregate = true;
        break;
      case 7:
        attributes.aggregator = v.length === 8 ? { as: vr.u32('AGGREGATOR AS'), address: formatIp({ family: 4, bytes: vr.bytesN(4, 'AGGREGATOR') }) } : { as: vr.u16('AGGREGATOR AS'), address: formatIp({ family: 4, bytes: vr.bytesN(4, 'AGGREGATOR') }) };
        break;
      case 8: {
        const list: string[] = [];
        while (vr.remaining >= 4) {
          const c = vr.u32('community');
          list.push(WELL_KNOWN_COMMUNITIES[c] ?? `${c >>> 16}:${c & 0xffff}`);
        }
        attributes.communities = list;
        break;
      }
      case 14: {
        const afi = vr.u16('AFI');
        const safi = vr.u8('SAFI');
        const family = familyName(afi, safi);
        const nh = vr.lengthPrefixed('u8', 'next hop');
        vr.u8('reserved');
        const hops: string[] = [];
        if (afi === 2) for (let i = 0; i + 16 <= nh.length; i += 16) hops.push(formatIp({ family: 6, bytes: nh.slice(i, i + 16) }));
        else if (afi === 1 && nh.length >= 4) hops.push(formatIp({ family: 4, bytes: nh.slice(0, 4) }));
        attributes.nextHop = hops;
        if (safi === 1 || safi === 2) announced.push(...readPrefixes(vr.rest(), afi, family, opts.addPath.has(family)));
        break;
      }
      case 15: {
        const afi = vr.u16('AFI');
        const safi = vr.u8('SAFI');
        const family = familyName(afi, safi);
        const rest = vr.rest();
        if (rest.length === 0 && attrBytes.length === v.length + (flags & 0x10 ? 4 : 3)) endOfRib = family;
        if (safi === 1 || safi === 2) withdrawn.push(...readPrefixes(rest, afi, family, opts.addPath.has(family)));
        break;
      }
      case 16: {
        const list: string[] = [];
        while (vr.remaining >= 8) list.push(Array.from(vr.bytesN(8, 'extended community'), (b) => b.toString(16).padStart(2, '0')).join(''));
        attributes.extendedCommunities = list;
        break;
      }
      case 32: {
        const list: string[] = [];
        while (vr.remaining >= 12) list.push(`${vr.u32('global')}:${vr.u32('local 1')}:${vr.u32('local 2')}`);
        attributes.largeCommunities = list;
        break;
      }
      default:
        (attributes.other ??= []).push({ type, hex: Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('') });
    }
  }
  return { withdrawn, announced, attributes, ...(endOfRib ? { endOfRib } : {}) };
}

export function describeMessage(m: RawMessage): string {
  return `${TYPES[m.type] ?? `type ${m.type}`} (${m.body.length + HEADER} bytes)`;
}
