// BitTorrent peer wire: the handshake for an info hash, the extension handshake (BEP 10: client name,
// extensions, metadata size), and what the peer says it has (bitfield, have, HAVE_ALL/HAVE_NONE). Trackers: announce
// and scrape over HTTP (BEP 3, 23, 7, 48) and over UDP on hosts that have it (BEP 15).
import * as z from 'zod';
import { fromHex, fromLatin1, fromUtf8, isPrintableAscii, toHex, utf8 } from '../../core/bytes.ts';
import { PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import type { DatagramConn } from '../../core/datagram.ts';
import { exchange as httpExchange, hostField } from '../http/client.ts';
import { exchange, retryFields, type RetryPolicy } from '../datagram/exchange.ts';
import {
  bdecode,
  countBits,
  encodeExtendedHandshake,
  encodeHandshake,
  handshakeFrame,
  messageFrame,
  messageName,
  MSG,
  peerIdClient,
  reservedBits,
  reservedNames,
  type BValue,
} from './codec.ts';
import {
  announceTarget,
  decodeAnnounce,
  decodeScrape,
  decodeUdpReply,
  encodeUdpAnnounce,
  encodeUdpConnect,
  encodeUdpScrape,
  infoHashOf,
  MAX_UDP_SCRAPE,
  parseInfoHash,
  scrapeTarget,
  type AnnounceAnswer,
  type AnnounceRequest,
  type ParsedInfoHash,
  type UdpReply,
} from './tracker.ts';

/** Messages read after the handshake at most, while waiting for the bitfield and the extension handshake. */
const MAX_MESSAGES = 200;

const text = (v: BValue | undefined): string | null => (v instanceof Uint8Array ? fromUtf8(v) : null);
const num = (v: BValue | undefined): number | null => (typeof v === 'number' ? v : null);

/** The address in `yourip` (4 or 16 bytes). */
function ipText(v: BValue | undefined): string | null {
  if (!(v instanceof Uint8Array)) return null;
  if (v.length === 4) return [...v].join('.');
  if (v.length === 16) return Array.from({ length: 8 }, (_, i) => ((v[2 * i] << 8) | v[2 * i + 1]).toString(16)).join(':');
  return null;
}

const CLIENTS: Record<string, string> = { TR: 'Transmission', qB: 'qBittorrent', lt: 'libtorrent (rakshasa)', LT: 'libtorrent (Rasterbar)', DE: 'Deluge', UT: 'µTorrent', AZ: 'Vuze', KT: 'KTorrent', BI: 'BiglyBT', PO: 'Portolan' };

const infoHashField = z
  .string()
  .refine((t) => parseInfoHash(t) !== null, 'is 40 hex digits, 32 base32 characters, or a magnet link with xt=urn:btih:')
  .describe('The torrent: its v1 info hash in hex (40) or base32 (32), or a magnet link (its tr= trackers are listed, not asked)')
  .meta({ examples: ['c12fe1c06bba254a9dc9f519b335aa7c1367a88a'] });

const announceIn = z.object({
  infoHash: infoHashField,
  event: z
    .enum(['none', 'started', 'stopped', 'completed'])
    .default('none')
    .describe('The event sent. Every announce but "stopped" registers this peer (our address and peerPort) with the tracker; "stopped" answers the counts without peers on most trackers'),
  leave: z.boolean().default(true).describe('After the answer, announce "stopped" for the same peer so the tracker forgets it again (off: the peer stays listed until the tracker times it out)'),
  peerPort: z.number().int().min(1).max(65535).default(6881).describe('The port this peer says it listens on'),
  peerId: z.string().length(20, 'peerId is 20 characters').optional().describe('Our peer id (default -PO0100- and 12 random characters)'),
  left: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(1).describe('Bytes still to download (default 1: a leecher, to whom trackers send seeders)'),
  uploaded: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  downloaded: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  numwant: z.number().int().min(0).max(1000).default(50).describe('Peers wanted'),
});

const httpAnnounceIn = announceIn.extend({
  path: z.string().regex(/^\//, 'path starts with /').default('/announce').describe('The announce path (with a query of its own, such as a passkey, if the tracker needs one)'),
  compact: z.boolean().default(true).describe('Ask for compact peers (BEP 23); off asks for the dictionary list with peer ids'),
});

const peerOut = z.object({ ip: z.string(), port: z.number(), peerId: z.string().nullable() });
const magnetOut = z.object({ name: z.string().nullable(), trackers: z.array(z.string()) }).nullable();

const announceOut = z.object({
  infoHash: z.string(),
  magnet: magnetOut,
  event: z.string(),
  interval: z.number().nullable().describe('Seconds the tracker asks a client to wait between announces'),
  minInterval: z.number().nullable(),
  seeders: z.number().nullable().describe('complete: peers with the whole torrent'),
  leechers: z.number().nullable().describe('incomplete'),
  downloaded: z.number().nullable(),
  trackerId: z.string().nullable(),
  warning: z.string().nullable().describe("The tracker's warning message, in its words"),
  peers: z.array(peerOut).describe('The peers the tracker listed (trackers often list the asking peer too)'),
  peersForm: z.enum(['compact', 'dictionary', 'none']),
  left: z.boolean().describe('A "stopped" announce took this peer off the tracker again'),
});

const scrapeIn = z.object({
  infoHashes: z.array(infoHashField).min(1).max(MAX_UDP_SCRAPE).describe('The torrents asked about'),
});

const scrapeOut = z.object({
  torrents: z.array(z.object({ infoHash: z.string(), known: z.boolean().describe('The tracker answered for this torrent'), seeders: z.number(), completed: z.number(), leechers: z.number(), name: z.string().nullable() })),
});

type AnnounceInput = z.infer<typeof announceIn>;

function announceRequest(ctx: OperationContext, input: AnnounceInput, infoHash: Uint8Array): AnnounceRequest {
  const peerId = input.peerId ? utf8(input.peerId) : utf8(`-PO0100-${toHex(ctx.crypto.randomBytes(6))}`);
  if (peerId.length !== 20) throw new ProtocolError('peerId must be 20 bytes in UTF-8');
  const k = ctx.crypto.randomBytes(4);
  return { infoHash, peerId, port: input.peerPort, uploaded: input.uploaded, downloaded: input.downloaded, left: input.left, event: input.event, numwant: input.numwant, compact: true, key: ((k[0] << 24) | (k[1] << 16) | (k[2] << 8) | k[3]) >>> 0 };
}

const magnetOf = (h: ParsedInfoHash) => (h.trackers.length || h.name !== null ? { name: h.name, trackers: h.trackers } : null);

const announceText = (r: z.infer<typeof announceOut>): string =>
  [
    `${r.infoHash}: ${r.seeders ?? '?'} seeders, ${r.leechers ?? '?'} leechers${r.downloaded !== null ? `, ${r.downloaded} downloads` : ''}; announce every ${r.interval ?? '?'} s${r.minInterval !== null ? ` (at least ${r.minInterval} s)` : ''}`,
    ...(r.warning ? [`warning: ${r.warning}`] : []),
    ...(r.peers.length ? r.peers.map((p) => `  ${p.ip.includes(':') ? `[${p.ip}]` : p.ip}:${p.port}${p.peerId ? ` ${p.peerId}` : ''}`) : ['no peers listed']),
    r.left ? 'this peer announced "stopped" afterwards' : `this peer stays registered (event ${r.event})`,
  ].join('\n');

const scrapeText = (r: z.infer<typeof scrapeOut>): string => r.torrents.map((t) => `${t.infoHash}: ${t.known ? `${t.seeders} seeders, ${t.leechers} leechers, ${t.completed} completed` : 'not known to the tracker'}`).join('\n');

/** The tracker refused in its own words. */
const refused = (reason: string) => new ServerError(`the tracker refused: ${reason}`, { failureReason: reason });

/** One HTTP GET to the tracker; a non-200 answer or one that is not bencoded is the tracker's error in its words. */
async function trackerGet(ctx: OperationContext, target: string, what: string): Promise<Uint8Array> {
  const conn = await ctx.dial();
  const t0 = performance.now();
  const x = await httpExchange(
    conn,
    { method: 'GET', target, headers: [['Host', hostField({ scheme: ctx.target.tls === 'implicit' ? 'https' : 'http', host: ctx.target.host, port: ctx.target.port })], ['User-Agent', 'Portolan/0.1'], ['Accept-Encoding', 'identity'], ['Connection', 'close']], maxBodyBytes: 1024 * 1024, maxRawBytes: 0 },
    () => performance.now() - t0,
  );
  await conn.close();
  if (x.truncated) throw new ProtocolError(`${what}: the answer is larger than 1 MiB`);
  const looksBencoded = x.body.length > 0 && x.body[0] === 0x64;
  if (x.head.status !== 200 || !looksBencoded) {
    const words = fromUtf8(x.body.subarray(0, 300)).replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
    throw new ServerError(`${what}: HTTP ${x.head.status} ${x.head.reason}${words ? `: ${words}` : ' with no bencoded answer'}`, { status: x.head.status });
  }
  return x.body;
}

async function httpAnnounce(ctx: OperationContext, input: z.infer<typeof httpAnnounceIn>) {
  const h = infoHashOf(input.infoHash, 'infoHash');
  const req = { ...announceRequest(ctx, input, h.bytes), compact: input.compact };
  const a: AnnounceAnswer = decodeAnnounce(await trackerGet(ctx, announceTarget(input.path, req), 'announce'));
  if (a.failure !== null) throw refused(a.failure);
  const leave = input.leave && input.event !== 'stopped';
  if (leave) {
    const gone = decodeAnnounce(await trackerGet(ctx, announceTarget(input.path, { ...req, event: 'stopped', numwant: 0, trackerId: a.trackerId ?? undefined }), 'stopped announce'));
    if (gone.failure !== null) throw refused(gone.failure);
  }
  return {
    infoHash: toHex(h.bytes),
    magnet: magnetOf(h),
    event: input.event,
    interval: a.interval,
    minInterval: a.minInterval,
    seeders: a.complete,
    leechers: a.incomplete,
    downloaded: a.downloaded,
    trackerId: a.trackerId,
    warning: a.warning,
    peers: a.peers,
    peersForm: a.peersForm,
    left: leave,
  };
}

async function httpScrape(ctx: OperationContext, input: z.infer<typeof scrapeIn> & { path: string }) {
  const hashes = input.infoHashes.map((t, i) => infoHashOf(t, `infoHashes.${i}`).bytes);
  const s = decodeScrape(await trackerGet(ctx, scrapeTarget(input.path, hashes), 'scrape'));
  if (s.failure !== null) throw refused(s.failure);
  return {
    torrents: hashes.map((b) => {
      const hex = toHex(b);
      const e = s.files.find((f) => f.infoHash === hex);
      return { infoHash: hex, known: e !== undefined, seeders: e?.complete ?? 0, completed: e?.downloaded ?? 0, leechers: e?.incomplete ?? 0, name: e?.name ?? null };
    }),
  };
}

/** Transactions of one UDP tracker exchange (BEP 15): a connection id first, then requests carrying it. */
class UdpTracker {
  private connectionId: bigint | undefined;
  constructor(
    private readonly ctx: OperationContext,
    private readonly conn: DatagramConn,
    private readonly retry: RetryPolicy,
  ) {}

  private get family(): 4 | 6 {
    return this.conn.info().remoteAddress.includes(':') ? 6 : 4;
  }

  private async transact(build: (tid: number) => Uint8Array, what: string, expect: UdpReply['action']): Promise<UdpReply> {
    const r = this.ctx.crypto.randomBytes(4);
    const tid = ((r[0] << 24) | (r[1] << 16) | (r[2] << 8) | r[3]) >>> 0;
    const answer = await exchange(this.ctx, this.conn, build(tid), {
      ...this.retry,
      what: `${what} reply`,
      describeRequest: `${what}, transaction ${tid}`,
      describeAnswer: (b) => `${what} reply (${b.length} bytes)`,
      accept: (bytes) => {
        const reply = decodeUdpReply(bytes, this.family);
        if (reply.transactionId !== tid) return undefined;
        if (reply.action === 'error') throw refused(reply.message);
        if (reply.action !== expect) throw new ProtocolError(`${what}: the tracker answered ${reply.action}, not ${expect}`);
        return reply;
      },
    });
    return answer.value;
  }

  async connectionIdOf(): Promise<bigint> {
    if (this.connectionId === undefined) {
      const c = await this.transact((tid) => encodeUdpConnect(tid), 'connect', 'connect');
      if (c.action !== 'connect') throw new ProtocolError('connect: no connection id');
      this.connectionId = c.connectionId;
    }
    return this.connectionId;
  }

  async announce(req: AnnounceRequest) {
    const id = await this.connectionIdOf();
    const a = await this.transact((tid) => encodeUdpAnnounce(id, tid, req), `announce (${req.event})`, 'announce');
    if (a.action !== 'announce') throw new ProtocolError('announce: no announce reply');
    return a;
  }

  async scrape(hashes: Uint8Array[]) {
    const id = await this.connectionIdOf();
    const s = await this.transact((tid) => encodeUdpScrape(id, tid, hashes), `scrape of ${hashes.length}`, 'scrape');
    if (s.action !== 'scrape') throw new ProtocolError('scrape: no scrape reply');
    if (s.entries.length !== hashes.length) throw new ProtocolError(`scrape: ${s.entries.length} entries for ${hashes.length} info hashes`);
    return s.entries;
  }
}

async function udpAnnounce(ctx: OperationContext, input: AnnounceInput & RetryPolicy) {
  const h = infoHashOf(input.infoHash, 'infoHash');
  const tracker = new UdpTracker(ctx, await ctx.dialUdp(), input);
  const req = announceRequest(ctx, input, h.bytes);
  const a = await tracker.announce(req);
  const leave = input.leave && input.event !== 'stopped';
  if (leave) await tracker.announce({ ...req, event: 'stopped', numwant: 0 });
  return {
    infoHash: toHex(h.bytes),
    magnet: magnetOf(h),
    event: input.event,
    interval: a.interval,
    minInterval: null,
    seeders: a.seeders,
    leechers: a.leechers,
    downloaded: null,
    trackerId: null,
    warning: null,
    peers: a.peers,
    peersForm: a.peers.length ? ('compact' as const) : ('none' as const),
    left: leave,
  };
}

async function udpScrape(ctx: OperationContext, input: z.infer<typeof scrapeIn> & RetryPolicy) {
  const hashes = input.infoHashes.map((t, i) => infoHashOf(t, `infoHashes.${i}`).bytes);
  const entries = await new UdpTracker(ctx, await ctx.dialUdp(), input).scrape(hashes);
  // A UDP scrape answers every hash: a torrent the tracker does not know counts zero.
  return { torrents: hashes.map((b, i) => ({ infoHash: toHex(b), known: entries[i].seeders + entries[i].leechers + entries[i].completed > 0, seeders: entries[i].seeders, completed: entries[i].completed, leechers: entries[i].leechers, name: null })) };
}

const UDP_ALTERNATIVE = ['announce and scrape ask an HTTP tracker from here'];

export default defineProtocol({
  id: 'bittorrent',
  title: 'BitTorrent (peer wire and trackers)',
  category: 'file',
  summary:
    'Speaks BitTorrent\'s peer wire protocol to a peer: the handshake for an info hash (the peer id and reserved bits), the extension handshake (BEP 10: client name and version, extensions, metadata size, listen port), and the pieces the peer has (bitfield, have, HAVE_ALL). Asks trackers for a torrent\'s peers and counts: announce and scrape over HTTP (compact and dictionary peers, IPv6 peers6) and over UDP (BEP 15, Node host); the torrent given as a hex or base32 info hash or a magnet link. An announce registers this peer with the tracker: by default a "stopped" announce follows it, so the tracker forgets it again.',
  ports: [
    { port: 6881, transport: 'tcp', label: 'peer' },
    { port: 6969, transport: 'tcp', label: 'HTTP tracker' },
    { port: 6969, transport: 'udp', label: 'UDP tracker (Node host)' },
  ],
  specs: ['BEP 3', 'BEP 10', 'BEP 6', 'BEP 23', 'BEP 7', 'BEP 48', 'BEP 15', 'BEP 9'],
  rating: {
    stars: 3,
    reason:
      'Lab-tested through workerd against Transmission 3.00\'s transmission-daemon seeding a torrent the lab makes (src/protocols/bittorrent/bittorrent.lab.test.ts): the handshake (info hash, peer id -TR3000-, reserved bits), the extension handshake (client name "Transmission 3.00", ut_metadata and metadata_size, listen port, reqq), HAVE_ALL with the fast extension and a full bitfield without it, an unknown info hash closed by the peer. Transmission takes one connection per address at a time: a handshake within a second of the previous one is closed. ' +
      'Trackers lab-tested against opentracker (Debian 12, git 2021-08-23, IPv4 build, whitelist mode) to which Transmission announces the lab torrent: through workerd, an HTTP announce (by hex info hash, and by a magnet link with a base32 hash) lists Transmission\'s address and peer port with the seeder count and intervals, the "stopped" announce after it takes our peer off again so a scrape of two torrents counts Transmission alone as the seeder and the unseeded torrent as empty, a torrent off the whitelist is refused in the tracker\'s words, a request for dictionary peers gets opentracker\'s own error page, a malformed info hash is a 400 naming the field; through the Node host, the UDP tracker (connect, announce, scrape) gives the same peer and counts, a UDP tracker that never answers gets the same transaction sent again per try and then io_timeout, and workerd answers 501. ' +
      'Not covered: dictionary-form and IPv6 (peers6) answers and warning messages or tracker ids against a real tracker (opentracker sends none of them; decoded in codec tests only), HTTPS trackers, DHT, piece transfer, metadata download (ut_metadata), message stream encryption (MSE), uTP.',
  },
  verifiedAgainst: 'Transmission 3.00 (transmission-daemon, Debian 12); opentracker 0.0~git20210823.110868e-3 (Debian 12)',
  defaultOperation: 'handshake',
  identify: { unprobed: 'a peer answers only a handshake for a torrent it has: the info hash is needed' },
  operations: {
    handshake: operation({
      summary: 'The peer handshake for an info hash, the extension handshake, and the pieces the peer announces',
      input: z.object({
        infoHash: z
          .string()
          .regex(/^[0-9a-fA-F]{40}$/, 'infoHash is 40 hex digits (the SHA-1 of the info dictionary)')
          .describe('The torrent\'s info hash (v1, hex)')
          .meta({ examples: ['c12fe1c06bba254a9dc9f519b335aa7c1367a88a'] }),
        peerId: z.string().length(20, 'peerId is 20 characters').optional().describe('Our peer id (default -PO0100- and 12 random characters)'),
        extensions: z.boolean().default(true).describe('Announce the extension protocol (BEP 10) and send its handshake'),
        fast: z.boolean().default(true).describe('Announce the fast extension (BEP 6): a seed may answer HAVE_ALL instead of a bitfield'),
        waitMs: z.number().int().min(100).max(30_000).default(3000).describe('How long to wait for the bitfield and the extension handshake after the handshake'),
      }),
      output: z.object({
        peerId: z.object({ text: z.string().nullable(), hex: z.string(), client: z.string().nullable(), version: z.string().nullable() }),
        reserved: z.object({ hex: z.string(), known: z.array(z.string()) }),
        extension: z
          .object({
            client: z.string().nullable(),
            extensions: z.record(z.string(), z.number()),
            metadataSize: z.number().nullable(),
            listenPort: z.number().nullable(),
            requestQueue: z.number().nullable(),
            yourIp: z.string().nullable(),
          })
          .nullable(),
        pieces: z.object({ haveAll: z.boolean(), haveNone: z.boolean(), bitfieldBytes: z.number().nullable(), count: z.number().nullable(), have: z.array(z.number()) }),
        messages: z.array(z.string()).describe('What the peer sent after its handshake, in order'),
      }),
      text: (r) =>
        [
          `peer ${r.peerId.text ?? r.peerId.hex}${r.peerId.client ? ` (${r.peerId.client} ${r.peerId.version})` : ''}`,
          `reserved ${r.reserved.hex}: ${r.reserved.known.join(', ') || 'no extensions'}`,
          r.extension ? `extension handshake: ${r.extension.client ?? '(no name)'}; ${Object.keys(r.extension.extensions).join(', ')}${r.extension.metadataSize !== null ? `; metadata ${r.extension.metadataSize} bytes` : ''}` : 'no extension handshake',
          r.pieces.haveAll ? 'has every piece (HAVE_ALL)' : r.pieces.haveNone ? 'has no pieces (HAVE_NONE)' : r.pieces.count !== null ? `bitfield: ${r.pieces.count} pieces` : 'no bitfield',
        ].join('\n'),
      run: async (ctx, input) => {
        const conn = await ctx.dial();
        const infoHash = fromHex(input.infoHash);
        const peerId = input.peerId ? utf8(input.peerId) : utf8(`-PO0100-${toHex(ctx.crypto.randomBytes(6))}`);
        if (peerId.length !== 20) throw new ProtocolError('peerId must be 20 bytes in UTF-8');
        const ours = reservedBits({ extensionProtocol: input.extensions, fast: input.fast });
        await conn.write(encodeHandshake({ reserved: ours, infoHash, peerId }), { decode: `handshake: info hash ${input.infoHash}, reserved ${toHex(ours)}` });
        let theirs;
        try {
          theirs = await conn.readFrame(handshakeFrame, 'handshake', (h) => `handshake: peer id ${fromLatin1(h.peerId.subarray(0, 8))}…, reserved ${toHex(h.reserved)}`);
        } catch (e) {
          if (e instanceof PortolanError && e.code === 'closed' && conn.buffered === 0) throw new PortolanError('closed', `the peer closed the connection after our handshake: it serves no torrent with info hash ${input.infoHash.toLowerCase()}, or it still holds an earlier connection from this address (Transmission takes one per address)`);
          throw e;
        }
        if (toHex(theirs.infoHash) !== toHex(infoHash)) throw new ProtocolError(`the peer answered for info hash ${toHex(theirs.infoHash)}, not ${input.infoHash.toLowerCase()}`);
        ctx.timing.mark('handshakeMs');
        const extended = input.extensions && (theirs.reserved[5] & 0x10) !== 0;
        const fast = input.fast && (theirs.reserved[7] & 0x04) !== 0;
        if (extended) await conn.write(encodeExtendedHandshake({ m: { ut_metadata: 1 }, v: utf8('Portolan'), reqq: 16 }), { decode: 'extended handshake: v=Portolan m={ut_metadata: 1}' });
        const messages: string[] = [];
        const pieces = { haveAll: false, haveNone: false, bitfieldBytes: null as number | null, count: null as number | null, have: [] as number[] };
        let extension: { client: string | null; extensions: Record<string, number>; metadataSize: number | null; listenPort: number | null; requestQueue: number | null; yourIp: string | null } | null = null;
        const done = () => (!extended || extension !== null) && (pieces.haveAll || pieces.haveNone || pieces.bitfieldBytes !== null);
        try {
          await ctx.within(input.waitMs, async () => {
            while (!done() && messages.length < MAX_MESSAGES) {
              const m = await conn.readFrame(messageFrame(), 'message', (v) => `${messageName(v.id)}${v.payload.length ? `, ${v.payload.length} bytes` : ''}`);
              messages.push(messageName(m.id));
              if (m.id === MSG.BITFIELD) {
                pieces.bitfieldBytes = m.payload.length;
                pieces.count = countBits(m.payload);
              } else if (m.id === MSG.HAVE && m.payload.length === 4 && pieces.have.length < 10_000) pieces.have.push(new DataView(m.payload.buffer, m.payload.byteOffset, 4).getUint32(0));
              else if (m.id === MSG.HAVE_ALL && fast) pieces.haveAll = true;
              else if (m.id === MSG.HAVE_NONE && fast) pieces.haveNone = true;
              else if (m.id === MSG.EXTENDED && m.payload.length > 0 && m.payload[0] === 0) {
                const d = bdecode(m.payload.subarray(1));
                if (typeof d !== 'object' || d instanceof Uint8Array || Array.isArray(d) || typeof d === 'bigint') throw new ProtocolError('the extension handshake is not a dictionary');
                const mm = d.m;
                const ext: Record<string, number> = {};
                if (mm && typeof mm === 'object' && !(mm instanceof Uint8Array) && !Array.isArray(mm) && typeof mm !== 'bigint') for (const [k, v] of Object.entries(mm)) if (typeof v === 'number') ext[k] = v;
                extension = { client: text(d.v), extensions: ext, metadataSize: num(d.metadata_size), listenPort: num(d.p), requestQueue: num(d.reqq), yourIp: ipText(d.yourip) };
              }
            }
          });
        } catch (e) {
          // The peer said what it had to say and went quiet: what arrived is the answer.
          if (!(e instanceof PortolanError && e.code === 'io_timeout')) throw e;
        }
        await conn.close();
        const client = peerIdClient(theirs.peerId);
        return {
          peerId: { text: isPrintableAscii(theirs.peerId) ? fromLatin1(theirs.peerId) : null, hex: toHex(theirs.peerId), client: client ? (CLIENTS[client.code] ?? client.code) : null, version: client?.version ?? null },
          reserved: { hex: toHex(theirs.reserved), known: reservedNames(theirs.reserved) },
          extension,
          pieces,
          messages,
        };
      },
    }),
    announce: operation({
      summary: 'Asks an HTTP tracker for a torrent\'s peers and counts (BEP 3, compact BEP 23, peers6 BEP 7); the announce registers this peer, and a "stopped" announce after it takes it off again unless leave is off',
      input: httpAnnounceIn,
      output: announceOut,
      defaultPort: 6969,
      primary: ['infoHash', 'event', 'leave'],
      text: announceText,
      run: httpAnnounce,
    }),
    scrape: operation({
      summary: 'Asks an HTTP tracker how many peers seed, leech and completed each torrent (BEP 48 scrape); registers nothing',
      input: scrapeIn.extend({ path: z.string().regex(/^\//, 'path starts with /').default('/scrape').describe('The scrape path (an announce path with "announce" made "scrape")') }),
      output: scrapeOut,
      defaultPort: 6969,
      text: scrapeText,
      run: httpScrape,
    }),
    announceUdp: operation({
      summary: 'The announce over a UDP tracker (BEP 15: connect, then announce with the connection id); registers this peer, and a "stopped" announce takes it off again unless leave is off',
      input: announceIn.extend(retryFields({ retries: 2, waitMs: 3000 })),
      output: announceOut,
      defaultPort: 6969,
      needs: ['udp'],
      alternatives: UDP_ALTERNATIVE,
      primary: ['infoHash', 'event', 'leave'],
      text: announceText,
      run: udpAnnounce,
    }),
    scrapeUdp: operation({
      summary: 'The scrape over a UDP tracker (BEP 15): seeders, completed and leechers of each torrent; registers nothing',
      input: scrapeIn.extend(retryFields({ retries: 2, waitMs: 3000 })),
      output: scrapeOut,
      defaultPort: 6969,
      needs: ['udp'],
      alternatives: UDP_ALTERNATIVE,
      text: scrapeText,
      run: udpScrape,
    }),
  },
});
