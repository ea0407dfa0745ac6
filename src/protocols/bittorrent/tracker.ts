// BitTorrent trackers, sans-I/O: the info hash as users write it (hex, base32, a magnet link), the HTTP tracker's
// announce and scrape (BEP 3, BEP 23 compact peers, BEP 7 peers6, BEP 48 scrape), and the UDP tracker's packets
// (BEP 15: connect, announce, scrape, error).
import { ByteReader, ByteWriter, fromLatin1, fromUtf8, isPrintableAscii, toHex } from '../../core/bytes.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import { formatIp } from '../../core/ip.ts';
import { fromBase32 } from '../nats/nkeys.ts';
import { bdecode, type BValue } from './codec.ts';

export interface ParsedInfoHash {
  bytes: Uint8Array;
  /** Trackers (tr=) and the display name (dn=) of a magnet link. */
  trackers: string[];
  name: string | null;
}

const HEX = /^[0-9a-fA-F]{40}$/;
const BASE32 = /^[A-Za-z2-7]{32}$/;

/** A v1 info hash from 40 hex digits, 32 base32 letters, or a magnet link with xt=urn:btih:; null when it is none. */
export function parseInfoHash(text: string): ParsedInfoHash | null {
  const t = text.trim();
  if (HEX.test(t)) return { bytes: hexBytes(t), trackers: [], name: null };
  if (BASE32.test(t)) return { bytes: fromBase32(t.toUpperCase(), 'infoHash'), trackers: [], name: null };
  if (!/^magnet:\?/i.test(t)) return null;
  let hash: Uint8Array | null = null;
  const trackers: string[] = [];
  let name: string | null = null;
  for (const part of t.slice(8).split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).toLowerCase();
    let value: string;
    try {
      value = decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      return null;
    }
    if (key === 'xt' && /^urn:btih:/i.test(value) && hash === null) {
      const h = value.slice(9);
      if (HEX.test(h)) hash = hexBytes(h);
      else if (BASE32.test(h)) hash = fromBase32(h.toUpperCase(), 'infoHash');
      else return null;
    } else if (key === 'tr' && trackers.length < 100) trackers.push(value);
    else if (key === 'dn') name = value;
  }
  return hash ? { bytes: hash, trackers, name } : null;
}

function hexBytes(h: string): Uint8Array {
  return Uint8Array.from({ length: h.length / 2 }, (_, i) => parseInt(h.slice(2 * i, 2 * i + 2), 16));
}

/** Percent-encodes bytes for a query string: unreserved characters stay, every other byte is %XX. */
export function percentBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    const unreserved = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
    out += unreserved ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export type AnnounceEvent = 'none' | 'started' | 'stopped' | 'completed';

export interface AnnounceRequest {
  infoHash: Uint8Array;
  peerId: Uint8Array;
  port: number;
  uploaded: number;
  downloaded: number;
  left: number;
  event: AnnounceEvent;
  numwant: number;
  compact: boolean;
  key?: number;
  trackerId?: string;
}

/** The announce request target: the path with the BEP 3 query appended (after the path's own query, if any). */
export function announceTarget(path: string, r: AnnounceRequest): string {
  const q = [
    `info_hash=${percentBytes(r.infoHash)}`,
    `peer_id=${percentBytes(r.peerId)}`,
    `port=${r.port}`,
    `uploaded=${r.uploaded}`,
    `downloaded=${r.downloaded}`,
    `left=${r.left}`,
    `compact=${r.compact ? 1 : 0}`,
    `numwant=${r.numwant}`,
  ];
  if (r.event !== 'none') q.push(`event=${r.event}`);
  if (r.key !== undefined) q.push(`key=${(r.key >>> 0).toString(16).padStart(8, '0')}`);
  if (r.trackerId !== undefined) q.push(`trackerid=${percentBytes(new TextEncoder().encode(r.trackerId))}`);
  return `${path}${path.includes('?') ? '&' : '?'}${q.join('&')}`;
}

/** The scrape request target for some info hashes. */
export function scrapeTarget(path: string, hashes: Uint8Array[]): string {
  return `${path}${path.includes('?') ? '&' : '?'}${hashes.map((h) => `info_hash=${percentBytes(h)}`).join('&')}`;
}

export interface Peer {
  ip: string;
  port: number;
  /** The peer id, from the dictionary form only: its text when printable, else hex. */
  peerId: string | null;
}

/** Peers at most, from one answer. */
export const MAX_PEERS = 10_000;

/** Compact peers: 6 bytes each (IPv4 and port, BEP 23) or 18 bytes each (IPv6 and port, BEP 7). */
export function compactPeers(bytes: Uint8Array, family: 4 | 6, field = family === 4 ? 'peers' : 'peers6'): Peer[] {
  const size = family === 4 ? 6 : 18;
  if (bytes.length % size !== 0) throw new ProtocolError(`${field}: ${bytes.length} bytes is not a whole number of ${size}-byte peers`);
  if (bytes.length / size > MAX_PEERS) throw new ProtocolError(`${field}: more than ${MAX_PEERS} peers`);
  const out: Peer[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    const ip = formatIp({ family, bytes: bytes.subarray(at, at + size - 2) });
    out.push({ ip, port: (bytes[at + size - 2] << 8) | bytes[at + size - 1], peerId: null });
  }
  return out;
}

type BDict = { [key: string]: BValue };
const isDict = (v: BValue | undefined): v is BDict => typeof v === 'object' && !(v instanceof Uint8Array) && !Array.isArray(v);
const int = (v: BValue | undefined): number | null => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null);
const text = (v: BValue | undefined): string | null => (v instanceof Uint8Array ? fromUtf8(v) : null);

export interface AnnounceAnswer {
  /** The tracker's refusal in its own words (failure reason): nothing else is set then. */
  failure: string | null;
  warning: string | null;
  interval: number | null;
  minInterval: number | null;
  trackerId: string | null;
  complete: number | null;
  incomplete: number | null;
  downloaded: number | null;
  peers: Peer[];
  /** How the peers came: compact strings, the dictionary list, or none. */
  peersForm: 'compact' | 'dictionary' | 'none';
}

/** Reads a bencoded announce answer: counts, intervals, and the peers in either form, IPv4 and IPv6. */
export function decodeAnnounce(body: Uint8Array): AnnounceAnswer {
  const d = bdecode(body);
  if (!isDict(d)) throw new ProtocolError('the announce answer is not a bencoded dictionary');
  const failure = text(d['failure reason']);
  const answer: AnnounceAnswer = {
    failure,
    warning: text(d['warning message']),
    interval: int(d.interval),
    minInterval: int(d['min interval']),
    trackerId: text(d['tracker id']),
    complete: int(d.complete),
    incomplete: int(d.incomplete),
    downloaded: int(d.downloaded),
    peers: [],
    peersForm: 'none',
  };
  if (failure !== null) return answer;
  const peers = d.peers;
  if (peers instanceof Uint8Array) {
    answer.peers.push(...compactPeers(peers, 4));
    answer.peersForm = 'compact';
  } else if (Array.isArray(peers)) {
    if (peers.length > MAX_PEERS) throw new ProtocolError(`peers: more than ${MAX_PEERS} peers`);
    for (const [i, p] of peers.entries()) {
      if (!isDict(p)) throw new ProtocolError(`peers[${i}] is not a dictionary`);
      const ip = text(p.ip);
      const port = int(p.port);
      if (ip === null || port === null || port < 0 || port > 65535) throw new ProtocolError(`peers[${i}]: no ip or no port in 0–65535`);
      const id = p['peer id'];
      answer.peers.push({ ip, port, peerId: id instanceof Uint8Array ? (isPrintableAscii(id) ? fromLatin1(id) : toHex(id)) : null });
    }
    answer.peersForm = 'dictionary';
  } else if (peers !== undefined) throw new ProtocolError('peers is neither a string nor a list');
  const peers6 = d.peers6;
  if (peers6 instanceof Uint8Array) {
    answer.peers.push(...compactPeers(peers6, 6));
    if (answer.peersForm === 'none') answer.peersForm = 'compact';
  } else if (peers6 !== undefined) throw new ProtocolError('peers6 is not a string');
  return answer;
}

export interface ScrapeEntry {
  infoHash: string;
  complete: number;
  downloaded: number;
  incomplete: number;
  name: string | null;
}

/** Reads a bencoded scrape answer (BEP 48): the files dictionary keyed by raw 20-byte info hashes. */
export function decodeScrape(body: Uint8Array): { failure: string | null; files: ScrapeEntry[] } {
  const d = bdecode(body);
  if (!isDict(d)) throw new ProtocolError('the scrape answer is not a bencoded dictionary');
  const failure = text(d['failure reason']);
  if (failure !== null) return { failure, files: [] };
  const files = d.files;
  if (!isDict(files)) throw new ProtocolError('the scrape answer has no files dictionary');
  const out: ScrapeEntry[] = [];
  for (const [key, v] of Object.entries(files)) {
    // Dictionary keys are decoded one character per byte: the raw info hash.
    if (key.length !== 20) throw new ProtocolError(`files: a key of ${key.length} bytes, not a 20-byte info hash`);
    if (!isDict(v)) throw new ProtocolError('files: an entry that is not a dictionary');
    out.push({ infoHash: toHex(Uint8Array.from(key, (c) => c.charCodeAt(0))), complete: int(v.complete) ?? 0, downloaded: int(v.downloaded) ?? 0, incomplete: int(v.incomplete) ?? 0, name: text(v.name) });
  }
  return { failure: null, files: out };
}

// UDP trackers (BEP 15).

export const UDP_PROTOCOL_ID = 0x41727101980n;
export const UDP_ACTION = { connect: 0, announce: 1, scrape: 2, error: 3 } as const;
const UDP_EVENT: Record<AnnounceEvent, number> = { none: 0, completed: 1, started: 2, stopped: 3 };
/** Info hashes in one UDP scrape at most (BEP 15: about 74 fit a datagram). */
export const MAX_UDP_SCRAPE = 74;

export function encodeUdpConnect(transactionId: number): Uint8Array {
  return new ByteWriter(16).u64(UDP_PROTOCOL_ID).u32(UDP_ACTION.connect).u32(transactionId >>> 0).finish();
}

export function encodeUdpAnnounce(connectionId: bigint, transactionId: number, r: AnnounceRequest): Uint8Array {
  return new ByteWriter(98)
    .u64(connectionId)
    .u32(UDP_ACTION.announce)
    .u32(transactionId >>> 0)
    .bytes(r.infoHash)
    .bytes(r.peerId)
    .u64(BigInt(r.downloaded))
    .u64(BigInt(r.left))
    .u64(BigInt(r.uploaded))
    .u32(UDP_EVENT[r.event])
    .u32(0)
    .u32((r.key ?? 0) >>> 0)
    .u32(r.numwant >>> 0)
    .u16(r.port)
    .finish();
}

export function encodeUdpScrape(connectionId: bigint, transactionId: number, hashes: Uint8Array[]): Uint8Array {
  const w = new ByteWriter(16 + 20 * hashes.length).u64(connectionId).u32(UDP_ACTION.scrape).u32(transactionId >>> 0);
  for (const h of hashes) w.bytes(h);
  return w.finish();
}

export type UdpReply =
  | { action: 'connect'; transactionId: number; connectionId: bigint }
  | { action: 'announce'; transactionId: number; interval: number; leechers: number; seeders: number; peers: Peer[] }
  | { action: 'scrape'; transactionId: number; entries: { seeders: number; completed: number; leechers: number }[] }
  | { action: 'error'; transactionId: number; message: string };

/** Decodes a UDP tracker reply; peers are 6 bytes each from an IPv4 tracker and 18 from an IPv6 one. */
export function decodeUdpReply(bytes: Uint8Array, family: 4 | 6 = 4): UdpReply {
  const r = new ByteReader(bytes);
  const action = r.u32('action');
  const transactionId = r.u32('transaction id');
  switch (action) {
    case UDP_ACTION.connect:
      return { action: 'connect', transactionId, connectionId: r.u64('connection id') };
    case UDP_ACTION.announce: {
      const interval = r.u32('interval');
      const leechers = r.u32('leechers');
      const seeders = r.u32('seeders');
      return { action: 'announce', transactionId, interval, leechers, seeders, peers: compactPeers(r.rest(), family) };
    }
    case UDP_ACTION.scrape: {
      if (r.remaining % 12 !== 0) throw new ProtocolError(`scrape: ${r.remaining} bytes is not a whole number of 12-byte entries`);
      const entries = [];
      while (!r.done) entries.push({ seeders: r.u32('seeders'), completed: r.u32('completed'), leechers: r.u32('leechers') });
      return { action: 'scrape', transactionId, entries };
    }
    case UDP_ACTION.error:
      return { action: 'error', transactionId, message: fromUtf8(r.rest()) };
    default:
      throw new ProtocolError(`action ${action} is not a UDP tracker action`);
  }
}

/** Checks a magnet link or hash given for a field, naming the field when it is neither. */
export function infoHashOf(text: string, field: string): ParsedInfoHash {
  const h = parseInfoHash(text);
  if (!h) throw InvalidInput.field(field, 'is 40 hex digits, 32 base32 characters, or a magnet link with xt=urn:btih:');
  return h;
}
