// gRPC over HTTP/2 (grpc/grpc doc/PROTOCOL-HTTP2.md): Length-Prefixed-Message framing, status codes
// (doc/statuscodes.md), metadata (binary "-bin" values base64, grpc-message percent-encoded, grpc-timeout),
// and the wire form of the server reflection messages (grpc/reflection/v1/reflection.proto; v1alpha has the
// same fields) written with the protobuf wire format by hand, so listing services needs no descriptors.
import { ByteReader, ByteWriter, fromBase64, fromUtf8, toBase64, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';
import { gzip } from 'pako';
import { decodeContent } from '../http/coding.ts';

export const MAX_MESSAGE = 4 * 1024 * 1024;

export interface GrpcMessage {
  compressed: boolean;
  data: Uint8Array;
}

/** Length-Prefixed-Message: Compressed-Flag (1 byte), Message-Length (4 bytes, big endian), Message. */
export function messageFrame(max = MAX_MESSAGE): Frame<GrpcMessage> {
  return (buf) => {
    if (buf.length < 5) return undefined;
    const flag = buf[0];
    if (flag > 1) throw new ProtocolError(`gRPC message compressed-flag ${flag}, must be 0 or 1`);
    const length = ((buf[1] << 24) >>> 0) + (buf[2] << 16) + (buf[3] << 8) + buf[4];
    if (length > max) throw new ProtocolError(`gRPC message of ${length} bytes exceeds ${max}`);
    if (buf.length < 5 + length) return undefined;
    return { value: { compressed: flag === 1, data: buf.slice(5, 5 + length) }, size: 5 + length };
  };
}

/** `compressed`: `data` is already in the call's grpc-encoding (Compressed-Flag 1). */
export function encodeMessage(data: Uint8Array, compressed = false): Uint8Array {
  return new ByteWriter(data.length + 5).u8(compressed ? 1 : 0).u32(data.length).bytes(data).finish();
}

/** The message encodings we speak (PROTOCOL-HTTP2.md "Message-Encoding"; doc/compression.md). */
export const ENCODINGS = ['gzip'] as const;
export type Encoding = 'identity' | (typeof ENCODINGS)[number];

/** A message's payload in `encoding` (gzip: RFC 1952). */
export function compressMessage(data: Uint8Array, encoding: Encoding): Uint8Array {
  return encoding === 'gzip' ? gzip(data) : data;
}

/** A message with Compressed-Flag 1, in the grpc-encoding the server named, inflated to at most `max` bytes. */
export function decompressMessage(data: Uint8Array, encoding: string | undefined, max: number): Uint8Array {
  if (encoding === undefined || encoding === 'identity') throw new ProtocolError(`a gRPC message has Compressed-Flag 1 but grpc-encoding is ${encoding ?? 'absent'}`);
  if (encoding !== 'gzip') throw new ProtocolError(`the server compressed a message with ${encoding}, which we did not accept (grpc-accept-encoding: ${ENCODINGS.join(',')})`);
  try {
    return decodeContent(data, ['gzip'], max)!.bytes;
  } catch (e) {
    if (e instanceof ProtocolError) throw new ProtocolError(`gRPC message (grpc-encoding gzip): ${e.message.replace(/^Content-Encoding gzip: /, '')}`);
    throw e;
  }
}

/** Splits a whole response body into messages; a trailing partial message is an error. */
export function splitMessages(body: Uint8Array, max = MAX_MESSAGE): GrpcMessage[] {
  const frame = messageFrame(max);
  const out: GrpcMessage[] = [];
  let at = 0;
  while (at < body.length) {
    const got = frame(body.subarray(at));
    if (!got) throw new ProtocolError(`gRPC response body ends inside a message (${body.length - at} bytes left over)`);
    out.push(got.value);
    at += got.size;
  }
  return out;
}

/** doc/statuscodes.md. */
export const STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? `CODE_${code}`;
}

/** PROTOCOL-HTTP2.md "Status-Message": percent-encoded UTF-8; bad escapes are kept as they are. */
export function decodeGrpcMessage(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c & 0xff);
  }
  return fromUtf8(Uint8Array.from(bytes));
}

/**
 * "HTTP to gRPC Status Code Mapping" (doc/http-grpc-status-mapping.md): what a non-gRPC HTTP answer means.
 */
export function statusFromHttp(status: number): number {
  if (status === 400) return 13;
  if (status === 401) return 16;
  if (status === 403) return 7;
  if (status === 404) return 12;
  if (status === 429 || status === 502 || status === 503 || status === 504) return 14;
  return 2;
}

export type Metadata = Record<string, string | string[]>;

/** Custom metadata as JSON: "-bin" values decoded from base64 (shown as base64 and, when they decode, hex-free text). */
export function metadataJson(fields: [string, string][]): { name: string; value: string; binary: boolean; bytes?: string }[] {
  return fields
    .filter(([n]) => !n.startsWith(':'))
    .map(([name, value]) => {
      if (!name.endsWith('-bin')) return { name, value, binary: false };
      // PROTOCOL-HTTP2.md: binary values are base64, padding optional; several may be comma-joined.
      const decoded = value.split(',').map((v) => {
        try {
          return fromBase64(v.trim());
        } catch {
          throw new ProtocolError(`metadata ${name} is not valid base64`);
        }
      });
      const all = decoded.length === 1 ? decoded[0] : Uint8Array.from(decoded.flatMap((d) => [...d]));
      return { name, value: toBase64(all), binary: true, bytes: [...all].map((b) => b.toString(16).padStart(2, '0')).join('') };
    });
}

/** grpc-timeout: up to 8 digits and a unit (PROTOCOL-HTTP2.md "Timeout"). */
export function encodeTimeout(ms: number): string {
  if (ms < 1e8) return `${Math.max(1, Math.ceil(ms))}m`;
  return `${Math.ceil(ms / 1000)}S`;
}

// --- protobuf wire format helpers (protobuf encoding spec: varint, length-delimited) ---

function tag(w: ByteWriter, field: number, wireType: number): void {
  w.uvarint(field * 8 + wireType);
}

function writeString(w: ByteWriter, field: number, text: string): void {
  const bytes = utf8(text);
  tag(w, field, 2);
  w.uvarint(bytes.length);
  w.bytes(bytes);
}

export interface WireField {
  field: number;
  wireType: number;
  varint?: number;
  bytes?: Uint8Array;
}

/** Reads the top-level fields of one protobuf message (every length checked). */
export function readFields(bytes: Uint8Array, maxFields = 100_000): WireField[] {
  const r = new ByteReader(bytes);
  const out: WireField[] = [];
  while (!r.done) {
    if (out.length >= maxFields) throw new ProtocolError(`protobuf message with more than ${maxFields} fields`);
    const key = r.uvarintNumber('protobuf tag');
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field === 0) throw new ProtocolError('protobuf field number 0');
    switch (wireType) {
      case 0:
        out.push({ field, wireType, varint: r.uvarintNumber('protobuf varint', 10) });
        break;
      case 1:
        out.push({ field, wireType, bytes: r.bytesN(8, 'fixed64') });
        break;
      case 2: {
        const n = r.uvarintNumber('protobuf length');
        out.push({ field, wireType, bytes: r.bytesN(n, `field ${field}`) });
        break;
      }
      case 5:
        out.push({ field, wireType, bytes: r.bytesN(4, 'fixed32') });
        break;
      default:
        throw new ProtocolError(`protobuf wire type ${wireType} (field ${field}) is not supported`);
    }
  }
  return out;
}

// --- grpc.reflection.v1 ServerReflectionRequest / ServerReflectionResponse ---

export type ReflectionRequest =
  | { listServices: true }
  | { fileByFilename: string }
  | { fileContainingSymbol: string };

/** ServerReflectionRequest: host = 1, file_by_filename = 3, file_containing_symbol = 4, list_services = 7. */
export function encodeReflectionRequest(req: ReflectionRequest, host = ''): Uint8Array {
  const w = new ByteWriter(64);
  if (host) writeString(w, 1, host);
  if ('listServices' in req) writeString(w, 7, '*');
  else if ('fileByFilename' in req) writeString(w, 3, req.fileByFilename);
  else writeString(w, 4, req.fileContainingSymbol);
  return w.finish();
}

export type ReflectionResponse =
  | { kind: 'services'; services: string[] }
  | { kind: 'files'; files: Uint8Array[] }
  | { kind: 'error'; code: number; message: string }
  | { kind: 'other'; field: number };

/**
 * ServerReflectionResponse: file_descriptor_response = 4 {repeated bytes file_descriptor_proto = 1},
 * list_services_response = 6 {repeated ServiceResponse service = 1 {string name = 1}},
 * error_response = 7 {int32 error_code = 1; string error_message = 2}.
 */
export function decodeReflectionResponse(bytes: Uint8Array): ReflectionResponse {
  for (const f of readFields(bytes)) {
    if (f.wireType !== 2 || !f.bytes) continue;
    if (f.field === 4) return { kind: 'files', files: readFields(f.bytes).filter((x) => x.field === 1 && x.bytes).map((x) => x.bytes!.slice()) };
    if (f.field === 6) {
      const services = readFields(f.bytes)
        .filter((x) => x.field === 1 && x.bytes)
        .map((x) => fromUtf8(readFields(x.bytes!).find((y) => y.field === 1)?.bytes ?? new Uint8Array(0), true, 'service name'));
      return { kind: 'services', services };
    }
    if (f.field === 7) {
      const fields = readFields(f.bytes);
      return { kind: 'error', code: fields.find((x) => x.field === 1)?.varint ?? 2, message: fromUtf8(fields.find((x) => x.field === 2)?.bytes ?? new Uint8Array(0)) };
    }
    if (f.field === 5) return { kind: 'other', field: 5 };
  }
  throw new ProtocolError('reflection response carries none of the known answers');
}

/** grpc.health.v1.HealthCheckRequest {string service = 1}. */
export function encodeHealthRequest(service: string): Uint8Array {
  const w = new ByteWriter(32);
  if (service) writeString(w, 1, service);
  return w.finish();
}

export const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/** grpc.health.v1.HealthCheckResponse {ServingStatus status = 1}. */
export function decodeHealthResponse(bytes: Uint8Array): string {
  const f = readFields(bytes).find((x) => x.field === 1 && x.wireType === 0);
  const code = f?.varint ?? 0;
  return SERVING_STATUS[code] ?? `STATUS_${code}`;
}

// --- google.rpc.Status in grpc-status-details-bin (the richer error model, googleapis google/rpc) ---

export interface StatusDetail {
  typeUrl: string;
  /** The message's type name (after the last / of the type URL). */
  type: string;
  /** Decoded, for the standard google.rpc error detail types. */
  value?: Record<string, unknown>;
  /** The encoded message, base64, when its type is not one we know. */
  raw?: string;
}

export interface RichStatus {
  code: number;
  name: string;
  message: string;
  details: StatusDetail[];
}

type FieldKind = 'string' | 'int' | 'duration' | 'map' | { repeated: Shape } | { message: Shape } | 'strings';
type Shape = Record<number, [string, FieldKind]>;

const str = (b: Uint8Array | undefined) => fromUtf8(b ?? new Uint8Array(0), true, 'google.rpc detail string');

/** google/rpc/error_details.proto, field numbers and JSON names. */
const DETAIL_SHAPES: Record<string, Shape> = {
  'google.rpc.ErrorInfo': { 1: ['reason', 'string'], 2: ['domain', 'string'], 3: ['metadata', 'map'] },
  'google.rpc.RetryInfo': { 1: ['retryDelay', 'duration'] },
  'google.rpc.DebugInfo': { 1: ['stackEntries', 'strings'], 2: ['detail', 'string'] },
  'google.rpc.QuotaFailure': { 1: ['violations', { repeated: { 1: ['subject', 'string'], 2: ['description', 'string'] } }] },
  'google.rpc.PreconditionFailure': { 1: ['violations', { repeated: { 1: ['type', 'string'], 2: ['subject', 'string'], 3: ['description', 'string'] } }] },
  'google.rpc.BadRequest': { 1: ['fieldViolations', { repeated: { 1: ['field', 'string'], 2: ['description', 'string'], 3: ['reason', 'string'], 4: ['localizedMessage', { message: { 1: ['locale', 'string'], 2: ['message', 'string'] } }] } }] },
  'google.rpc.RequestInfo': { 1: ['requestId', 'string'], 2: ['servingData', 'string'] },
  'google.rpc.ResourceInfo': { 1: ['resourceType', 'string'], 2: ['resourceName', 'string'], 3: ['owner', 'string'], 4: ['description', 'string'] },
  'google.rpc.Help': { 1: ['links', { repeated: { 1: ['description', 'string'], 2: ['url', 'string'] } }] },
  'google.rpc.LocalizedMessage': { 1: ['locale', 'string'], 2: ['message', 'string'] },
};

function decodeShape(bytes: Uint8Array, shape: Shape, depth = 0): Record<string, unknown> {
  if (depth > 4) throw new ProtocolError('google.rpc detail nested too deeply');
  const out: Record<string, unknown> = {};
  for (const f of readFields(bytes, 10_000)) {
    const spec = shape[f.field];
    if (!spec) continue;
    const [name, kind] = spec;
    if (kind === 'int') out[name] = f.varint ?? 0;
    else if (f.bytes === undefined) throw new ProtocolError(`google.rpc detail field ${name} has wire type ${f.wireType}`);
    else if (kind === 'string') out[name] = str(f.bytes);
    else if (kind === 'strings') ((out[name] ??= []) as string[]).push(str(f.bytes));
    else if (kind === 'duration') {
      // google.protobuf.Duration {int64 seconds = 1; int32 nanos = 2}, shown as its JSON form ("2.500s").
      const d = readFields(f.bytes, 10);
      const seconds = d.find((x) => x.field === 1)?.varint ?? 0;
      const nanos = d.find((x) => x.field === 2)?.varint ?? 0;
      out[name] = `${seconds}${nanos ? `.${String(nanos).padStart(9, '0').replace(/0+$/, '')}` : ''}s`;
    } else if (kind === 'map') {
      const entry = readFields(f.bytes, 10);
      const m = (out[name] ??= {}) as Record<string, string>;
      m[str(entry.find((x) => x.field === 1)?.bytes)] = str(entry.find((x) => x.field === 2)?.bytes);
    } else if ('repeated' in kind) ((out[name] ??= []) as unknown[]).push(decodeShape(f.bytes, kind.repeated, depth + 1));
    else out[name] = decodeShape(f.bytes, kind.message, depth + 1);
  }
  return out;
}

/**
 * grpc-status-details-bin: a google.rpc.Status {int32 code = 1; string message = 2; repeated google.protobuf.Any
 * details = 3}, each Any {string type_url = 1; bytes value = 2} decoded when its type is a standard error detail.
 */
export function decodeStatusDetails(bytes: Uint8Array): RichStatus {
  const fields = readFields(bytes, 10_000);
  const code = fields.find((f) => f.field === 1 && f.wireType === 0)?.varint ?? 0;
  const message = str(fields.find((f) => f.field === 2)?.bytes);
  const details = fields
    .filter((f) => f.field === 3 && f.bytes)
    .slice(0, 100)
    .map((f): StatusDetail => {
      const any = readFields(f.bytes!, 10);
      const typeUrl = str(any.find((x) => x.field === 1)?.bytes);
      const value = any.find((x) => x.field === 2)?.bytes ?? new Uint8Array(0);
      const type = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
      const shape = DETAIL_SHAPES[type];
      return shape ? { typeUrl, type, value: decodeShape(value, shape) } : { typeUrl, type, raw: toBase64(value) };
    });
  return { code, name: statusName(code), message, details };
}
