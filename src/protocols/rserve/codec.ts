// Rserve's QAP1 protocol (Rserve "protocol QAP1" documentation and Rsrv.h): a 32-byte ID string with
// attributes, 16-byte little-endian command headers, DT_* parameters, and R values as XT_* SEXPs.
import { ByteReader, ByteWriter, fromLatin1, fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const CMD = { login: 0x001, voidEval: 0x002, eval: 0x003, shutdown: 0x004 } as const;
const CMD_RESP = 0x10000;
export const RESP_OK = CMD_RESP | 0x0001;
export const RESP_ERR = CMD_RESP | 0x0002;
export const DT = { INT: 1, CHAR: 2, DOUBLE: 3, STRING: 4, BYTESTREAM: 5, SEXP: 10, ARRAY: 11, LARGE: 64 } as const;
export const XT = {
  NULL: 0, INT: 1, DOUBLE: 2, STR: 3, LANG: 4, SYM: 5, BOOL: 6, S4: 7, VECTOR: 16, LIST: 17, CLOS: 18, SYMNAME: 19, LIST_NOTAG: 20, LIST_TAG: 21,
  LANG_NOTAG: 22, LANG_TAG: 23, VECTOR_EXP: 26, VECTOR_STR: 27, ARRAY_INT: 32, ARRAY_DOUBLE: 33, ARRAY_STR: 34, ARRAY_BOOL_UA: 35, ARRAY_BOOL: 36,
  RAW: 37, ARRAY_CPLX: 38, UNKNOWN: 48, LARGE: 64, HAS_ATTR: 128,
} as const;

/** Rsrv.h error codes carried in bits 24–30 of an error response. */
export const ERRORS: Record<number, string> = {
  0x41: 'auth failed', 0x42: 'connection broken', 0x43: 'invalid command', 0x44: 'invalid parameter', 0x45: 'R error', 0x46: 'I/O error',
  0x47: 'not open', 0x48: 'access denied', 0x49: 'unsupported command', 0x4a: 'unknown command', 0x4b: 'data overflow', 0x4c: 'object too big',
  0x4d: 'out of memory', 0x4e: 'control pipe closed', 0x50: 'session busy', 0x51: 'detach failed', 0x61: 'feature disabled', 0x62: 'unavailable',
  0x63: 'crypt error', 0x64: 'security close',
};

/** R_ParseVector status codes Rserve returns when an expression does not parse. */
export const PARSE_STATUS: Record<number, string> = { 0: 'null', 1: 'ok', 2: 'incomplete expression', 3: 'syntax error', 4: 'end of file' };

export interface IdString {
  version: string;
  protocol: string;
  /** Four-byte attributes after the header, "--" padding dropped. */
  attributes: string[];
  auth: { plain: boolean; crypt: boolean };
  salt: string | null;
}

/** The 32-byte ID string: "Rsrv" version "QAP1" "\r\n\r\n" then 4-byte attributes. */
export const idFrame: Frame<IdString> = (buf) => {
  if (buf.length < 32) return undefined;
  const head = fromLatin1(buf.subarray(0, 16));
  if (!head.startsWith('Rsrv')) throw new ProtocolError(`ID string starts ${JSON.stringify(head.slice(0, 4))}, not Rsrv`);
  const protocol = head.slice(8, 12);
  if (protocol !== 'QAP1') throw new ProtocolError(`Rserve protocol ${JSON.stringify(protocol)}: only QAP1 is spoken`);
  const attributes: string[] = [];
  for (let at = 16; at < 32; at += 4) {
    const a = fromLatin1(buf.subarray(at, at + 4));
    if (a.startsWith('--')) continue;
    attributes.push(a);
  }
  const key = attributes.find((a) => a.startsWith('K'));
  return {
    value: {
      version: head.slice(4, 8),
      protocol,
      attributes,
      auth: { plain: attributes.includes('ARpt'), crypt: attributes.includes('ARuc') },
      salt: key ? key.slice(1, 3) : null,
    },
    size: 32,
  };
};

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** A DT_STRING parameter: NUL-terminated UTF-8, padded to a multiple of 4. */
export function stringParam(text: string): Uint8Array {
  const bytes = utf8(text);
  if (bytes.includes(0)) throw new ProtocolError('a string parameter may not contain NUL');
  const len = pad4(bytes.length + 1);
  const w = new ByteWriter(8 + len);
  if (len > 0xfffff0) w.u8(DT.STRING | DT.LARGE).u24le(len & 0xffffff).u32le(Math.floor(len / 0x1000000));
  else w.u8(DT.STRING).u24le(len);
  w.bytes(bytes);
  for (let i = bytes.length; i < len; i++) w.u8(0);
  return w.finish();
}

/** A command: cmd, length (low 32 bits), offset 0, length (high 32 bits), all little-endian, then the parameters. */
export function encodeCommand(cmd: number, params: Uint8Array = new Uint8Array(0)): Uint8Array {
  return new ByteWriter(16 + params.length).u32le(cmd).u32le(params.length).u32le(0).u32le(0).bytes(params).finish();
}

export interface Response {
  ok: boolean;
  /** Error code (bits 24–30 of the command word) when not ok. */
  status: number;
  body: Uint8Array;
}

export function responseFrame(maxBody: number): Frame<Response> {
  return (buf) => {
    if (buf.length < 16) return undefined;
    const r = new ByteReader(buf);
    const cmd = r.u32le('cmd');
    const lenLow = r.u32le('length');
    r.u32le('offset');
    const lenHigh = r.u32le('length (high)');
    const length = lenHigh * 2 ** 32 + lenLow;
    if (length > maxBody) throw new ProtocolError(`Rserve response of ${length} bytes exceeds the ${maxBody}-byte limit`);
    const kind = cmd & 0xffffff;
    if (kind !== RESP_OK && kind !== RESP_ERR) throw new ProtocolError(`response command 0x${cmd.toString(16)} is neither OK nor ERR`);
    if (buf.length < 16 + length) return undefined;
    return { value: { ok: kind === RESP_OK, status: (cmd >>> 24) & 0x7f, body: buf.slice(16, 16 + length) }, size: 16 + length };
  };
}

/** An R value as JSON: vectors keep their type; NA is null; attributes (names, class, dim) are kept. */
export type RValue =
  | { type: 'null' }
  | { type: 'integer' | 'double' | 'logical' | 'character' | 'complex' | 'raw'; values: unknown[]; attributes?: Record<string, RValue> }
  | { type: 'list'; values: RValue[]; names?: (string | null)[]; attributes?: Record<string, RValue> }
  | { type: 'pairlist'; values: { tag: string | null; value: RValue }[] }
  | { type: 'symbol'; name: string }
  | { type: 'closure' | 'language' | 's4' | 'unknown'; note: string; attributes?: Record<string, RValue> };

const MAX_DEPTH = 64;

/** R's NA_real_: a NaN whose low word is 1954. */
function isNaReal(view: DataView, at: number): boolean {
  return Number.isNaN(view.getFloat64(at, true)) && view.getUint32(at, true) === 1954;
}

/** The first parameter of a response body: a DT_SEXP, decoded. */
export function decodeSexpParam(body: Uint8Array, maxElements = 1_000_000): RValue {
  const r = new ByteReader(body);
  const head = r.u8('parameter type');
  const large = (head & DT.LARGE) !== 0;
  const len = large ? r.u24le('parameter length') + r.u32le('parameter length (high)') * 0x1000000 : r.u24le('parameter length');
  if ((head & 0x3f) !== DT.SEXP) throw new ProtocolError(`eval answered parameter type ${head & 0x3f}, not DT_SEXP`);
  if (len > r.remaining) throw new ProtocolError(`DT_SEXP of ${len} bytes in a ${r.remaining}-byte body`);
  const budget = { elements: maxElements };
  return decodeSexp(body.subarray(r.offset, r.offset + len), 0, budget);
}

function decodeSexp(buf: Uint8Array, depth: number, budget: { elements: number }): RValue {
  if (depth > MAX_DEPTH) throw new ProtocolError(`R value nested deeper than ${MAX_DEPTH}`);
  const r = new ByteReader(buf);
  const head = r.u8('SEXP type');
  const large = (head & XT.LARGE) !== 0;
  const len = large ? r.u24le('SEXP length') + r.u32le('SEXP length (high)') * 0x1000000 : r.u24le('SEXP length');
  const start = r.offset;
  if (len > buf.length - start) throw new ProtocolError(`SEXP of ${len} bytes overruns its container (${buf.length - start} bytes)`);
  let attributes: Record<string, RValue> | undefined;
  let at = start;
  if (head & XT.HAS_ATTR) {
    const attrLen = sexpSize(buf, at);
    const attr = decodeSexp(buf.subarray(at, at + attrLen), depth + 1, budget);
    at += attrLen;
    if (attr.type === 'pairlist') attributes = Object.fromEntries(attr.values.map((p) => [p.tag ?? '', p.value]));
  }
  const body = buf.subarray(at, start + len);
  const type = head & 0x3f;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const count = (size: number) => {
    const n = Math.floor(body.length / size);
    budget.elements -= n;
    if (budget.elements < 0) throw new ProtocolError('R value has more elements than the limit');
    return n;
  };
  const withAttrs = <T extends object>(v: T): T => (attributes ? { ...v, attributes } : v);
  switch (type) {
    case XT.NULL:
      return { type: 'null' };
    case XT.ARRAY_INT: {
      const values = [];
      for (let i = 0, n = count(4); i < n; i++) {
        const v = view.getInt32(i * 4, true);
        values.push(v === -2147483648 ? null : v);
      }
      return withAttrs({ type: 'integer', values });
    }
    case XT.ARRAY_DOUBLE: {
      const values = [];
      for (let i = 0, n = count(8); i < n; i++) {
        const v = view.getFloat64(i * 8, true);
        values.push(isNaReal(view, i * 8) ? null : Number.isFinite(v) ? v : String(v));
      }
      return withAttrs({ type: 'double', values });
    }
    case XT.ARRAY_CPLX: {
      const values = [];
      for (let i = 0, n = count(16); i < n; i++) values.push({ re: view.getFloat64(i * 16, true), im: view.getFloat64(i * 16 + 8, true) });
      return withAttrs({ type: 'complex', values });
    }
    case XT.ARRAY_BOOL: {
      const n = body.length >= 4 ? view.getUint32(0, true) : 0;
      if (n > body.length - 4) throw new ProtocolError(`logical vector of ${n} in ${body.length - 4} bytes`);
      budget.elements -= n;
      if (budget.elements < 0) throw new ProtocolError('R value has more elements than the limit');
      const values = [];
      for (let i = 0; i < n; i++) values.push(body[4 + i] === 2 ? null : body[4 + i] === 1);
      return withAttrs({ type: 'logical', values });
    }
    case XT.RAW: {
      const n = body.length >= 4 ? view.getUint32(0, true) : 0;
      if (n > body.length - 4) throw new ProtocolError(`raw vector of ${n} in ${body.length - 4} bytes`);
      return withAttrs({ type: 'raw', values: [...body.subarray(4, 4 + n)] });
    }
    case XT.ARRAY_STR: {
      const values: (string | null)[] = [];
      let s = 0;
      for (let i = 0; i < body.length; i++) {
        if (body[i] !== 0) continue;
        const piece = body.subarray(s, i);
        values.push(piece.length === 1 && piece[0] === 0xff ? null : fromUtf8(piece[0] === 0x01 ? piece.subarray(1) : piece));
        s = i + 1;
        if (--budget.elements < 0) throw new ProtocolError('R value has more elements than the limit');
      }
      return withAttrs({ type: 'character', values });
    }
    case XT.SYMNAME:
    case XT.STR:
      return { type: 'symbol', name: fromUtf8(body.subarray(0, body.indexOf(0) < 0 ? body.length : body.indexOf(0))) };
    case XT.VECTOR:
    case XT.VECTOR_EXP: {
      const values: RValue[] = [];
      for (let p = 0; p < body.length; ) {
        const size = sexpSize(body, p);
        values.push(decodeSexp(body.subarray(p, p + size), depth + 1, budget));
        p += size;
        if (--budget.elements < 0) throw new ProtocolError('R value has more elements than the limit');
      }
      const names = attributes?.names;
      const list: RValue = { type: 'list', values };
      if (names && names.type === 'character') list.names = names.values as (string | null)[];
      const rest = attributes ? Object.fromEntries(Object.entries(attributes).filter(([k]) => k !== 'names')) : {};
      if (Object.keys(rest).length) list.attributes = rest;
      return list;
    }
    case XT.LIST_TAG:
    case XT.LANG_TAG:
    case XT.LIST_NOTAG:
    case XT.LANG_NOTAG: {
      const tagged = type === XT.LIST_TAG || type === XT.LANG_TAG;
      const values: { tag: string | null; value: RValue }[] = [];
      for (let p = 0; p < body.length; ) {
        const size = sexpSize(body, p);
        const value = decodeSexp(body.subarray(p, p + size), depth + 1, budget);
        p += size;
        let tag: string | null = null;
        if (tagged && p < body.length) {
          const tsize = sexpSize(body, p);
          const t = decodeSexp(body.subarray(p, p + tsize), depth + 1, budget);
          p += tsize;
          tag = t.type === 'symbol' ? t.name : null;
        }
        values.push({ tag, value });
        if (--budget.elements < 0) throw new ProtocolError('R value has more elements than the limit');
      }
      if (type === XT.LANG_TAG || type === XT.LANG_NOTAG) return withAttrs({ type: 'language', note: `a call with ${values.length} parts` });
      return { type: 'pairlist', values };
    }
    case XT.CLOS:
      return withAttrs({ type: 'closure', note: 'an R function' });
    case XT.S4:
      return withAttrs({ type: 's4', note: 'an S4 object' });
    default:
      return withAttrs({ type: 'unknown', note: `SEXP type ${type} (${len} bytes)` });
  }
}

/** Bytes one SEXP takes at `at`: its header and content. */
function sexpSize(buf: Uint8Array, at: number): number {
  if (at + 4 > buf.length) throw new ProtocolError('SEXP header past the end of its container');
  const large = (buf[at] & XT.LARGE) !== 0;
  const head = large ? 8 : 4;
  if (at + head > buf.length) throw new ProtocolError('SEXP header past the end of its container');
  const low = buf[at + 1] | (buf[at + 2] << 8) | (buf[at + 3] << 16);
  const len = large ? low + (buf[at + 4] + buf[at + 5] * 256 + buf[at + 6] * 65536 + buf[at + 7] * 16777216) * 0x1000000 : low;
  if (at + head + len > buf.length) throw new ProtocolError(`SEXP of ${len} bytes overruns its container`);
  return head + len;
}
