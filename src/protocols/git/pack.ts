// Git packfiles (Documentation/gitformat-pack.txt): the header, each object's type and size, zlib-compressed
// data, OFS_DELTA and REF_DELTA objects resolved against their bases, object ids, and the commit, tag and
// tree formats (gitformat-index-free text of `git cat-file`).
//
// How it works: `parsePack` walks the pack once, inflating each object's data to exactly its declared size
// (pako reports how many compressed bytes each stream used, which is where the next object starts). Deltas
// are resolved on demand with a memo; a base that is being resolved again is a delta loop, and chains are
// capped in depth. Every size is bounded before it is allocated: the declared sizes, the delta's result
// size and the running total of inflated bytes.
import { ZStream, Z_OK, Z_STREAM_END, Z_NO_FLUSH, zlibInflate, zlibInflateInit } from 'pako';
import { ByteWriter, concat, fromLatin1, fromUtf8, toHex, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';
const TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;
export const MAX_DELTA_DEPTH = 4096;

export interface PackLimits {
  /** Largest single object (inflated or delta result). */
  maxObjectBytes: number;
  /** All inflated data together. */
  maxTotalBytes: number;
  maxObjects: number;
}

interface Entry {
  offset: number;
  kind: number;
  /** Inflated data: the object, or the delta. */
  data: Uint8Array;
  baseOffset?: number;
  baseOid?: string;
}

export interface GitObject {
  type: ObjectType;
  data: Uint8Array;
  oid: string;
  /** Deltas applied to get it (0 for a whole object). */
  depth: number;
}

/** Inflates one zlib stream from `input` to exactly `size` bytes; returns the data and the compressed bytes used. */
export function inflateExact(input: Uint8Array, size: number, what: string): { data: Uint8Array; used: number } {
  const strm = new ZStream();
  zlibInflateInit(strm);
  strm.input = input;
  strm.next_in = 0;
  strm.avail_in = input.length;
  // One byte more than declared: a stream that inflates past its size is caught, not silently cut.
  const out = new Uint8Array(size + 1);
  strm.output = out;
  strm.next_out = 0;
  strm.avail_out = out.length;
  const status = zlibInflate(strm, Z_NO_FLUSH);
  if (status !== Z_STREAM_END) {
    if (status === Z_OK && strm.avail_out === 0) throw new ProtocolError(`${what}: inflates past its declared ${size} bytes`);
    if (status === Z_OK || status === -5) throw new ProtocolError(`${what}: compressed data ends early`);
    throw new ProtocolError(`${what}: ${strm.msg || `inflate status ${status}`}`);
  }
  if (strm.next_out !== size) throw new ProtocolError(`${what}: inflated to ${strm.next_out} bytes, declared ${size}`);
  return { data: out.subarray(0, size), used: strm.next_in };
}

export class Pack {
  readonly version: number;
  readonly count: number;
  private readonly entries: Entry[] = [];
  private readonly byOffset = new Map<number, Entry>();
  private readonly resolved = new Map<number, { type: ObjectType; data: Uint8Array; depth: number }>();
  private readonly byOid = new Map<string, number>();
  inflatedBytes = 0;

  constructor(
    bytes: Uint8Array,
    private readonly sha1: (data: Uint8Array) => Uint8Array,
    private readonly limits: PackLimits,
  ) {
    if (bytes.length < 12 || fromLatin1(bytes.subarray(0, 4)) !== 'PACK') throw new ProtocolError('the packfile does not start with "PACK"');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.version = view.getUint32(4);
    if (this.version !== 2 && this.version !== 3) throw new ProtocolError(`pack version ${this.version} (2 or 3 expected)`);
    this.count = view.getUint32(8);
    if (this.count > limits.maxObjects) throw new ProtocolError(`the pack holds ${this.count} objects, more than the ${limits.maxObjects} allowed`);
    let at = 12;
    for (let i = 0; i < this.count; i++) {
      const offset = at;
      // Type and size: 3 bits of type and 4 of size, then 7 bits per byte while the high bit is set.
      let b = byteAt(bytes, at++, 'object header');
      const kind = (b >> 4) & 7;
      let size = b & 15;
      let shift = 4;
      while (b & 0x80) {
        b = byteAt(bytes, at++, 'object size');
        if (shift > 49) throw new ProtocolError(`object at ${offset}: size field too long`);
        size += (b & 0x7f) * 2 ** shift;
        shift += 7;
      }
      if (size > limits.maxObjectBytes) throw new ProtocolError(`object at ${offset}: ${size} bytes, more than the ${limits.maxObjectBytes} allowed`);
      const entry: Entry = { offset, kind, data: new Uint8Array(0) };
      if (kind === OFS_DELTA) {
        // Offset encoding: big-endian 7-bit groups, each continuation adding one (gitformat-pack "offset encoding").
        b = byteAt(bytes, at++, 'delta offset');
        let back = b & 0x7f;
        while (b & 0x80) {
          b = byteAt(bytes, at++, 'delta offset');
          back = (back + 1) * 128 + (b & 0x7f);
          if (back > offset) break;
        }
        if (back <= 0 || back > offset) throw new ProtocolError(`OFS_DELTA at ${offset} points ${back} bytes back, outside the pack`);
        entry.baseOffset = offset - back;
      } else if (kind === REF_DELTA) {
        if (at + 20 > bytes.length) throw new ProtocolError(`REF_DELTA at ${offset}: base id cut short`);
        entry.baseOid = toHex(bytes.subarray(at, at + 20));
        at += 20;
      } else if (!TYPES[kind]) throw new ProtocolError(`object at ${offset} has type ${kind}`);
      this.inflatedBytes += size;
      if (this.inflatedBytes > limits.maxTotalBytes) throw new ProtocolError(`the pack inflates to more than ${limits.maxTotalBytes} bytes`);
      const { data, used } = inflateExact(bytes.subarray(at), size, `object at ${offset}`);
      entry.data = data;
      at += used;
      this.entries.push(entry);
      this.byOffset.set(offset, entry);
    }
    if (bytes.length - at !== 20) throw new ProtocolError(`the pack has ${bytes.length - at} bytes after its objects; a 20-byte checksum expected`);
    const sum = toHex(sha1(bytes.subarray(0, at)));
    if (sum !== toHex(bytes.subarray(at))) throw new ProtocolError('the pack checksum does not match its contents');
    this.resolveAll();
  }

  /**
   * Resolves every object, bases first: whole objects, then the deltas waiting on each resolved object (by its
   * offset or its id). Whatever is left unresolved waits on a base that never resolves: missing, or a loop.
   */
  private resolveAll(): void {
    const byBaseOffset = new Map<number, Entry[]>();
    const byBaseOid = new Map<string, Entry[]>();
    const queue: Entry[] = [];
    for (const e of this.entries) {
      if (e.baseOffset !== undefined) push(byBaseOffset, e.baseOffset, e);
      else if (e.baseOid !== undefined) push(byBaseOid, e.baseOid, e);
      else {
        this.settle(e, { type: TYPES[e.kind], data: e.data, depth: 0 });
        queue.push(e);
      }
    }
    while (queue.length) {
      const base = queue.pop()!;
      const obj = this.resolved.get(base.offset)!;
      const waiting = [...(byBaseOffset.get(base.offset) ?? []), ...(byBaseOid.get(this.oidAt.get(base.offset)!) ?? [])];
      byBaseOffset.delete(base.offset);
      byBaseOid.delete(this.oidAt.get(base.offset)!);
      for (const d of waiting) {
        if (this.resolved.has(d.offset)) continue;
        if (obj.depth + 1 > MAX_DELTA_DEPTH) throw new ProtocolError(`delta chain deeper than ${MAX_DELTA_DEPTH} at ${d.offset}`);
        const data = applyDelta(obj.data, d.data, this.limits.maxObjectBytes);
        this.inflatedBytes += data.length;
        if (this.inflatedBytes > this.limits.maxTotalBytes) throw new ProtocolError(`resolved deltas exceed ${this.limits.maxTotalBytes} bytes`);
        this.settle(d, { type: obj.type, data, depth: obj.depth + 1 });
        queue.push(d);
      }
    }
    const stuck = this.entries.filter((e) => !this.resolved.has(e.offset));
    if (stuck.length) {
      const first = stuck[0];
      throw new ProtocolError(`${stuck.length} deltas never resolve (a delta chain loop, or a base missing from the pack: a thin pack?), the first at offset ${first.offset} waiting on ${first.baseOid ?? `offset ${first.baseOffset}`}`);
    }
  }

  private readonly oidAt = new Map<number, string>();

  private settle(e: Entry, obj: { type: ObjectType; data: Uint8Array; depth: number }): void {
    this.resolved.set(e.offset, obj);
    const oid = toHex(this.sha1(concat([utf8(`${obj.type} ${obj.data.length}\0`), obj.data])));
    this.oidAt.set(e.offset, oid);
    if (!this.byOid.has(oid)) this.byOid.set(oid, e.offset);
  }

  get(oid: string): GitObject | undefined {
    const offset = this.byOid.get(oid);
    if (offset === undefined) return undefined;
    const o = this.resolved.get(offset)!;
    return { ...o, oid };
  }

  /** How many objects each type has, and the deepest delta chain. */
  summary(): { objects: number; byType: Record<string, number>; deltas: number; maxDepth: number } {
    const byType: Record<string, number> = {};
    let deltas = 0;
    let maxDepth = 0;
    for (const e of this.entries) {
      const o = this.resolved.get(e.offset)!;
      byType[o.type] = (byType[o.type] ?? 0) + 1;
      if (e.kind === OFS_DELTA || e.kind === REF_DELTA) deltas++;
      maxDepth = Math.max(maxDepth, o.depth);
    }
    return { objects: this.entries.length, byType, deltas, maxDepth };
  }
}

function push<K>(m: Map<K, Entry[]>, k: K, e: Entry): void {
  const list = m.get(k);
  if (list) list.push(e);
  else m.set(k, [e]);
}

function byteAt(bytes: Uint8Array, at: number, what: string): number {
  if (at >= bytes.length) throw new ProtocolError(`${what}: the pack ends at ${at}`);
  return bytes[at];
}

function deltaVarint(d: Uint8Array, at: { i: number }): number {
  let n = 0;
  let shift = 0;
  for (;;) {
    if (at.i >= d.length) throw new ProtocolError('delta header cut short');
    const b = d[at.i++];
    n += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(b & 0x80)) return n;
    if (shift > 49) throw new ProtocolError('delta size field too long');
  }
}

/** Applies a delta (gitformat-pack "Deltified representation"): copy ranges of the base, insert literal bytes. */
export function applyDelta(base: Uint8Array, delta: Uint8Array, maxBytes: number): Uint8Array {
  const at = { i: 0 };
  const srcSize = deltaVarint(delta, at);
  if (srcSize !== base.length) throw new ProtocolError(`delta expects a ${srcSize}-byte base, the base has ${base.length}`);
  const dstSize = deltaVarint(delta, at);
  if (dstSize > maxBytes) throw new ProtocolError(`delta result of ${dstSize} bytes exceeds ${maxBytes}`);
  const out = new Uint8Array(dstSize);
  let o = 0;
  while (at.i < delta.length) {
    const op = delta[at.i++];
    if (op & 0x80) {
      let offset = 0;
      let size = 0;
      for (let k = 0; k < 4; k++) if (op & (1 << k)) offset |= byteAt(delta, at.i++, 'copy offset') << (8 * k);
      for (let k = 0; k < 3; k++) if (op & (0x10 << k)) size |= byteAt(delta, at.i++, 'copy size') << (8 * k);
      offset >>>= 0;
      if (size === 0) size = 0x10000;
      if (offset + size > base.length || o + size > dstSize) throw new ProtocolError('delta copy outside the base or past the result size');
      out.set(base.subarray(offset, offset + size), o);
      o += size;
    } else if (op > 0) {
      if (at.i + op > delta.length || o + op > dstSize) throw new ProtocolError('delta insert past its end or the result size');
      out.set(delta.subarray(at.i, at.i + op), o);
      at.i += op;
      o += op;
    } else throw new ProtocolError('delta opcode 0 is reserved');
  }
  if (o !== dstSize) throw new ProtocolError(`delta produced ${o} bytes, declared ${dstSize}`);
  return out;
}

export interface Person {
  name: string;
  email: string;
  date: string;
  timezone: string;
}

export interface Commit {
  oid: string;
  tree: string;
  parents: string[];
  author: Person | null;
  committer: Person | null;
  message: string;
}

function person(line: string): Person | null {
  const m = /^(.*) <([^>]*)> (\d+) ([+-]\d{4})$/.exec(line);
  if (!m) return null;
  return { name: m[1], email: m[2], date: new Date(Number(m[3]) * 1000).toISOString(), timezone: m[4] };
}

/** A commit object: header lines up to the empty line, then the message (gitformat-commit). */
export function parseCommit(oid: string, data: Uint8Array): Commit {
  const end = data.indexOf(0x0a) === -1 ? -1 : findBlankLine(data);
  const head = fromUtf8(end < 0 ? data : data.subarray(0, end));
  const c: Commit = { oid, tree: '', parents: [], author: null, committer: null, message: end < 0 ? '' : fromUtf8(data.subarray(end + 2)) };
  for (const line of head.split('\n')) {
    const sp = line.indexOf(' ');
    const key = line.slice(0, sp);
    const value = line.slice(sp + 1);
    if (key === 'tree') c.tree = value;
    else if (key === 'parent') c.parents.push(value);
    else if (key === 'author') c.author = person(value);
    else if (key === 'committer') c.committer = person(value);
  }
  if (!/^[0-9a-f]{40}$/.test(c.tree)) throw new ProtocolError(`commit ${oid} has no tree`);
  return c;
}

function findBlankLine(data: Uint8Array): number {
  for (let i = 0; i + 1 < data.length; i++) if (data[i] === 0x0a && data[i + 1] === 0x0a) return i;
  return -1;
}

/** An annotated tag's target. */
export function tagTarget(data: Uint8Array): { object: string; type: string } {
  const text = fromLatin1(data.subarray(0, 200));
  const m = /^object ([0-9a-f]{40})\ntype (\w+)\n/.exec(text);
  if (!m) throw new ProtocolError('tag object without object and type lines');
  return { object: m[1], type: m[2] };
}

export interface TreeEntry {
  mode: string;
  name: string;
  oid: string;
}

/** Tree entries: "<octal mode> <name>\0<20-byte id>" each. */
export function parseTree(data: Uint8Array): TreeEntry[] {
  const out: TreeEntry[] = [];
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    const nul = data.indexOf(0, sp + 1);
    if (sp < 0 || nul < 0 || nul + 21 > data.length) throw new ProtocolError('malformed tree entry');
    out.push({ mode: fromLatin1(data.subarray(i, sp)), name: fromUtf8(data.subarray(sp + 1, nul)), oid: toHex(data.subarray(nul + 1, nul + 21)) });
    i = nul + 21;
  }
  return out;
}

/** Test helper: a pack from whole objects and deltas, with its checksum. */
export function buildPack(objects: { kind: number; data: Uint8Array; compressed: Uint8Array; baseOffsetBack?: number; baseOid?: Uint8Array }[], sha1: (d: Uint8Array) => Uint8Array): Uint8Array {
  const w = new ByteWriter(1024).text('PACK').u32(2).u32(objects.length);
  for (const o of objects) {
    let size = o.data.length;
    let b = (o.kind << 4) | (size & 15);
    size = Math.floor(size / 16);
    while (size > 0) {
      w.u8(b | 0x80);
      b = size & 0x7f;
      size = Math.floor(size / 128);
    }
    w.u8(b);
    if (o.baseOffsetBack !== undefined) {
      let n = o.baseOffsetBack;
      const bytes = [n & 0x7f];
      while ((n >>= 7)) bytes.unshift((--n & 0x7f) | 0x80);
      for (const x of bytes) w.u8(x);
    }
    if (o.baseOid) w.bytes(o.baseOid);
    w.bytes(o.compressed);
  }
  const body = w.finish();
  return concat([body, sha1(body)]);
}
