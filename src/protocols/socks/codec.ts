// SOCKS5 (RFC 1928) with username/password authentication (RFC 1929), and SOCKS4 / SOCKS4a
// (the SOCKS 4 protocol and its 4A extension, NEC): messages to bytes and replies from bytes, sans I/O.
import { ByteReader, ByteWriter, fromLatin1, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import { formatIp, parseIp, parseIpv4Strict } from '../../core/ip.ts';

/** RFC 1928 section 3: authentication methods. */
export const METHODS: Record<number, string> = {
  0x00: 'no authentication',
  0x01: 'GSSAPI',
  0x02: 'username/password',
  0x03: 'CHAP',
  0x05: 'challenge-response',
  0x06: 'SSL',
  0x07: 'NDS',
  0x08: 'multi-authentication framework',
  0x09: 'JSON parameter block',
  0xff: 'no acceptable methods',
};

export function methodName(m: number): string {
  return METHODS[m] ?? (m >= 0x80 && m <= 0xfe ? `private method 0x${m.toString(16)}` : `method 0x${m.toString(16).padStart(2, '0')}`);
}

/** RFC 1928 section 6: reply field REP. */
export const SOCKS5_REPLIES: Record<number, string> = {
  0x00: 'succeeded',
  0x01: 'general SOCKS server failure',
  0x02: 'connection not allowed by ruleset',
  0x03: 'network unreachable',
  0x04: 'host unreachable',
  0x05: 'connection refused',
  0x06: 'TTL expired',
  0x07: 'command not supported',
  0x08: 'address type not supported',
};

/** SOCKS4 reply codes (CD). */
export const SOCKS4_REPLIES: Record<number, string> = {
  90: 'request granted',
  91: 'request rejected or failed',
  92: 'request rejected: the server cannot reach the client’s identd',
  93: 'request rejected: identd reports a different user id',
};

export const COMMANDS = { connect: 1, bind: 2, udpAssociate: 3 } as const;

/** RFC 1928 section 4: ATYP. */
const ATYP_IPV4 = 1;
const ATYP_DOMAIN = 3;
const ATYP_IPV6 = 4;

/** Version identifier/method selection message: VER 5, NMETHODS, METHODS. */
export function encodeGreeting(methods: readonly number[]): Uint8Array {
  if (methods.length < 1 || methods.length > 255) throw InvalidInput.field('methods', 'offer 1 to 255 methods');
  return new ByteWriter(2 + methods.length).u8(5).u8(methods.length).bytes(Uint8Array.from(methods)).finish();
}

export interface MethodSelection {
  version: number;
  method: number;
}

/** The server's METHOD selection: VER, METHOD. */
export const methodSelectionFrame: Frame<MethodSelection> = (buf) => {
  if (buf.length < 2) return undefined;
  if (buf[0] !== 5) throw new ProtocolError(`SOCKS5 method selection: version ${buf[0]}, expected 5 (not a SOCKS5 server?)`, { version: buf[0] });
  return { value: { version: buf[0], method: buf[1] }, size: 2 };
};

/** RFC 1929 section 2: VER 1, ULEN, UNAME, PLEN, PASSWD (each 1–255 bytes). */
export function encodeUserPass(username: string, password: string): Uint8Array {
  const u = utf8(username);
  const p = utf8(password);
  if (u.length < 1 || u.length > 255) throw InvalidInput.field('username', 'must be 1–255 bytes (RFC 1929)');
  if (p.length < 1 || p.length > 255) throw InvalidInput.field('password', 'must be 1–255 bytes (RFC 1929)');
  return new ByteWriter(3 + u.length + p.length).u8(1).lengthPrefixed('u8', u).lengthPrefixed('u8', p).finish();
}

/** RFC 1929: VER, STATUS (0 is success). Some servers answer VER 5 here; the status is what counts. */
export const userPassReplyFrame: Frame<{ version: number; status: number }> = (buf) => {
  if (buf.length < 2) return undefined;
  if (buf[0] !== 1 && buf[0] !== 5) throw new ProtocolError(`SOCKS5 username/password reply: version ${buf[0]}, expected 1`);
  return { value: { version: buf[0], status: buf[1] }, size: 2 };
};

export type SocksAddress = { type: 'ipv4' | 'ipv6'; address: string } | { type: 'domain'; name: string };

/** The address as it goes on the wire: an IP literal as IPv4 or IPv6, anything else as a domain name. */
export function socksAddress(host: string): SocksAddress {
  const ip = parseIp(host);
  if (ip && ip.zone === undefined) return { type: ip.family === 4 ? 'ipv4' : 'ipv6', address: formatIp(ip) };
  return { type: 'domain', name: host };
}

function writeAddress(w: ByteWriter, a: SocksAddress): void {
  if (a.type === 'domain') {
    const name = utf8(a.name);
    if (name.length < 1 || name.length > 255) throw InvalidInput.field('targetHost', 'a domain name must be 1–255 bytes');
    w.u8(ATYP_DOMAIN).lengthPrefixed('u8', name);
    return;
  }
  w.u8(a.type === 'ipv4' ? ATYP_IPV4 : ATYP_IPV6).bytes(parseIp(a.address)!.bytes);
}

/** RFC 1928 section 4: VER 5, CMD, RSV 0, ATYP, DST.ADDR, DST.PORT. */
export function encodeRequest(command: number, target: SocksAddress, port: number): Uint8Array {
  const w = new ByteWriter(300).u8(5).u8(command).u8(0);
  writeAddress(w, target);
  return w.u16(port).finish();
}

export interface Socks5Reply {
  reply: number;
  replyText: string;
  /** BND.ADDR and BND.PORT: the address the server connected from (CONNECT). */
  bound: SocksAddress;
  boundPort: number;
}

export function describeAddress(a: SocksAddress, port: number): string {
  if (a.type === 'domain') return `${a.name}:${port}`;
  return a.type === 'ipv6' ? `[${a.address}]:${port}` : `${a.address}:${port}`;
}

/** RFC 1928 section 6: VER, REP, RSV, ATYP, BND.ADDR, BND.PORT. */
export const socks5ReplyFrame: Frame<Socks5Reply> = (buf) => {
  if (buf.length < 5) return undefined;
  if (buf[0] !== 5) throw new ProtocolError(`SOCKS5 reply: version ${buf[0]}, expected 5`);
  const atyp = buf[3];
  const addrLen = atyp === ATYP_IPV4 ? 4 : atyp === ATYP_IPV6 ? 16 : atyp === ATYP_DOMAIN ? 1 + buf[4] : -1;
  if (addrLen < 0) throw new ProtocolError(`SOCKS5 reply: address type ${atyp} is not 1, 3 or 4`);
  const size = 4 + addrLen + 2;
  if (buf.length < size) return undefined;
  const r = new ByteReader(buf.subarray(0, size), 4);
  let bound: SocksAddress;
  if (atyp === ATYP_DOMAIN) bound = { type: 'domain', name: fromLatin1(r.lengthPrefixed('u8', 'BND.ADDR')) };
  else {
    const bytes = r.bytesN(addrLen, 'BND.ADDR');
    bound = { type: atyp === ATYP_IPV4 ? 'ipv4' : 'ipv6', address: formatIp({ family: atyp === ATYP_IPV4 ? 4 : 6, bytes }) };
  }
  const boundPort = r.u16('BND.PORT');
  return { value: { reply: buf[1], replyText: SOCKS5_REPLIES[buf[1]] ?? `unassigned reply 0x${buf[1].toString(16)}`, bound, boundPort }, size };
};

/**
 * SOCKS4 request: VN 4, CD, DSTPORT, DSTIP, USERID, NUL. SOCKS4a: DSTIP 0.0.0.x (x nonzero) and the
 * domain name after the user id, NUL-terminated, for the server to resolve.
 */
export function encodeSocks4Request(command: number, target: { address: string } | { name: string }, port: number, userId = ''): Uint8Array {
  const w = new ByteWriter(64).u8(4).u8(command).u16(port);
  if ('address' in target) {
    const ip = parseIpv4Strict(target.address);
    if (!ip) throw InvalidInput.field('targetHost', `SOCKS4 carries IPv4 addresses only, not ${target.address} (SOCKS4a and SOCKS5 take names; SOCKS5 takes IPv6)`);
    w.bytes(ip.bytes);
  } else w.bytes(Uint8Array.of(0, 0, 0, 1));
  if (userId.includes('\0')) throw InvalidInput.field('username', 'a SOCKS4 user id cannot contain NUL');
  w.cstring(userId);
  if ('name' in target) {
    if (target.name.includes('\0') || target.name.length > 255) throw InvalidInput.field('targetHost', 'a SOCKS4a name is 1–255 bytes without NUL');
    w.cstring(target.name);
  }
  return w.finish();
}

export interface Socks4Reply {
  reply: number;
  replyText: string;
  boundAddress: string;
  boundPort: number;
}

/** SOCKS4 reply: VN 0, CD, DSTPORT, DSTIP (8 bytes). */
export const socks4ReplyFrame: Frame<Socks4Reply> = (buf) => {
  if (buf.length < 8) return undefined;
  // VN is 0 in the reply; some servers echo 4.
  if (buf[0] !== 0 && buf[0] !== 4) throw new ProtocolError(`SOCKS4 reply: version byte ${buf[0]}, expected 0 (not a SOCKS4 server?)`);
  const r = new ByteReader(buf.subarray(0, 8), 2);
  const boundPort = r.u16('DSTPORT');
  const boundAddress = formatIp({ family: 4, bytes: r.bytesN(4, 'DSTIP') });
  return { value: { reply: buf[1], replyText: SOCKS4_REPLIES[buf[1]] ?? `unassigned reply ${buf[1]}`, boundAddress, boundPort }, size: 8 };
};
