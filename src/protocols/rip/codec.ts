// RIP version 2, RFC 2453 §4 (message format: command, version, 20-byte route entries), §3.9.1 (requests),
// §4.1 (simple password authentication entry); version 1 entries, RFC 1058 §3.1.
import { ByteReader, ByteWriter, fromLatin1, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';

export const RIP_PORT = 520;
export const Command = { request: 1, response: 2 } as const;
export const AFI_INET = 2;
const AFI_AUTH = 0xffff;
export const INFINITY = 16;
/** RFC 2453 §4: at most 25 route entries in one message (504 bytes). */
export const MAX_ENTRIES = 25;

export interface Route {
  afi: number;
  routeTag: number;
  address: string;
  /** Prefix length from the subnet mask (v2); null for v1 entries (mask 0). */
  prefixLength: number | null;
  nextHop: string;
  metric: number;
}

export interface RipMessage {
  command: 'request' | 'response';
  version: number;
  routes: Route[];
  /** The authentication entry's type and (simple password) text, when present. */
  auth: { type: number; password?: string } | null;
}

function ipv4(bytes: Uint8Array): string {
  return Array.from(bytes).join('.');
}

function maskLength(mask: number): number | null {
  if (mask === 0) return 0;
  const inv = ~mask >>> 0;
  if ((inv & (inv + 1)) !== 0) return null;
  return 32 - Math.log2(inv + 1);
}

/**
 * A request for the whole table (§3.9.1: one entry, address family 0, metric 16), or for the given prefixes.
 * With a password, the first entry is the §4.1 authentication entry.
 */
export function encodeRequest(version: 1 | 2, prefixes: { address: Uint8Array; prefixLength: number }[] = [], password?: string): Uint8Array {
  const w = new ByteWriter(24 + 20 * prefixes.length).u8(Command.request).u8(version).u16(0);
  if (password !== undefined) {
    const p = utf8(password);
    const padded = new Uint8Array(16);
    padded.set(p.subarray(0, 16));
    w.u16(AFI_AUTH).u16(2).bytes(padded);
  }
  if (prefixes.length === 0) w.u16(0).u16(0).u32(0).u32(0).u32(0).u32(INFINITY);
  for (const x of prefixes) {
    const mask = x.prefixLength === 0 ? 0 : (0xffffffff << (32 - x.prefixLength)) >>> 0;
    w.u16(AFI_INET).u16(0).bytes(x.address).u32(version === 2 ? mask : 0).u32(0).u32(INFINITY);
  }
  return w.finish();
}

export function decodeMessage(bytes: Uint8Array): RipMessage {
  if (bytes.length < 4) throw new ProtocolError(`RIP message of ${bytes.length} bytes`);
  if ((bytes.length - 4) % 20 !== 0) throw new ProtocolError(`RIP message of ${bytes.length} bytes: not a 4-byte header and 20-byte entries (RFC 2453 §4)`);
  const r = new ByteReader(bytes);
  const cmd = r.u8('command');
  const version = r.u8('version');
  r.u16('must be zero');
  if (cmd !== Command.request && cmd !== Command.response) throw new ProtocolError(`RIP command ${cmd} is neither request (1) nor response (2)`);
  if (version === 0) throw new ProtocolError('RIP version 0 must be ignored (RFC 2453 §3.9)');
  const routes: Route[] = [];
  let auth: RipMessage['auth'] = null;
  let n = 0;
  while (!r.done) {
    if (++n > MAX_ENTRIES + 1) throw new ProtocolError(`more than ${MAX_ENTRIES} RIP entries`);
    const afi = r.u16('address family');
    if (afi === AFI_AUTH) {
      const type = r.u16('authentication type');
      const data = r.bytesN(16, 'authentication');
      if (n !== 1) throw new ProtocolError('RIP authentication entry not first (RFC 2453 §4.1)');
      const end = data.indexOf(0);
      auth = type === 2 ? { type, password: fromLatin1(end === -1 ? data : data.subarray(0, end)) } : { type };
      continue;
    }
    const routeTag = r.u16('route tag');
    const address = ipv4(r.bytesN(4, 'address'));
    const mask = r.u32('subnet mask');
    const nextHop = ipv4(r.bytesN(4, 'next hop'));
    const metric = r.u32('metric');
    if (metric < 1 || metric > INFINITY) throw new ProtocolError(`RIP metric ${metric} outside 1–16 for ${address}`);
    routes.push({ afi, routeTag, address, prefixLength: version >= 2 ? maskLength(mask) : null, nextHop, metric });
  }
  return { command: cmd === Command.request ? 'request' : 'response', version, routes, auth };
}

export function describeMessage(m: RipMessage): string {
  return `RIPv${m.version} ${m.command}, ${m.routes.length} route${m.routes.length === 1 ? '' : 's'}${m.auth ? `, auth type ${m.auth.type}` : ''}`;
}
