// permessage-deflate, RFC 7692: the offer a client makes (§5, §7.1), the server's answer checked against it
// (§7.1.1, §7.1.2), and the payload transformation (§7.2): a message is raw DEFLATE ending at a sync flush with
// its 00 00 ff ff tail removed; the receiver appends the tail back. With context takeover the LZ77 window runs
// on from one message to the next, so each direction keeps one compressor (ours) and one decompressor (the
// server's) for the whole connection, unless the answer says *_no_context_takeover.
//
// core/inflate.ts (pako's zlib port) does the DEFLATE work: it flushes with Z_SYNC_FLUSH and keeps its state between messages, which the
// runtime's CompressionStream cannot (it only ends a stream), and it inflates into a buffer we cap.
import { concat } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { DeflateStream, InflateStream } from '../../core/inflate.ts';

export interface DeflateOffer {
  serverNoContextTakeover?: boolean;
  clientNoContextTakeover?: boolean;
  /** 8–15: the largest window the server may use; absent, 15. */
  serverMaxWindowBits?: number;
  /** true: offer the parameter with no value (the server may choose); a number 9–15: a limit for ourselves. */
  clientMaxWindowBits?: boolean | number;
}

/** What the server agreed to (§7.1), as its answer says it. */
export interface DeflateAgreed {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
  /** The Sec-WebSocket-Extensions value the server sent. */
  header: string;
}

/** §7.1: the extension offer, e.g. `permessage-deflate; client_max_window_bits`. */
export function deflateOfferHeader(o: DeflateOffer): string {
  const params = ['permessage-deflate'];
  if (o.serverNoContextTakeover) params.push('server_no_context_takeover');
  if (o.clientNoContextTakeover) params.push('client_no_context_takeover');
  if (o.serverMaxWindowBits !== undefined) params.push(`server_max_window_bits=${windowBits(o.serverMaxWindowBits, 'server_max_window_bits', 8)}`);
  if (o.clientMaxWindowBits === true) params.push('client_max_window_bits');
  else if (typeof o.clientMaxWindowBits === 'number') params.push(`client_max_window_bits=${windowBits(o.clientMaxWindowBits, 'client_max_window_bits', 9)}`);
  return params.join('; ');
}

function windowBits(n: number, name: string, min: number): number {
  if (!Number.isInteger(n) || n < min || n > 15) throw new ProtocolError(`${name} must be an integer ${min}–15 (RFC 7692 §7.1.2), got ${n}`);
  return n;
}

/** RFC 6455 §9.1: extensions separated by commas, each with parameters after semicolons; quoted values allowed. */
export function parseExtensions(header: string): { name: string; params: [string, string | null][] }[] {
  if (header.length > 4096) throw new ProtocolError('Sec-WebSocket-Extensions longer than 4096 characters');
  return header
    .split(',')
    .map((ext) => ext.split(';').map((s) => s.trim()))
    .filter((parts) => parts[0] !== '')
    .map(([name, ...rest]) => ({
      name: name.toLowerCase(),
      params: rest.map((p): [string, string | null] => {
        const eq = p.indexOf('=');
        if (eq < 0) return [p.toLowerCase(), null];
        return [p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1')];
      }),
    }));
}

/** §7.1: checks the server's answer against our offer; anything it may not say fails the connection. */
export function agreeDeflate(offer: DeflateOffer | undefined, header: string | null): DeflateAgreed | null {
  if (header === null || header.trim() === '') return null;
  const exts = parseExtensions(header);
  if (exts.length !== 1 || exts[0].name !== 'permessage-deflate') throw new ProtocolError(`the server answered with extensions ${JSON.stringify(header)}; we offered ${offer ? 'only permessage-deflate' : 'none'}`);
  if (!offer) throw new ProtocolError(`the server answered with extensions ${JSON.stringify(header)} though we offered none`);
  const agreed: DeflateAgreed = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15, header };
  const seen = new Set<string>();
  for (const [name, value] of exts[0].params) {
    if (seen.has(name)) throw new ProtocolError(`permessage-deflate answer repeats ${name} (RFC 7692 §7)`);
    seen.add(name);
    const bits = (): number => {
      if (value === null || !/^[0-9]{1,2}$/.test(value)) throw new ProtocolError(`permessage-deflate ${name} needs a value 8–15 in the answer, got ${value ?? 'none'}`);
      return windowBits(Number(value), name, 8);
    };
    if (name === 'server_no_context_takeover' && value === null) agreed.serverNoContextTakeover = true;
    else if (name === 'client_no_context_takeover' && value === null) agreed.clientNoContextTakeover = true;
    else if (name === 'server_max_window_bits') {
      agreed.serverMaxWindowBits = bits();
      // §7.1.2.1: the server may not use a larger window than we asked for.
      if (offer.serverMaxWindowBits !== undefined && agreed.serverMaxWindowBits > offer.serverMaxWindowBits)
        throw new ProtocolError(`the server answered server_max_window_bits=${agreed.serverMaxWindowBits}, more than the ${offer.serverMaxWindowBits} we offered`);
    } else if (name === 'client_max_window_bits') {
      // §7.1.2.2: only if we offered it, and no larger than a value we gave.
      if (offer.clientMaxWindowBits === undefined || offer.clientMaxWindowBits === false) throw new ProtocolError('the server answered client_max_window_bits, which we did not offer (RFC 7692 §7.1.2.2)');
      agreed.clientMaxWindowBits = bits();
      // zlib's raw deflate has no 256-byte window: it would use 512 and break the server's inflater.
      if (agreed.clientMaxWindowBits === 8) throw new ProtocolError('the server answered client_max_window_bits=8, which our compressor cannot keep to (its smallest raw window is 9 bits)');
      if (typeof offer.clientMaxWindowBits === 'number' && agreed.clientMaxWindowBits > offer.clientMaxWindowBits)
        throw new ProtocolError(`the server answered client_max_window_bits=${agreed.clientMaxWindowBits}, more than the ${offer.clientMaxWindowBits} we offered`);
    } else throw new ProtocolError(`permessage-deflate answer has an unknown parameter ${name}${value === null ? '' : `=${value}`} (RFC 7692 §7.1)`);
  }
  // §7.1.1.1: a server that was asked for server_no_context_takeover must agree to it.
  if (offer.serverNoContextTakeover && !agreed.serverNoContextTakeover) throw new ProtocolError('the server did not accept server_no_context_takeover, which we asked for (RFC 7692 §7.1.1.1)');
  return agreed;
}

/** §7.2.1: the tail a sync flush leaves, removed by the sender and appended by the receiver. */
const TAIL = Uint8Array.of(0x00, 0x00, 0xff, 0xff);

function endsWithTail(b: Uint8Array): boolean {
  return b.length >= 4 && b[b.length - 4] === 0 && b[b.length - 3] === 0 && b[b.length - 2] === 0xff && b[b.length - 1] === 0xff;
}

/** One connection's compressor and decompressor, as agreed. */
export class PerMessageDeflate {
  private deflater: DeflateStream | undefined;
  private inflater: InflateStream | undefined;

  constructor(readonly agreed: DeflateAgreed) {}

  /** §7.2.1: compresses one message's payload (with our window carried on unless client_no_context_takeover). */
  compress(data: Uint8Array): Uint8Array {
    if (!this.deflater || this.agreed.clientNoContextTakeover) this.deflater = new DeflateStream('permessage-deflate', Math.max(9, this.agreed.clientMaxWindowBits));
    const out = this.deflater.deflate(data);
    // A sync flush ends with an empty stored block, 00 00 ff ff: removed (§7.2.1).
    return endsWithTail(out) ? out.subarray(0, out.length - 4) : out;
  }

  /** §7.2.2: the payload of a message with RSV1 set, inflated to at most `max` bytes (more is a protocol error). */
  decompress(payload: Uint8Array, max: number): Uint8Array {
    // A server that ended its stream with a final block (§7.2.3.4) starts the next message afresh.
    if (!this.inflater || this.agreed.serverNoContextTakeover || this.inflater.ended) this.inflater = new InflateStream('permessage-deflate message', { raw: true });
    return this.inflater.inflate(concat([payload, TAIL]), { max });
  }
}
