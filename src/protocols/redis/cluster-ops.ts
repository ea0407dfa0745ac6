// The Redis Cluster operations: topology (CLUSTER SHARDS / SLOTS, NODES, INFO), a command routed with MOVED and ASK
// followed, and a key browser across the masters.
import * as z from 'zod';
import { bytesJson } from '../../core/bytes.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import { operation } from '../../core/protocol.ts';
import { replyJson, textOf } from './codec.ts';
import { keyDetails, scanKeys, throwIfError } from './client.ts';
import { ClusterRouter, address, keySlot, parseNodes, throwClusterError } from './cluster.ts';
import { anyTruncated, bytesOut, scanFields, commandArgs, commandFields, connection, limitNote, limits, open, renderReply, replyOut, truncation } from './fields.ts';

const slotRangeOut = z.object({ start: z.number(), end: z.number() });

const nodeOut = z.object({
  id: z.string().nullable(),
  endpoint: z.string().describe('What clients are told to connect to; "?" when the node has no value for it'),
  ip: z.string().nullable(),
  hostname: z.string().nullable(),
  port: z.number(),
  tlsPort: z.number().nullable(),
  role: z.string().nullable(),
  health: z.string().nullable(),
  replicationOffset: z.number().nullable(),
});

const nodeLineOut = z.object({
  id: z.string(),
  address: z.string(),
  ip: z.string(),
  port: z.number(),
  busPort: z.number().nullable(),
  hostname: z.string().nullable(),
  flags: z.array(z.string()),
  masterId: z.string().nullable(),
  pingSentMs: z.number(),
  pongReceivedMs: z.number(),
  configEpoch: z.number(),
  linkState: z.string(),
  slots: z.array(slotRangeOut),
  migrating: z.array(z.object({ slot: z.number(), to: z.string() })),
  importing: z.array(z.object({ slot: z.number(), from: z.string() })),
});

const redirectOut = z.object({ kind: z.enum(['MOVED', 'ASK']), slot: z.number(), from: z.string(), to: z.string() });

/** The cluster works on database 0 only: a db field other than 0 would be refused by every node. */
const clusterConnection = { ...connection, db: connection.db.describe('Database number; a cluster has only 0') };

function parseClusterInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/** A key browser position: the index of the master in slot order and the SCAN cursor on it. */
function parseCursor(cursor: string): { node: number; cursor: string } {
  const m = /^(\d{1,4}):(\d{1,20})$/.exec(cursor);
  if (cursor === '0') return { node: 0, cursor: '0' };
  if (!m) throw InvalidInput.field('cursor', 'is "0" or the node:cursor the previous page returned');
  return { node: Number(m[1]), cursor: m[2] };
}

export const clusterOperations = {
  cluster: operation({
    summary: 'Redis Cluster topology: the shards with their slot ranges and nodes (CLUSTER SHARDS, or CLUSTER SLOTS), CLUSTER NODES with migrations, CLUSTER INFO',
    input: z.object({
      source: z.enum(['auto', 'shards', 'slots']).default('auto').describe('auto: CLUSTER SHARDS where the server has it (7.0+), else CLUSTER SLOTS'),
      ...clusterConnection,
    }),
    output: z.object({
      source: z.enum(['CLUSTER SHARDS', 'CLUSTER SLOTS']),
      shards: z.array(z.object({ slots: z.array(slotRangeOut), nodes: z.array(nodeOut) })),
      slotsCovered: z.number().describe('Slots served by some shard, of 16384'),
      nodes: z.array(nodeLineOut).describe('CLUSTER NODES as the answering node sees it (its own migrations included)'),
      info: z.record(z.string(), z.string()).describe('CLUSTER INFO: cluster_state, cluster_slots_assigned, cluster_known_nodes, ...'),
    }),
    text: (r) =>
      [
        `cluster_state:${r.info.cluster_state ?? '?'} (${r.slotsCovered} of 16384 slots, from ${r.source})`,
        ...r.shards.map((s) => `${s.slots.map((x) => (x.start === x.end ? `${x.start}` : `${x.start}-${x.end}`)).join(',') || '(no slots)'}\t${s.nodes.map((n) => `${n.role ?? ''} ${n.endpoint}:${n.port}${n.id ? ` ${n.id.slice(0, 8)}` : ''}`).join('; ')}`),
        ...r.nodes.flatMap((n) => [...n.migrating.map((m) => `slot ${m.slot} migrating from ${n.address} to ${m.to.slice(0, 8)}`), ...n.importing.map((m) => `slot ${m.slot} importing into ${n.address} from ${m.from.slice(0, 8)}`)]),
      ].join('\n'),
    async run(ctx, input) {
      const c = await open(ctx, input);
      const router = new ClusterRouter(ctx, input, c);
      const { source, shards } = await router.shards(input.source);
      const nodesReply = await c.call(['CLUSTER', 'NODES']);
      if (nodesReply.kind === 'error') throwClusterError(nodesReply);
      const infoReply = throwIfError(await c.call(['CLUSTER', 'INFO']));
      const nodesText = textOf(nodesReply);
      const infoText = textOf(infoReply);
      if (nodesText === undefined || infoText === undefined) throw new ProtocolError('CLUSTER NODES or CLUSTER INFO did not answer text');
      const covered = new Set<number>();
      for (const s of shards) for (const r of s.slots) for (let i = r.start; i <= r.end; i++) covered.add(i);
      return { source, shards, slotsCovered: covered.size, nodes: parseNodes(nodesText), info: parseClusterInfo(infoText) };
    },
  }),
  clusterCommand: operation({
    summary: 'Run one command on a Redis Cluster: sent to the node given, MOVED and ASK redirects followed to the node that has the slot',
    input: z.object({ ...commandFields, ...clusterConnection, ...limits }),
    output: z.object({
      reply: replyOut,
      node: z.string().describe('The node that answered'),
      redirects: z.array(redirectOut).describe('The redirects followed, in order'),
      protocol: z.number(),
      ...truncation,
    }),
    text: (r) => `${r.redirects.map((x) => `-> ${x.kind} ${x.slot} ${x.to}\n`).join('')}${renderReply(r.reply)}`,
    async run(ctx, input) {
      const args = commandArgs(input);
      const c = await open(ctx, input, input);
      const router = new ClusterRouter(ctx, input, c, input);
      const { reply, node, redirects } = await router.run(args);
      throwIfError(reply);
      return { reply: replyJson(reply, input.encoding), node, redirects, protocol: c.protocol, truncated: anyTruncated(reply), limit: limitNote(reply, input) };
    },
  }),
  clusterScan: operation({
    summary: 'Key browser across a Redis Cluster: SCAN pages on each master in slot order, with each key\'s slot, node, type and TTL',
    input: z.object({
      cursor: z.string().max(32).default('0').describe('"0" to start, then the cursor the previous page returned (node:cursor)'),
      ...scanFields,
      ...clusterConnection,
    }),
    output: z.object({
      cursor: z.string().describe('Pass it back for the next page; "0" when every master has been scanned'),
      done: z.boolean(),
      keys: z.array(z.object({ key: bytesOut, slot: z.number(), node: z.string(), type: z.string().nullable(), ttl: z.number().nullable() })),
      masters: z.array(z.object({ node: z.string(), id: z.string().nullable(), slots: z.array(slotRangeOut) })).describe('The masters scanned, in slot order'),
      scanCalls: z.number(),
    }),
    text: (r) => `${r.keys.map((k) => `${k.key.text ?? k.key.base64 ?? k.key.hex}\t${k.slot}\t${k.node}\t${k.type ?? ''}\t${k.ttl ?? ''}`).join('\n')}\n(cursor ${r.cursor})`,
    async run(ctx, input) {
      const at = parseCursor(input.cursor);
      const seed = await open(ctx, input);
      const router = new ClusterRouter(ctx, input, seed);
      const masters = await router.masters();
      if (at.node >= masters.length) throw InvalidInput.field('cursor', `names master ${at.node}, the cluster has ${masters.length}`);
      const keys: { key: ReturnType<typeof bytesJson>; slot: number; node: string; type: string | null; ttl: number | null }[] = [];
      let node = at.node;
      let cursor = at.cursor;
      let scanCalls = 0;
      while (node < masters.length && keys.length < input.pageSize) {
        const m = masters[node];
        const c = await router.node(m.host, m.port);
        const page = await scanKeys(c, { cursor, match: input.match, type: input.type, count: input.count, pageSize: input.pageSize - keys.length, maxCalls: 1000 });
        scanCalls += page.calls;
        const details = input.details ? await keyDetails(c, page.keys) : [];
        page.keys.forEach((k, i) => keys.push({ key: bytesJson(k, input.encoding), slot: keySlot(k), node: address(m.host, m.port), type: details[i]?.type ?? null, ttl: details[i]?.ttl ?? null }));
        if (page.cursor === '0') {
          node++;
          cursor = '0';
        } else cursor = page.cursor;
      }
      const done = node >= masters.length;
      return {
        cursor: done ? '0' : `${node}:${cursor}`,
        done,
        keys,
        masters: masters.map((m) => ({ node: address(m.host, m.port), id: m.id, slots: m.slots })),
        scanCalls,
      };
    },
  }),
};
