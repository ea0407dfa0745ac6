// The server service over the \PIPE\srvsvc named pipe ([MS-SRVS] §3.1.4.8 NetrShareEnum, opnum 15) with
// DCE/RPC over SMB (ncacn_np, [MS-RPCE] §2.1.1.2): the pipe is a byte stream of RPC fragments, so the DCE/RPC
// client of src/protocols/dcerpc runs over it unchanged, each read a READ and each write a WRITE on the pipe.
import { ByteReader, ByteWriter } from '../../core/bytes.ts';
import { Conn, type Transport } from '../../core/conn.ts';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { RpcConnection } from '../dcerpc/client.ts';
import { NAMED_INTERFACES } from '../dcerpc/codec.ts';
import type { SmbClient, Tree } from './client.ts';
import { ACCESS, COMMAND, decodeReadResponse, decodeWriteResponse, readBody, STATUS, utf16le, fromUtf16le, writeBody } from './codec.ts';
import { close, open } from './files.ts';

const PIPE_READ = 4280;

/** A named pipe as a Transport: reads are READs (waiting while the pipe is empty), writes are WRITEs. */
function pipeTransport(c: SmbClient, tree: Tree, fileId: Uint8Array): Transport {
  return {
    async read(max) {
      const len = Math.min(max ?? PIPE_READ, PIPE_READ);
      const r = await c.call(COMMAND.read, readBody(fileId, 0n, len), { treeId: tree.id, what: 'srvsvc pipe', ok: [STATUS.BUFFER_OVERFLOW] });
      return decodeReadResponse(r.msg, len).slice();
    },
    async write(bytes) {
      const r = await c.call(COMMAND.write, writeBody(fileId, 0n, bytes), { treeId: tree.id, what: 'srvsvc pipe' });
      if (decodeWriteResponse(r.msg) !== bytes.length) throw new ProtocolError('SMB: the srvsvc pipe took part of an RPC fragment');
    },
    startTls() {
      return Promise.reject(new ProtocolError('SMB: a named pipe has no TLS'));
    },
    close: () => Promise.resolve(),
    info: () => ({}),
  };
}

export interface ShareInfo {
  name: string;
  type: string;
  special: boolean;
  temporary: boolean;
  comment: string;
}

const SHARE_TYPE: Record<number, string> = { 0: 'disk', 1: 'printer', 2: 'device', 3: 'ipc' };

/** NetrShareEnum (opnum 15) at level 1: request stub ([MS-SRVS] §3.1.4.8), NDR with unique pointers. */
export function netShareEnumRequest(server: string): Uint8Array {
  const name = utf16le(`\\\\${server}\0`);
  const chars = name.length / 2;
  const w = new ByteWriter(128).u32le(0x00020000).u32le(chars).u32le(0).u32le(chars).bytes(name);
  while (w.length % 4) w.u8(0);
  // LPSHARE_ENUM_STRUCT: Level 1, the union's switch 1, a pointer to an empty SHARE_INFO_1_CONTAINER.
  w.u32le(1).u32le(1).u32le(0x00020004).u32le(0).u32le(0);
  // PreferedMaximumLength, then ResumeHandle (a unique pointer to 0).
  w.u32le(0xffffffff).u32le(0x00020008).u32le(0);
  return w.finish();
}

const MAX_SHARES = 10_000;

/** A conformant varying string (max count, offset, actual count, UTF-16 with its NUL), aligned to 4 after. */
function ndrString(r: ByteReader, field: string): string {
  const max = r.u32le(`${field} MaxCount`);
  r.u32le(`${field} Offset`);
  const actual = r.u32le(`${field} ActualCount`);
  if (actual > max || actual > 65_536) throw new ProtocolError(`srvsvc: ${field} of ${actual} characters`);
  const text = fromUtf16le(r.bytesN(actual * 2, field)).replace(/\0$/, '');
  while (r.offset % 4) r.skip(1, 'padding');
  return text;
}

export function decodeNetShareEnumResponse(stub: Uint8Array): { shares: ShareInfo[]; total: number } {
  const r = new ByteReader(stub);
  const level = r.u32le('Level');
  if (level !== 1) throw new ProtocolError(`srvsvc: answered level ${level}, asked 1`);
  r.u32le('switch');
  const containerPtr = r.u32le('ShareInfo pointer');
  const shares: ShareInfo[] = [];
  if (containerPtr !== 0) {
    const count = r.u32le('EntriesRead');
    const arrayPtr = r.u32le('Buffer pointer');
    if (count > MAX_SHARES) throw new ProtocolError(`srvsvc: ${count} shares (at most ${MAX_SHARES})`);
    if (arrayPtr !== 0) {
      const max = r.u32le('MaxCount');
      if (max !== count) throw new ProtocolError(`srvsvc: array of ${max} for ${count} entries`);
      const raw = Array.from({ length: count }, () => ({ name: r.u32le('shi1_netname'), type: r.u32le('shi1_type'), remark: r.u32le('shi1_remark') }));
      for (const e of raw) {
        const name = e.name ? ndrString(r, 'shi1_netname') : '';
        const comment = e.remark ? ndrString(r, 'shi1_remark') : '';
        shares.push({ name, type: SHARE_TYPE[e.type & 0xffff] ?? `type ${e.type & 0xffff}`, special: (e.type & 0x80000000) !== 0, temporary: (e.type & 0x40000000) !== 0, comment });
      }
    }
  }
  const total = r.u32le('TotalEntries');
  if (r.u32le('ResumeHandle pointer') !== 0) r.u32le('ResumeHandle');
  const status = r.u32le('WERROR');
  if (status !== 0) throw new ServerError(`NetrShareEnum: WERROR 0x${status.toString(16).padStart(8, '0')}`, { werror: status });
  return { shares, total };
}

/** Opens \PIPE\srvsvc on IPC$, binds srvsvc v3.0 and calls NetrShareEnum. */
export async function enumerateShares(ctx: OperationContext, c: SmbClient, ipc: Tree, host: string): Promise<{ shares: ShareInfo[]; total: number }> {
  const pipe = await open(c, ipc, 'srvsvc', { access: ACCESS.readData | ACCESS.writeData | ACCESS.readAttributes | ACCESS.synchronize });
  try {
    const conn = new Conn({ transport: pipeTransport(c, ipc, pipe.fileId), signal: () => ctx.signal, transcript: ctx.transcript, host, port: c.conn.port, tls: 'off', maxBuffered: 8 * 1024 * 1024 });
    const rpc = new RpcConnection(ctx, conn);
    const bound = await rpc.bind(NAMED_INTERFACES.srvsvc);
    if (!bound.accepted) throw new ServerError(`srvsvc: the server refused the bind${bound.nak ? ` (${bound.nak.reasonText})` : ''}`);
    return decodeNetShareEnumResponse(await rpc.call(15, netShareEnumRequest(host), 'NetrShareEnum level 1'));
  } finally {
    await close(c, ipc, pipe.fileId).catch(() => undefined);
  }
}
