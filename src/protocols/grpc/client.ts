// gRPC calls over our HTTP/2 session (grpc/grpc doc/PROTOCOL-HTTP2.md), server reflection
// (grpc.reflection.v1 and v1alpha) and dynamic messages from the reflected FileDescriptorProtos.
//
// How it works: a call is one HTTP/2 stream: POST /Service/Method with content-type application/grpc and
// te: trailers, the request messages length-prefixed in DATA, then the server's headers, messages and
// trailers (grpc-status, grpc-message), or a Trailers-Only answer carrying the status in its one HEADERS.
// Reflection is itself a (bidirectional) gRPC call: each request message gets one response message, so a
// batch of questions is one stream with several messages each way. The FileDescriptorProtos it returns,
// with their imports fetched by file name until none is missing, become a @bufbuild/protobuf registry, from
// which requests are built from JSON and responses turned back into JSON.
import { create, createFileRegistry, fromBinary, ScalarType, type DescField, type DescMessage, type DescMethod, type DescService, type FileRegistry } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { concat, fromBase64 } from '../../core/bytes.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import type { H2Session } from '../http2/client.ts';
import {
  ENCODINGS,
  compressMessage,
  decodeStatusDetails,
  decompressMessage,
  type Encoding,
  type GrpcMessage,
  type RichStatus,
  decodeGrpcMessage,
  decodeReflectionResponse,
  encodeMessage,
  encodeReflectionRequest,
  encodeTimeout,
  messageFrame,
  splitMessages,
  statusFromHttp,
  statusName,
  type ReflectionRequest,
  type ReflectionResponse,
} from './codec.ts';

export interface CallTarget {
  authority: string;
  scheme: 'http' | 'https';
}

export interface CallOptions {
  metadata?: [string, string][];
  /** Sent as grpc-timeout: the server ends the call with DEADLINE_EXCEEDED when it passes. */
  timeoutMs?: number;
  /** The request messages' encoding (grpc-encoding); we always accept gzip back (grpc-accept-encoding). */
  encoding?: Encoding;
  /** Cancel the stream (RST_STREAM CANCEL) once this many response messages arrived. */
  maxMessages?: number;
  maxBodyBytes?: number;
}

export interface CallResult {
  httpStatus: number | null;
  headers: [string, string][];
  trailers: [string, string][];
  status: { code: number; name: string; message: string };
  /** grpc-status-details-bin decoded (google.rpc.Status), when the server sent it. */
  details: RichStatus | null;
  messages: Uint8Array[];
  /** Messages that came compressed, and the grpc-encoding the server named. */
  compressed: { count: number; encoding: string | null };
  /** We cancelled the stream after maxMessages. */
  cancelled: boolean;
  firstByteMs: number | null;
  totalMs: number | null;
}

const MiB = 1024 * 1024;

/** The request HEADERS of a call (PROTOCOL-HTTP2.md "Requests"). */
function callHeaders(opts: CallOptions): [string, string][] {
  const headers: [string, string][] = [
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ['user-agent', 'portolan-grpc/0.1'],
    ['grpc-accept-encoding', ['identity', ...ENCODINGS].join(',')],
  ];
  if (opts.encoding && opts.encoding !== 'identity') headers.push(['grpc-encoding', opts.encoding]);
  if (opts.timeoutMs) headers.push(['grpc-timeout', encodeTimeout(opts.timeoutMs)]);
  for (const [n, v] of opts.metadata ?? []) headers.push([n.toLowerCase(), v]);
  return headers;
}

/** One request message framed, compressed in the call's encoding when it has one. */
export function requestMessage(data: Uint8Array, encoding: Encoding | undefined): Uint8Array {
  return encoding && encoding !== 'identity' ? encodeMessage(compressMessage(data, encoding), true) : encodeMessage(data);
}

/** A response message's bytes, inflated (bounded) when its Compressed-Flag is set. */
function messageData(m: GrpcMessage, encoding: string | undefined, max: number): Uint8Array {
  return m.compressed ? decompressMessage(m.data, encoding, max) : m.data;
}

type Field = [string, string];

/** The call's status from trailers (or a Trailers-Only HEADERS), with google.rpc.Status details when sent. */
function statusOf(path: string, httpStatus: number | null, headers: Field[], trailers: Field[]): { code: number; name: string; message: string; details: RichStatus | null; notGrpc?: true } | null {
  const get = (name: string) => (trailers.find(([n]) => n === name) ?? headers.find(([n]) => n === name))?.[1];
  const grpcStatus = get('grpc-status');
  if (grpcStatus === undefined) {
    // Not a gRPC answer: map the HTTP status (doc/http-grpc-status-mapping.md).
    const type = get('content-type') ?? '';
    if (httpStatus !== 200 || !type.startsWith('application/grpc')) {
      const code = statusFromHttp(httpStatus ?? 0);
      return { code, name: statusName(code), message: `HTTP ${httpStatus} ${type} without grpc-status: not a gRPC endpoint`, details: null, notGrpc: true };
    }
    return null;
  }
  if (!/^\d+$/.test(grpcStatus)) throw new ProtocolError(`grpc-status ${JSON.stringify(grpcStatus)} is not a number`);
  const code = Number(grpcStatus);
  const bin = get('grpc-status-details-bin');
  let details: RichStatus | null = null;
  if (bin !== undefined) {
    try {
      details = decodeStatusDetails(fromBase64(bin));
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      throw new ProtocolError(`grpc-status-details-bin of ${path} is not a google.rpc.Status: ${e.message}`);
    }
  }
  return { code, name: statusName(code), message: decodeGrpcMessage(get('grpc-message') ?? ''), details };
}

export async function grpcCall(session: H2Session, target: CallTarget, path: string, requests: Uint8Array[], opts: CallOptions = {}): Promise<CallResult> {
  const joined = concat(requests.map((r) => requestMessage(r, opts.encoding)));
  // Count whole messages as they stream in, so a never-ending stream (health Watch) can be cut.
  const counter = new FrameDecoder(messageFrame());
  let count = 0;
  const [r] = await session.exchange([{ method: 'POST', scheme: target.scheme, authority: target.authority, path, headers: callHeaders(opts), body: joined }], {
    concurrency: 1,
    maxBodyBytes: opts.maxBodyBytes ?? 16 * MiB,
    onData: opts.maxMessages
      ? (_i, data) => {
          count += counter.feed(data).length;
          return count >= opts.maxMessages! ? `${count} messages received` : undefined;
        }
      : undefined,
  });
  if (r.refused) throw new ServerError(`gRPC call ${path} not processed: ${r.refused}`);
  const cancelled = r.reset?.by === 'client' && r.reset.error.startsWith('CANCEL (') && !r.reset.error.includes('body cap');
  if (r.reset && !cancelled) throw new ServerError(`gRPC call ${path}: the stream was reset (${r.reset.error})`, { h2error: r.reset.error });
  const encoding = r.headers.find(([n]) => n === 'grpc-encoding')?.[1];
  const framed = cancelled ? new FrameDecoder(messageFrame()).feed(r.body) : splitMessages(r.body);
  // Every answer together inflates to at most the body cap: many small compressed messages are no way around it.
  let budget = opts.maxBodyBytes ?? 16 * MiB;
  const messages = framed.map((m) => {
    const data = messageData(m, encoding, budget);
    budget -= data.length;
    return data;
  });
  const compressed = { count: framed.filter((m) => m.compressed).length, encoding: encoding ?? null };
  const base = { httpStatus: r.status, headers: r.headers, trailers: r.trailers, messages, compressed, cancelled, firstByteMs: r.firstByteMs, totalMs: r.totalMs };
  const status = statusOf(path, r.status, r.headers, r.trailers);
  if (status === null) {
    if (cancelled) return { ...base, status: { code: 1, name: 'CANCELLED', message: `cancelled by us after ${messages.length} messages` }, details: null };
    throw new ProtocolError(`gRPC response to ${path} has no grpc-status in its trailers (${[...r.headers, ...r.trailers].map(([n]) => n).join(', ')})`);
  }
  const { details, notGrpc, ...st } = status;
  return { ...base, status: st, details, messages: notGrpc ? [] : messages };
}

/** What a streaming call yields, in order: the response headers, each message as it arrives, then the end. */
export type StreamEvent =
  | { kind: 'headers'; status: number | null; headers: Field[] }
  | { kind: 'message'; data: Uint8Array; compressed: boolean }
  | { kind: 'end'; status: { code: number; name: string; message: string }; details: RichStatus | null; trailers: Field[] };

/**
 * A client-streaming or bidirectional call on one HTTP/2 stream: request messages go out as they are given
 * (within the HTTP/2 send windows), `halfClose` ends our side (END_STREAM), and `next` reads frames only
 * when asked, so a caller that stops asking stops reading: the server is held back by the stream and
 * connection windows, which are credited as frames are read.
 */
export class GrpcStream {
  readonly id: number;
  private readonly decoder = new FrameDecoder(messageFrame());
  /** Events read but not yet taken; messages still compressed, inflated one at a time as they are taken. */
  private readonly queue: (StreamEvent | { kind: 'raw'; message: GrpcMessage })[] = [];
  private httpStatus: number | null = null;
  private headers: Field[] = [];
  private encoding: string | undefined;
  private ended = false;
  halfClosed = false;
  sent = 0;
  received = 0;
  /** Woken after every frame read, for senders waiting on the send window. */
  private waiters: (() => void)[] = [];

  constructor(
    private readonly session: H2Session,
    target: CallTarget,
    readonly path: string,
    private readonly opts: CallOptions & { maxMessageBytes: number },
  ) {
    this.id = session.h2.openStream([[':method', 'POST'], [':scheme', target.scheme], [':authority', target.authority], [':path', path], ...callHeaders(opts)]);
  }

  async start(): Promise<void> {
    await this.session.flush();
  }

  /** Request bytes queued behind the HTTP/2 send windows. */
  get blocked(): number {
    return this.session.h2.pendingOn(this.id);
  }

  /** Sends one request message; waits while more than `maxQueued` bytes are held back by the server's windows. */
  async send(data: Uint8Array, maxQueued = 1024 * 1024): Promise<void> {
    if (this.halfClosed) throw new PortolanError('invalid_input', 'the request stream is half-closed: no more messages may be sent');
    if (this.ended) throw new PortolanError('closed', `the call ${this.path} has ended`);
    this.session.h2.sendData(this.id, requestMessage(data, this.opts.encoding), false);
    this.sent++;
    await this.session.flush();
    while (this.blocked > maxQueued && !this.ended) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Ends our side of the call (END_STREAM): the server sees the end of the request stream. */
  async halfClose(): Promise<void> {
    if (this.halfClosed || this.ended) return;
    this.halfClosed = true;
    this.session.h2.sendData(this.id, new Uint8Array(0), true);
    await this.session.flush();
  }

  /** Cancels the call (RST_STREAM CANCEL). */
  async cancel(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.session.h2.resetStream(this.id);
    await this.session.flush();
  }

  /** The next event of the call, reading frames until one comes. */
  async next(): Promise<StreamEvent> {
    while (this.queue.length === 0) {
      if (this.ended) throw new PortolanError('closed', `the call ${this.path} has ended`);
      let events;
      try {
        events = await this.session.step();
      } catch (e) {
        if (e instanceof PortolanError && e.code === 'closed') throw new PortolanError('closed', `the server closed the connection before the end of ${this.path}`);
        throw e;
      }
      for (const w of this.waiters.splice(0)) w();
      for (const e of events) {
        if (e.kind === 'goaway' && e.lastStream < this.id) throw new ServerError(`the server sent GOAWAY ${e.error} before the call ${this.path} was processed`, { h2error: e.error });
        if (!('stream' in e) || e.stream !== this.id) continue;
        if (e.kind === 'reset') {
          this.ended = true;
          throw new ServerError(`gRPC call ${this.path}: the stream was reset (${e.error})`, { h2error: e.error });
        }
        if (e.kind === 'headers' && e.role === 'response') {
          this.httpStatus = Number(e.fields.find(([n]) => n === ':status')?.[1] ?? NaN);
          this.headers = e.fields.filter(([n]) => n !== ':status');
          this.encoding = this.headers.find(([n]) => n === 'grpc-encoding')?.[1];
          this.queue.push({ kind: 'headers', status: this.httpStatus, headers: this.headers });
        } else if (e.kind === 'data') {
          for (const m of this.decoder.feed(e.data)) {
            this.received++;
            this.queue.push({ kind: 'raw', message: m });
          }
        }
        if ((e.kind === 'headers' || e.kind === 'data') && e.endStream) {
          this.ended = true;
          for (const w of this.waiters.splice(0)) w();
          if (this.decoder.pending > 0) throw new ProtocolError(`gRPC response to ${this.path} ends inside a message`);
          const trailers = e.kind === 'headers' && e.role === 'trailers' ? e.fields : [];
          const status = statusOf(this.path, this.httpStatus, this.headers, trailers);
          if (!status) throw new ProtocolError(`gRPC response to ${this.path} has no grpc-status in its trailers`);
          const { details, notGrpc: _n, ...st } = status;
          this.queue.push({ kind: 'end', status: st, details, trailers });
        }
      }
    }
    const e = this.queue.shift()!;
    if (e.kind !== 'raw') return e;
    return { kind: 'message', data: messageData(e.message, this.encoding, this.opts.maxMessageBytes), compressed: e.message.compressed };
  }
}

export type ReflectionVersion = 'v1' | 'v1alpha';

export class Reflection {
  version: ReflectionVersion | undefined;
  readonly files = new Map<string, FileDescriptorProto>();

  constructor(
    private readonly session: H2Session,
    private readonly target: CallTarget,
    private readonly prefer: 'auto' | ReflectionVersion,
    private readonly timeoutMs: number,
  ) {}

  private path(v: ReflectionVersion): string {
    return `/grpc.reflection.${v}.ServerReflection/ServerReflectionInfo`;
  }

  /** One reflection stream with these requests; one response per request. */
  async ask(requests: ReflectionRequest[]): Promise<ReflectionResponse[]> {
    const order: ReflectionVersion[] = this.version ? [this.version] : this.prefer === 'auto' ? ['v1', 'v1alpha'] : [this.prefer];
    for (const v of order) {
      const r = await grpcCall(this.session, this.target, this.path(v), requests.map((q) => encodeReflectionRequest(q)), { timeoutMs: this.timeoutMs });
      // Servers that only know one version answer UNIMPLEMENTED for the other.
      if (r.status.code === 12 && v !== order[order.length - 1]) continue;
      if (r.status.code !== 0) throw new ServerError(`server reflection (${v}) failed: ${r.status.name}${r.status.message ? `: ${r.status.message}` : ''}`, { grpcStatus: r.status.code });
      this.version = v;
      return r.messages.map(decodeReflectionResponse);
    }
    throw new ServerError('the server offers no server reflection');
  }

  async listServices(): Promise<string[]> {
    const [r] = await this.ask([{ listServices: true }]);
    if (r.kind === 'error') throw new ServerError(`list_services: ${r.message}`, { reflectionError: r.code });
    if (r.kind !== 'services') throw new ProtocolError('list_services answered with something else');
    return r.services;
  }

  private addFiles(files: Uint8Array[]): void {
    for (const bytes of files) {
      const fd = fromBinary(FileDescriptorProtoSchema, bytes);
      if (!this.files.has(fd.name)) this.files.set(fd.name, fd);
    }
  }

  /** The files defining these symbols, with every import they need (fetched by name, bounded). */
  async load(symbols: string[]): Promise<FileRegistry> {
    const answers = await this.ask(symbols.map((s) => ({ fileContainingSymbol: s })));
    answers.forEach((a, i) => {
      if (a.kind === 'error') throw new ServerError(`reflection has no ${symbols[i]}: ${a.message}`, { reflectionError: a.code, symbol: symbols[i] });
      if (a.kind === 'files') this.addFiles(a.files);
    });
    for (let round = 0; round < 20; round++) {
      const missing = [...new Set([...this.files.values()].flatMap((f) => f.dependency))].filter((d) => !this.files.has(d));
      if (missing.length === 0) break;
      const more = await this.ask(missing.map((f) => ({ fileByFilename: f })));
      more.forEach((a, i) => {
        if (a.kind === 'error') throw new ServerError(`reflection cannot give ${missing[i]}: ${a.message}`);
        if (a.kind === 'files') this.addFiles(a.files);
      });
    }
    if (this.files.size > 500) throw new ProtocolError('more than 500 files through reflection');
    qualifyTypeNames([...this.files.values()]);
    try {
      return createFileRegistry(create(FileDescriptorSetSchema, { file: dependencyOrder([...this.files.values()]) }));
    } catch (e) {
      throw new ProtocolError(`the reflected descriptors do not form a valid set: ${(e as Error).message}`);
    }
  }
}

/** Files with every import before the files that import it (what createFileRegistry expects). */
function dependencyOrder(files: FileDescriptorProto[]): FileDescriptorProto[] {
  const byName = new Map(files.map((f) => [f.name, f]));
  const out: FileDescriptorProto[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (f: FileDescriptorProto) => {
    const st = state.get(f.name);
    if (st === 'done') return;
    if (st === 'visiting') throw new ProtocolError(`the reflected files import each other in a cycle through ${f.name}`);
    state.set(f.name, 'visiting');
    for (const d of f.dependency) {
      const dep = byName.get(d);
      if (dep) visit(dep);
    }
    state.set(f.name, 'done');
    out.push(f);
  };
  files.forEach(visit);
  return out;
}

type MessageProto = FileDescriptorProto['messageType'][number];
type FieldProto = MessageProto['field'][number];

/**
 * protoc writes type references fully qualified (".pkg.Type"); descriptors built by protobufjs (what
 * @grpc/proto-loader serves through @grpc/reflection) may leave them relative ("Type"), leave json_name empty
 * and leave out the imports. This resolves references by the protobuf scoping rules (innermost scope outward)
 * against every type the files define, fills json_name and the imports, in place.
 */
export function qualifyTypeNames(files: FileDescriptorProto[]): void {
  const kinds = new Map<string, 'message' | 'enum'>();
  const fileOf = new Map<string, string>();
  const walk = (file: string, prefix: string, messages: MessageProto[], enums: { name: string }[]) => {
    for (const e of enums) {
      kinds.set(`${prefix}.${e.name}`, 'enum');
      fileOf.set(`${prefix}.${e.name}`, file);
    }
    for (const m of messages) {
      kinds.set(`${prefix}.${m.name}`, 'message');
      fileOf.set(`${prefix}.${m.name}`, file);
      walk(file, `${prefix}.${m.name}`, m.nestedType, m.enumType);
    }
  };
  for (const f of files) walk(f.name, f.package ? `.${f.package}` : '', f.messageType, f.enumType);
  // They may also leave out the imports (and name files after packages): a type used from another file
  // makes that file a dependency, as protoc would have written it.
  let uses = new Set<string>();
  const use = (type: string) => {
    if (type) uses.add(type);
  };
  const resolve = (ref: string, scope: string): string => {
    if (!ref || ref.startsWith('.')) return ref;
    const parts = scope.split('.').filter(Boolean);
    for (let i = parts.length; i >= 0; i--) {
      const candidate = `.${[...parts.slice(0, i), ref].join('.')}`;
      if (kinds.has(candidate)) return candidate;
    }
    return ref;
  };
  const fixField = (field: FieldProto, scope: string) => {
    // protoc always fills json_name (descriptor.proto: lowerCamelCase of the name); protobufjs leaves it empty.
    if (!field.jsonName) field.jsonName = field.name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()).replace(/_/g, '');
    if (field.typeName) {
      field.typeName = resolve(field.typeName, scope);
      use(field.typeName);
      // FieldDescriptorProto.Type: 11 message, 14 enum (descriptor.proto).
      const kind = kinds.get(field.typeName);
      if (kind && !field.type) field.type = kind === 'enum' ? 14 : 11;
    }
    if (field.extendee) field.extendee = resolve(field.extendee, scope);
  };
  const fixMessage = (m: MessageProto, scope: string) => {
    const inner = `${scope}.${m.name}`;
    for (const field of m.field) fixField(field, inner);
    for (const ext of m.extension) fixField(ext, inner);
    for (const n of m.nestedType) fixMessage(n, inner);
  };
  for (const f of files) {
    uses = new Set();
    const scope = f.package ? `.${f.package}` : '';
    for (const m of f.messageType) fixMessage(m, scope);
    for (const ext of f.extension) fixField(ext, scope);
    for (const svc of f.service) {
      for (const method of svc.method) {
        method.inputType = resolve(method.inputType, scope);
        method.outputType = resolve(method.outputType, scope);
        use(method.inputType);
        use(method.outputType);
      }
    }
    for (const type of uses) {
      const from = fileOf.get(type);
      if (from && from !== f.name && !f.dependency.includes(from)) f.dependency.push(from);
    }
  }
}

/** "pkg.Service/Method", "/pkg.Service/Method" or "pkg.Service.Method" → service and method names. */
export function parseMethodName(name: string): { service: string; method: string } {
  const clean = name.replace(/^\//, '');
  const slash = clean.lastIndexOf('/');
  const cut = slash >= 0 ? slash : clean.lastIndexOf('.');
  if (cut <= 0 || cut === clean.length - 1) throw new ProtocolError(`${JSON.stringify(name)} is not service/method`);
  return { service: clean.slice(0, cut), method: clean.slice(cut + 1) };
}

export function findMethod(registry: FileRegistry, name: string): { service: DescService; method: DescMethod } {
  const { service, method } = parseMethodName(name);
  const svc = registry.getService(service);
  if (!svc) throw new ServerError(`the server's descriptors have no service ${service}`);
  const m = svc.methods.find((x) => x.name === method);
  if (!m) throw new ServerError(`service ${service} has no method ${method} (it has ${svc.methods.map((x) => x.name).join(', ')})`);
  return { service: svc, method: m };
}

export function methodKind(m: DescMethod): string {
  return m.methodKind.replace('_', '-');
}

function scalarName(t: ScalarType): string {
  return ScalarType[t].toLowerCase();
}

export function fieldType(f: DescField): string {
  switch (f.fieldKind) {
    case 'scalar':
      return scalarName(f.scalar);
    case 'enum':
      return f.enum.typeName;
    case 'message':
      return f.message.typeName;
    case 'list':
      return `repeated ${f.listKind === 'scalar' ? scalarName(f.scalar) : f.listKind === 'enum' ? f.enum.typeName : f.message.typeName}`;
    case 'map':
      return `map<${scalarName(f.mapKey)}, ${f.mapKind === 'scalar' ? scalarName(f.scalar) : f.mapKind === 'enum' ? f.enum.typeName : f.message.typeName}>`;
  }
}

export interface MessageDescription {
  type: string;
  fields: { name: string; jsonName: string; number: number; type: string; oneof?: string }[];
  enums: { type: string; values: { name: string; number: number }[] }[];
}

/** A message's fields, and the enums they use, for the describe view. */
export function describeMessage(m: DescMessage): MessageDescription {
  const enums = new Map<string, { name: string; number: number }[]>();
  const fields = m.fields.map((f) => {
    const e = f.fieldKind === 'enum' ? f.enum : (f.fieldKind === 'list' || f.fieldKind === 'map') && (f as { enum?: { typeName: string; values: { name: string; number: number }[] } }).enum;
    if (e) enums.set(e.typeName, e.values.map((v) => ({ name: v.name, number: v.number })));
    return { name: f.name, jsonName: f.jsonName, number: f.number, type: fieldType(f), ...(f.oneof ? { oneof: f.oneof.name } : {}) };
  });
  return { type: m.typeName, fields, enums: [...enums].map(([type, values]) => ({ type, values })) };
}

/** `rpc Name(stream In) returns (stream Out);` as a .proto line. */
export function protoLine(m: DescMethod): string {
  const cs = m.methodKind === 'client_streaming' || m.methodKind === 'bidi_streaming';
  const ss = m.methodKind === 'server_streaming' || m.methodKind === 'bidi_streaming';
  return `rpc ${m.name}(${cs ? 'stream ' : ''}${m.input.typeName}) returns (${ss ? 'stream ' : ''}${m.output.typeName});`;
}
