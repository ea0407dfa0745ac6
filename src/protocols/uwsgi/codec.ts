// The uwsgi protocol (uWSGI documentation "The uwsgi Protocol"): a 4-byte header (modifier1, a 16-bit
// little-endian data size, modifier2) and, for a WSGI request (modifier1 0), the CGI variables as
// length-prefixed key/value strings, followed by the request body. The answer is a raw HTTP response.
import { ByteReader, ByteWriter, fromLatin1, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

/** modifier1 values (uWSGI "uwsgi packet modifiers"): 0 is a WSGI/HTTP request with its vars. */
export const MODIFIER_WSGI = 0;

export interface UwsgiPacket {
  modifier1: number;
  modifier2: number;
  data: Uint8Array;
}

/** The vars block: each key and value preceded by its 16-bit little-endian length; at most 65535 bytes in all. */
export function encodeVars(vars: [string, string][]): Uint8Array {
  const w = new ByteWriter(512);
  for (const [k, v] of vars) {
    const key = utf8(k);
    const value = utf8(v);
    if (key.length > 0xffff || value.length > 0xffff) throw new ProtocolError(`uwsgi var ${k.slice(0, 40)} is longer than 65535 bytes`);
    w.lengthPrefixed('u16le', key).lengthPrefixed('u16le', value);
  }
  const data = w.finish();
  if (data.length > 0xffff) throw new ProtocolError(`uwsgi vars take ${data.length} bytes; a packet carries at most 65535`);
  return data;
}

export function encodePacket(p: UwsgiPacket): Uint8Array {
  if (p.data.length > 0xffff) throw new ProtocolError('a uwsgi packet carries at most 65535 bytes');
  return new ByteWriter(4 + p.data.length).u8(p.modifier1).u16le(p.data.length).u8(p.modifier2).bytes(p.data).finish();
}

export function decodeVars(data: Uint8Array, maxVars = 4096): [string, string][] {
  const r = new ByteReader(data);
  const out: [string, string][] = [];
  while (!r.done) {
    if (out.length >= maxVars) throw new ProtocolError(`more than ${maxVars} uwsgi vars`);
    out.push([fromLatin1(r.lengthPrefixed('u16le', 'var name')), fromLatin1(r.lengthPrefixed('u16le', 'var value'))]);
  }
  return out;
}

/** One packet: header and data (what a server sends back for non-HTTP modifiers). */
export const packetFrame: Frame<UwsgiPacket> = (buf) => {
  if (buf.length < 4) return undefined;
  const size = buf[1] | (buf[2] << 8);
  if (buf.length < 4 + size) return undefined;
  return { value: { modifier1: buf[0], modifier2: buf[3], data: buf.slice(4, 4 + size) }, size: 4 + size };
};
