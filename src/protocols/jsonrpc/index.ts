// JSON-RPC 2.0 over HTTP and WebSocket: calls with params by position or by name, notifications, batches.
import * as z from 'zod';
import { AuthError, InvalidInput, ProtocolError, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { headerPairs, headersInput } from '../http/index.ts';
import { send, type TransportOptions } from './client.ts';
import type { Call, RpcError } from './codec.ts';

const MiB = 1024 * 1024;
const idIn = z.union([z.string().max(256), z.number().int()]);
const paramsIn = z.union([z.array(z.unknown()).max(10_000), z.record(z.string(), z.unknown())]).optional().describe('Parameters by position (an array) or by name (an object)');
const callIn = z.object({
  method: z.string().min(1).max(1024).describe('Method name').meta({ examples: ['system.listMethods'] }),
  params: paramsIn,
  id: idIn.optional().describe('Request id (default: the call\'s position, from 1)'),
  notification: z.boolean().default(false).describe('Send without an id: the server answers nothing'),
});
const transport = {
  transport: z.enum(['http', 'websocket']).default('http').describe('HTTP POST, or text messages on a WebSocket'),
  path: z.string().min(1).max(2048).regex(/^\/[\x21-\x7e]*$/).default('/jsonrpc').describe('Endpoint path'),
  headers: headersInput,
  username: z.string().max(256).optional().describe('HTTP Basic user'),
  password: z.string().max(1024).optional(),
  maxResponseBytes: z.number().int().min(1024).max(64 * MiB).default(8 * MiB).describe('A larger response is a protocol error (nothing past it is kept)'),
};

const errorOut = z.object({ code: z.number(), message: z.string(), data: z.unknown().optional(), meaning: z.string().nullable() });
const common = { notifications: z.array(z.object({ method: z.string(), params: z.unknown().optional() })).describe('Messages the server sent on its own meanwhile (WebSocket)'), httpStatus: z.number().nullable(), requestBytes: z.number(), responseBytes: z.number() };

function options(input: z.infer<z.ZodObject<typeof transport>>): TransportOptions {
  return { ...input, headers: headerPairs(input.headers) };
}

function asCall(c: z.infer<typeof callIn>, position: number): Call {
  return { method: c.method, params: c.params, id: c.notification ? undefined : (c.id ?? position) };
}

/** A JSON-RPC error, raised in the server's words; one that says the caller is not authorised is auth_failed. */
function raise(method: string, e: RpcError): never {
  const detail = { code: e.code, message: e.message, data: e.data, meaning: e.meaning };
  const text = `${method}: JSON-RPC error ${e.code}${e.meaning ? ` (${e.meaning})` : ''}: ${e.message}`;
  if (/unauthori[sz]ed|unauthenticated|authentication|forbidden|invalid token|bad token/i.test(e.message)) throw new AuthError(text, detail);
  throw new ServerError(text, detail);
}

export default defineProtocol({
  id: 'jsonrpc',
  title: 'JSON-RPC 2.0',
  category: 'web',
  summary: 'Calls JSON-RPC 2.0 methods over HTTP or a WebSocket: params by position or by name, notifications, batches, errors decoded with their codes, and the server\'s own notifications on a WebSocket.',
  ports: [
    { port: 80, transport: 'tcp', label: 'HTTP (no fixed port: e.g. aria2 6800, Ethereum 8545)' },
    { port: 443, transport: 'tls' },
  ],
  specs: ['JSON-RPC 2.0 Specification', 'RFC 6455 (WebSocket transport)'],
  rating: {
    stars: 5,
    reason:
      'Lab-tested through workerd against Debian\'s aria2 1.36 RPC interface (--rpc-secret) over HTTP and WebSocket: calls with params by position, params by name answered with aria2\'s Invalid params (-32602), notifications (no answer awaited; aria2 over HTTP answers them with Invalid Request, reported), batches mixing calls, notifications and errors matched by id, system.multicall, an unknown method in aria2\'s words, the wrong secret as auth_failed in aria2\'s words, aria2\'s download notifications pushed on the WebSocket, and a response over maxResponseBytes as a protocol_error. TLS is the http/ws client\'s (https, wss). Not covered: long-lived subscription sessions (each operation is one exchange).',
  },
  verifiedAgainst: 'aria2 1.36.0-1 (Debian 12)',
  tls: { implicit: { port: 443 } },
  defaultOperation: 'call',
  identify: { unprobed: 'runs over HTTP: named http' },
  operations: {
    call: operation({
      summary: 'One call (or notification): its result, or its error in the server\'s words with the code',
      input: callIn.extend(transport),
      output: z.object({ id: idIn.nullable().optional(), result: z.unknown(), ...common }),
      text: (r) => JSON.stringify(r.result, null, 2) ?? '(notification sent)',
      async run(ctx, input) {
        const call = asCall(input, 1);
        const x = await send(ctx, [call], false, options(input));
        // A server that does not take notifications may still answer one with an error (id null): say so.
        if (call.id === undefined && x.responses[0]?.error) raise(call.method, x.responses[0].error);
        if (call.id === undefined) return { id: undefined, result: null, notifications: x.notifications, httpStatus: x.httpStatus, requestBytes: x.requestBytes, responseBytes: x.responseBytes };
        const r = x.responses[0];
        if (!r) throw new ProtocolError('no response to the call');
        if (r.id !== call.id && r.id !== null) throw new ProtocolError(`the response id ${JSON.stringify(r.id)} is not the request's ${JSON.stringify(call.id)}`);
        if (r.error) raise(call.method, r.error);
        return { id: r.id, result: r.result, notifications: x.notifications, httpStatus: x.httpStatus, requestBytes: x.requestBytes, responseBytes: x.responseBytes };
      },
    }),
    batch: operation({
      summary: 'A batch of calls and notifications in one request; each answer matched to its call by id, errors kept in place',
      input: z.object({ calls: z.array(callIn).min(1).max(1000).describe('Calls, in order; ids default to their position from 1'), ...transport }),
      output: z.object({
        results: z.array(z.object({ method: z.string(), id: idIn.nullable().optional(), result: z.unknown().optional(), error: errorOut.optional(), notification: z.boolean() })),
        unmatched: z.array(z.object({ id: idIn.nullable(), result: z.unknown().optional(), error: errorOut.optional() })).describe('Answers whose id matches no call (an error with id null, say)'),
        ...common,
      }),
      text: (r) => r.results.map((x) => `${x.method}${x.notification ? ' (notification)' : ''}: ${x.error ? `error ${x.error.code}: ${x.error.message}` : JSON.stringify(x.result)}`).join('\n'),
      async run(ctx, input) {
        const calls = input.calls.map(asCall);
        const ids = calls.filter((c) => c.id !== undefined).map((c) => JSON.stringify(c.id));
        if (new Set(ids).size !== ids.length) throw InvalidInput.field('calls', 'ids must be unique within a batch');
        const x = await send(ctx, calls, true, options(input));
        const left = [...x.responses];
        const results = calls.map((c) => {
          if (c.id === undefined) return { method: c.method, notification: true };
          const at = left.findIndex((r) => r.id === c.id);
          const r = at >= 0 ? left.splice(at, 1)[0] : undefined;
          return { method: c.method, id: c.id, notification: false, ...(r ? (r.error ? { error: r.error } : { result: r.result }) : { error: { code: 0, message: 'no answer for this id', meaning: null } }) };
        });
        return { results, unmatched: left.map((r) => (r.error ? { id: r.id, error: r.error } : { id: r.id, result: r.result })), notifications: x.notifications, httpStatus: x.httpStatus, requestBytes: x.requestBytes, responseBytes: x.responseBytes };
      },
    }),
  },
});
