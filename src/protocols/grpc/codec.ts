// gRPC over HTTP/2 (grpc/grpc doc/PROTOCOL-HTTP2.md): Length-Prefixed-Message framing, status codes
// (doc/statuscodes.md), metadata (binary "-bin" values base64, grpc-message percent-encoded, grpc-timeout),
// and the wire form of the server reflection messages (grpc/reflection/v1/reflection.proto; v1alpha has the
// same fields) written with the protobuf wire format by hand, so listing services needs no descriptors.
import { ByteReader, ByteWriter, fromBase64, fromUtf8, toBase64, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

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

export function encodeMessage(data: Uint8Array): Uint8Array {
  return new ByteWriter(data.length + 5).u8(0).u32(data.length).bytes(data).finish();
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
