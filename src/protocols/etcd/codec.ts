// etcd v3 API messages (etcd 3.4 api/etcdserverpb/rpc.proto, api/mvccpb/kv.proto, auth.proto), encoded and
// decoded field by field with protobuf's wire format: etcd serves no reflection, so the schema lives here.
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { ProtocolError } from '../../core/errors.ts';

const MAX_REPEATED = 1_000_000;

type Handler = (r: BinaryReader, wire: WireType) => void;

/** Reads a message, calling the handler of each known field number and skipping the rest; wire errors are ProtocolErrors. */
export function readMessage(bytes: Uint8Array, what: string, fields: Record<number, Handler>): void {
  const r = new BinaryReader(bytes);
  try {
    while (r.pos < r.len) {
      const [no, wire] = r.tag();
      const h = fields[no];
      if (h) h(r, wire);
      else r.skip(wire, no);
    }
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    throw new ProtocolError(`${what}: ${(e as Error).message}`);
  }
}

const num = (v: bigint | string) => Number(v);
const dec = (v: bigint | string) => BigInt(v).toString();

export interface Header {
  clusterId: string;
  memberId: string;
  revision: number;
  raftTerm: number;
}

function header(bytes: Uint8Array): Header {
  const h: Header = { clusterId: '0', memberId: '0', revision: 0, raftTerm: 0 };
  readMessage(bytes, 'ResponseHeader', {
    1: (r) => (h.clusterId = dec(r.uint64())),
    2: (r) => (h.memberId = dec(r.uint64())),
    3: (r) => (h.revision = num(r.int64())),
    4: (r) => (h.raftTerm = num(r.uint64())),
  });
  return h;
}

export interface KeyValue {
  key: Uint8Array;
  value: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: string;
}

export function decodeKeyValue(bytes: Uint8Array): KeyValue {
  const kv: KeyValue = { key: new Uint8Array(0), value: new Uint8Array(0), createRevision: 0, modRevision: 0, version: 0, lease: '0' };
  readMessage(bytes, 'KeyValue', {
    1: (r) => (kv.key = r.bytes()),
    2: (r) => (kv.createRevision = num(r.int64())),
    3: (r) => (kv.modRevision = num(r.int64())),
    4: (r) => (kv.version = num(r.int64())),
    5: (r) => (kv.value = r.bytes()),
    6: (r) => (kv.lease = dec(r.int64())),
  });
  return kv;
}

function pushCapped<T>(list: T[], v: T, what: string): void {
  if (list.length >= MAX_REPEATED) throw new ProtocolError(`${what}: more than ${MAX_REPEATED} entries`);
  list.push(v);
}

/** The key after every key with this prefix: the prefix with its last byte below 0xff incremented (etcd clientv3 GetPrefixRangeEnd). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  // All 0xff (or empty): every key from the prefix on ("\0" as range_end means "to the end").
  return new Uint8Array([0]);
}

export interface RangeRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  limit?: number;
  revision?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
  serializable?: boolean;
  /** SortOrder: 0 none, 1 ascend, 2 descend; SortTarget: 0 key, 1 version, 2 create, 3 mod, 4 value. */
  sortOrder?: number;
  sortTarget?: number;
}

export function encodeRange(q: RangeRequest): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).bytes(q.key);
  if (q.rangeEnd) w.tag(2, WireType.LengthDelimited).bytes(q.rangeEnd);
  if (q.limit) w.tag(3, WireType.Varint).int64(q.limit);
  if (q.revision) w.tag(4, WireType.Varint).int64(q.revision);
  if (q.sortOrder) w.tag(5, WireType.Varint).int32(q.sortOrder);
  if (q.sortTarget) w.tag(6, WireType.Varint).int32(q.sortTarget);
  if (q.serializable) w.tag(7, WireType.Varint).bool(true);
  if (q.keysOnly) w.tag(8, WireType.Varint).bool(true);
  if (q.countOnly) w.tag(9, WireType.Varint).bool(true);
  return w.finish();
}

export function decodeRange(bytes: Uint8Array): { header: Header; kvs: KeyValue[]; more: boolean; count: number } {
  const out = { header: header(new Uint8Array(0)), kvs: [] as KeyValue[], more: false, count: 0 };
  readMessage(bytes, 'RangeResponse', {
    1: (r) => (out.header = header(r.bytes())),
    2: (r) => pushCapped(out.kvs, decodeKeyValue(r.bytes()), 'RangeResponse.kvs'),
    3: (r) => (out.more = r.bool()),
    4: (r) => (out.count = num(r.int64())),
  });
  return out;
}

export function encodePut(key: Uint8Array, value: Uint8Array, lease?: string, prevKv = true): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).bytes(key);
  w.tag(2, WireType.LengthDelimited).bytes(value);
  if (lease && lease !== '0') w.tag(3, WireType.Varint).int64(lease);
  if (prevKv) w.tag(4, WireType.Varint).bool(true);
  return w.finish();
}

export function decodePut(bytes: Uint8Array): { header: Header; prevKv: KeyValue | null } {
  const out = { header: header(new Uint8Array(0)), prevKv: null as KeyValue | null };
  readMessage(bytes, 'PutResponse', { 1: (r) => (out.header = header(r.bytes())), 2: (r) => (out.prevKv = decodeKeyValue(r.bytes())) });
  return out;
}

export function encodeDeleteRange(key: Uint8Array, rangeEnd?: Uint8Array, prevKv = true): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).bytes(key);
  if (rangeEnd) w.tag(2, WireType.LengthDelimited).bytes(rangeEnd);
  if (prevKv) w.tag(3, WireType.Varint).bool(true);
  return w.finish();
}

export function decodeDeleteRange(bytes: Uint8Array): { header: Header; deleted: number; prevKvs: KeyValue[] } {
  const out = { header: header(new Uint8Array(0)), deleted: 0, prevKvs: [] as KeyValue[] };
  readMessage(bytes, 'DeleteRangeResponse', {
    1: (r) => (out.header = header(r.bytes())),
    2: (r) => (out.deleted = num(r.int64())),
    3: (r) => pushCapped(out.prevKvs, decodeKeyValue(r.bytes()), 'DeleteRangeResponse.prev_kvs'),
  });
  return out;
}

/** LeaseGrantRequest (TTL, ID), LeaseRevokeRequest / LeaseKeepAliveRequest (ID), LeaseTimeToLiveRequest (ID, keys). */
export function encodeLeaseGrant(ttl: number, id?: string): Uint8Array {
  const w = new BinaryWriter().tag(1, WireType.Varint).int64(ttl);
  if (id && id !== '0') w.tag(2, WireType.Varint).int64(id);
  return w.finish();
}

export function encodeLeaseId(id: string, keys = false): Uint8Array {
  const w = new BinaryWriter().tag(1, WireType.Varint).int64(id);
  if (keys) w.tag(2, WireType.Varint).bool(true);
  return w.finish();
}

export interface LeaseAnswer {
  header: Header;
  id: string;
  ttl: number;
  grantedTtl: number;
  keys: Uint8Array[];
  error: string;
}

/** LeaseGrantResponse (ID 2, TTL 3, error 4), LeaseKeepAliveResponse (ID 2, TTL 3), LeaseTimeToLiveResponse (ID 2, TTL 3, grantedTTL 4, keys 5). */
export function decodeLease(bytes: Uint8Array, kind: 'grant' | 'keepAlive' | 'timeToLive' | 'revoke'): LeaseAnswer {
  const out: LeaseAnswer = { header: header(new Uint8Array(0)), id: '0', ttl: 0, grantedTtl: 0, keys: [], error: '' };
  readMessage(bytes, `Lease ${kind} response`, {
    1: (r) => (out.header = header(r.bytes())),
    2: (r) => (out.id = dec(r.int64())),
    3: (r) => (out.ttl = num(r.int64())),
    4: (r) => (kind === 'grant' ? (out.error = r.string()) : (out.grantedTtl = num(r.int64()))),
    5: (r) => pushCapped(out.keys, r.bytes(), 'LeaseTimeToLiveResponse.keys'),
  });
  return out;
}

export interface WatchCreate {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  startRevision?: number;
  prevKv?: boolean;
  progressNotify?: boolean;
}

/** WatchRequest { create_request = 1: WatchCreateRequest { key 1, range_end 2, start_revision 3, progress_notify 4, prev_kv 6 } }. */
export function encodeWatchCreate(c: WatchCreate): Uint8Array {
  const inner = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(c.key);
  if (c.rangeEnd) inner.tag(2, WireType.LengthDelimited).bytes(c.rangeEnd);
  if (c.startRevision) inner.tag(3, WireType.Varint).int64(c.startRevision);
  if (c.progressNotify) inner.tag(4, WireType.Varint).bool(true);
  if (c.prevKv) inner.tag(6, WireType.Varint).bool(true);
  return new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(inner.finish()).finish();
}

export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  kv: KeyValue;
  prevKv: KeyValue | null;
}

export interface WatchResponse {
  header: Header;
  watchId: string;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  events: WatchEvent[];
}

export function decodeWatch(bytes: Uint8Array): WatchResponse {
  const out: WatchResponse = { header: header(new Uint8Array(0)), watchId: '0', created: false, canceled: false, compactRevision: 0, cancelReason: '', events: [] };
  readMessage(bytes, 'WatchResponse', {
    1: (r) => (out.header = header(r.bytes())),
    2: (r) => (out.watchId = dec(r.int64())),
    3: (r) => (out.created = r.bool()),
    4: (r) => (out.canceled = r.bool()),
    5: (r) => (out.compactRevision = num(r.int64())),
    6: (r) => (out.cancelReason = r.string()),
    11: (r) => {
      const e: WatchEvent = { type: 'PUT', kv: decodeKeyValue(new Uint8Array(0)), prevKv: null };
      readMessage(r.bytes(), 'Event', {
        1: (x) => (e.type = x.int32() === 1 ? 'DELETE' : 'PUT'),
        2: (x) => (e.kv = decodeKeyValue(x.bytes())),
        3: (x) => (e.prevKv = decodeKeyValue(x.bytes())),
      });
      pushCapped(out.events, e, 'WatchResponse.events');
    },
  });
  return out;
}

export interface Member {
  id: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

export function decodeMemberList(bytes: Uint8Array): { header: Header; members: Member[] } {
  const out = { header: header(new Uint8Array(0)), members: [] as Member[] };
  readMessage(bytes, 'MemberListResponse', {
    1: (r) => (out.header = header(r.bytes())),
    2: (r) => {
      const m: Member = { id: '0', name: '', peerUrls: [], clientUrls: [], isLearner: false };
      readMessage(r.bytes(), 'Member', {
        1: (x) => (m.id = dec(x.uint64())),
        2: (x) => (m.name = x.string()),
        3: (x) => pushCapped(m.peerUrls, x.string(), 'Member.peerURLs'),
        4: (x) => pushCapped(m.clientUrls, x.string(), 'Member.clientURLs'),
        5: (x) => (m.isLearner = x.bool()),
      });
      pushCapped(out.members, m, 'MemberListResponse.members');
    },
  });
  return out;
}

export interface Status {
  header: Header;
  version: string;
  dbSize: number;
  leader: string;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  errors: string[];
  dbSizeInUse: number;
  isLearner: boolean;
}

export function decodeStatus(bytes: Uint8Array): Status {
  const s: Status = { header: header(new Uint8Array(0)), version: '', dbSize: 0, leader: '0', raftIndex: 0, raftTerm: 0, raftAppliedIndex: 0, errors: [], dbSizeInUse: 0, isLearner: false };
  readMessage(bytes, 'StatusResponse', {
    1: (r) => (s.header = header(r.bytes())),
    2: (r) => (s.version = r.string()),
    3: (r) => (s.dbSize = num(r.int64())),
    4: (r) => (s.leader = dec(r.uint64())),
    5: (r) => (s.raftIndex = num(r.uint64())),
    6: (r) => (s.raftTerm = num(r.uint64())),
    7: (r) => (s.raftAppliedIndex = num(r.uint64())),
    8: (r) => pushCapped(s.errors, r.string(), 'StatusResponse.errors'),
    9: (r) => (s.dbSizeInUse = num(r.int64())),
    10: (r) => (s.isLearner = r.bool()),
  });
  return s;
}

export function encodeAuthenticate(name: string, password: string): Uint8Array {
  return new BinaryWriter().tag(1, WireType.LengthDelimited).string(name).tag(2, WireType.LengthDelimited).string(password).finish();
}

export function decodeAuthenticate(bytes: Uint8Array): { header: Header; token: string } {
  const out = { header: header(new Uint8Array(0)), token: '' };
  readMessage(bytes, 'AuthenticateResponse', { 1: (r) => (out.header = header(r.bytes())), 2: (r) => (out.token = r.string()) });
  return out;
}

/** A member or lease id as etcdctl shows it: lower-case hex. */
export function hexId(decimal: string): string {
  return BigInt(decimal).toString(16);
}
