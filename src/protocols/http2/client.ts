// HTTP/2 session driver, RFC 9113 over a Conn: starting HTTP/2 (§3: TLS with ALPN "h2", cleartext with prior
// knowledge §3.3, or the HTTP/1.1 Upgrade of RFC 7540 §3.2), then streams run concurrently over one read loop.
//
// How it works: `H2Session.start` sends the connection preface and reads until the server's SETTINGS (which
// §3.4 makes its first frame). `exchange` opens up to `concurrency` streams at once (never more than the
// server's MAX_CONCURRENT_STREAMS), then loops: write whatever the connection owes (acks, window updates,
// request DATA), read one frame, feed it to the sans-I/O ClientConnection, and file the events under their
// streams. Every frame in either direction is logged (capped) for the inspect view.
import { concat, fromLatin1, toBase64 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import type { ByteSink } from '../../core/files.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import { exchange as http1Exchange, type ExchangeResult } from '../http/client.ts';
import { ClientConnection, type H2Event, type LocalSettings } from './connection.ts';
import { DynamicTable, type HeaderField } from './hpack.ts';
import { PREFACE, describeFrame, flagNames, frameFrame, settingName, settingsPayload, type H2Frame } from './frames.ts';

export type StartMode = 'prior-knowledge' | 'upgrade' | 'alpn';

export interface FrameLogEntry {
  t: number;
  dir: 'out' | 'in';
  type: string;
  stream: number;
  flags: string[];
  length: number;
  summary: string;
}

export interface H2Request {
  method: string;
  scheme: 'http' | 'https';
  authority: string;
  path: string;
  headers: HeaderField[];
  body?: Uint8Array;
  /** RFC 9218 §4: the Priority Field Value sent in the `priority` header (e.g. "u=1, i"). */
  priority?: string;
  /** RFC 9218 §7.1: a new Priority Field Value sent in PRIORITY_UPDATE once the stream is open. */
  reprioritize?: string;
}

export interface H2Response {
  stream: number;
  path: string;
  status: number | null;
  headers: HeaderField[];
  trailers: HeaderField[];
  interim: HeaderField[][];
  body: Uint8Array;
  bodyBytes: number;
  truncated: boolean;
  /** The stream ended with RST_STREAM (from the server, or from us when the body cap was reached). */
  reset: { by: 'server' | 'client'; error: string } | null;
  /** Not processed: the server's GOAWAY named a lower last stream, or the connection ended first. */
  refused: string | null;
  headerBlockBytes: number;
  headerListBytes: number;
  requestBlockBytes: number;
  requestListBytes: number;
  firstByteMs: number | null;
  totalMs: number | null;
  /** The stream's send and receive windows when it ended (§6.9). */
  windows: { send: number; recv: number } | null;
  /** A pushed response (§8.4): the stream whose PUSH_PROMISE announced it, and the promised request. */
  pushed: { by: number; request: HeaderField[] } | null;
}

export interface WindowUpdateEntry {
  t: number;
  dir: 'out' | 'in';
  stream: number;
  increment: number;
}

export interface PrioritySignal {
  stream: number;
  via: 'PRIORITY' | 'HEADERS';
  dependsOn: number;
  weight: number;
  exclusive: boolean;
}

const MAX_LOG = 400;
const MAX_WINDOW_LOG = 1000;

function emptyResponse(path: string): H2Response & { parts: Uint8Array[] } {
  return {
    stream: 0,
    path,
    status: null,
    headers: [],
    trailers: [],
    interim: [],
    body: new Uint8Array(0),
    bodyBytes: 0,
    truncated: false,
    reset: null,
    refused: null,
    headerBlockBytes: 0,
    headerListBytes: 0,
    requestBlockBytes: 0,
    requestListBytes: 0,
    firstByteMs: null,
    totalMs: null,
    windows: null,
    pushed: null,
    parts: [],
  };
}

/** The request's header list (§8.3.1 pseudo-headers first), lower-case names as §8.2 requires. */
export function requestFields(req: H2Request): HeaderField[] {
  const fields: HeaderField[] = [
    [':method', req.method],
    [':scheme', req.scheme],
    [':authority', req.authority],
    [':path', req.path],
  ];
  for (const [n, v] of req.headers) {
    const name = n.toLowerCase();
    // §8.2.2: connection-specific fields are malformed in HTTP/2.
    if (['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host'].includes(name)) continue;
    if (name === 'te' && v.toLowerCase() !== 'trailers') continue;
    fields.push([name, v]);
  }
  if (req.priority !== undefined && !fields.some(([n]) => n === 'priority')) fields.push(['priority', req.priority]);
  if (req.body && req.body.length > 0 && !fields.some(([n]) => n === 'content-length')) fields.push(['content-length', String(req.body.length)]);
  return fields;
}

export class H2Session {
  readonly h2: ClientConnection;
  readonly log: FrameLogEntry[] = [];
  logDropped = 0;
  mode: StartMode = 'prior-knowledge';
  /** The HTTP/1.1 answer to an Upgrade the server declined. */
  declined: ExchangeResult | null = null;
  serverSettings: [number, number][] = [];
  settingsAcked = false;
  goaway: { lastStream: number; error: string; debug: string } | null = null;
  windowUpdatesReceived = 0;
  /** WINDOW_UPDATE frames both ways, in order (capped). */
  readonly windowUpdates: WindowUpdateEntry[] = [];
  windowUpdatesDropped = 0;
  /** RFC 7540 priority signals the server sent (PRIORITY frames, HEADERS with the PRIORITY flag). */
  readonly prioritySignals: PrioritySignal[] = [];
  /** Pushed responses (§8.4), in the order promised. */
  readonly pushed: H2Response[] = [];
  pings: { rttMs: number }[] = [];
  private pendingPing: { opaque: string; at: number } | undefined;
  private readonly reader: ReturnType<typeof frameFrame>;
  private readonly t0 = performance.now();

  constructor(
    readonly conn: Conn,
    local: Partial<LocalSettings> = {},
    encoder = { huffman: true, indexing: true },
  ) {
    this.h2 = new ClientConnection(local, encoder);
    this.reader = frameFrame(this.h2.local.maxFrameSize);
  }

  private now(): number {
    return Math.round((performance.now() - this.t0) * 1000) / 1000;
  }

  private record(dir: 'out' | 'in', f: H2Frame): void {
    if (f.type === 'WINDOW_UPDATE') {
      if (this.windowUpdates.length < MAX_WINDOW_LOG) this.windowUpdates.push({ t: this.now(), dir, stream: f.stream, increment: f.increment });
      else this.windowUpdatesDropped++;
    }
    if (this.log.length >= MAX_LOG) {
      this.logDropped++;
      return;
    }
    this.log.push({ t: this.now(), dir, type: f.type === 'UNKNOWN' ? `UNKNOWN(0x${f.typeCode.toString(16)})` : f.type, stream: f.stream, flags: flagNames(f), length: f.length, summary: describeFrame(f) });
  }

  /** Writes bytes of whole frames (after the preface, if any), logging each. */
  private async send(bytes: Uint8Array | undefined): Promise<void> {
    if (!bytes) return;
    const frames: string[] = [];
    let at = 0;
    if (bytes.length >= PREFACE.length && fromLatin1(bytes.subarray(0, 3)) === 'PRI') {
      at = PREFACE.length;
      frames.push('connection preface');
    }
    const parse = frameFrame(1 << 24);
    while (at < bytes.length) {
      const got = parse(bytes.subarray(at));
      if (!got) break;
      at += got.size;
      this.record('out', got.value);
      frames.push(describeFrame(got.value));
    }
    await this.conn.write(bytes, { decode: frames.length > 3 ? `${frames.slice(0, 3).join('; ')}; … ${frames.length} frames` : frames.join('; ') });
  }

  private async readFrame(): Promise<H2Frame> {
    const f = await this.conn.readFrame(this.reader, 'HTTP/2 frame', describeFrame);
    this.record('in', f);
    return f;
  }

  /**
   * Starts HTTP/2. With 'upgrade', `first` is sent as an HTTP/1.1 request asking to switch (RFC 7540 §3.2);
   * a 101 makes its response arrive on stream 1; anything else is kept in `declined` and HTTP/2 is not started.
   */
  async start(mode: StartMode, first?: H2Request): Promise<boolean> {
    this.mode = mode;
    if (mode === 'upgrade') {
      if (!first) throw new ProtocolError('an h2c upgrade needs a first request');
      const settings = settingsPayload(this.h2.settingsList());
      const x = await http1Exchange(
        this.conn,
        {
          method: first.method,
          target: first.path,
          headers: [
            ['Host', first.authority],
            ['Connection', 'Upgrade, HTTP2-Settings'],
            ['Upgrade', 'h2c'],
            // RFC 7540 §3.2.1: the SETTINGS payload, base64url without padding.
            ['HTTP2-Settings', toBase64(settings).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')],
            ...first.headers,
          ],
          maxBodyBytes: 1024 * 1024,
          maxRawBytes: 0,
        },
        () => this.now(),
      );
      if (x.head.status !== 101) {
        this.declined = x;
        return false;
      }
      this.h2.adoptUpgradeStream();
    }
    await this.send(this.h2.preface());
    // §3.4: the server's preface is a SETTINGS frame, first.
    const f = await this.readFrame();
    if (f.type !== 'SETTINGS' || f.ack) throw new ProtocolError(`the server's first frame was ${describeFrame(f)}, not SETTINGS: it does not speak HTTP/2 here`);
    // Its ACK waits in the queue and leaves with the first request: one small write fewer (Nagle).
    this.handle(this.h2.receive(f), new Map());
    return true;
  }

  /** Sends a PING now; its RTT is recorded when the ACK comes back during a later read. */
  ping(opaque: Uint8Array): void {
    this.h2.ping(opaque);
    this.pendingPing = { opaque: fromLatin1(opaque), at: performance.now() };
  }

  private handle(events: H2Event[], byStream: Map<number, H2Response>): void {
    for (const e of events) {
      switch (e.kind) {
        case 'settings':
          this.serverSettings = [...this.serverSettings.filter(([id]) => !e.settings.some(([x]) => x === id)), ...e.settings];
          break;
        case 'settingsAck':
          this.settingsAcked = true;
          break;
        case 'ping':
          if (e.ack && this.pendingPing && fromLatin1(e.opaque) === this.pendingPing.opaque) {
            this.pings.push({ rttMs: Math.round((performance.now() - this.pendingPing.at) * 1000) / 1000 });
            this.pendingPing = undefined;
          }
          break;
        case 'windowUpdate':
          this.windowUpdatesReceived++;
          break;
        case 'goaway':
          this.goaway = { lastStream: e.lastStream, error: e.error, debug: fromLatin1(e.debug.subarray(0, 200)) };
          // §6.8: streams above the last one were not processed and may be retried.
          for (const r of byStream.values()) if (r.stream > e.lastStream && r.totalMs === null) r.refused = `GOAWAY (${e.error}) with last stream ${e.lastStream}`;
          break;
        case 'priority':
          if (this.prioritySignals.length < 100) this.prioritySignals.push({ stream: e.stream, via: e.via, ...e.priority });
          break;
        case 'push': {
          const path = e.fields.find(([n]) => n === ':path')?.[1] ?? '';
          const r = emptyResponse(path);
          r.stream = e.promised;
          r.pushed = { by: e.stream, request: e.fields };
          if (!e.accepted) r.reset = { by: 'client', error: 'CANCEL (more promised streams than maxPushes)' };
          if (this.pushed.length < 1000) this.pushed.push(r);
          byStream.set(e.promised, r);
          break;
        }
        case 'reset': {
          const r = byStream.get(e.stream);
          if (r && !r.reset) r.reset = { by: e.error.includes('sent by us') ? 'client' : 'server', error: e.error };
          break;
        }
        case 'headers': {
          const r = byStream.get(e.stream);
          if (!r) break;
          if (e.role === 'informational') r.interim.push(e.fields);
          else if (e.role === 'response') {
            r.headers = e.fields.filter(([n]) => n !== ':status');
            r.status = Number(e.fields.find(([n]) => n === ':status')?.[1] ?? NaN);
            r.headerBlockBytes += e.block.encodedBytes;
            r.headerListBytes += e.block.decodedBytes;
          } else r.trailers = e.fields;
          break;
        }
        case 'data': {
          const r = byStream.get(e.stream);
          if (!r) break;
          r.bodyBytes += e.data.length;
          if (!r.truncated) (r as unknown as { parts: Uint8Array[] }).parts.push(e.data);
          break;
        }
        default:
      }
    }
  }

  /** Runs the requests, `concurrency` streams at a time; returns one response per request, in order. */
  async exchange(
    requests: H2Request[],
    opts: {
      concurrency: number;
      maxBodyBytes: number;
      adoptFirst?: boolean;
      /** Sees each DATA payload; returning true cancels the stream (RST_STREAM CANCEL) with that reason. */
      onData?: (index: number, data: Uint8Array) => string | undefined;
    },
  ): Promise<H2Response[]> {
    const responses: H2Response[] = requests.map((req) => emptyResponse(req.path));
    const byStream = new Map<number, H2Response>();
    const started = new Map<number, number>();
    let next = 0;
    // After an upgrade, the first request is already on stream 1 (RFC 7540 §3.2).
    if (opts.adoptFirst) {
      responses[0].stream = 1;
      byStream.set(1, responses[0]);
      started.set(1, performance.now());
      next = 1;
    }
    const finished = (r: H2Response) => r.totalMs !== null || r.reset !== null || r.refused !== null;
    /** Streams still running, by id; `byStream` keeps every stream for late frames. */
    const open = new Map<number, H2Response>(byStream);
    const indexOf = new Map<H2Response, number>(responses.map((r, i) => [r, i]));
    // New streams go out in batches (when a quarter of the slots are free) so their HEADERS share writes.
    const refillAt = Math.max(0, Math.ceil(opts.concurrency * 0.75) - 1);
    for (;;) {
      if (open.size <= refillAt || open.size === 0) {
        while (next < requests.length && open.size < opts.concurrency && this.h2.canOpenStream()) {
          const req = requests[next];
          const fields = requestFields(req);
          const id = this.h2.request(fields, req.body);
          const r = responses[next++];
          r.stream = id;
          r.requestBlockBytes = this.h2.lastBlockSize;
          r.requestListBytes = fields.reduce((n, f) => n + DynamicTable.entrySize(f), 0);
          byStream.set(id, r);
          open.set(id, r);
          started.set(id, performance.now());
          if (req.reprioritize !== undefined) this.h2.priorityUpdate(id, req.reprioritize);
        }
      }
      await this.send(this.h2.takeOutbound());
      if (open.size === 0 && (next >= requests.length || this.goaway)) break;
      if (open.size === 0 && !this.h2.canOpenStream()) {
        if (this.goaway) break;
        continue;
      }
      let f: H2Frame;
      try {
        f = await this.readFrame();
      } catch (e) {
        if (e instanceof PortolanError && e.code === 'closed') {
          for (const r of open.values()) r.refused ??= 'the server closed the connection before answering';
          for (const r of responses.slice(next)) r.refused ??= 'not sent: the connection closed';
          break;
        }
        throw e;
      }
      const events = this.h2.receive(f);
      this.handle(events, byStream);
      const now = performance.now();
      for (const e of events) {
        // An accepted promise is a stream to read to its end, timed from its promise.
        if (e.kind === 'push' && e.accepted) {
          open.set(e.promised, byStream.get(e.promised)!);
          started.set(e.promised, now);
        }
      }
      for (const e of events) {
        if (e.kind !== 'headers' && e.kind !== 'data') continue;
        const r = byStream.get(e.stream);
        if (!r) continue;
        const t = started.get(e.stream)!;
        r.firstByteMs ??= Math.round((now - t) * 1000) / 1000;
        if (e.endStream) r.totalMs = Math.round((now - t) * 1000) / 1000;
        const cancel = e.kind === 'data' && !e.endStream && !r.reset && opts.onData && indexOf.has(r) ? opts.onData(indexOf.get(r)!, e.data) : undefined;
        if (cancel) {
          this.h2.resetStream(e.stream);
          r.reset = { by: 'client', error: `CANCEL (${cancel})` };
        }
        // Past the body cap: cancel the stream rather than read what nobody will see (§6.4 RST_STREAM CANCEL).
        if (e.kind === 'data' && !e.endStream && r.bodyBytes > opts.maxBodyBytes && !r.truncated && !r.reset) {
          r.truncated = true;
          this.h2.resetStream(e.stream);
          r.reset = { by: 'client', error: 'CANCEL (body cap reached)' };
        }
      }
      for (const e of events) {
        if (e.kind === 'headers' || e.kind === 'data' || e.kind === 'reset') {
          const r = open.get(e.stream);
          if (r && finished(r)) open.delete(e.stream);
        } else if (e.kind === 'goaway') for (const [id, r] of open) if (finished(r)) open.delete(id);
      }
      if (this.goaway && [...open.values()].every((r) => r.stream > this.goaway!.lastStream)) {
        for (const r of open.values()) r.refused ??= `GOAWAY (${this.goaway.error}) with last stream ${this.goaway.lastStream}`;
        break;
      }
    }
    for (const r of [...responses, ...this.pushed]) {
      if (r.stream > 0) r.windows = this.h2.windowsOf(r.stream) ?? null;
      const parts = (r as unknown as { parts?: Uint8Array[] }).parts;
      if (!parts) continue;
      const all = concat(parts);
      r.body = all.subarray(0, opts.maxBodyBytes);
      if (all.length > opts.maxBodyBytes) r.truncated = true;
      delete (r as unknown as { parts?: unknown }).parts;
      if (next < requests.length && r.stream === 0) r.refused ??= this.goaway ? `not sent: GOAWAY (${this.goaway.error})` : 'not sent';
    }
    return responses;
  }

  /**
   * One request whose response body goes, DATA frame by DATA frame, to the sink `open` returns for the
   * response head (a streamed download). Each write is awaited before the next frame is read, so the
   * window credited back to the server follows the consumer. A RST_STREAM, a GOAWAY that leaves the
   * stream out, or a connection closed before END_STREAM fails it.
   */
  async download(req: H2Request, open: (status: number, headers: HeaderField[]) => Promise<ByteSink>, adoptFirst = false): Promise<{ status: number; headers: HeaderField[]; trailers: HeaderField[]; bytes: number }> {
    const id = adoptFirst ? 1 : this.h2.request(requestFields(req), req.body);
    this.conn.bulkReads(256 * 1024);
    let sink: ByteSink | undefined;
    let status = 0;
    let headers: HeaderField[] = [];
    let trailers: HeaderField[] = [];
    let bytes = 0;
    for (;;) {
      await this.send(this.h2.takeOutbound());
      let f: H2Frame;
      try {
        f = await this.readFrame();
      } catch (e) {
        if (e instanceof PortolanError && e.code === 'closed') throw new PortolanError('closed', `the server closed the connection before the end of stream ${id}${sink ? ': the download is incomplete' : ''}`);
        throw e;
      }
      const events = this.h2.receive(f);
      this.handle(events, new Map());
      for (const e of events) {
        if (e.kind === 'goaway' && e.lastStream < id) throw goawayError({ error: e.error, debug: fromLatin1(e.debug.subarray(0, 200)) });
        if (!('stream' in e) || e.stream !== id) continue;
        if (e.kind === 'reset') throw new PortolanError('closed', `the server reset stream ${id} (${e.error})${sink ? ': the download is incomplete' : ''}`);
        if (e.kind === 'headers' && e.role === 'response') {
          status = Number(e.fields.find(([n]) => n === ':status')?.[1] ?? NaN);
          headers = e.fields.filter(([n]) => n !== ':status');
          sink = await open(status, headers);
        } else if (e.kind === 'headers' && e.role === 'trailers') {
          trailers = e.fields;
        } else if (e.kind === 'data') {
          if (!sink) throw new ProtocolError(`DATA on stream ${id} before its response HEADERS`);
          bytes += e.data.length;
          if (e.data.length > 0) await sink.write(e.data);
        }
        if ((e.kind === 'headers' || e.kind === 'data') && e.endStream) {
          if (!sink) throw new ProtocolError(`stream ${id} ended without a response`);
          return { status, headers, trailers, bytes };
        }
      }
    }
  }

  /** Sends what is owed, then reads one frame and applies it: for callers that drive their own streams (gRPC streaming). */
  async step(): Promise<H2Event[]> {
    await this.send(this.h2.takeOutbound());
    const events = this.h2.receive(await this.readFrame());
    this.handle(events, new Map());
    return events;
  }

  /** Sends what is owed now (request DATA the windows allow, resets, acknowledgements). */
  async flush(): Promise<void> {
    await this.send(this.h2.takeOutbound());
  }

  /** Waits for outstanding PING ACKs and SETTINGS ACK a little, reading frames (bounded). */
  async settle(maxFrames = 10): Promise<void> {
    for (let i = 0; i < maxFrames && (this.pendingPing || !this.settingsAcked) && !this.goaway; i++) {
      await this.send(this.h2.takeOutbound());
      const f = await this.readFrame();
      this.handle(this.h2.receive(f), new Map());
    }
    await this.send(this.h2.takeOutbound());
  }

  /** §6.8: says goodbye with GOAWAY NO_ERROR. */
  async close(): Promise<void> {
    await this.send(this.h2.close());
  }

  settingsJson(): { id: number; name: string; value: number }[] {
    return this.serverSettings.map(([id, value]) => ({ id, name: settingName(id), value }));
  }
}

/** A GOAWAY with an error, or a connection-level problem, as the failure it is. */
export function goawayError(g: { error: string; debug: string; lastStream?: number }): ServerError {
  const last = g.lastStream === undefined ? '' : ` (last stream ${g.lastStream})`;
  return new ServerError(`server sent GOAWAY ${g.error}${last}${g.debug ? `: ${g.debug}` : ''}`, { h2error: g.error, ...(g.lastStream === undefined ? {} : { lastStream: g.lastStream }), ...(g.debug ? { debug: g.debug } : {}) });
}

/** Dials the target and makes an H2Session: TLS with ALPN h2 (hosts with `alpn` only), or cleartext for h2c. */
export async function connectH2(ctx: OperationContext, input: { tls: string; mode: StartMode; windowSize: number; huffman: boolean; indexing: boolean; enablePush?: boolean; maxPushes?: number }) {
  let mode: StartMode = input.mode;
  let alpn: string | null = null;
  let conn;
  if (input.tls === 'implicit') {
    // RFC 9113 §3.2: over TLS, HTTP/2 is chosen with ALPN "h2". Hosts without ALPN refuse this dial (501).
    conn = await ctx.dial({ alpn: ['h2', 'http/1.1'] });
    alpn = conn.info().alpn ?? null;
    if (alpn !== 'h2') throw new ProtocolError(`the server chose ${alpn ? `"${alpn}"` : 'no protocol'} with ALPN, not h2: it does not offer HTTP/2 over TLS here`, { alpn });
    mode = 'alpn';
  } else conn = await ctx.dial();
  const push = input.enablePush ? { enablePush: true, maxPushes: input.maxPushes ?? 10 } : {};
  const session = new H2Session(conn, { initialWindowSize: input.windowSize, ...push }, { huffman: input.huffman, indexing: input.indexing });
  return { session, mode, alpn };
}

