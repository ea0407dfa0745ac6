// The client side of an HTTP/2 connection, RFC 9113, sans I/O: stream states (§5.1), stream identifiers
// (§5.1.1), concurrency (§5.1.2), flow control (§5.2, §6.9), SETTINGS (§6.5), header blocks with
// CONTINUATION (§4.3, §6.10), PING (§6.7), GOAWAY (§6.8) and RST_STREAM (§6.4).
//
// How it works: the caller feeds every received frame to `receive`, which updates the state and returns
// events (response headers, data, trailers, resets, GOAWAY, PING acks, SETTINGS); what the connection owes
// the peer (SETTINGS and PING acknowledgements, WINDOW_UPDATE, request DATA the windows now allow) is
// queued and handed out by `takeOutbound`, so the driver writes it in one go after each read. Request
// bodies are sent only as far as both the connection and the stream send windows allow; a WINDOW_UPDATE
// from the server releases the rest. Received DATA is credited back as soon as it is consumed.
import { concat } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { Decoder, Encoder, type DecodedBlock, type HeaderField } from './hpack.ts';
import {
  DEFAULT_MAX_FRAME_SIZE,
  ErrorCode,
  Flags,
  MAX_WINDOW,
  PREFACE,
  Setting,
  connectionError,
  encodeData,
  encodeGoaway,
  encodeHeaders,
  encodePing,
  encodeRstStream,
  encodeSettings,
  encodeWindowUpdate,
  errorName,
  encodePriorityUpdate,
  type H2Frame,
  type Priority,
} from './frames.ts';

export interface LocalSettings {
  headerTableSize: number;
  /** Window per stream we advertise (SETTINGS_INITIAL_WINDOW_SIZE). */
  initialWindowSize: number;
  /** Connection window we raise to with a WINDOW_UPDATE on stream 0 right after the preface. */
  connectionWindowSize: number;
  maxFrameSize: number;
  maxHeaderListSize: number;
  maxConcurrentStreams: number;
  /** SETTINGS_ENABLE_PUSH (§6.5.2): whether the server may push (§8.4). */
  enablePush: boolean;
  /** Promised streams we accept; later ones are cancelled with RST_STREAM CANCEL as they are promised. */
  maxPushes: number;
}

export const DEFAULT_LOCAL: LocalSettings = {
  headerTableSize: 4096,
  initialWindowSize: 1024 * 1024,
  connectionWindowSize: 16 * 1024 * 1024,
  maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
  maxHeaderListSize: 256 * 1024,
  maxConcurrentStreams: 100,
  enablePush: false,
  maxPushes: 10,
};

/** The server's settings as they stand (§6.5.2 initial values until its SETTINGS arrives). */
export interface PeerSettings {
  headerTableSize: number;
  enablePush: number;
  maxConcurrentStreams: number;
  initialWindowSize: number;
  maxFrameSize: number;
  maxHeaderListSize: number;
}

export type H2Event =
  | { kind: 'settings'; settings: [number, number][] }
  | { kind: 'settingsAck' }
  | { kind: 'headers'; stream: number; fields: HeaderField[]; endStream: boolean; role: 'informational' | 'response' | 'trailers'; block: DecodedBlock }
  | { kind: 'data'; stream: number; data: Uint8Array; endStream: boolean }
  | { kind: 'reset'; stream: number; errorCode: number; error: string }
  | { kind: 'goaway'; lastStream: number; errorCode: number; error: string; debug: Uint8Array }
  | { kind: 'ping'; opaque: Uint8Array; ack: boolean }
  | { kind: 'windowUpdate'; stream: number; increment: number }
  | { kind: 'push'; stream: number; promised: number; fields: HeaderField[]; accepted: boolean }
  | { kind: 'priority'; stream: number; priority: Priority; via: 'PRIORITY' | 'HEADERS' }
  | { kind: 'ignored'; frame: H2Frame; why: string };

interface StreamState {
  id: number;
  /** §5.1: we sent END_STREAM (half-closed local). */
  localEnded: boolean;
  remoteEnded: boolean;
  reset: boolean;
  sendWindow: number;
  recvWindow: number;
  pending: Uint8Array[];
  pendingBytes: number;
  endAfterPending: boolean;
  gotResponse: boolean;
}

const MAX_HEADER_BLOCK = 1024 * 1024;

export class ClientConnection {
  readonly local: LocalSettings;
  readonly peer: PeerSettings = { headerTableSize: 4096, enablePush: 1, maxConcurrentStreams: Infinity, initialWindowSize: 65535, maxFrameSize: DEFAULT_MAX_FRAME_SIZE, maxHeaderListSize: Infinity };
  readonly encoder: Encoder;
  readonly decoder: Decoder;
  private readonly streams = new Map<number, StreamState>();
  private nextStream = 1;
  private outbound: Uint8Array[] = [];
  /** §6.9.1: the connection windows start at 65,535 in both directions. */
  connSendWindow = 65535;
  connRecvWindow = 65535;
  /** Header block being continued (§6.10): stream and fragments so far. */
  private continuing: { stream: number; parts: Uint8Array[]; size: number; endStream: boolean; promised?: number } | undefined;
  settingsReceived = false;
  goaway: { lastStream: number; errorCode: number } | undefined;
  /** Frames of flow-control bookkeeping we sent, for the inspect view. */
  windowUpdatesSent = 0;
  highestStream = 0;
  /** Header block size of the last request, for the compression figures. */
  lastBlockSize = 0;
  /** Highest stream the server promised (§8.4), and how many promises came. */
  highestPromised = 0;
  promises = 0;
  /** Windows of streams that have closed, by id (bounded), for the flow-control view. */
  private readonly closedWindows = new Map<number, { send: number; recv: number }>();

  constructor(local: Partial<LocalSettings> = {}, encoder = { huffman: true, indexing: true }) {
    this.local = { ...DEFAULT_LOCAL, ...local };
    this.encoder = new Encoder({ ...encoder, tableSize: 4096 });
    this.decoder = new Decoder({ maxTableSize: this.local.headerTableSize, maxListSize: this.local.maxHeaderListSize, maxFields: 1000 });
  }

  /** Our SETTINGS (§6.5): push off, our windows and limits. */
  settingsList(): [number, number][] {
    return [
      [Setting.HEADER_TABLE_SIZE, this.local.headerTableSize],
      [Setting.ENABLE_PUSH, this.local.enablePush ? 1 : 0],
      [Setting.MAX_CONCURRENT_STREAMS, this.local.maxConcurrentStreams],
      [Setting.INITIAL_WINDOW_SIZE, this.local.initialWindowSize],
      [Setting.MAX_FRAME_SIZE, this.local.maxFrameSize],
      [Setting.MAX_HEADER_LIST_SIZE, this.local.maxHeaderListSize],
    ];
  }

  /** §3.4: the connection preface, our SETTINGS, and the connection window raised. */
  preface(): Uint8Array {
    const parts = [PREFACE, encodeSettings(this.settingsList())];
    const raise = this.local.connectionWindowSize - 65535;
    if (raise > 0) {
      parts.push(encodeWindowUpdate(0, raise));
      this.connRecvWindow += raise;
      this.windowUpdatesSent++;
    }
    return concat(parts);
  }

  /** After an h2c upgrade (RFC 7540 §3.2): stream 1 carries the upgraded request, half-closed on our side. */
  adoptUpgradeStream(): void {
    this.streams.set(1, this.newStream(1, true));
    this.nextStream = 3;
    this.highestStream = 1;
  }

  private newStream(id: number, localEnded: boolean): StreamState {
    return { id, localEnded, remoteEnded: false, reset: false, sendWindow: this.peer.initialWindowSize, recvWindow: this.local.initialWindowSize, pending: [], pendingBytes: 0, endAfterPending: false, gotResponse: false };
  }

  /** Our streams open or half-closed (§5.1.2 counts both; pushed streams count against our own limit, not the server's). */
  get activeStreams(): number {
    return this.streams.size - this.pushedOpen;
  }

  /** Promised streams not yet closed. */
  private pushedOpen = 0;

  /** Closed streams leave the map (§5.1 "closed"): later frames for them are recognised by their id and ignored. */
  private retire(s: StreamState): void {
    if (s.reset || (s.localEnded && s.remoteEnded)) {
      if (this.closedWindows.size < 4096) this.closedWindows.set(s.id, { send: s.sendWindow, recv: s.recvWindow });
      if (s.id % 2 === 0 && this.streams.has(s.id)) this.pushedOpen--;
      this.streams.delete(s.id);
      this.sending.delete(s);
    }
  }

  /** Streams with request DATA waiting for window. */
  private readonly sending = new Set<StreamState>();

  /** Whether the server's MAX_CONCURRENT_STREAMS and GOAWAY allow another stream now. */
  canOpenStream(): boolean {
    return !this.goaway && this.activeStreams < this.peer.maxConcurrentStreams && this.nextStream <= MAX_WINDOW;
  }

  /** Opens a stream with a request; the body goes out as the windows allow (see takeOutbound). */
  request(fields: HeaderField[], body?: Uint8Array): number {
    const hasBody = body !== undefined && body.length > 0;
    const id = this.startStream(fields, !hasBody);
    if (hasBody) this.sendData(id, body!, true);
    return id;
  }

  /** A new stream's HEADERS (§5.1.1: client streams are odd and increase); `end`: no body follows. */
  private startStream(fields: HeaderField[], end: boolean): number {
    if (this.goaway) throw connectionError('REFUSED_STREAM', `the server sent GOAWAY (${errorName(this.goaway.errorCode)}); no new streams`);
    const id = this.nextStream;
    this.nextStream += 2;
    this.highestStream = id;
    this.streams.set(id, this.newStream(id, end));
    const block = this.encoder.encode(fields);
    this.lastBlockSize = block.length;
    this.outbound.push(encodeHeaders(id, block, end, this.peer.maxFrameSize));
    return id;
  }

  /** Opens a stream whose request body is sent later, piece by piece, with `sendData` (a streaming call). */
  openStream(fields: HeaderField[]): number {
    return this.startStream(fields, false);
  }

  /** Queues request DATA on a stream opened with `openStream`; `end` half-closes it (END_STREAM) once all is sent. */
  sendData(stream: number, data: Uint8Array, end: boolean): void {
    const s = this.streams.get(stream);
    if (!s || s.reset) throw new ProtocolError(`stream ${stream} is closed`);
    if (s.localEnded || s.endAfterPending) throw new ProtocolError(`stream ${stream} is already half-closed by us`);
    if (data.length > 0) {
      s.pending.push(data);
      s.pendingBytes += data.length;
    }
    s.endAfterPending = end;
    this.sending.add(s);
    this.flushData();
  }

  /** Request bytes of one stream still waiting for window (0 once the stream is gone). */
  pendingOn(stream: number): number {
    return this.streams.get(stream)?.pendingBytes ?? 0;
  }

  /** A stream's send and receive windows as they stand, or as they were when it closed. */
  windowsOf(stream: number): { send: number; recv: number } | undefined {
    const s = this.streams.get(stream);
    return s ? { send: s.sendWindow, recv: s.recvWindow } : this.closedWindows.get(stream);
  }

  /** RFC 9218 §7.1: a new priority for a request stream we opened. */
  priorityUpdate(stream: number, value: string): void {
    if (stream % 2 === 0 || stream >= this.nextStream) throw new ProtocolError(`stream ${stream} is not a request we opened`);
    this.outbound.push(encodePriorityUpdate(stream, value));
  }

  ping(opaque: Uint8Array): void {
    this.outbound.push(encodePing(opaque));
  }

  resetStream(stream: number, code = ErrorCode.CANCEL): void {
    const s = this.streams.get(stream);
    if (s) {
      s.reset = true;
      this.retire(s);
    }
    this.outbound.push(encodeRstStream(stream, code));
  }

  /** §6.8: GOAWAY naming the last stream the server initiated (a promise), 0 when none. */
  close(code = ErrorCode.NO_ERROR, debug = ''): Uint8Array {
    return encodeGoaway(this.highestPromised, code, debug);
  }

  /** Everything owed to the server, as one write. */
  takeOutbound(): Uint8Array | undefined {
    this.flushData();
    if (this.outbound.length === 0) return undefined;
    const out = this.outbound.length === 1 ? this.outbound[0] : concat(this.outbound);
    this.outbound = [];
    return out;
  }

  /** §6.9: send pending request DATA within the connection and stream windows, at most MAX_FRAME_SIZE per frame. */
  private flushData(): void {
    for (const s of this.sending) {
      while (s.pendingBytes > 0 && !s.reset) {
        const room = Math.min(this.connSendWindow, s.sendWindow, this.peer.maxFrameSize);
        if (room <= 0) break;
        const head = s.pending[0];
        const piece = head.subarray(0, room);
        if (piece.length === head.length) s.pending.shift();
        else s.pending[0] = head.subarray(piece.length);
        s.pendingBytes -= piece.length;
        this.connSendWindow -= piece.length;
        s.sendWindow -= piece.length;
        const end = s.pendingBytes === 0 && s.endAfterPending;
        if (end) s.localEnded = true;
        this.outbound.push(encodeData(s.id, piece, end));
      }
      // A half-close with nothing left to send: an empty DATA frame with END_STREAM.
      if (s.pendingBytes === 0 && s.endAfterPending && !s.localEnded && !s.reset) {
        s.localEnded = true;
        this.outbound.push(encodeData(s.id, new Uint8Array(0), true));
      }
      if (s.pendingBytes === 0) this.sending.delete(s);
      this.retire(s);
    }
  }

  /** Request bytes still waiting for window. */
  get blockedBytes(): number {
    let n = 0;
    for (const s of this.sending) n += s.pendingBytes;
    return n;
  }

  receive(f: H2Frame): H2Event[] {
    // §6.10: while a header block is open, only its CONTINUATION frames may arrive.
    if (this.continuing && (f.type !== 'CONTINUATION' || f.stream !== this.continuing.stream)) {
      throw connectionError('PROTOCOL_ERROR', `${f.type} on stream ${f.stream} inside the header block of stream ${this.continuing.stream}`);
    }
    switch (f.type) {
      case 'SETTINGS':
        if (f.ack) return [{ kind: 'settingsAck' }];
        this.applySettings(f.settings);
        this.settingsReceived = true;
        this.outbound.push(encodeSettings([], true)); // §6.5.3: acknowledge.
        return [{ kind: 'settings', settings: f.settings }];
      case 'PING':
        if (!f.ack) this.outbound.push(encodePing(f.opaque, true)); // §6.7: answer with the same payload.
        return [{ kind: 'ping', opaque: f.opaque, ack: f.ack }];
      case 'GOAWAY':
        this.goaway = { lastStream: f.lastStream, errorCode: f.errorCode };
        return [{ kind: 'goaway', lastStream: f.lastStream, errorCode: f.errorCode, error: errorName(f.errorCode), debug: f.debug }];
      case 'WINDOW_UPDATE':
        return this.windowUpdate(f.stream, f.increment);
      case 'RST_STREAM': {
        const s = this.stream(f.stream, 'RST_STREAM');
        if (s) {
          s.reset = true;
          this.retire(s);
        }
        return [{ kind: 'reset', stream: f.stream, errorCode: f.errorCode, error: errorName(f.errorCode) }];
      }
      case 'DATA':
        return this.data(f.stream, f.data, f.length, (f.flags & Flags.END_STREAM) !== 0);
      case 'HEADERS': {
        const endStream = (f.flags & Flags.END_STREAM) !== 0;
        // §6.2: the PRIORITY flag's RFC 7540 fields are shown, not acted on (§5.3.2).
        const signal: H2Event[] = f.priority ? [{ kind: 'priority', stream: f.stream, priority: f.priority, via: 'HEADERS' }] : [];
        if (f.flags & Flags.END_HEADERS) return [...signal, ...this.headerBlock(f.stream, f.block, endStream)];
        this.continuing = { stream: f.stream, parts: [f.block], size: f.block.length, endStream };
        return signal;
      }
      case 'CONTINUATION': {
        const c = this.continuing;
        if (!c) throw connectionError('PROTOCOL_ERROR', `CONTINUATION on stream ${f.stream} without HEADERS`);
        c.parts.push(f.block);
        c.size += f.block.length;
        if (c.size > MAX_HEADER_BLOCK) throw connectionError('ENHANCE_YOUR_CALM', `header block larger than ${MAX_HEADER_BLOCK} bytes`);
        if (!(f.flags & Flags.END_HEADERS)) return [];
        this.continuing = undefined;
        if (c.promised !== undefined) return this.promise(c.stream, c.promised, concat(c.parts));
        return this.headerBlock(c.stream, concat(c.parts), c.endStream);
      }
      case 'PUSH_PROMISE':
        // §8.4: with ENABLE_PUSH 0, a PUSH_PROMISE is a connection error.
        if (!this.local.enablePush) throw connectionError('PROTOCOL_ERROR', `PUSH_PROMISE on stream ${f.stream} though we disabled push`);
        // §5.1.1: promised streams are even and increase.
        if (f.promised % 2 !== 0 || f.promised <= this.highestPromised) throw connectionError('PROTOCOL_ERROR', `PUSH_PROMISE of stream ${f.promised}, not a new even stream`);
        this.highestPromised = f.promised;
        if (f.flags & Flags.END_HEADERS) return this.promise(f.stream, f.promised, f.block);
        this.continuing = { stream: f.stream, parts: [f.block], size: f.block.length, endStream: false, promised: f.promised };
        return [];
      case 'PRIORITY':
        // §5.3.2: RFC 7540 priority signals are advisory; shown, not acted on.
        return [{ kind: 'priority', stream: f.stream, priority: f.priority, via: 'PRIORITY' }];
      default:
        return [{ kind: 'ignored', frame: f, why: 'unknown frame type (§5.5)' }];
    }
  }

  /** A frame for a stream we never opened is a connection error (§5.1: idle stream); for a closed one it is ignored. */
  private stream(id: number, what: string): StreamState | undefined {
    const s = this.streams.get(id);
    if (!s && (id % 2 === 0 ? id > this.highestPromised : id >= this.nextStream)) throw connectionError('PROTOCOL_ERROR', `${what} on stream ${id}, which was never opened`);
    return s;
  }

  private applySettings(settings: [number, number][]): void {
    for (const [id, value] of settings) {
      switch (id) {
        case Setting.HEADER_TABLE_SIZE:
          this.peer.headerTableSize = value;
          this.encoder.setPeerMaxTableSize(value);
          break;
        case Setting.ENABLE_PUSH:
          this.peer.enablePush = value;
          break;
        case Setting.MAX_CONCURRENT_STREAMS:
          this.peer.maxConcurrentStreams = value;
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          // §6.9.2: a change applies to every open stream's send window, by the difference.
          const delta = value - this.peer.initialWindowSize;
          this.peer.initialWindowSize = value;
          for (const s of this.streams.values()) {
            s.sendWindow += delta;
            if (s.sendWindow > MAX_WINDOW) throw connectionError('FLOW_CONTROL_ERROR', `SETTINGS_INITIAL_WINDOW_SIZE makes stream ${s.id}'s window exceed 2^31-1`);
          }
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          this.peer.maxFrameSize = value;
          break;
        case Setting.MAX_HEADER_LIST_SIZE:
          this.peer.maxHeaderListSize = value;
          break;
        default:
        // §6.5.2: unknown settings are ignored.
      }
    }
  }

  private windowUpdate(stream: number, increment: number): H2Event[] {
    if (stream === 0) {
      this.connSendWindow += increment;
      // §6.9.1: a window above 2^31-1 is a FLOW_CONTROL_ERROR.
      if (this.connSendWindow > MAX_WINDOW) throw connectionError('FLOW_CONTROL_ERROR', 'connection send window above 2^31-1');
    } else {
      const s = this.stream(stream, 'WINDOW_UPDATE');
      if (s) {
        s.sendWindow += increment;
        if (s.sendWindow > MAX_WINDOW) {
          s.reset = true;
          this.retire(s);
          this.outbound.push(encodeRstStream(stream, ErrorCode.FLOW_CONTROL_ERROR));
        }
      }
    }
    return [{ kind: 'windowUpdate', stream, increment }];
  }

  private data(stream: number, data: Uint8Array, length: number, endStream: boolean): H2Event[] {
    // §6.9: the whole payload, padding included, counts against both receive windows.
    this.connRecvWindow -= length;
    if (this.connRecvWindow < 0) throw connectionError('FLOW_CONTROL_ERROR', `server sent ${-this.connRecvWindow} bytes beyond the connection window`);
    const s = this.stream(stream, 'DATA');
    this.creditConnection();
    if (!s || s.reset) return [{ kind: 'ignored', frame: { type: 'DATA', stream, flags: 0, data, padding: 0, length }, why: 'stream already closed' }];
    if (s.remoteEnded) throw connectionError('STREAM_CLOSED', `DATA on stream ${stream} after END_STREAM`);
    s.recvWindow -= length;
    if (s.recvWindow < 0) {
      s.reset = true;
      this.retire(s);
      this.outbound.push(encodeRstStream(stream, ErrorCode.FLOW_CONTROL_ERROR));
      return [{ kind: 'reset', stream, errorCode: ErrorCode.FLOW_CONTROL_ERROR, error: 'FLOW_CONTROL_ERROR (sent by us: the server overran the stream window)' }];
    }
    if (endStream) {
      s.remoteEnded = true;
      this.retire(s);
    } else if (s.recvWindow < this.local.initialWindowSize / 2) {
      const inc = this.local.initialWindowSize - s.recvWindow;
      s.recvWindow += inc;
      this.outbound.push(encodeWindowUpdate(stream, inc));
      this.windowUpdatesSent++;
    }
    return [{ kind: 'data', stream, data, endStream }];
  }

  private creditConnection(): void {
    if (this.connRecvWindow < this.local.connectionWindowSize / 2) {
      const inc = this.local.connectionWindowSize - this.connRecvWindow;
      this.connRecvWindow += inc;
      this.outbound.push(encodeWindowUpdate(0, inc));
      this.windowUpdatesSent++;
    }
  }

  /** §8.4: a promised request on a stream we opened; beyond `maxPushes` it is refused with RST_STREAM CANCEL. */
  private promise(stream: number, promised: number, block: Uint8Array): H2Event[] {
    // Decoded even when refused: the HPACK table must stay in step (§4.3).
    const decoded = this.decoder.decode(block);
    const parent = this.stream(stream, 'PUSH_PROMISE');
    this.promises++;
    // §8.4.2: the promise arrives in the reserved (remote) state: we never send on it.
    const accepted = parent !== undefined && !parent.reset && this.promises <= this.local.maxPushes;
    const s = this.newStream(promised, true);
    this.streams.set(promised, s);
    this.pushedOpen++;
    if (!accepted) this.resetStream(promised, ErrorCode.CANCEL);
    return [{ kind: 'push', stream, promised, fields: decoded.fields, accepted }];
  }

  private headerBlock(stream: number, block: Uint8Array, endStream: boolean): H2Event[] {
    // Decode even for a stream we reset: the HPACK table must stay in step (§4.3).
    const decoded = this.decoder.decode(block);
    const s = this.stream(stream, 'HEADERS');
    if (!s || s.reset) return [];
    if (s.remoteEnded) throw connectionError('STREAM_CLOSED', `HEADERS on stream ${stream} after END_STREAM`);
    const status = decoded.fields.find(([n]) => n === ':status')?.[1];
    let role: 'informational' | 'response' | 'trailers';
    if (!s.gotResponse) {
      // §8.3.2: a response starts with :status; 1xx are informational and more HEADERS follow.
      if (status === undefined) throw connectionError('PROTOCOL_ERROR', `response HEADERS on stream ${stream} without :status`);
      role = status.startsWith('1') && status !== '101' ? 'informational' : 'response';
      if (role === 'response') s.gotResponse = true;
    } else {
      // §8.1: a second HEADERS after the response is the trailer section and must end the stream.
      if (!endStream) throw connectionError('PROTOCOL_ERROR', `trailers on stream ${stream} without END_STREAM`);
      role = 'trailers';
    }
    if (endStream) {
      s.remoteEnded = true;
      this.retire(s);
    }
    return [{ kind: 'headers', stream, fields: decoded.fields, endStream, role, block: decoded }];
  }
}
