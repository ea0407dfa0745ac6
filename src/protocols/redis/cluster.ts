// Redis Cluster (redis.io docs "Redis cluster specification": key distribution model, hash tags, MOVED and ASK
// redirection; CLUSTER SLOTS, CLUSTER SHARDS, CLUSTER NODES, CLUSTER INFO).
//
// How it works: a key's slot is CRC16(key or its {hash tag}) mod 16384. The router sends a command to the node it
// was given; a `-MOVED slot host:port` reply names the node that owns the slot now, `-ASK slot host:port` the node
// that owns it for this one command during a migration (sent there after `ASKING`). Every redirect target is dialed
// as a second hop, so the target guard judges it: a node announcing a private address is refused with the redirect
// named. A `?` or empty host in a redirect or a topology entry means "the host you reached me at" (the node's
// cluster-preferred-endpoint-type has no value for it). Redirects are bounded; connections are kept per node for
// the operation.
import { fromLatin1 } from '../../core/bytes.ts';
import { PortolanError, ProtocolError, ServerError, TargetBlocked } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { errorParts, integerOf, itemsOf, pairsOf, textOf, type CommandArg, type RespValue } from './codec.ts';
import { RedisClient } from './client.ts';
import { open, type ConnInput } from './fields.ts';

export const SLOTS = 16384;

const CRC16_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** CRC16-CCITT (XMODEM): polynomial 0x1021, initial 0 (cluster spec, Appendix A; "123456789" gives 0x31C3). */
export function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ b) & 0xff];
  return crc;
}

/** The slot of a key: only the part between the first `{` and the next `}` counts when that part is not empty. */
export function keySlot(key: Uint8Array): number {
  const open = key.indexOf(0x7b);
  if (open !== -1) {
    const close = key.indexOf(0x7d, open + 1);
    if (close > open + 1) return crc16(key.subarray(open + 1, close)) % SLOTS;
  }
  return crc16(key) % SLOTS;
}

export interface Redirect {
  kind: 'MOVED' | 'ASK';
  slot: number;
  /** As the server wrote it: an address, a hostname, or `?` / empty for "the node you asked". */
  host: string;
  port: number;
}

/** A `-MOVED 3999 127.0.0.1:6381` or `-ASK 3999 127.0.0.1:6381` error reply, or undefined for any other reply. */
export function parseRedirect(v: RespValue): Redirect | undefined {
  if (v.kind !== 'error') return undefined;
  const text = fromLatin1(v.bytes);
  const m = /^(MOVED|ASK) (\d{1,5}) (.*):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const slot = Number(m[2]);
  const port = Number(m[4]);
  if (slot >= SLOTS) throw new ProtocolError(`${m[1]} names slot ${slot}, beyond ${SLOTS - 1}`);
  if (port < 1 || port > 65535) throw new ProtocolError(`${m[1]} names port ${port}`);
  // An IPv6 address comes unbracketed: everything before the last colon is the host.
  return { kind: m[1] as 'MOVED' | 'ASK', slot, host: m[3], port };
}

/** `?` or empty: the endpoint is not known, use the host the answering node was reached at. */
export function endpointHost(host: string, answeredBy: string): string {
  return host === '?' || host === '' ? answeredBy : host;
}

export interface ClusterNodeInfo {
  id: string | null;
  /** What clients should connect to, as the answering node sees it (`?` when it has none). */
  endpoint: string;
  ip: string | null;
  hostname: string | null;
  port: number;
  tlsPort: number | null;
  role: string | null;
  health: string | null;
  replicationOffset: number | null;
}

export interface Shard {
  slots: { start: number; end: number }[];
  nodes: ClusterNodeInfo[];
}

function record(v: RespValue): Map<string, RespValue> {
  const out = new Map<string, RespValue>();
  for (const [k, x] of pairsOf(v) ?? []) {
    const key = textOf(k);
    if (key !== undefined) out.set(key, x);
  }
  return out;
}

function slotRange(start: number | undefined, end: number | undefined, what: string): { start: number; end: number } {
  if (start === undefined || end === undefined || start < 0 || end >= SLOTS || start > end) throw new ProtocolError(`${what}: slot range ${start}-${end} is not within 0-${SLOTS - 1}`);
  return { start, end };
}

/** CLUSTER SHARDS (Redis 7.0+): a map per shard with its slot ranges (flat start/end pairs) and its nodes. */
export function parseShards(v: RespValue): Shard[] {
  const items = itemsOf(v);
  if (!items) throw new ProtocolError('CLUSTER SHARDS reply is not an array');
  return items.map((shard) => {
    const f = record(shard);
    const flat = (itemsOf(f.get('slots') ?? { kind: 'null' }) ?? []).map((x) => integerOf(x));
    if (flat.length % 2 !== 0) throw new ProtocolError('CLUSTER SHARDS: slots is not a list of start/end pairs');
    const slots: Shard['slots'] = [];
    for (let i = 0; i < flat.length; i += 2) slots.push(slotRange(flat[i], flat[i + 1], 'CLUSTER SHARDS'));
    const nodes = (itemsOf(f.get('nodes') ?? { kind: 'null' }) ?? []).map((n): ClusterNodeInfo => {
      const r = record(n);
      const text = (k: string) => {
        const x = r.get(k);
        return x ? (textOf(x) ?? null) : null;
      };
      const num = (k: string) => {
        const x = r.get(k);
        return x ? (integerOf(x) ?? null) : null;
      };
      return {
        id: text('id'),
        endpoint: text('endpoint') ?? text('ip') ?? '?',
        ip: text('ip'),
        hostname: text('hostname'),
        port: num('port') ?? num('tls-port') ?? 0,
        tlsPort: num('tls-port'),
        role: text('role'),
        health: text('health'),
        replicationOffset: num('replication-offset'),
      };
    });
    return { slots, nodes };
  });
}

/**
 * CLUSTER SLOTS: one entry per slot range, [start, end, master, replicas...], each node [endpoint, port, id,
 * metadata] (metadata, Redis 7.0+: hostname and ip as key/value pairs). Ranges of the same master form one shard.
 */
export function parseSlots(v: RespValue): Shard[] {
  const items = itemsOf(v);
  if (!items) throw new ProtocolError('CLUSTER SLOTS reply is not an array');
  const byMaster = new Map<string, Shard>();
  for (const entry of items) {
    const e = itemsOf(entry);
    if (!e || e.length < 3) throw new ProtocolError('CLUSTER SLOTS entry is not [start, end, master, ...]');
    const range = slotRange(integerOf(e[0]), integerOf(e[1]), 'CLUSTER SLOTS');
    const nodes = e.slice(2).map((n, i): ClusterNodeInfo => {
      const f = itemsOf(n);
      if (!f || f.length < 2) throw new ProtocolError('CLUSTER SLOTS node is not [endpoint, port, ...]');
      const meta = f[3] ? record(f[3]) : new Map<string, RespValue>();
      const metaText = (k: string) => {
        const x = meta.get(k);
        return x ? (textOf(x) ?? null) : null;
      };
      const endpoint = textOf(f[0]) ?? '?';
      return {
        id: f[2] ? (textOf(f[2]) ?? null) : null,
        endpoint,
        ip: metaText('ip') ?? (/^[\d.]+$|:/.test(endpoint) ? endpoint : null),
        hostname: metaText('hostname'),
        port: integerOf(f[1]) ?? 0,
        tlsPort: null,
        role: i === 0 ? 'master' : 'replica',
        health: null,
        replicationOffset: null,
      };
    });
    const key = nodes[0].id ?? `${nodes[0].endpoint}:${nodes[0].port}`;
    const shard = byMaster.get(key);
    if (shard) shard.slots.push(range);
    else byMaster.set(key, { slots: [range], nodes });
  }
  return [...byMaster.values()];
}

export interface ClusterNodeLine {
  id: string;
  address: string;
  ip: string;
  port: number;
  busPort: number | null;
  hostname: string | null;
  flags: string[];
  masterId: string | null;
  pingSentMs: number;
  pongReceivedMs: number;
  configEpoch: number;
  linkState: string;
  slots: { start: number; end: number }[];
  /** Slots this node is moving out (`[slot->-id]`) or in (`[slot-<-id]`); only a node tells its own. */
  migrating: { slot: number; to: string }[];
  importing: { slot: number; from: string }[];
}

/** CLUSTER NODES: one line per node, `id ip:port@cport[,hostname] flags master ping pong epoch link slot...`. */
export function parseNodes(text: string): ClusterNodeLine[] {
  const out: ClusterNodeLine[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(' ');
    if (f.length < 8) continue;
    const m = /^(.*):(\d+)(?:@(\d+))?(?:,(.*))?$/.exec(f[1]);
    if (!m) throw new ProtocolError(`CLUSTER NODES: address ${JSON.stringify(f[1])} is not ip:port@cport`);
    const node: ClusterNodeLine = {
      id: f[0],
      address: f[1],
      ip: m[1],
      port: Number(m[2]),
      busPort: m[3] ? Number(m[3]) : null,
      hostname: m[4] || null,
      flags: f[2].split(',').filter((x) => x && x !== 'noflags'),
      masterId: f[3] === '-' ? null : f[3],
      pingSentMs: Number(f[4]),
      pongReceivedMs: Number(f[5]),
      configEpoch: Number(f[6]),
      linkState: f[7],
      slots: [],
      migrating: [],
      importing: [],
    };
    for (const s of f.slice(8)) {
      let x = /^\[(\d+)->-([0-9a-f]+)\]$/.exec(s);
      if (x) {
        node.migrating.push({ slot: Number(x[1]), to: x[2] });
        continue;
      }
      x = /^\[(\d+)-<-([0-9a-f]+)\]$/.exec(s);
      if (x) {
        node.importing.push({ slot: Number(x[1]), from: x[2] });
        continue;
      }
      const r = /^(\d+)(?:-(\d+))?$/.exec(s);
      if (!r) throw new ProtocolError(`CLUSTER NODES: slot ${JSON.stringify(s)} is not a slot or a range`);
      node.slots.push(slotRange(Number(r[1]), Number(r[2] ?? r[1]), 'CLUSTER NODES'));
    }
    out.push(node);
  }
  return out;
}

/** Redirects followed for one command before giving up (a cluster mid-reconfiguration settles well within it). */
export const MAX_REDIRECTS = 5;

export interface FollowedRedirect {
  kind: 'MOVED' | 'ASK';
  slot: number;
  /** The node that answered with the redirect. */
  from: string;
  /** Where it pointed, with `?` resolved to the host it was reached at. */
  to: string;
}

/** A client whose every command is preceded by ASKING: the target of an ASK redirect serves the importing slot only so. */
class AskingClient extends RedisClient {
  override async pipeline(commands: readonly (readonly CommandArg[])[]): Promise<RespValue[]> {
    const replies = await super.pipeline(commands.flatMap((c) => [['ASKING'], c]));
    return replies.filter((_, i) => i % 2 === 1);
  }

  override async call(args: readonly CommandArg[]): Promise<RespValue> {
    return (await this.pipeline([args]))[0];
  }
}

/** The connections of one operation to the nodes of a cluster, opened as they are needed. */
export class ClusterRouter {
  private readonly clients = new Map<string, RedisClient>();

  constructor(
    private readonly ctx: OperationContext,
    private readonly input: ConnInput,
    readonly seed: RedisClient,
    private readonly lim: { maxReplyBytes?: number; maxElements?: number } = {},
  ) {
    this.clients.set(this.seedAddress, seed);
  }

  get seedAddress(): string {
    return address(this.ctx.target.host, this.ctx.target.port);
  }

  /** The client for a node, dialed (as a second hop) the first time. */
  async node(host: string, port: number): Promise<RedisClient> {
    const key = address(host, port);
    const known = this.clients.get(key);
    if (known) return known;
    const c = await open(this.ctx, this.input, this.lim, { host, port });
    this.clients.set(key, c);
    return c;
  }

  /** Runs a command where the cluster says it belongs, following MOVED and ASK. */
  async run(args: readonly CommandArg[]): Promise<{ reply: RespValue; node: string; redirects: FollowedRedirect[] }> {
    let client = this.seed;
    let at = this.seedAddress;
    let host = this.ctx.target.host;
    const redirects: FollowedRedirect[] = [];
    for (;;) {
      const reply = await client.call(args);
      const r = parseRedirect(reply);
      if (!r) return { reply, node: at, redirects };
      const to = { host: endpointHost(r.host, host), port: r.port };
      const followed: FollowedRedirect = { kind: r.kind, slot: r.slot, from: at, to: address(to.host, to.port) };
      if (redirects.length >= MAX_REDIRECTS) {
        throw new ServerError(`gave up after ${MAX_REDIRECTS} redirects: the last was ${errorParts(reply as RespValue & { kind: 'error' }).message} from ${at}`, { redirects: [...redirects, followed] });
      }
      redirects.push(followed);
      try {
        client = await this.redirected(r.kind, to.host, to.port);
      } catch (e) {
        throw namingRedirect(e, followed);
      }
      host = to.host;
      at = followed.to;
    }
  }

  /** A node for one redirect: ASK gets a client that sends ASKING before each command. */
  private async redirected(kind: 'MOVED' | 'ASK', host: string, port: number): Promise<RedisClient> {
    const c = await this.node(host, port);
    if (kind === 'MOVED') return c;
    const asking = new AskingClient(c.conn, { maxBytes: this.lim.maxReplyBytes, maxElements: this.lim.maxElements });
    asking.protocol = c.protocol;
    return asking;
  }

  /** The topology: CLUSTER SHARDS where the server has it (7.0+), CLUSTER SLOTS otherwise or when asked. */
  async shards(source: 'auto' | 'shards' | 'slots' = 'auto'): Promise<{ source: 'CLUSTER SHARDS' | 'CLUSTER SLOTS'; shards: Shard[] }> {
    if (source !== 'slots') {
      const r = await this.seed.call(['CLUSTER', 'SHARDS']);
      if (r.kind !== 'error') return { source: 'CLUSTER SHARDS', shards: parseShards(r) };
      const { message } = errorParts(r);
      if (source === 'shards' || !/unknown (sub)?command|wrong number/i.test(message)) throwClusterError(r);
    }
    const r = await this.seed.call(['CLUSTER', 'SLOTS']);
    if (r.kind === 'error') throwClusterError(r);
    return { source: 'CLUSTER SLOTS', shards: parseSlots(r) };
  }

  /**
   * The masters that serve slots, in slot order, each with the host to dial (the endpoint, or the seed's host
   * where the endpoint is `?`).
   */
  async masters(): Promise<{ host: string; port: number; id: string | null; slots: Shard['slots'] }[]> {
    const { shards } = await this.shards();
    return shards
      .filter((s) => s.slots.length > 0)
      .map((s) => {
        const m = s.nodes.find((n) => n.role === 'master') ?? s.nodes[0];
        return { host: endpointHost(m.endpoint, this.ctx.target.host), port: m.port, id: m.id, slots: [...s.slots].sort((a, b) => a.start - b.start) };
      })
      .sort((a, b) => a.slots[0].start - b.slots[0].start);
  }
}

export function address(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `ERR This instance has cluster support disabled`: the target is not a cluster node. */
export function throwClusterError(r: RespValue): never {
  const { code, message } = errorParts(r as RespValue & { kind: 'error' });
  throw new ServerError(/cluster support disabled/i.test(message) ? `${message}: this server is not a cluster node` : message, { code });
}

/** A failure to reach a redirect's node, named after the redirect (the guard's refusal keeps its code and detail). */
function namingRedirect(e: unknown, r: FollowedRedirect): unknown {
  if (!(e instanceof PortolanError)) return e;
  const lead = `${r.kind} ${r.slot} from ${r.from} to ${r.to}`;
  const detail = { ...(e.detail ?? {}), redirect: r };
  if (e instanceof TargetBlocked) return new TargetBlocked(`${lead}: ${e.message}`, detail);
  return new PortolanError(e.code, `${lead}: ${e.message}`, detail);
}
