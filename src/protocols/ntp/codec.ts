// NTPv4 packet header, RFC 5905 §7.3 (Figure 8), and the client's on-wire computations, §8; SNTP rules, RFC 4330 §5.
import { ByteReader, ByteWriter, toHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';

/** Seconds between the NTP era 0 epoch (1900-01-01) and the Unix epoch (RFC 5905 §6, Figure 4). */
export const NTP_UNIX_OFFSET = 2_208_988_800;
export const NTP_HEADER_SIZE = 48;

export const MODES = ['reserved', 'symmetric active', 'symmetric passive', 'client', 'server', 'broadcast', 'control', 'private'] as const;
/** RFC 5905 §7.3 "LI": leap indicator. */
export const LEAP = ['no warning', 'last minute of the day has 61 seconds', 'last minute of the day has 59 seconds', 'unknown (clock unsynchronized)'] as const;

/** A 64-bit NTP timestamp: seconds since 1900 and a 32-bit fraction. */
export interface NtpTimestamp {
  seconds: number;
  fraction: number;
}

export interface NtpPacket {
  leap: number;
  version: number;
  mode: number;
  stratum: number;
  /** log2 seconds. */
  poll: number;
  /** log2 seconds. */
  precision: number;
  /** Seconds (NTP short format, 16.16). */
  rootDelay: number;
  rootDispersion: number;
  referenceId: Uint8Array;
  reference: NtpTimestamp;
  origin: NtpTimestamp;
  receive: NtpTimestamp;
  transmit: NtpTimestamp;
  /** Extension fields and MAC, when present (RFC 5905 §7.5). */
  trailer: Uint8Array;
}

/** Unix time in ms to an NTP timestamp (era 0; RFC 5905 §6). */
export function toNtp(unixMs: number): NtpTimestamp {
  const total = unixMs / 1000 + NTP_UNIX_OFFSET;
  const seconds = Math.floor(total);
  return { seconds: seconds >>> 0, fraction: Math.floor((total - seconds) * 2 ** 32) >>> 0 };
}

/** An NTP timestamp to Unix ms. Era 1 (after 2036-02-07) is assumed for seconds below 2^31 (RFC 4330 §3). */
export function fromNtp(t: NtpTimestamp): number {
  const seconds = t.seconds < 0x80000000 ? t.seconds + 2 ** 32 : t.seconds;
  return (seconds - NTP_UNIX_OFFSET + t.fraction / 2 ** 32) * 1000;
}

export function isZero(t: NtpTimestamp): boolean {
  return t.seconds === 0 && t.fraction === 0;
}

export function sameTimestamp(a: NtpTimestamp, b: NtpTimestamp): boolean {
  return a.seconds === b.seconds && a.fraction === b.fraction;
}

/** A client request (mode 3). RFC 4330 §5: every field zero but LI/VN/mode and the transmit timestamp. */
export function encodeRequest(transmit: NtpTimestamp, version = 4): Uint8Array {
  return new ByteWriter(NTP_HEADER_SIZE)
    .u8((0 << 6) | (version << 3) | 3)
    .bytes(new Uint8Array(39))
    .u32(transmit.seconds)
    .u32(transmit.fraction)
    .finish();
}

function timestamp(r: ByteReader, field: string): NtpTimestamp {
  return { seconds: r.u32(field), fraction: r.u32(field) };
}

/** Decodes the 48-byte header (and keeps whatever follows it). */
export function decodePacket(bytes: Uint8Array): NtpPacket {
  if (bytes.length < NTP_HEADER_SIZE) throw new ProtocolError(`NTP packet of ${bytes.length} bytes: the header alone is ${NTP_HEADER_SIZE} (RFC 5905 §7.3)`);
  if (bytes.length > 1024) throw new ProtocolError(`NTP packet of ${bytes.length} bytes`);
  const r = new ByteReader(bytes);
  const first = r.u8('LI VN Mode');
  const packet: NtpPacket = {
    leap: first >> 6,
    version: (first >> 3) & 7,
    mode: first & 7,
    stratum: r.u8('stratum'),
    poll: r.i8('poll'),
    precision: r.i8('precision'),
    rootDelay: r.u32('root delay') / 65536,
    rootDispersion: r.u32('root dispersion') / 65536,
    referenceId: r.bytesN(4, 'reference ID').slice(),
    reference: timestamp(r, 'reference timestamp'),
    origin: timestamp(r, 'origin timestamp'),
    receive: timestamp(r, 'receive timestamp'),
    transmit: timestamp(r, 'transmit timestamp'),
    trailer: r.rest().slice(),
  };
  return packet;
}

/**
 * The reference ID as RFC 5905 §7.3 says to read it: stratum 0, a kiss code (ASCII); stratum 1, a
 * reference clock code (ASCII, e.g. GPS); otherwise the IPv4 address of the server's upstream (or the
 * first four octets of the MD5 of its IPv6 address, shown as an address too).
 */
export function referenceIdText(stratum: number, id: Uint8Array): string {
  if (stratum <= 1) {
    let s = '';
    for (const b of id) {
      if (b === 0) break;
      if (b < 0x20 || b > 0x7e) return `0x${toHex(id)}`;
      s += String.fromCharCode(b);
    }
    return s;
  }
  return Array.from(id).join('.');
}

/** RFC 5905 §7.4: kiss codes a server may send with stratum 0. */
export const KISS_CODES: Record<string, string> = {
  ACST: 'the association belongs to a unicast server',
  AUTH: 'server authentication failed',
  AUTO: 'autokey sequence failed',
  BCST: 'the association belongs to a broadcast server',
  CRYP: 'cryptographic authentication or identification failed',
  DENY: 'access denied by the remote server',
  DROP: 'lost peer in symmetric mode',
  RSTR: 'access denied due to local policy',
  INIT: 'the association has not yet synchronized for the first time',
  MCST: 'the association belongs to a dynamically discovered server',
  NKEY: 'no key found',
  NTSN: 'NTS negative acknowledgement',
  RATE: 'rate exceeded: the server has temporarily denied access because the client exceeded the rate threshold',
  RMOT: 'alteration of association from a remote host running ntpdc',
  STEP: 'a step change in system time has occurred, but the association has not yet resynchronized',
};

export interface Sample {
  /** θ, seconds: how far the local clock is behind (+) or ahead (−) of the server. */
  offset: number;
  /** δ, seconds: round-trip delay less the server's processing time. */
  delay: number;
}

/** RFC 5905 §8: θ = ((T2 − T1) + (T3 − T4)) / 2, δ = (T4 − T1) − (T3 − T2), all in ms here. */
export function computeSample(t1: number, t2: number, t3: number, t4: number): Sample {
  return { offset: (t2 - t1 + (t3 - t4)) / 2 / 1000, delay: (t4 - t1 - (t3 - t2)) / 1000 };
}

export function describePacket(p: NtpPacket): string {
  return `NTPv${p.version} ${MODES[p.mode]} stratum ${p.stratum} LI ${p.leap} refid ${referenceIdText(p.stratum, p.referenceId)} poll ${p.poll} precision ${p.precision}`;
}
