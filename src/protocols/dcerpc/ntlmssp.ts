// NTLMSSP, [MS-NLMP]: NEGOTIATE, CHALLENGE and AUTHENTICATE messages (§2.2.1) with the NTLMv2 response (§3.3.2),
// session security (§3.4: signing, and sealing with RC4 after a key exchange, as CredSSP uses it), and MD4 (RFC 1320),
// which NTOWFv2 needs and neither WebCrypto nor @noble has.
//
// How it works: the client sends NEGOTIATE with its flags; the server answers CHALLENGE with an 8-byte nonce and
// its target information (AV pairs: NetBIOS and DNS names, a timestamp); the client answers AUTHENTICATE with
// NTProofStr = HMAC-MD5(NTOWFv2, challenge ‖ blob), where NTOWFv2 = HMAC-MD5(MD4(UTF-16LE password),
// UTF-16LE(upper(user) ‖ domain)). The password itself never leaves this module.
import { ByteReader, ByteWriter, concat, equalBytes } from '../../core/bytes.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { ProtocolError } from '../../core/errors.ts';

const SIGNATURE = Uint8Array.of(0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00); // "NTLMSSP\0"

/** NegotiateFlags, [MS-NLMP] §2.2.2.5. */
export const FLAGS = {
  unicode: 0x00000001,
  oem: 0x00000002,
  requestTarget: 0x00000004,
  sign: 0x00000010,
  seal: 0x00000020,
  lmKey: 0x00000080,
  ntlm: 0x00000200,
  anonymous: 0x00000800,
  oemDomainSupplied: 0x00001000,
  oemWorkstationSupplied: 0x00002000,
  alwaysSign: 0x00008000,
  targetTypeDomain: 0x00010000,
  targetTypeServer: 0x00020000,
  extendedSessionSecurity: 0x00080000,
  identify: 0x00100000,
  requestNonNtSessionKey: 0x00400000,
  targetInfo: 0x00800000,
  version: 0x02000000,
  n128: 0x20000000,
  keyExchange: 0x40000000,
  n56: 0x80000000,
} as const;

export function flagNames(flags: number): string[] {
  return Object.entries(FLAGS)
    .filter(([, v]) => (flags & v) >>> 0 === v)
    .map(([k]) => k);
}

/** What we ask for: Unicode, NTLM with extended session security and signing, the server's target information. */
export const CLIENT_FLAGS = (FLAGS.unicode | FLAGS.requestTarget | FLAGS.sign | FLAGS.ntlm | FLAGS.alwaysSign | FLAGS.extendedSessionSecurity | FLAGS.n128 | FLAGS.n56) >>> 0;

export function utf16le(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[i * 2] = c & 0xff;
    out[i * 2 + 1] = c >> 8;
  }
  return out;
}

export function fromUtf16le(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) s += String.fromCharCode(b[i] | (b[i + 1] << 8));
  return s;
}

/** What CredSSP asks for besides: sealing with a key exchanged in AUTHENTICATE (§3.4), and the server's VERSION. */
export const SEALING_FLAGS = (CLIENT_FLAGS | FLAGS.seal | FLAGS.keyExchange | FLAGS.version | FLAGS.targetInfo) >>> 0;

/** §2.2.2.10 VERSION as this client sends it: no Windows version to claim, NTLMSSP_REVISION_W2K3. */
const CLIENT_VERSION = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0x0f);

/** §2.2.1.1 NEGOTIATE_MESSAGE without domain or workstation; with the VERSION field when the flags ask for it. */
export function negotiateMessage(flags = CLIENT_FLAGS): Uint8Array {
  const w = new ByteWriter(40).bytes(SIGNATURE).u32le(1).u32le(flags).u16le(0).u16le(0).u32le(flags & FLAGS.version ? 40 : 32).u16le(0).u16le(0).u32le(flags & FLAGS.version ? 40 : 32);
  if (flags & FLAGS.version) w.bytes(CLIENT_VERSION);
  return w.finish();
}

/** §2.2.2.1 AV_PAIR identifiers. */
export const AV_IDS: Record<number, string> = {
  1: 'netbiosComputerName',
  2: 'netbiosDomainName',
  3: 'dnsComputerName',
  4: 'dnsDomainName',
  5: 'dnsTreeName',
  6: 'flags',
  7: 'timestamp',
  8: 'singleHost',
  9: 'targetName',
  10: 'channelBindings',
};

export interface Challenge {
  flags: number;
  serverChallenge: Uint8Array;
  targetName: string;
  /** The raw AV pairs, given back unchanged in the NTLMv2 blob. */
  targetInfo: Uint8Array;
  info: {
    netbiosComputerName?: string;
    netbiosDomainName?: string;
    dnsComputerName?: string;
    dnsDomainName?: string;
    dnsTreeName?: string;
    /** The server's clock, from MsvAvTimestamp. */
    timestamp?: string;
  };
  timestampRaw?: Uint8Array;
  /** §2.2.2.10 VERSION: the server's Windows version and NTLM revision. */
  version?: { major: number; minor: number; build: number; ntlmRevision: number };
}

function field(r: ByteReader, msg: Uint8Array, name: string, max = 4096): Uint8Array {
  const len = r.u16le(`${name} length`);
  r.u16le(`${name} max length`);
  const offset = r.u32le(`${name} offset`);
  if (len > max || offset + len > msg.length) throw new ProtocolError(`NTLMSSP: ${name} (${len} bytes at ${offset}) lies outside the ${msg.length}-byte message`);
  return msg.subarray(offset, offset + len);
}

/** Windows FILETIME (100 ns since 1601) as an ISO date. */
export function filetimeToIso(b: Uint8Array): string {
  const t = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  const ms = Number(t / 10000n) - 11644473600000;
  return new Date(ms).toISOString();
}

export function filetimeNow(nowMs: number): Uint8Array {
  const w = new ByteWriter(8);
  w.u64le((BigInt(nowMs) + 11644473600000n) * 10000n);
  return w.finish();
}

/** §2.2.1.2 CHALLENGE_MESSAGE. */
export function decodeChallenge(msg: Uint8Array): Challenge {
  const r = new ByteReader(msg);
  if (!equalBytes(r.bytesN(8, 'signature'), SIGNATURE)) throw new ProtocolError('NTLMSSP: the server\'s token does not start with "NTLMSSP\\0"');
  const type = r.u32le('MessageType');
  if (type !== 2) throw new ProtocolError(`NTLMSSP: message type ${type}, expected 2 (CHALLENGE)`);
  const targetNameBytes = field(r, msg, 'TargetName');
  const flags = r.u32le('NegotiateFlags');
  const serverChallenge = r.bytesN(8, 'ServerChallenge').slice();
  r.skip(8, 'Reserved');
  const targetInfo = r.remaining >= 8 ? field(r, msg, 'TargetInfo', 16384).slice() : new Uint8Array(0);
  let version: Challenge['version'];
  if (flags & FLAGS.version && r.remaining >= 8) {
    const major = r.u8('ProductMajorVersion');
    const minor = r.u8('ProductMinorVersion');
    const build = r.u16le('ProductBuild');
    r.skip(3, 'Reserved');
    version = { major, minor, build, ntlmRevision: r.u8('NTLMRevisionCurrent') };
  }
  const info: Challenge['info'] = {};
  let timestampRaw: Uint8Array | undefined;
  const av = new ByteReader(targetInfo);
  for (let i = 0; i < 64 && av.remaining >= 4; i++) {
    const id = av.u16le('AvId');
    const value = av.lengthPrefixed('u16le', 'AvLen', 4096);
    if (id === 0) break;
    const name = AV_IDS[id];
    if (id >= 1 && id <= 5) info[name as 'netbiosComputerName'] = fromUtf16le(value);
    if (id === 7 && value.length === 8) {
      timestampRaw = value.slice();
      info.timestamp = filetimeToIso(value);
    }
  }
  const unicode = (flags & FLAGS.unicode) !== 0;
  const targetName = unicode ? fromUtf16le(targetNameBytes) : String.fromCharCode(...targetNameBytes);
  return { flags, serverChallenge, targetName, targetInfo, info, timestampRaw, version };
}

/** The target information with MsvAvFlags bit 0x2 set (§2.2.2.1: the AUTHENTICATE message carries a MIC). */
function withMicFlag(targetInfo: Uint8Array): Uint8Array {
  const pairs: Uint8Array[] = [];
  let flags = 0;
  const av = new ByteReader(targetInfo);
  for (let i = 0; i < 64 && av.remaining >= 4; i++) {
    const id = av.u16le('AvId');
    const value = av.lengthPrefixed('u16le', 'AvLen', 4096);
    if (id === 0) break;
    if (id === 6 && value.length === 4) flags = new DataView(value.buffer, value.byteOffset, 4).getUint32(0, true);
    else pairs.push(new ByteWriter(4 + value.length).u16le(id).u16le(value.length).bytes(value).finish());
  }
  pairs.push(new ByteWriter(8).u16le(6).u16le(4).u32le((flags | 0x2) >>> 0).finish(), Uint8Array.of(0, 0, 0, 0));
  return concat(pairs);
}

/** Session security for AUTHENTICATE (§3.1.5.1.2): key exchange and a MIC over the three messages. */
export interface SessionOptions {
  /** The flags the client asked for in NEGOTIATE (SEALING_FLAGS). */
  flags: number;
  /** NEGOTIATE and CHALLENGE exactly as they crossed the wire: the MIC covers them. */
  negotiate: Uint8Array;
  challenge: Uint8Array;
}

export interface Credentials {
  user: string;
  password: string;
  domain: string;
  workstation?: string;
}

/**
 * §3.3.2 NTLMv2: NTOWFv2, the blob (§2.2.2.7 NTLMv2_CLIENT_CHALLENGE), NTProofStr and the AUTHENTICATE_MESSAGE
 * (§2.2.1.3) with an empty LmChallengeResponse when the server sent a timestamp, as §3.1.5.1.2 asks. With `session`,
 * a random ExportedSessionKey goes to the server RC4-encrypted with the KeyExchangeKey (§3.4.5.1 KXKEY is the session
 * base key under NTLMv2), and when the server sent a timestamp the message carries VERSION and a MIC.
 */
export function authenticateMessage(
  crypto: CryptoPort,
  c: Credentials,
  ch: Challenge,
  nowMs: number,
  clientChallenge = crypto.randomBytes(8),
  session?: SessionOptions,
  exportedSessionKey = session && ch.flags & FLAGS.keyExchange ? crypto.randomBytes(16) : undefined,
): { message: Uint8Array; sessionBaseKey: Uint8Array; exportedSessionKey: Uint8Array; mic: boolean } {
  const ntowf = crypto.hmacMd5(md4(utf16le(c.password)), utf16le(c.user.toUpperCase() + c.domain));
  const time = ch.timestampRaw ?? filetimeNow(nowMs);
  const mic = session !== undefined && ch.timestampRaw !== undefined;
  const targetInfo = mic ? withMicFlag(ch.targetInfo) : ch.targetInfo;
  const blob = new ByteWriter(64 + targetInfo.length).u8(1).u8(1).u16le(0).u32le(0).bytes(time).bytes(clientChallenge).u32le(0).bytes(targetInfo).u32le(0).finish();
  const ntProof = crypto.hmacMd5(ntowf, concat([ch.serverChallenge, blob]));
  const nt = concat([ntProof, blob]);
  const lm = ch.timestampRaw ? new Uint8Array(24) : concat([crypto.hmacMd5(ntowf, concat([ch.serverChallenge, clientChallenge])), clientChallenge]);
  const sessionBaseKey = crypto.hmacMd5(ntowf, ntProof);
  const encryptedKey = exportedSessionKey ? new Rc4(sessionBaseKey).process(exportedSessionKey) : new Uint8Array(0);
  const domain = utf16le(c.domain);
  const user = utf16le(c.user);
  const ws = utf16le(c.workstation ?? '');
  const flags = ((session ? session.flags : CLIENT_FLAGS) & ch.flags) | FLAGS.unicode | FLAGS.ntlm;
  const payload = [lm, nt, domain, user, ws, encryptedKey];
  const headerLength = mic ? 88 : 64;
  const w = new ByteWriter(headerLength + 64 + nt.length).bytes(SIGNATURE).u32le(3);
  let offset = headerLength;
  for (const p of payload) {
    w.u16le(p.length).u16le(p.length).u32le(offset);
    offset += p.length;
  }
  w.u32le((mic ? flags | FLAGS.version : flags) >>> 0);
  if (mic) w.bytes(CLIENT_VERSION).bytes(new Uint8Array(16));
  for (const p of payload) w.bytes(p);
  const message = w.finish();
  const exported = exportedSessionKey ?? sessionBaseKey;
  if (mic) message.set(crypto.hmacMd5(exported, concat([session.negotiate, session.challenge, message])), 72);
  return { message, sessionBaseKey, exportedSessionKey: exported, mic };
}

// Session security, §3.4: with extended session security the exported session key is the session base key, or the
// random key the client sent encrypted (key exchange); each direction signs with MD5(key ‖ magic) and a sequence
// number of its own, and seals with RC4 under MD5(key ‖ another magic).

const CLIENT_SIGN_MAGIC = 'session key to client-to-server signing key magic constant\0';
const SERVER_SIGN_MAGIC = 'session key to server-to-client signing key magic constant\0';

/** §3.4.5.2 SIGNKEY for both directions. */
export function signingKeys(crypto: CryptoPort, sessionKey: Uint8Array): { client: Uint8Array; server: Uint8Array } {
  const magic = (m: string) => Uint8Array.from(m, (c) => c.charCodeAt(0));
  return { client: crypto.md5(concat([sessionKey, magic(CLIENT_SIGN_MAGIC)])), server: crypto.md5(concat([sessionKey, magic(SERVER_SIGN_MAGIC)])) };
}

/**
 * §3.4.4.2 NTLMSSP_MESSAGE_SIGNATURE with extended session security: version 1, HMAC-MD5(key, seq ‖ message)[0..8]
 * (RC4-encrypted with the sealing handle when keys were exchanged), seq.
 */
export function signature(crypto: CryptoPort, key: Uint8Array, seq: number, message: Uint8Array, sealing?: Rc4): Uint8Array {
  const seqBytes = new ByteWriter(4).u32le(seq).finish();
  const mac = crypto.hmacMd5(key, concat([seqBytes, message])).subarray(0, 8);
  return new ByteWriter(16).u32le(1).bytes(sealing ? sealing.process(mac) : mac).bytes(seqBytes).finish();
}

const CLIENT_SEAL_MAGIC = 'session key to client-to-server sealing key magic constant\0';
const SERVER_SEAL_MAGIC = 'session key to server-to-client sealing key magic constant\0';

/** §3.4.5.3 SEALKEY with 128-bit keys negotiated (NTLMSSP_NEGOTIATE_128): MD5 of the whole session key and a magic. */
export function sealingKeys(crypto: CryptoPort, sessionKey: Uint8Array): { client: Uint8Array; server: Uint8Array } {
  const magic = (m: string) => Uint8Array.from(m, (c) => c.charCodeAt(0));
  return { client: crypto.md5(concat([sessionKey, magic(CLIENT_SEAL_MAGIC)])), server: crypto.md5(concat([sessionKey, magic(SERVER_SEAL_MAGIC)])) };
}

/**
 * §3.4.3 message confidentiality, client side: one RC4 stream per direction, kept across messages, encrypts each
 * message and then its checksum; each direction counts its own sequence numbers from 0 (§3.4.4.2).
 */
export class NtlmSealing {
  private readonly signOut: Uint8Array;
  private readonly signIn: Uint8Array;
  private readonly rc4Out: Rc4;
  private readonly rc4In: Rc4;
  private seqOut = 0;
  private seqIn = 0;

  constructor(
    private readonly crypto: CryptoPort,
    exportedSessionKey: Uint8Array,
  ) {
    const sign = signingKeys(crypto, exportedSessionKey);
    const seal = sealingKeys(crypto, exportedSessionKey);
    this.signOut = sign.client;
    this.signIn = sign.server;
    this.rc4Out = new Rc4(seal.client);
    this.rc4In = new Rc4(seal.server);
  }

  /** The 16-byte signature followed by the encrypted message (GSS_WrapEx as CredSSP carries it). */
  seal(message: Uint8Array): Uint8Array {
    const sealed = this.rc4Out.process(message);
    const sig = signature(this.crypto, this.signOut, this.seqOut++, message, this.rc4Out);
    return concat([sig, sealed]);
  }

  /** Decrypts what the server sealed and checks its signature; a wrong one is a ProtocolError. */
  unseal(token: Uint8Array, what: string): Uint8Array {
    if (token.length < 16) throw new ProtocolError(`${what}: ${token.length} bytes, shorter than an NTLM signature`);
    const message = this.rc4In.process(token.subarray(16));
    const expected = signature(this.crypto, this.signIn, this.seqIn++, message, this.rc4In);
    if (!equalBytes(expected, token.subarray(0, 16))) throw new ProtocolError(`${what}: the NTLM signature does not verify (wrong session key or sequence number)`);
    return message;
  }
}

/** RC4 (the stream cipher NTLM seals with, §3.4.3): a key schedule, then one keystream byte per byte processed. */
export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  constructor(key: Uint8Array) {
    if (key.length === 0 || key.length > 256) throw new ProtocolError(`RC4 key of ${key.length} bytes`);
    const s = this.s;
    for (let n = 0; n < 256; n++) s[n] = n;
    for (let n = 0, j = 0; n < 256; n++) {
      j = (j + s[n] + key[n % key.length]) & 0xff;
      [s[n], s[j]] = [s[j], s[n]];
    }
  }

  process(data: Uint8Array): Uint8Array {
    const s = this.s;
    const out = new Uint8Array(data.length);
    let { i, j } = this;
    for (let n = 0; n < data.length; n++) {
      i = (i + 1) & 0xff;
      j = (j + s[i]) & 0xff;
      const t = s[i];
      s[i] = s[j];
      s[j] = t;
      out[n] = data[n] ^ s[(s[i] + s[j]) & 0xff];
    }
    this.i = i;
    this.j = j;
    return out;
  }
}

// MD4, RFC 1320: three rounds of 16 operations on 512-bit blocks.

export function md4(input: Uint8Array): Uint8Array {
  return new Md4().update(input).digest();
}

const rotl = (x: number, s: number) => (x << s) | (x >>> (32 - s));
const f = (p: number, q: number, r: number) => (p & q) | (~p & r);
const g = (p: number, q: number, r: number) => (p & q) | (p & r) | (q & r);
const h = (p: number, q: number, r: number) => p ^ q ^ r;

/** MD4 fed in pieces (rsync's whole-file checksum of a streamed file). */
export class Md4 {
  private s = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  private readonly pending = new Uint8Array(64);
  private pendingLength = 0;
  private length = 0;
  private readonly x = new Uint32Array(16);

  update(data: Uint8Array): this {
    this.length += data.length;
    let at = 0;
    if (this.pendingLength > 0) {
      const n = Math.min(64 - this.pendingLength, data.length);
      this.pending.set(data.subarray(0, n), this.pendingLength);
      this.pendingLength += n;
      at = n;
      if (this.pendingLength < 64) return this;
      this.block(this.pending, 0);
      this.pendingLength = 0;
    }
    for (; at + 64 <= data.length; at += 64) this.block(data, at);
    this.pending.set(data.subarray(at));
    this.pendingLength = data.length - at;
    return this;
  }

  digest(): Uint8Array {
    const len = this.length;
    const padLength = (this.pendingLength < 56 ? 56 : 120) - this.pendingLength;
    const pad = new Uint8Array(padLength + 8);
    pad[0] = 0x80;
    const dv = new DataView(pad.buffer);
    dv.setUint32(padLength, (len * 8) >>> 0, true);
    dv.setUint32(padLength + 4, Math.floor(len / 0x20000000), true);
    this.update(pad);
    const [a, b, c, d] = this.s;
    return new ByteWriter(16).u32le(a >>> 0).u32le(b >>> 0).u32le(c >>> 0).u32le(d >>> 0).finish();
  }

  private block(m: Uint8Array, off: number): void {
    const x = this.x;
    for (let i = 0; i < 16; i++) x[i] = (m[off + i * 4] | (m[off + i * 4 + 1] << 8) | (m[off + i * 4 + 2] << 16) | (m[off + i * 4 + 3] << 24)) >>> 0;
    let [a, b, c, d] = this.s;
    for (const i of [0, 4, 8, 12]) {
      a = rotl((a + f(b, c, d) + x[i]) | 0, 3);
      d = rotl((d + f(a, b, c) + x[i + 1]) | 0, 7);
      c = rotl((c + f(d, a, b) + x[i + 2]) | 0, 11);
      b = rotl((b + f(c, d, a) + x[i + 3]) | 0, 19);
    }
    for (const i of [0, 1, 2, 3]) {
      a = rotl((a + g(b, c, d) + x[i] + 0x5a827999) | 0, 3);
      d = rotl((d + g(a, b, c) + x[i + 4] + 0x5a827999) | 0, 5);
      c = rotl((c + g(d, a, b) + x[i + 8] + 0x5a827999) | 0, 9);
      b = rotl((b + g(c, d, a) + x[i + 12] + 0x5a827999) | 0, 13);
    }
    for (const i of [0, 2, 1, 3]) {
      a = rotl((a + h(b, c, d) + x[i] + 0x6ed9eba1) | 0, 3);
      d = rotl((d + h(a, b, c) + x[i + 8] + 0x6ed9eba1) | 0, 9);
      c = rotl((c + h(d, a, b) + x[i + 4] + 0x6ed9eba1) | 0, 11);
      b = rotl((b + h(c, d, a) + x[i + 12] + 0x6ed9eba1) | 0, 15);
    }
    this.s = [(this.s[0] + a) | 0, (this.s[1] + b) | 0, (this.s[2] + c) | 0, (this.s[3] + d) | 0];
  }
}
