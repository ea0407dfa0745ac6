// Apache Thrift: call one method of a service described by an IDL given as input, over the binary or compact
// protocol and the buffered or framed transport, with the reply (or declared exception) decoded by the IDL.
import * as z from 'zod';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { MessageType, T, encodeMessage, messageFrame, type Wire } from './codec.ts';
import { findFunction, parseIdl } from './idl.ts';
import { applicationException, fromWire, structFields } from './mapping.ts';

export default defineProtocol({
  id: 'thrift',
  title: 'Apache Thrift',
  category: 'messaging',
  summary: 'Calls a method of a Thrift service described by an IDL you paste: binary or compact protocol, buffered or framed transport, multiplexed or not; structs, lists, sets, maps, enums and declared exceptions decoded by name.',
  ports: [{ port: 9090, transport: 'tcp' }],
  specs: ['Apache Thrift: Thrift IDL, binary protocol, compact protocol, framed transport'],
  rating: {
    stars: 4,
    reason:
      'The IDL (typedefs, enums, structs, unions, exceptions, services with extends and throws), arguments checked against it, binary (strict) and compact protocols, buffered and framed transports, TMultiplexedProtocol names, replies decoded by the IDL (structs, list, set, map, enum names, i64, binary, bool in both encodings), declared exceptions and TApplicationException in the server\'s words; every length and depth capped; lab-tested against a python3-thrift 0.17 server on binary/buffered and compact/framed. No THeader or JSON protocol, no TLS.',
  },
  verifiedAgainst: 'python3-thrift 0.17 TThreadedServer (binary/buffered, compact/framed)',
  defaultOperation: 'call',
  identify: { unprobed: 'a Thrift call needs a method name; an unknown one is answered only by some servers' },
  operations: {
    call: operation({
      summary: 'Call one method of a service defined by the IDL given as input',
      input: z.object({
        idl: z.string().min(1, 'idl is required').max(256 * 1024).describe('The Thrift IDL that defines the service (structs, enums, exceptions it uses too)').meta({ examples: ['service Calc { i32 add(1: i32 a, 2: i32 b) }'] }),
        service: z.string().max(256).optional().describe('Service name, when the IDL has several'),
        method: z.string().min(1, 'method is required').max(256).meta({ examples: ['add'] }),
        args: z.record(z.string(), z.unknown()).default({}).describe('Arguments by parameter name: numbers, strings, arrays, objects; i64 past 2^53 as a string, binary as {"base64": ...}'),
        protocol: z.enum(['binary', 'compact']).default('binary'),
        transport: z.enum(['buffered', 'framed']).default('buffered'),
        multiplexedName: z.string().max(256).optional().describe('TMultiplexedProtocol: the service name the server registered (sent as "name:method")'),
        maxReplyBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(4 * 1024 * 1024).describe('A larger reply is refused as a protocol error'),
      }),
      output: z.object({
        method: z.string(),
        outcome: z.enum(['success', 'void', 'exception', 'oneway']),
        result: z.unknown().optional(),
        exception: z.object({ field: z.string(), type: z.string(), value: z.unknown() }).optional(),
        seqid: z.number(),
      }),
      text: (r) => (r.outcome === 'exception' ? `${r.exception!.type} ${JSON.stringify(r.exception!.value)}` : r.outcome === 'success' ? JSON.stringify(r.result, null, 2) : r.outcome),
      async run(ctx, input) {
        const doc = parseIdl(input.idl);
        const fn = findFunction(doc, input.service, input.method);
        const args: Wire = { t: T.STRUCT, fields: structFields(doc, fn.params, input.args, 'args') };
        const name = input.multiplexedName ? `${input.multiplexedName}:${fn.name}` : fn.name;
        const conn = await ctx.dial();
        const seqid = 1;
        await conn.write(encodeMessage(input.protocol, input.transport, { name, type: fn.oneway ? MessageType.ONEWAY : MessageType.CALL, seqid, body: args as Wire & { t: 12 } }), {
          decode: `${fn.oneway ? 'ONEWAY' : 'CALL'} ${name} (${input.protocol}, ${input.transport})`,
        });
        if (fn.oneway) return { method: fn.name, outcome: 'oneway' as const, seqid };
        const reply = await conn.readFrame(messageFrame(input.protocol, input.transport, input.maxReplyBytes), `${fn.name} reply`, (m) => `${m.type === MessageType.REPLY ? 'REPLY' : m.type === MessageType.EXCEPTION ? 'EXCEPTION' : `type ${m.type}`} ${m.name} seqid ${m.seqid}`);
        if (reply.type === MessageType.EXCEPTION) {
          const ex = applicationException(reply.body);
          throw new ServerError(`TApplicationException ${ex.type}: ${ex.message}`, { type: ex.type });
        }
        if (reply.type !== MessageType.REPLY) throw new ProtocolError(`message type ${reply.type} in answer to a call`);
        if (reply.seqid !== seqid) throw new ProtocolError(`reply seqid ${reply.seqid}, expected ${seqid}`);
        const success = reply.body.fields.find((f) => f.id === 0);
        if (success) return { method: fn.name, outcome: 'success' as const, result: fromWire(doc, fn.returns, success.value), seqid };
        const thrown = reply.body.fields[0];
        if (thrown) {
          const def = fn.throws.find((f) => f.id === thrown.id);
          return {
            method: fn.name,
            outcome: 'exception' as const,
            exception: { field: def?.name ?? `#${thrown.id}`, type: def && def.type.kind === 'named' ? def.type.name : 'unknown', value: def ? fromWire(doc, def.type, thrown.value) : thrown.value },
            seqid,
          };
        }
        if (fn.returns.kind === 'base' && fn.returns.name === 'void') return { method: fn.name, outcome: 'void' as const, seqid };
        throw new ServerError(`${fn.name} returned neither a result nor a declared exception (MISSING_RESULT)`);
      },
    }),
  },
});
