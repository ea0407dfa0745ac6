// Java RMI: the JRMP handshake, and the names bound in an RMI registry with the interfaces and endpoint of each.
import * as z from 'zod';
import { PortolanError, ServerError } from '../../core/errors.ts';
import type { Conn } from '../../core/conn.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { HEADER, Msg, Registry, Reply, ackFrame, clientEndpoint, registryCall, remoteEndpoint, returnFrame } from './codec.ts';
import type { JObject, JValue } from './serialization.ts';
import { identification } from './identify.ts';

async function handshake(ctx: OperationContext): Promise<{ conn: Conn; seenAs: { host: string; port: number } }> {
  const conn = await ctx.dial();
  await conn.write(HEADER, { decode: 'JRMI version 2, StreamProtocol' });
  const seenAs = await conn.readFrame(ackFrame, 'ProtocolAck', (a) => `ProtocolAck: you are ${a.host}:${a.port}`);
  await conn.write(clientEndpoint(seenAs.host), { decode: `client endpoint ${seenAs.host}:0` });
  ctx.timing.mark('handshakeMs');
  return { conn, seenAs };
}

/** The exception a call threw: its class and message (Throwable.detailMessage), and its cause's. */
function exceptionText(v: JValue): string {
  const parts: string[] = [];
  let cur: JValue = v;
  for (let i = 0; i < 4 && cur && typeof cur === 'object' && 'class' in cur && 'fields' in cur; i++) {
    const o: JObject = cur;
    const msg = o.fields.detailMessage;
    parts.push(`${o.class}${typeof msg === 'string' ? `: ${msg}` : ''}`);
    const cause: JValue = o.fields.cause ?? null;
    cur = cause && typeof cause === 'object' && 'ref' in cause ? null : cause;
  }
  return parts.join(', caused by ') || JSON.stringify(v).slice(0, 200);
}

async function call(ctx: OperationContext, op: number, what: string, arg?: string): Promise<JValue> {
  const { conn } = await handshake(ctx);
  await conn.write(registryCall(op, arg), { decode: `Call registry ${what}${arg !== undefined ? ` ${JSON.stringify(arg)}` : ''}` });
  const ret = await conn.readFrame(returnFrame, 'Return', (r) => `Return ${r.returnType === 1 ? 'normal' : 'exception'}`);
  if (ret.returnType === 2) throw new ServerError(`the registry threw ${exceptionText(ret.value)}`, { exception: ret.value });
  return ret.value;
}

function stringsOf(v: JValue): string[] {
  if (v && typeof v === 'object' && 'items' in v) return v.items.filter((x): x is string => typeof x === 'string');
  throw new PortolanError('protocol_error', `list returned ${JSON.stringify(v).slice(0, 120)}, not a String[]`);
}

/** A stub from lookup: a dynamic proxy whose invocation handler's RemoteObject data names the endpoint. */
function describeStub(v: JValue): { class: string; interfaces: string[]; endpoint: { refType: string; host: string; port: number } | null } {
  if (!v || typeof v !== 'object' || !('fields' in v)) throw new PortolanError('protocol_error', 'lookup returned no object');
  let endpoint = remoteEndpoint(v.annotations?.['java.rmi.server.RemoteObject']);
  const h = v.fields.h;
  if (!endpoint && h && typeof h === 'object' && 'fields' in h) endpoint = remoteEndpoint(h.annotations?.['java.rmi.server.RemoteObject']);
  return { class: v.class, interfaces: v.interfaces ?? [], endpoint };
}

const name = z.string().min(1, 'name is required').max(1024).meta({ examples: ['MyService'] });

export default defineProtocol({
  id: 'rmi',
  title: 'Java RMI (JRMP)',
  category: 'naming',
  summary: 'Speaks JRMP to a Java RMI registry: the handshake and the endpoint the server sees, the names bound in the registry, and the interfaces and endpoint of one bound object.',
  ports: [{ port: 1099, transport: 'tcp' }],
  specs: ['Java RMI Specification ch. 10 (RMI Wire Protocol)', 'Java Object Serialization Specification ch. 6'],
  rating: {
    stars: 3,
    reason:
      'JRMP stream protocol handshake (ProtocolAck with the endpoint), Ping, the registry\'s list and lookup through the stub protocol, with the serialization stream decoded (strings, arrays, objects, proxies, exceptions with their messages); lab-tested against the OpenJDK 17 registry with two bound objects. Calls to the bound objects themselves are left out: they need the remote interface\'s method hashes.',
  },
  verifiedAgainst: 'OpenJDK 17 RMI registry (Debian openjdk-17)',
  defaultOperation: 'list',
  identify: identification,
  operations: {
    ping: operation({
      summary: 'JRMP handshake and Ping: the endpoint the server sees us as, and PingAck',
      input: z.object({}),
      output: z.object({ seenAs: z.object({ host: z.string(), port: z.number() }), pingAck: z.boolean() }),
      text: (r) => `JRMP ok; the server sees us as ${r.seenAs.host}:${r.seenAs.port}; ping ${r.pingAck ? 'acknowledged' : 'not acknowledged'}`,
      async run(ctx) {
        const { conn, seenAs } = await handshake(ctx);
        await conn.write(new Uint8Array([Msg.Ping]), { decode: 'Ping' });
        const ack = await conn.readExact(1, 'PingAck');
        return { seenAs, pingAck: ack[0] === Reply.PingAck };
      },
    }),
    list: operation({
      summary: "The registry's list(): every bound name",
      input: z.object({}),
      output: z.object({ names: z.array(z.string()) }),
      text: (r) => r.names.join('\n') || 'no names bound',
      run: async (ctx) => ({ names: stringsOf(await call(ctx, Registry.list, 'list()')) }),
    }),
    lookup: operation({
      summary: "The registry's lookup(name): the bound stub's interfaces and the endpoint it points to",
      input: z.object({ name }),
      output: z.object({ class: z.string(), interfaces: z.array(z.string()), endpoint: z.object({ refType: z.string(), host: z.string(), port: z.number() }).nullable() }),
      text: (r) => `${r.interfaces.join(', ')}${r.endpoint ? ` at ${r.endpoint.host}:${r.endpoint.port}` : ''}`,
      run: async (ctx, input) => describeStub(await call(ctx, Registry.lookup, 'lookup', input.name)),
    }),
  },
});
