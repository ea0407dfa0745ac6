// FastCGI client over a Conn: one Responder request (BEGIN_REQUEST, PARAMS, STDIN, then STDOUT/STDERR until
// END_REQUEST) and the GET_VALUES management query (the FastCGI Specification sections 4.1, 5, 6.2).
import { concat } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';
import { PROTOCOL_STATUS, Role, Type, decodeEndRequest, decodePairs, describeRecord, encodeBeginRequest, encodePairs, encodeRecord, encodeStream, recordFrame, typeName, type Pair } from './codec.ts';

export interface FcgiRequest {
  requestId: number;
  role: number;
  params: Pair[];
  stdin: Uint8Array;
  maxStdout: number;
  maxStderr: number;
}

export interface FcgiResult {
  stdout: Uint8Array;
  stdoutBytes: number;
  stderr: Uint8Array;
  stderrBytes: number;
  /** STDOUT or STDERR went past its cap: the rest was not read. */
  truncated: boolean;
  appStatus: number | null;
  protocolStatus: string | null;
  records: { stdout: number; stderr: number };
}

/** Keeps the first `max` bytes of a stream, counting the rest. */
class Capped {
  parts: Uint8Array[] = [];
  kept = 0;
  total = 0;
  constructor(readonly max: number) {}
  add(b: Uint8Array): boolean {
    this.total += b.length;
    if (this.kept < this.max) {
      const take = b.subarray(0, this.max - this.kept);
      this.parts.push(take);
      this.kept += take.length;
    }
    return this.total <= this.max;
  }
}

export async function fcgiRequest(conn: Conn, req: FcgiRequest): Promise<FcgiResult> {
  const params = encodePairs(req.params);
  const out = [encodeBeginRequest(req.requestId, req.role, false), ...encodeStream(Type.PARAMS, req.requestId, params)];
  // A Responder always gets STDIN, even empty (section 6.2); an Authorizer gets none.
  if (req.role !== Role.AUTHORIZER) out.push(...encodeStream(Type.STDIN, req.requestId, req.stdin));
  await conn.write(concat(out), { decode: `BEGIN_REQUEST id ${req.requestId}; PARAMS ${req.params.length} pairs (${params.length} bytes); STDIN ${req.stdin.length} bytes` });
  const stdout = new Capped(req.maxStdout);
  const stderr = new Capped(req.maxStderr);
  const records = { stdout: 0, stderr: 0 };
  for (;;) {
    const r = await conn.readFrame(recordFrame, 'FastCGI record', describeRecord);
    if (r.requestId !== req.requestId) throw new ProtocolError(`FastCGI ${typeName(r.type)} for request ${r.requestId}; we sent only request ${req.requestId}`);
    if (r.type === Type.STDOUT) {
      records.stdout++;
      if (!stdout.add(r.content)) return done(null, true);
    } else if (r.type === Type.STDERR) {
      records.stderr++;
      if (!stderr.add(r.content)) return done(null, true);
    } else if (r.type === Type.END_REQUEST) {
      return done(decodeEndRequest(r.content), false);
    } else throw new ProtocolError(`unexpected FastCGI ${typeName(r.type)} record in a response`);
  }
  function done(end: { appStatus: number; protocolStatus: number } | null, truncated: boolean): FcgiResult {
    return {
      stdout: concat(stdout.parts),
      stdoutBytes: stdout.total,
      stderr: concat(stderr.parts),
      stderrBytes: stderr.total,
      truncated,
      appStatus: end?.appStatus ?? null,
      protocolStatus: end ? (PROTOCOL_STATUS[end.protocolStatus] ?? `status ${end.protocolStatus}`) : null,
      records,
    };
  }
}

/** FCGI_GET_VALUES (section 4.1): the variables the application answers; null when it answers UNKNOWN_TYPE or closes. */
export async function getValues(conn: Conn, names: string[]): Promise<{ values: Record<string, string>; unknownType: boolean }> {
  await conn.write(encodeRecord(Type.GET_VALUES, 0, encodePairs(names.map((n) => [n, '']))), { decode: `GET_VALUES ${names.join(', ')}` });
  const r = await conn.readFrame(recordFrame, 'FastCGI management record', describeRecord);
  if (r.requestId !== 0) throw new ProtocolError(`a management answer must have request id 0, got ${r.requestId}`);
  if (r.type === Type.UNKNOWN_TYPE) return { values: {}, unknownType: true };
  if (r.type !== Type.GET_VALUES_RESULT) throw new ProtocolError(`GET_VALUES answered with ${typeName(r.type)}`);
  return { values: Object.fromEntries(decodePairs(r.content)), unknownType: false };
}
