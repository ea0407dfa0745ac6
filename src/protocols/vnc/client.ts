// The RFB session over a Conn (RFC 6143 7.1–7.4 and VeNCrypt): version, security, ClientInit/ServerInit, then the
// pixel format and encodings this client decodes, and reading updates through the sans-I/O UpdateDecoder.
//
// How it works: `handshake` answers the server's version with the highest one both speak (or the one asked for),
// picks a security type from what the server offers and the credentials given (never sending a password where it
// would travel in clear unless asked to), runs it — VNC Authentication's DES response, or VeNCrypt's version and
// subtype exchange, the TLS upgrade for X509 subtypes and what the subtype carries inside — and reads the result
// with the server's reason, then ServerInit. `RfbClient` then speaks the normal protocol.
import type { Conn } from '../../core/conn.ts';
import { AuthError, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import {
  RGBX,
  SecurityType,
  VeNCryptSubtype,
  chooseVersion,
  describePixelFormat,
  encodeClientInit,
  encodePlainCredentials,
  encodeSetEncodings,
  encodeSetPixelFormat,
  encodeEnableContinuousUpdates,
  encodeUpdateRequest,
  encodeVersion,
  encodingName,
  securityResultFrame,
  securityType33Frame,
  securityTypeName,
  securityTypesFrame,
  serverInitFrame,
  veNCryptSubtypeName,
  veNCryptSubtypesFrame,
  veNCryptUsesTls,
  veNCryptVersionFrame,
  versionFrame,
  vncAuthResponse,
  type RfbVersion,
  type ServerInit,
} from './codec.ts';
import { exactFrame } from '../../core/framing.ts';
import { UpdateDecoder, type ServerEvent } from './updates.ts';
import { toHex } from '../../core/bytes.ts';

export type SecurityChoice = 'auto' | 'none' | 'vnc' | 'plain' | 'x509none' | 'x509vnc' | 'x509plain' | 'tlsnone' | 'tlsvnc' | 'tlsplain';

export interface Credentials {
  username?: string;
  password?: string;
}

export interface HandshakeOptions extends Credentials {
  security: SecurityChoice;
  /** The highest RFB minor version to speak (3, 7 or 8). */
  version: 3 | 7 | 8;
  shared: boolean;
}

export interface SecurityUsed {
  type: number;
  name: string;
  subtype?: number;
  subtypeName?: string;
  tls: boolean;
}

export interface Handshake {
  serverVersion: RfbVersion;
  version: string;
  offered: { type: number; name: string }[];
  security: SecurityUsed;
  init: ServerInit;
}

const SUBTYPE_OF: Record<string, number> = {
  plain: VeNCryptSubtype.plain,
  x509none: VeNCryptSubtype.x509None,
  x509vnc: VeNCryptSubtype.x509Vnc,
  x509plain: VeNCryptSubtype.x509Plain,
  tlsnone: VeNCryptSubtype.tlsNone,
  tlsvnc: VeNCryptSubtype.tlsVnc,
  tlsplain: VeNCryptSubtype.tlsPlain,
};

/** Reads ProtocolVersion and answers it; returns both. */
export async function exchangeVersions(conn: Conn, want: 3 | 7 | 8): Promise<{ server: RfbVersion; minor: 3 | 7 | 8 }> {
  const server = await conn.readFrame(versionFrame, 'ProtocolVersion', (v) => `ProtocolVersion ${v.text}`);
  const minor = chooseVersion(server, want);
  await conn.write(encodeVersion(minor), { decode: `ProtocolVersion RFB 003.00${minor}` });
  return { server, minor };
}

/** The security types on offer (3.3: the one the server chose). A server that refuses to go on says why: ServerError. */
export async function readSecurityTypes(conn: Conn, minor: 3 | 7 | 8): Promise<number[]> {
  if (minor === 3) {
    const s = await conn.readFrame(securityType33Frame, 'security type', (v) => (v.type ? `security type ${securityTypeName(v.type)} (the server's choice)` : `connection refused: ${v.reason}`));
    if (s.type === 0) throw new ServerError(`the server refused the connection: ${s.reason}`, { reason: s.reason });
    return [s.type];
  }
  const s = await conn.readFrame(securityTypesFrame, 'security types', (v) => (v.types.length ? `security types: ${v.types.map(securityTypeName).join(', ')}` : `connection refused: ${'reason' in v ? v.reason : ''}`));
  if (s.types.length === 0) {
    const reason = 'reason' in s ? s.reason : '';
    throw new ServerError(`the server refused the connection: ${reason}`, { reason });
  }
  return s.types;
}

/** What `auto` picks: the strongest the server offers that the credentials allow, in clear only what needs no secret. */
function pickAuto(offered: number[], creds: Credentials, canTls: boolean): { type: number; subtype?: number } {
  const vencrypt = offered.includes(SecurityType.veNCrypt) && canTls;
  if (creds.username !== undefined && creds.password !== undefined && vencrypt) return { type: SecurityType.veNCrypt, subtype: VeNCryptSubtype.x509Plain };
  if (creds.password !== undefined) {
    if (vencrypt) return { type: SecurityType.veNCrypt, subtype: VeNCryptSubtype.x509Vnc };
    if (offered.includes(SecurityType.vncAuth)) return { type: SecurityType.vncAuth };
  }
  if (offered.includes(SecurityType.none)) return { type: SecurityType.none };
  if (offered.includes(SecurityType.vncAuth)) throw new AuthError('the server asks for VNC Authentication: give a password');
  if (offered.includes(SecurityType.veNCrypt)) throw new AuthError('the server asks for VeNCrypt: give a password (and a username for Plain)');
  throw new AuthError(`the server offers no security type this client speaks: ${offered.map(securityTypeName).join(', ')}`);
}

function requireOffered(offered: number[], type: number): void {
  if (!offered.includes(type)) throw new AuthError(`the server does not offer ${securityTypeName(type)}; it offers ${offered.map(securityTypeName).join(', ')}`, { offered });
}

async function readResult(conn: Conn, minor: 3 | 7 | 8, what: string): Promise<void> {
  const r = await conn.readFrame(securityResultFrame(minor), 'SecurityResult', (v) => (v.ok ? 'SecurityResult OK' : `SecurityResult failed (${v.status})${v.reason ? `: ${v.reason}` : ''}`));
  if (!r.ok) throw new AuthError(`${what} failed${r.reason ? `: ${r.reason}` : ' (the server gave no reason)'}`, { status: r.status, reason: r.reason ?? null });
}

async function vncAuth(conn: Conn, password: string | undefined): Promise<void> {
  if (password === undefined) throw new AuthError('VNC Authentication needs a password');
  const challenge = await conn.readFrame(exactFrame(16), 'VNC Authentication challenge', (c) => `challenge ${toHex(c)}`);
  await conn.write(vncAuthResponse(password, challenge), { secret: true, decode: 'VNC Authentication response (DES of the challenge) ****' });
}

/** VeNCrypt: versions, the subtype list, the choice; TLS when the subtype has it; then what the subtype carries. */
async function veNCrypt(conn: Conn, subtype: number | 'list', creds: Credentials): Promise<{ subtypes: number[]; tls: boolean }> {
  const v = await conn.readFrame(veNCryptVersionFrame, 'VeNCrypt version', (x) => `VeNCrypt version ${x.major}.${x.minor}`);
  if (v.major === 0 && v.minor < 2) throw new ProtocolError(`VeNCrypt ${v.major}.${v.minor} is older than 0.2, the version this client speaks`);
  await conn.write(Uint8Array.of(0, 2), { decode: 'VeNCrypt version 0.2' });
  const ack = await conn.readFrame(exactFrame(1), 'VeNCrypt version answer', (b) => (b[0] === 0 ? 'VeNCrypt version accepted' : `VeNCrypt version refused (${b[0]})`));
  if (ack[0] !== 0) throw new ServerError('the server refused VeNCrypt version 0.2');
  const subtypes = await conn.readFrame(veNCryptSubtypesFrame, 'VeNCrypt subtypes', (t) => `VeNCrypt subtypes: ${t.map(veNCryptSubtypeName).join(', ')}`);
  if (subtype === 'list') return { subtypes, tls: false };
  if (!subtypes.includes(subtype)) {
    throw new AuthError(`the server does not offer VeNCrypt ${veNCryptSubtypeName(subtype)}; it offers ${subtypes.map(veNCryptSubtypeName).join(', ')}`, { subtypes });
  }
  await conn.write(new Uint8Array([0, 0, subtype >> 8, subtype & 0xff]), { decode: `VeNCrypt subtype ${veNCryptSubtypeName(subtype)}` });
  const tls = veNCryptUsesTls(subtype);
  if (tls) {
    const go = await conn.readFrame(exactFrame(1), 'VeNCrypt TLS go-ahead', (b) => (b[0] === 1 ? 'VeNCrypt: start TLS' : `VeNCrypt: TLS refused (${b[0]})`));
    if (go[0] !== 1) throw new ServerError(`the server refused to start TLS for ${veNCryptSubtypeName(subtype)}`);
    await conn.startTls();
  }
  if (subtype === VeNCryptSubtype.plain || subtype === VeNCryptSubtype.tlsPlain || subtype === VeNCryptSubtype.x509Plain) {
    if (creds.username === undefined || creds.password === undefined) throw new AuthError(`VeNCrypt ${veNCryptSubtypeName(subtype)} needs a username and a password`);
    await conn.write(encodePlainCredentials(creds.username, creds.password), { secret: true, decode: `Plain credentials for ${creds.username} ****` });
  } else if (subtype === VeNCryptSubtype.tlsVnc || subtype === VeNCryptSubtype.x509Vnc) {
    await vncAuth(conn, creds.password);
  }
  return { subtypes, tls: tls !== false };
}

/** The whole handshake up to ServerInit. */
export async function handshake(conn: Conn, opts: HandshakeOptions): Promise<Handshake> {
  const { server, minor } = await exchangeVersions(conn, opts.version);
  const offered = await readSecurityTypes(conn, minor);
  let choice: { type: number; subtype?: number };
  if (opts.security === 'auto') choice = pickAuto(offered, opts, true);
  else if (opts.security === 'none') choice = { type: SecurityType.none };
  else if (opts.security === 'vnc') choice = { type: SecurityType.vncAuth };
  else choice = { type: SecurityType.veNCrypt, subtype: SUBTYPE_OF[opts.security] };
  requireOffered(offered, choice.type);
  if (choice.subtype === VeNCryptSubtype.plain && opts.security !== 'plain') throw new AuthError('VeNCrypt Plain sends the password in clear: ask for security "plain" to use it');
  if (minor !== 3) await conn.write(Uint8Array.of(choice.type), { decode: `security type ${securityTypeName(choice.type)}` });
  const used: SecurityUsed = { type: choice.type, name: securityTypeName(choice.type), tls: false };
  if (choice.type === SecurityType.vncAuth) await vncAuth(conn, opts.password);
  else if (choice.type === SecurityType.veNCrypt) {
    const v = await veNCrypt(conn, choice.subtype!, opts);
    used.subtype = choice.subtype;
    used.subtypeName = veNCryptSubtypeName(choice.subtype!);
    used.tls = v.tls;
  } else if (choice.type !== SecurityType.none) throw new AuthError(`security type ${securityTypeName(choice.type)} is not one this client speaks`);
  // RFC 6143 7.1.3: 3.8 sends SecurityResult after every type; 3.3 and 3.7 not after None.
  if (minor === 8 || choice.type !== SecurityType.none) await readResult(conn, minor, used.subtypeName ? `VeNCrypt ${used.subtypeName}` : used.name);
  await conn.write(encodeClientInit(opts.shared), { decode: `ClientInit shared=${opts.shared}` });
  const init = await conn.readFrame(serverInitFrame, 'ServerInit', (i) => `ServerInit ${i.width}×${i.height} "${i.name}", ${describePixelFormat(i.pixelFormat)}`);
  return { serverVersion: server, version: `3.${minor}`, offered: offered.map((t) => ({ type: t, name: securityTypeName(t) })), security: used, init };
}

/** Lists VeNCrypt's subtypes on a fresh connection (the exchange ends there). */
export async function listVeNCryptSubtypes(conn: Conn): Promise<number[]> {
  const { minor } = await exchangeVersions(conn, 8);
  if (minor === 3) return [];
  const offered = await readSecurityTypes(conn, minor);
  if (!offered.includes(SecurityType.veNCrypt)) return [];
  await conn.write(Uint8Array.of(SecurityType.veNCrypt), { decode: 'security type VeNCrypt' });
  return (await veNCrypt(conn, 'list', {})).subtypes;
}

export const ENCODING_IDS = { raw: 0, copyrect: 1, rre: 2, hextile: 5, tight: 7, zrle: 16 } as const;
export type EncodingName = keyof typeof ENCODING_IDS;

export interface SetupOptions {
  /** Pixel encodings in order of preference. */
  encodings: readonly EncodingName[];
  /** Pseudo-encodings and levels. */
  desktopSize?: boolean;
  cursor?: boolean;
  jpegQuality?: number;
  compressLevel?: number;
  /** ContinuousUpdates and Fence: a server that has them may push updates unasked (TigerVNC, x11vnc). */
  continuous?: boolean;
}

/** The encodings list sent in SetEncodings. */
export function encodingList(o: SetupOptions): number[] {
  const list: number[] = o.encodings.map((e) => ENCODING_IDS[e]);
  if (o.jpegQuality !== undefined) list.push(-32 + o.jpegQuality);
  if (o.compressLevel !== undefined) list.push(-256 + o.compressLevel);
  if (o.desktopSize) list.push(-308, -223, -307);
  if (o.cursor) list.push(-239);
  if (o.continuous) list.push(-313, -312);
  list.push(-224); // LastRect
  return list;
}

/** Bytes asked of the host per read once updates flow. */
const READ_SIZE = 256 * 1024;

/** The normal protocol after ServerInit. */
export class RfbClient {
  readonly decoder: UpdateDecoder;

  constructor(
    readonly conn: Conn,
    readonly hs: Handshake,
  ) {
    this.decoder = new UpdateDecoder(hs.init.width, hs.init.height);
    // Updates are megabytes: read them in large pieces (a slow reader makes the server send smaller updates).
    conn.bulkReads(READ_SIZE);
  }

  get width(): number {
    return this.decoder.width;
  }

  get height(): number {
    return this.decoder.height;
  }

  async setup(o: SetupOptions): Promise<number[]> {
    const list = encodingList(o);
    await this.conn.write(encodeSetPixelFormat(RGBX), { decode: `SetPixelFormat ${describePixelFormat(RGBX)}` });
    await this.conn.write(encodeSetEncodings(list), { decode: `SetEncodings ${list.map(encodingName).join(', ')}` });
    return list;
  }

  async requestUpdate(incremental: boolean, area = { x: 0, y: 0, width: this.width, height: this.height }): Promise<void> {
    await this.conn.write(encodeUpdateRequest(incremental, area.x, area.y, area.width, area.height), {
      decode: `FramebufferUpdateRequest ${incremental ? 'incremental' : 'full'} ${area.width}×${area.height} at ${area.x},${area.y}`,
    });
  }

  /** Asks the server to push updates of the whole screen as it changes (or to stop: it answers EndOfContinuousUpdates). */
  async enableContinuousUpdates(enable: boolean): Promise<void> {
    await this.conn.write(encodeEnableContinuousUpdates(enable, 0, 0, this.width, this.height), {
      decode: `EnableContinuousUpdates ${enable ? 'on' : 'off'} ${this.width}×${this.height} at 0,0`,
    });
  }

  /** The events the next chunk from the server completes (possibly none); null when the server has closed. */
  async read(): Promise<ServerEvent[] | null> {
    const chunk = await this.conn.read(1 << 20);
    if (chunk === null) return null;
    return this.decoder.feed(chunk);
  }
}

/** A failure before ServerInit with its stage, for the transcript and the answer. */
export function stageError(stage: string, e: unknown): unknown {
  if (e instanceof PortolanError && e.code === 'closed') return new PortolanError('closed', `the server closed the connection during ${stage}: ${e.message}`);
  return e;
}
