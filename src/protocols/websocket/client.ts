// WebSocket client, RFC 6455 over a Conn: the opening handshake as an HTTP/1.1 Upgrade (§4.1), then
// masked frames out, reassembled messages in, ping answered with pong (§5.5.2), and the closing
// handshake (§5.5.1, §7.1.2): each side sends one Close; the server closes TCP after answering ours.
import { fromLatin1, fromUtf8, toBase64 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import { exchange } from '../http/client.ts';
import { fieldValue, type Field } from '../http/codec.ts';
import { MessageAssembler, Opcode, acceptFor, closeCodeName, describeFrame, encodeClose, encodeFrame, frameFrame, opcodeName, type WsMessage } from './codec.ts';
import { PerMessageDeflate, agreeDeflate, deflateOfferHeader, type DeflateAgreed, type DeflateOffer } from './deflate.ts';

export interface HandshakeRequest {
  path: string;
  host: string;
  headers: Field[];
  protocols: string[];
  origin?: string;
  /** The headers carry a credential: the transcript keeps only the request line. */
  secretHead?: boolean;
  /** Offer permessage-deflate (RFC 7692) with these parameters. */
  deflate?: DeflateOffer;
}

export interface Handshake {
  status: number;
  reason: string;
  headers: Field[];
  requestHead: string;
  /** The Sec-WebSocket-Accept the server sent matched the key (§4.1 item 4 of the client's checks). */
  accept: string;
  protocol: string | null;
  extensions: string | null;
  /** permessage-deflate as the server agreed it, or null when it declined (or was not offered). */
  deflate: DeflateAgreed | null;
}

export class WsClient {
  private assembler: MessageAssembler;
  private reader: ReturnType<typeof frameFrame>;
  private deflate: PerMessageDeflate | null = null;
  /** Pings we sent and when, by payload, for the pong's round trip. */
  private readonly pings = new Map<string, number>();
  sentClose: { code: number | null; reason: string } | null = null;
  receivedClose: { code: number | null; reason: string } | null = null;
  framesIn = 0;
  framesOut = 0;

  constructor(
    readonly conn: Conn,
    private readonly crypto: CryptoPort,
    private readonly maxMessage = 16 * 1024 * 1024,
  ) {
    this.assembler = new MessageAssembler(maxMessage);
    this.reader = frameFrame(maxMessage);
  }

  async handshake(req: HandshakeRequest): Promise<Handshake> {
    // §4.1: a random 16-byte nonce, base64; version 13.
    const key = toBase64(this.crypto.randomBytes(16));
    const headers: Field[] = [
      ['Host', req.host],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Key', key],
      ['Sec-WebSocket-Version', '13'],
    ];
    if (req.protocols.length) headers.push(['Sec-WebSocket-Protocol', req.protocols.join(', ')]);
    if (req.deflate) headers.push(['Sec-WebSocket-Extensions', deflateOfferHeader(req.deflate)]);
    if (req.origin) headers.push(['Origin', req.origin]);
    headers.push(...req.headers);
    const t0 = performance.now();
    const x = await exchange(this.conn, { method: 'GET', target: req.path, headers, maxBodyBytes: 64 * 1024, maxRawBytes: 0, secretHead: req.secretHead }, () => performance.now() - t0);
    const h = x.head;
    // §4.1 client checks: 101, Upgrade: websocket, Connection: upgrade, the accept value, a protocol we offered.
    if (h.status !== 101) {
      const body = fromLatin1(x.body.subarray(0, 200)).trim();
      throw new ServerError(`the server refused the WebSocket handshake: HTTP ${h.status} ${h.reason}${body ? ` (${body.slice(0, 120)})` : ''}`, { status: h.status });
    }
    if ((fieldValue(h.headers, 'upgrade') ?? '').toLowerCase() !== 'websocket') throw new ProtocolError(`101 without Upgrade: websocket (got ${fieldValue(h.headers, 'upgrade') ?? 'none'})`);
    if (!(fieldValue(h.headers, 'connection') ?? '').toLowerCase().split(',').map((s) => s.trim()).includes('upgrade')) throw new ProtocolError('101 without Connection: Upgrade');
    const accept = fieldValue(h.headers, 'sec-websocket-accept') ?? '';
    const expected = acceptFor(key, (d) => this.crypto.sha1Sync(d));
    if (accept !== expected) throw new ProtocolError(`Sec-WebSocket-Accept ${JSON.stringify(accept)} does not match the key (expected ${expected})`);
    const protocol = fieldValue(h.headers, 'sec-websocket-protocol') ?? null;
    if (protocol !== null && !req.protocols.includes(protocol)) throw new ProtocolError(`the server chose subprotocol ${JSON.stringify(protocol)}, which we did not offer`);
    const extensions = fieldValue(h.headers, 'sec-websocket-extensions') ?? null;
    // The server may only answer with an extension we offered (§9.1), on the terms RFC 7692 §7.1 allows.
    const deflate = agreeDeflate(req.deflate, extensions);
    if (deflate) {
      this.deflate = new PerMessageDeflate(deflate);
      this.reader = frameFrame(this.maxMessage, true);
      const inflater = this.deflate;
      this.assembler = new MessageAssembler(this.maxMessage, (data, max) => inflater.decompress(data, max));
    }
    return { status: h.status, reason: h.reason, headers: h.headers, requestHead: x.requestHead, accept, protocol, extensions, deflate };
  }

  /** `plain`: the message before compression, for the transcript, when `payload` is its compressed form. */
  private async sendFrame(opcode: number, payload: Uint8Array, fin = true, plain?: { bytes: Uint8Array; text: boolean }): Promise<void> {
    const frame = encodeFrame(opcode, payload, this.crypto.randomBytes(4), fin, plain !== undefined);
    this.framesOut++;
    const name = opcodeName(opcode);
    const shown = plain ? (plain.text ? plain.bytes : undefined) : opcode === Opcode.TEXT ? payload : undefined;
    const text = shown ? ` ${JSON.stringify(fromUtf8(shown.subarray(0, 80)))}` : '';
    const deflated = plain ? ` compressed (RSV1) from ${plain.bytes.length}` : '';
    await this.conn.write(frame, { decode: `${name}${fin ? '' : ' (not final)'}, ${payload.length} bytes${deflated}, masked${text}` });
  }

  /**
   * A text or binary message, in frames of `fragmentSize` bytes when given (§5.4). With permessage-deflate agreed
   * the message is compressed first (unless `compress` is false) and the compressed bytes are fragmented (RFC 7692 §6).
   */
  async send(kind: 'text' | 'binary', data: Uint8Array, fragmentSize?: number, compress = true): Promise<number> {
    if (this.sentClose) throw new ProtocolError('no data may follow our Close frame (RFC 6455 §5.5.1)');
    const opcode = kind === 'text' ? Opcode.TEXT : Opcode.BINARY;
    const deflate = compress && this.deflate !== null;
    const wire = deflate ? this.deflate!.compress(data) : data;
    const plain = deflate ? { bytes: data, text: kind === 'text' } : undefined;
    if (!fragmentSize || wire.length <= fragmentSize) {
      await this.sendFrame(opcode, wire, true, plain);
      return 1;
    }
    let frames = 0;
    for (let at = 0; at < wire.length; at += fragmentSize) {
      const last = at + fragmentSize >= wire.length;
      await this.sendFrame(frames === 0 ? opcode : Opcode.CONTINUATION, wire.subarray(at, at + fragmentSize), last, frames === 0 ? plain : undefined);
      frames++;
    }
    return frames;
  }

  async ping(data: Uint8Array): Promise<void> {
    if (data.length > 125) throw new ProtocolError('a ping carries at most 125 bytes');
    this.pings.set(toBase64(data), performance.now());
    await this.sendFrame(Opcode.PING, data);
  }

  async close(code: number | null, reason = ''): Promise<void> {
    if (this.sentClose) return;
    this.sentClose = { code, reason };
    await this.sendFrame(Opcode.CLOSE, encodeClose(code, reason));
  }

  /**
   * The next message. A ping is answered with a pong carrying the same data (§5.5.2) and still returned.
   * A Close is answered with a Close echoing its code unless we sent ours first (§5.5.1).
   */
  async next(): Promise<WsMessage> {
    for (;;) {
      const f = await this.conn.readFrame(this.reader, 'WebSocket frame', describeFrame);
      this.framesIn++;
      const m = this.assembler.push(f);
      if (!m) continue;
      if (m.kind === 'pong') {
        const key = toBase64(m.data);
        const sent = this.pings.get(key);
        if (sent !== undefined) {
          this.pings.delete(key);
          m.rttMs = Math.round((performance.now() - sent) * 100) / 100;
        }
      }
      if (m.kind === 'ping' && !this.sentClose) await this.sendFrame(Opcode.PONG, m.data);
      if (m.kind === 'close') {
        this.receivedClose = { code: m.code, reason: m.reason };
        if (!this.sentClose) {
          this.sentClose = { code: m.code, reason: '' };
          await this.sendFrame(Opcode.CLOSE, encodeClose(m.code)).catch(() => undefined);
        }
      }
      return m;
    }
  }
}

export function messageJson(m: WsMessage): Record<string, unknown> {
  switch (m.kind) {
    case 'text':
      return { type: 'text', text: m.text, frames: m.frames, ...(m.compressed === undefined ? {} : { compressed: m.compressed }) };
    case 'binary':
      return { type: 'binary', base64: toBase64(m.data), bytes: m.data.length, frames: m.frames, ...(m.compressed === undefined ? {} : { compressed: m.compressed }) };
    case 'ping':
      return { type: m.kind, text: fromUtf8(m.data) };
    case 'pong':
      return { type: m.kind, text: fromUtf8(m.data), ...(m.rttMs === undefined ? {} : { rttMs: m.rttMs }) };
    case 'close':
      return { type: 'close', code: m.code, name: m.code === null ? 'no status' : closeCodeName(m.code), reason: m.reason };
  }
}
