// JSON-RPC 2.0 (jsonrpc.org specification, 2010-03-26): request and notification objects, batches, and the
// checks a client makes on responses (section 5: result xor error, the id echoed; 5.1 error codes).
import { ProtocolError } from '../../core/errors.ts';

export type Id = string | number | null;
export type Params = unknown[] | Record<string, unknown> | undefined;

export interface Call {
  method: string;
  params?: Params;
  /** Absent: a notification (section 4.1), which gets no response. */
  id?: Id;
}

export function requestObject(c: Call): Record<string, unknown> {
  const o: Record<string, unknown> = { jsonrpc: '2.0', method: c.method };
  if (c.params !== undefined) o.params = c.params;
  if (c.id !== undefined) o.id = c.id;
  return o;
}

/** Section 5.1: the pre-defined codes, and the range reserved for implementation-defined server errors. */
export function errorCodeName(code: number): string | null {
  switch (code) {
    case -32700:
      return 'Parse error';
    case -32600:
      return 'Invalid Request';
    case -32601:
      return 'Method not found';
    case -32602:
      return 'Invalid params';
    case -32603:
      return 'Internal error';
  }
  return code >= -32099 && code <= -32000 ? 'Server error' : null;
}

export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
  /** The specification's name for the code, when it is one of its own. */
  meaning: string | null;
}

export type Response = { id: Id; result: unknown; error?: undefined } | { id: Id; error: RpcError; result?: undefined };

/** One response object checked against section 5. */
export function checkResponse(v: unknown): Response {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ProtocolError('a JSON-RPC response must be an object');
  const o = v as Record<string, unknown>;
  if (o.jsonrpc !== '2.0') throw new ProtocolError(`response "jsonrpc" is ${JSON.stringify(o.jsonrpc)}, not "2.0"`);
  if (!('id' in o)) throw new ProtocolError('response has no "id" (section 5)');
  const id = o.id;
  if (id !== null && typeof id !== 'string' && typeof id !== 'number') throw new ProtocolError('response "id" is not a string, number or null');
  const hasResult = 'result' in o;
  const hasError = 'error' in o;
  if (hasResult === hasError) throw new ProtocolError('a response has either "result" or "error", exactly one (section 5)');
  if (hasResult) return { id, result: o.result };
  const e = o.error as Record<string, unknown> | null;
  if (!e || typeof e !== 'object' || typeof e.code !== 'number' || !Number.isInteger(e.code) || typeof e.message !== 'string') throw new ProtocolError('response "error" lacks an integer "code" and a string "message" (section 5.1)');
  const error: RpcError = { code: e.code, message: e.message, meaning: errorCodeName(e.code) };
  if ('data' in e) error.data = e.data;
  return { id, error };
}

/** Parses a response body: one object, or an array for a batch (section 6). */
export function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ProtocolError(`the response is not JSON: ${(e as Error).message}`);
  }
}

/** A server-to-client message with a method: a notification (or request) the server sends on its own (WebSocket). */
export function isServerMessage(v: unknown): v is { method: string; params?: unknown; id?: Id } {
  return !!v && typeof v === 'object' && !Array.isArray(v) && typeof (v as Record<string, unknown>).method === 'string';
}
