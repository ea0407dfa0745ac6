// ZooKeeper client protocol (Apache ZooKeeper 3.8, zookeeper.jute and ClientCnxn): length-prefixed jute
// records for the session handshake, requests and replies, watch notifications, and the four-letter words.
//
// How it works: every packet is a 4-byte big-endian length and a jute record. The first exchange is
// ConnectRequest / ConnectResponse (no header). After it, a request is RequestHeader (xid, op type) and
// the op's record; a reply is ReplyHeader (xid, zxid, err) and, when err is 0, the op's response record.
// Special xids: -1 a watch notification (WatcherEvent), -2 a ping reply, -4 an auth reply.
// Jute: int 4 bytes, long 8, boolean 1, buffer and ustring an int length (-1 for null) then the bytes,
// vector an int count then the items.
import { ByteReader, ByteWriter, fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';
import { lengthPrefixedFrame } from '../../core/framing.ts';

/** Largest packet accepted: ZooKeeper's own jute.maxbuffer default is just under 1 MiB; leave room. */
export const MAX_PACKET = 16 * 1024 * 1024;
const MAX_VECTOR = 1_000_000;

export const Op = { create: 1, delete: 2, exists: 3, getData: 4, setData: 5, getACL: 6, setACL: 7, getChildren: 8, sync: 9, ping: 11, getChildren2: 12, check: 13, multi: 14, create2: 15, auth: 100, setWatches: 101, closeSession: -11 } as const;
export const Xid = { notification: -1, ping: -2, auth: -4 } as const;

/** KeeperException.Code (ZooKeeper 3.8). */
export const ERRORS: Record<number, string> = {
  0: 'OK',
  [-1]: 'SYSTEMERROR',
  [-2]: 'RUNTIMEINCONSISTENCY',
  [-3]: 'DATAINCONSISTENCY',
  [-4]: 'CONNECTIONLOSS',
  [-5]: 'MARSHALLINGERROR',
  [-6]: 'UNIMPLEMENTED',
  [-7]: 'OPERATIONTIMEOUT',
  [-8]: 'BADARGUMENTS',
  [-12]: 'UNKNOWNSESSION',
  [-13]: 'NEWCONFIGNOQUORUM',
  [-14]: 'RECONFIGINPROGRESS',
  [-100]: 'APIERROR',
  [-101]: 'NONODE',
  [-102]: 'NOAUTH',
  [-103]: 'BADVERSION',
  [-108]: 'NOCHILDRENFOREPHEMERALS',
  [-110]: 'NODEEXISTS',
  [-111]: 'NOTEMPTY',
  [-112]: 'SESSIONEXPIRED',
  [-113]: 'INVALIDCALLBACK',
  [-114]: 'INVALIDACL',
  [-115]: 'AUTHFAILED',
  [-118]: 'SESSIONMOVED',
  [-119]: 'NOTREADONLY',
  [-120]: 'EPHEMERALONLOCALSESSION',
  [-121]: 'NOWATCHER',
  [-123]: 'RECONFIGDISABLED',
  [-124]: 'SESSIONCLOSEDREQUIRESASLAUTH',
  [-125]: 'QUOTAEXCEEDED',
  [-127]: 'THROTTLEDOP',
};

export function errorName(code: number): string {
  return ERRORS[code] ?? `error ${code}`;
}

/** Watcher.Event.EventType and KeeperState. */
export const EVENT_TYPES: Record<number, string> = { [-1]: 'None', 1: 'NodeCreated', 2: 'NodeDeleted', 3: 'NodeDataChanged', 4: 'NodeChildrenChanged', 5: 'DataWatchRemoved', 6: 'ChildWatchRemoved', 7: 'PersistentWatchRemoved' };
export const KEEPER_STATES: Record<number, string> = { [-112]: 'Expired', 0: 'Disconnected', 3: 'SyncConnected', 4: 'AuthFailed', 5: 'ConnectedReadOnly', 6: 'SaslAuthenticated', 7: 'Closed' };

/** CreateMode flags (CreateMode.java): persistent 0, ephemeral 1, sequential 2, both 3. */
export const CREATE_MODES = { persistent: 0, ephemeral: 1, sequential: 2, ephemeralSequential: 3 } as const;

/** ZooDefs.Perms. */
export const Perms = { READ: 1, WRITE: 2, CREATE: 4, DELETE: 8, ADMIN: 16, ALL: 31 } as const;

export interface Acl {
  perms: number;
  scheme: string;
  id: string;
}

export interface Stat {
  czxid: bigint;
  mzxid: bigint;
  ctime: bigint;
  mtime: bigint;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: bigint;
}

// Jute primitives.

export class JuteWriter extends ByteWriter {
  int(v: number): this {
    return this.i32(v);
  }
  long(v: bigint): this {
    return this.i64(v);
  }
  bool(v: boolean): this {
    return this.u8(v ? 1 : 0);
  }
  buffer(b: Uint8Array | null): this {
    if (b === null) return this.i32(-1);
    return this.i32(b.length).bytes(b);
  }
  ustring(s: string | null): this {
    return this.buffer(s === null ? null : utf8(s));
  }
}

export class JuteReader extends ByteReader {
  int(field: string): number {
    return this.i32(field);
  }
  long(field: string): bigint {
    return this.i64(field);
  }
  bool(field: string): boolean {
    return this.u8(field) !== 0;
  }
  buffer(field: string): Uint8Array | null {
    const n = this.i32(`${field} length`);
    if (n === -1) return null;
    if (n < 0) throw new ProtocolError(`${field}: negative length ${n}`);
    return this.bytesN(n, field);
  }
  ustring(field: string): string | null {
    const b = this.buffer(field);
    return b === null ? null : fromUtf8(b);
  }
  count(field: string): number {
    const n = this.i32(`${field} count`);
    if (n === -1) return 0;
    // Each item takes at least 4 bytes: a count beyond what is left is a lie, whatever the cap.
    if (n < 0 || n > MAX_VECTOR || n * 4 > this.remaining) throw new ProtocolError(`${field}: vector count ${n} does not fit the ${this.remaining} bytes left`);
    return n;
  }
  stat(): Stat {
    return {
      czxid: this.long('czxid'),
      mzxid: this.long('mzxid'),
      ctime: this.long('ctime'),
      mtime: this.long('mtime'),
      version: this.int('version'),
      cversion: this.int('cversion'),
      aversion: this.int('aversion'),
      ephemeralOwner: this.long('ephemeralOwner'),
      dataLength: this.int('dataLength'),
      numChildren: this.int('numChildren'),
      pzxid: this.long('pzxid'),
    };
  }
}

/** One packet: the 4-byte length and the record; a length above MAX_PACKET (a 2^31 one included) is refused. */
export function packetFrame(max = MAX_PACKET): Frame<Uint8Array> {
  const inner = lengthPrefixedFrame(4, max);
  return (buf) => {
    if (buf.length >= 4 && buf[0] & 0x80) throw new ProtocolError(`ZooKeeper packet length ${new DataView(buf.buffer, buf.byteOffset, 4).getInt32(0)} is negative`);
    return inner(buf);
  };
}

function framed(build: (w: JuteWriter) => void): Uint8Array {
  const w = new JuteWriter(128);
  const done = w.lengthAt('u32');
  build(w);
  done();
  return w.finish();
}

export interface ConnectRequest {
  timeoutMs: number;
  readOnly: boolean;
  sessionId?: bigint;
  password?: Uint8Array;
  lastZxidSeen?: bigint;
}

export function encodeConnect(c: ConnectRequest): Uint8Array {
  return framed((w) => w.int(0).long(c.lastZxidSeen ?? 0n).int(c.timeoutMs).long(c.sessionId ?? 0n).buffer(c.password ?? new Uint8Array(16)).bool(c.readOnly));
}

export interface ConnectResponse {
  protocolVersion: number;
  timeoutMs: number;
  sessionId: bigint;
  password: Uint8Array;
  readOnly: boolean | null;
}

export function decodeConnectResponse(body: Uint8Array): ConnectResponse {
  const r = new JuteReader(body);
  const protocolVersion = r.int('protocolVersion');
  const timeoutMs = r.int('timeOut');
  const sessionId = r.long('sessionId');
  const password = (r.buffer('passwd') ?? new Uint8Array(0)).slice();
  // readOnly was added in 3.4: older servers leave it out.
  const readOnly = r.remaining > 0 ? r.bool('readOnly') : null;
  return { protocolVersion, timeoutMs, sessionId, password, readOnly };
}

/** A request: RequestHeader (xid, type) and the op's record. */
export function encodeRequest(xid: number, type: number, body?: (w: JuteWriter) => void): Uint8Array {
  return framed((w) => {
    w.int(xid).int(type);
    body?.(w);
  });
}

export const encodePath = (path: string, watch: boolean) => (w: JuteWriter) => w.ustring(path).bool(watch);

export function encodeCreateBody(path: string, data: Uint8Array, acl: Acl[], flags: number): (w: JuteWriter) => void {
  return (w) => {
    w.ustring(path).buffer(data).int(acl.length);
    for (const a of acl) w.int(a.perms).ustring(a.scheme).ustring(a.id);
    w.int(flags);
  };
}

export function encodeAuth(scheme: string, credentials: Uint8Array): Uint8Array {
  return encodeRequest(Xid.auth, Op.auth, (w) => w.int(0).ustring(scheme).buffer(credentials));
}

export interface Reply {
  xid: number;
  zxid: bigint;
  err: number;
  body: JuteReader;
}

export function decodeReply(packet: Uint8Array): Reply {
  const r = new JuteReader(packet);
  return { xid: r.int('xid'), zxid: r.long('zxid'), err: r.int('err'), body: r };
}

export interface WatchEvent {
  type: string;
  state: string;
  path: string;
}

export function decodeWatchEvent(r: JuteReader): WatchEvent {
  const type = r.int('type');
  const state = r.int('state');
  return { type: EVENT_TYPES[type] ?? `event ${type}`, state: KEEPER_STATES[state] ?? `state ${state}`, path: r.ustring('path') ?? '' };
}

export function decodeChildren(r: JuteReader): string[] {
  const n = r.count('children');
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(r.ustring('child') ?? '');
  return out;
}

export function decodeAcls(r: JuteReader): Acl[] {
  const n = r.count('acl');
  const out: Acl[] = [];
  for (let i = 0; i < n; i++) out.push({ perms: r.int('perms'), scheme: r.ustring('scheme') ?? '', id: r.ustring('id') ?? '' });
  return out;
}

export function permsText(p: number): string {
  return ['r', 'w', 'c', 'd', 'a'].map((c, i) => (p & (1 << i) ? c : '-')).join('');
}

/** Paths are absolute, without a trailing slash (except "/"), no empty, "." or ".." segments (PathUtils.validatePath). */
export function checkPath(path: string, sequential = false): string | undefined {
  if (!path.startsWith('/')) return 'must start with /';
  if (path === '/') return undefined;
  if (path.endsWith('/') && !sequential) return 'must not end with /';
  if (/\/\//.test(path)) return 'has an empty segment';
  if (/\/\.\.?(\/|$)/.test(path)) return 'has a relative segment (. or ..)';
  if (/[\u0000-\u001f\u007f-\u009f\ud800-\uf8ff\ufff0-\uffff]/.test(path)) return 'has a character ZooKeeper refuses';
  return undefined;
}

/** `mntr` output: tab-separated key and value per line; numbers typed. */
export function parseMntr(text: string): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab <= 0) continue;
    const v = line.slice(tab + 1).trim();
    out[line.slice(0, tab)] = /^-?\d{1,15}(\.\d+)?$/.test(v) ? Number(v) : v;
  }
  return out;
}

/** `conf` and `envi`: key=value lines (envi starts with a header line). */
export function parseKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

/** `srvr` and `stat`: "Key: value" lines. */
export function parseColonLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z][\w ]*?):\s*(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].trim();
  }
  return out;
}
