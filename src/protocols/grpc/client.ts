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
import { FrameDecoder } from '../../core/framing.ts';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import type { H2Session } from '../http2/client.ts';
import {
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
  timeoutMs?: number;
  /** Cancel the stream (RST_STREAM CANCEL) once this many response messages arrived. */
  maxMessages?: number;
  maxBodyBytes?: number;
}

export interface CallResult {
  httpStatus: number | null;
  headers: [string, string][];
  trailers: [string, string][];
  status: { code: number; name: string; message: string };
  messages: Uint8Array[];
  /** We cancelled the stream after maxMessages. */
  cancelled: boolean;
  firstByteMs: number | null;
  totalMs: number | null;
}

const MiB = 1024 * 1024;

export async function grpcCall(session: H2Session, target: CallTarget, path: string, requests: Uint8Array[], opts: CallOptions = {}): Promise<CallResult> {
  const headers: [string, string][] = [
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ['user-agent', 'portolan-grpc/0.1'],
  ];
  if (opts.timeoutMs) headers.push(['grpc-timeout', encodeTimeout(opts.timeoutMs)]);
  for (const [n, v] of opts.metadata ?? []) headers.push([n.toLowerCase(), v]);
  const body = requests.map(encodeMessage);
  const total = body.reduce((n, b) => n + b.length, 0);
  const joined = new Uint8Array(total);
  let at = 0;
  for (const b of body) {
    joined.set(b, at);
    at += b.length;
  }
  // Count whole messages as they stream in, so a never-ending stream (health Watch) can be cut.
  const counter = new FrameDecoder(messageFrame());
  let count = 0;
  const [r] = await session.exchange([{ method: 'POST', scheme: target.scheme, authority: target.authority, path, headers, body: joined.length ? joined : new Uint8Array([]) }], {
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
  const all = [...r.headers, ...r.trailers];
  const get = (name: string) => (r.trailers.find(([n]) => n === name) ?? r.headers.find(([n]) => n === name))?.[1];
  const grpcStatus = get('grpc-status');
  const framed = cancelled ? new FrameDecoder(messageFrame()).feed(r.body) : splitMessages(r.body);
  // We send no grpc-accept-encoding, so a compressed message breaks the protocol (PROTOCOL-HTTP2.md "Compressed-Flag").
  if (framed.some((m) => m.compressed)) throw new ProtocolError(`gRPC response to ${path} has a compressed message though we accepted no encoding (grpc-encoding: ${get('grpc-encoding') ?? 'none'})`);
  const messages = framed.map((m) => m.data);
  if (grpcStatus === undefined) {
    if (cancelled) return { httpStatus: r.status, headers: r.headers, trailers: r.trailers, status: { code: 1, name: 'CANCELLED', message: `cancelled by us after ${messages.length} messages` }, messages, cancelled, firstByteMs: r.firstByteMs, totalMs: r.totalMs };
    // Not a gRPC answer: map the HTTP status (doc/http-grpc-status-mapping.md).
    const type = get('content-type') ?? '';
    if (r.status !== 200 || !type.startsWith('application/grpc')) {
      const code = statusFromHttp(r.status ?? 0);
      return { httpStatus: r.status, headers: r.headers, trailers: r.trailers, status: { code, name: statusName(code), message: `HTTP ${r.status} ${type} without grpc-status: not a gRPC endpoint` }, messages: [], cancelled, firstByteMs: r.firstByteMs, totalMs: r.totalMs };
    }
    throw new ProtocolError(`gRPC response to ${path} has no grpc-status in its trailers (${all.map(([n]) => n).join(', ')})`);
  }
  if (!/^\d+$/.test(grpcStatus)) throw new ProtocolError(`grpc-status ${JSON.stringify(grpcStatus)} is not a number`);
  const code = Number(grpcStatus);
  return {
    httpStatus: r.status,
    headers: r.headers,
    trailers: r.trailers,
    status: { code, name: statusName(code), message: decodeGrpcMessage(get('grpc-message') ?? '') },
    messages,
    cancelled,
    firstByteMs: r.firstByteMs,
    totalMs: r.totalMs,
  };
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
