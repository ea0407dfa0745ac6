// Portmapper (RFC 1833): PMAP version 2 (mappings with protocol numbers and ports) and RPCBIND versions 3 and 4
// (netids and universal addresses).
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import { XdrWriter, type XdrReader } from '../oncrpc/codec.ts';

export const PMAP_PROG = 100000;
export const PROC = { NULL: 0, GETPORT: 3, GETADDR: 3, DUMP: 4 } as const;
export const IPPROTO = { tcp: 6, udp: 17 } as const;

/** Most mappings one answer may list. */
const MAX_ENTRIES = 10_000;

export interface Mapping {
  program: number;
  version: number;
  protocol: string;
  port: number;
}

/** RFC 1833 3.2 PMAPPROC_DUMP: a list of {prog, vers, prot, port}. */
export function parsePmapDump(x: XdrReader): Mapping[] {
  return x.list('pmaplist', MAX_ENTRIES, () => {
    const program = x.u32('prog');
    const version = x.u32('vers');
    const prot = x.u32('prot');
    const port = x.u32('port');
    return { program, version, protocol: prot === 6 ? 'tcp' : prot === 17 ? 'udp' : String(prot), port };
  });
}

export interface Binding {
  program: number;
  version: number;
  netid: string;
  address: string;
  owner: string;
}

/** RFC 1833 2.2 RPCBPROC_DUMP: a list of {r_prog, r_vers, r_netid, r_addr, r_owner}. */
export function parseRpcbDump(x: XdrReader): Binding[] {
  return x.list('rpcblist', MAX_ENTRIES, () => ({ program: x.u32('r_prog'), version: x.u32('r_vers'), netid: x.string('r_netid', 64), address: x.string('r_addr', 256), owner: x.string('r_owner', 256) }));
}

export function pmapArgs(program: number, version: number, protocol: 'tcp' | 'udp'): Uint8Array {
  return new XdrWriter().u32(program).u32(version).u32(IPPROTO[protocol]).u32(0).finish();
}

export function rpcbArgs(program: number, version: number, netid: string): Uint8Array {
  return new XdrWriter().u32(program).u32(version).string(netid).string('').string('').finish();
}

/** RFC 1833 2.1 / RFC 5665 5.2.3.4: "h1.h2.h3.h4.p1.p2" (or an IPv6 address with ".p1.p2"): host and port. */
export function parseUniversalAddress(uaddr: string): { host: string; port: number } | null {
  const m = /^(.*)\.(\d{1,3})\.(\d{1,3})$/.exec(uaddr);
  if (!m) return null;
  const hi = Number(m[2]);
  const lo = Number(m[3]);
  if (hi > 255 || lo > 255) throw new ProtocolError(`universal address with a port byte over 255: ${uaddr.slice(0, 80)}`);
  return { host: m[1], port: hi * 256 + lo };
}

/** Well-known ONC RPC program numbers (IANA "RPC program numbers", /etc/rpc). */
export const PROGRAMS: Record<number, string> = {
  100000: 'portmapper',
  100001: 'rstatd',
  100002: 'rusersd',
  100003: 'nfs',
  100004: 'ypserv',
  100005: 'mountd',
  100007: 'ypbind',
  100008: 'walld',
  100009: 'yppasswdd',
  100011: 'rquotad',
  100012: 'sprayd',
  100021: 'nlockmgr',
  100024: 'status',
  100026: 'bootparam',
  100069: 'ypxfrd',
  100083: 'ttdbserverd',
  100227: 'nfs_acl',
  100249: 'snmpXdmid',
  150001: 'pcnfsd',
  300019: 'amd',
  390113: 'nsrexecd',
  391002: 'sgi_fam',
};

/** A program given by number or by one of the names above. */
export function programNumber(value: number | string, field: string): number {
  if (typeof value === 'number') return value;
  if (/^\d+$/.test(value)) return Number(value);
  const hit = Object.entries(PROGRAMS).find(([, name]) => name === value.toLowerCase());
  if (!hit) throw InvalidInput.field(field, `unknown program name ${JSON.stringify(value)}; give its number`);
  return Number(hit[0]);
}
