// Portmapper / rpcbind (RFC 1833, TCP 111): which ONC RPC programs a host offers, on which ports.
import * as z from 'zod';
import { ProtocolError } from '../../core/errors.ts';
import { defineProtocol, operation, type AnyObject, type OperationContext, type OperationSpec } from '../../core/protocol.ts';
import { RpcClient, udpCall } from '../oncrpc/client.ts';
import { resultsOf, type Call, type Reply } from '../oncrpc/codec.ts';
import { parsePmapDump, parseRpcbDump, parseUniversalAddress, PMAP_PROG, pmapArgs, PROC, programNumber, PROGRAMS, rpcbArgs } from './codec.ts';
import { identification } from './identify.ts';

const program = z
  .union([z.number().int().min(0).max(0xffffffff), z.string().min(1).max(64)])
  .describe('Program number, or a known name (nfs, mountd, nlockmgr, status, portmapper ...)')
  .meta({ examples: [100003] });
const version = z.number().int().min(0).max(0xffffffff).describe('Program version').meta({ examples: [3] });


const entryOut = z.object({
  program: z.number(),
  name: z.string().nullable().describe('Known name of the program'),
  version: z.number(),
  netid: z.string().describe('tcp, udp (version 2 protocols) or the rpcbind netid: tcp6, udp6, local ...'),
  port: z.number().nullable(),
  address: z.string().nullable().describe('Universal address (versions 3 and 4)'),
  owner: z.string().nullable(),
});

type DumpInput = { version: 'auto' | 2 | 3 | 4 };

type Caller = (c: Omit<Call, 'xid'>, what: string) => Promise<Reply>;

async function tcpCaller(ctx: OperationContext): Promise<Caller> {
  const c = new RpcClient(await ctx.dial(), (n) => ctx.crypto.randomBytes(n));
  return (call, what) => c.call(call, what);
}

async function udpCaller(ctx: OperationContext): Promise<Caller> {
  const conn = await ctx.dialUdp();
  return (call, what) => udpCall(conn, call, (n) => ctx.crypto.randomBytes(n), what);
}

async function dump(call: Caller, input: DumpInput) {
  const versions = input.version === 'auto' ? [4, 3, 2] : [input.version];
  for (const [i, v] of versions.entries()) {
    const reply = await call({ prog: PMAP_PROG, vers: v, proc: PROC.DUMP }, `DUMP v${v}`);
    // An old portmap knows only version 2: it answers PROG_MISMATCH and the next version is asked.
    if (reply.status === 'PROG_MISMATCH' && i < versions.length - 1) continue;
    const x = resultsOf(reply, `DUMP v${v}`);
    if (v === 2) {
      return { version: v, entries: parsePmapDump(x).map((m) => ({ program: m.program, name: PROGRAMS[m.program] ?? null, version: m.version, netid: m.protocol, port: m.port, address: null, owner: null })) };
    }
    return {
      version: v,
      entries: parseRpcbDump(x).map((b) => ({ program: b.program, name: PROGRAMS[b.program] ?? null, version: b.version, netid: b.netid, port: parseUniversalAddress(b.address)?.port ?? null, address: b.address, owner: b.owner })),
    };
  }
  throw new ProtocolError('DUMP: no version of RPCBIND or PMAP answered');
}

async function getport(call: Caller, input: { program: number | string; version: number; protocol: 'tcp' | 'udp' }) {
  const prog = programNumber(input.program, 'program');
  const port = resultsOf(await call({ prog: PMAP_PROG, vers: 2, proc: PROC.GETPORT, args: pmapArgs(prog, input.version, input.protocol) }, 'GETPORT'), 'GETPORT').u32('port');
  return { program: prog, name: PROGRAMS[prog] ?? null, port, registered: port !== 0 };
}

const dumpIn = z.object({ version: z.union([z.literal('auto'), z.literal(2), z.literal(3), z.literal(4)]).default('auto').describe('auto: RPCBIND 4, then 3, then PMAP 2 for old portmappers') });
const dumpOut = z.object({ version: z.number(), entries: z.array(entryOut) });
function dumpText(r: z.infer<typeof dumpOut>): string {
  return r.entries.map((e) => `${String(e.program).padStart(10)} ${String(e.version).padStart(4)} ${e.netid.padEnd(6)} ${(e.address ?? String(e.port)).padEnd(22)} ${e.name ?? ''}`).join('\n');
}

const getportIn = z.object({ program, version, protocol: z.enum(['tcp', 'udp']).default('tcp').describe('The transport of the program asked about') });
const getportOut = z.object({ program: z.number(), name: z.string().nullable(), port: z.number(), registered: z.boolean() });

const getaddrIn = z.object({ program, version, netid: z.string().min(1).max(32).default('tcp').describe('tcp, udp, tcp6, udp6, local'), rpcbindVersion: z.union([z.literal(3), z.literal(4)]).default(4) });
const getaddrOut = z.object({ program: z.number(), name: z.string().nullable(), address: z.string(), host: z.string().nullable(), port: z.number().nullable(), registered: z.boolean() });

async function getaddr(call: Caller, input: z.infer<typeof getaddrIn>): Promise<z.infer<typeof getaddrOut>> {
  const prog = programNumber(input.program, 'program');
  const address = resultsOf(await call({ prog: PMAP_PROG, vers: input.rpcbindVersion, proc: PROC.GETADDR, args: rpcbArgs(prog, input.version, input.netid) }, 'GETADDR'), 'GETADDR').string('address', 256);
  const parsed = address ? parseUniversalAddress(address) : null;
  return { program: prog, name: PROGRAMS[prog] ?? null, address, host: parsed?.host ?? null, port: parsed?.port ?? null, registered: address !== '' };
}

const pingIn = z.object({ program: program.default(100000), version: version.default(2) });
const pingOut = z.object({ program: z.number(), name: z.string().nullable(), version: z.number(), answered: z.boolean(), status: z.string(), supportedVersions: z.object({ low: z.number(), high: z.number() }).nullable() });

function pingText(r: z.infer<typeof pingOut>): string {
  return `program ${r.program} version ${r.version}: ${r.answered ? 'ready and waiting' : r.status}${r.supportedVersions ? ` (versions ${r.supportedVersions.low}-${r.supportedVersions.high})` : ''}`;
}

async function ping(call: Caller, input: z.infer<typeof pingIn>): Promise<z.infer<typeof pingOut>> {
  const prog = programNumber(input.program, 'program');
  const reply = await call({ prog, vers: input.version, proc: PROC.NULL }, 'NULL');
  if (reply.status === 'AUTH_ERROR' || reply.status === 'RPC_MISMATCH') resultsOf(reply, 'NULL');
  const low = 'low' in reply && reply.low !== undefined ? { low: reply.low, high: reply.high! } : null;
  return { program: prog, name: PROGRAMS[prog] ?? null, version: input.version, answered: reply.status === 'SUCCESS', status: reply.status, supportedVersions: low };
}

/**
 * An operation twice, with the same fields and answers: over TCP as `name`, and over UDP as `nameUdp`, which needs
 * the Node host (rpcinfo asks over UDP first; Workers have no UDP).
 */
function overTcpAndUdp<I extends AnyObject, O extends z.ZodType>(
  name: string,
  udpSummary: string,
  spec: Omit<OperationSpec<I, O>, 'run'> & { call: (caller: Caller, input: z.infer<I>) => Promise<z.infer<O>> },
): Record<string, OperationSpec<I, O>> {
  const { call, ...common } = spec;
  return {
    [name]: operation({ ...common, run: async (ctx, input) => call(await tcpCaller(ctx), input) }),
    [`${name}Udp`]: operation({ ...common, summary: udpSummary, needs: ['udp'], run: async (ctx, input) => call(await udpCaller(ctx), input) }),
  };
}

export default defineProtocol({
  id: 'portmapper',
  title: 'Portmapper / rpcbind',
  category: 'network',
  summary: 'Asks rpcbind which ONC RPC programs run where: DUMP (versions 2, 3, 4), GETPORT, GETADDR, and a NULL-procedure ping of a program (RFC 1833, RFC 5531).',
  ports: [
    { port: 111, transport: 'tcp', label: 'rpcbind' },
    { port: 111, transport: 'udp', label: 'rpcbind (Node host)' },
  ],
  specs: ['RFC 1833', 'RFC 5531', 'RFC 4506', 'RFC 5665'],
  rating: {
    stars: 5,
    reason: 'Lab-tested against rpcbind 1.2.6 (in a network namespace of its own, port 111 reached through loopback forwarders): through workerd over TCP, DUMP in versions 2, 3 and 4 with names for known programs, GETPORT and GETADDR (RPCBIND 3 and 4) of registered and unregistered programs, a NULL ping answered, refused with PROG_MISMATCH (the versions the program supports) or PROG_UNAVAIL; the same DUMP, GETPORT, GETADDR and ping over UDP through the Node host. Not done: CALLIT/INDIRECT (remote calls through rpcbind), GETSTAT, SET/UNSET.',
  },
  verifiedAgainst: 'rpcbind 1.2.6-6+b1 (Debian 12)',
  defaultOperation: 'dump',
  identify: identification,
  operations: {
    ...overTcpAndUdp('dump', 'DUMP over UDP (what rpcinfo -p asks first); Node host only', {
      summary: 'Every registered program, version, transport and port (rpcinfo -p / rpcinfo)',
      input: dumpIn,
      output: dumpOut,
      text: dumpText,
      call: dump,
    }),
    ...overTcpAndUdp('getport', 'GETPORT over UDP; Node host only', {
      primary: ['program', 'version', 'protocol'],
      summary: 'PMAPPROC_GETPORT: the port of a program version over TCP or UDP (0: not registered)',
      input: getportIn,
      output: getportOut,
      text: (r) => (r.registered ? String(r.port) : 'not registered'),
      call: getport,
    }),
    ...overTcpAndUdp('getaddr', 'GETADDR over UDP; Node host only', {
      primary: ['program', 'version', 'netid'],
      summary: 'RPCBPROC_GETADDR (version 4, or 3): the universal address of a program version on a netid',
      input: getaddrIn,
      output: getaddrOut,
      text: (r) => (r.registered ? r.address : 'not registered'),
      call: getaddr,
    }),
    ...overTcpAndUdp('ping', 'NULL ping of a program over UDP (rpcinfo -u); Node host only', {
      primary: ['program', 'version'],
      summary: "Calls procedure 0 (NULL) of a program at the target port: answered, or the server's refusal (rpcinfo -t)",
      input: pingIn,
      output: pingOut,
      text: pingText,
      failedAs: (r) => (r.answered ? undefined : 'server_error'),
      call: ping,
    }),
  },
});
