// EPMD, the Erlang Port Mapper Daemon: which Erlang nodes run on a host and where they listen.
import * as z from 'zod';
import { ServerError } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { namesRequest, parseNames, port2Frame, portPleaseRequest } from './codec.ts';
import { identification } from './identify.ts';

const nodeOut = z.object({
  name: z.string(),
  port: z.number(),
  type: z.string().describe('normal (visible) or hidden'),
  nodeType: z.number(),
  protocol: z.string(),
  highestVersion: z.number(),
  lowestVersion: z.number(),
  extra: z.string(),
});

export default defineProtocol({
  id: 'epmd',
  title: 'Erlang Port Mapper Daemon',
  category: 'naming',
  summary: 'Lists the Erlang (and Elixir, RabbitMQ, CouchDB) nodes registered on a host and the distribution port, type and versions of one node.',
  ports: [{ port: 4369, transport: 'tcp' }],
  specs: ['Erlang/OTP erts: Distribution Protocol, EPMD Protocol'],
  rating: {
    stars: 5,
    reason: 'NAMES_REQ (every registered node and its port) and PORT_PLEASE2_REQ (port, node type, protocol, highest and lowest version, extra), a node that is not registered answered as such; lab-tested against epmd from Erlang/OTP 25 with a node registered. The register (ALIVE2) and kill requests are left out: they change the daemon.',
  },
  verifiedAgainst: 'epmd (Erlang/OTP 25.2.3)',
  defaultOperation: 'names',
  identify: identification,
  operations: {
    names: operation({
      summary: 'NAMES: the nodes registered with this epmd and their distribution ports',
      input: z.object({}),
      output: z.object({ epmdPort: z.number(), nodes: z.array(z.object({ name: z.string(), port: z.number() })), other: z.array(z.string()) }),
      text: (r) => (r.nodes.length ? r.nodes.map((n) => `${n.name}\t${n.port}`).join('\n') : 'no nodes registered'),
      async run(ctx) {
        const conn = await ctx.dial();
        await conn.write(namesRequest(), { decode: 'NAMES_REQ' });
        const { bytes, truncated } = await conn.readToEnd(256 * 1024);
        if (truncated) throw new ServerError('NAMES reply longer than 256 KiB');
        return parseNames(bytes);
      },
    }),
    port: operation({
      summary: 'PORT_PLEASE2: where one node listens, its type, protocol and distribution versions',
      input: z.object({ node: z.string().min(1, 'node is required').max(255).regex(/^[^@\s]+$/, 'node is the name before the @ (portolan in portolan@host)').meta({ examples: ['rabbit'] }) }),
      output: z.object({ found: z.boolean(), node: nodeOut.nullable() }),
      shortRoute: (extra) => (extra ? { node: decodeURIComponent(extra) } : {}),
      text: (r) => (r.node ? `${r.node.name} port ${r.node.port} (${r.node.type}, ${r.node.protocol}, versions ${r.node.lowestVersion}–${r.node.highestVersion})` : 'not registered'),
      async run(ctx, input) {
        const conn = await ctx.dial();
        await conn.write(portPleaseRequest(input.node), { decode: `PORT_PLEASE2_REQ ${input.node}` });
        const reply = await conn.readFrame(port2Frame, 'PORT2_RESP', (r) => (r.node ? `PORT2_RESP ${r.node.name} port ${r.node.port}` : `PORT2_RESP result ${r.result}`));
        if (!reply.node) return { found: false, node: null };
        const { protocolName, protocol: _code, ...node } = reply.node;
        return { found: true, node: { ...node, protocol: protocolName } };
      },
    }),
  },
});
