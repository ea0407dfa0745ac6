// File operations on an SMB2 tree, [MS-SMB2] §3.2.4: open (CREATE), close, directory listing (QUERY_DIRECTORY),
// reads and writes pipelined within the server's credits (§3.2.4.1.5), rename (SET_INFO FileRenameInformation),
// delete on close, mkdir.
import { fixedChunks, type ByteSink, type ByteSource } from '../../core/files.ts';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import type { SmbClient, Tree } from './client.ts';
import {
  ACCESS,
  closeBody,
  COMMAND,
  CREATE_OPTIONS,
  createBody,
  decodeCloseResponse,
  decodeCreateResponse,
  decodeDirectoryEntries,
  decodeQueryDirectoryResponse,
  decodeReadResponse,
  decodeWriteResponse,
  DISPOSITION,
  FILE_DISPOSITION_INFORMATION,
  FILE_RENAME_INFORMATION,
  queryDirectoryBody,
  QUERY_FLAGS,
  readBody,
  renameInformation,
  setInfoBody,
  STATUS,
  writeBody,
  type CreateResponse,
  type DirectoryEntry,
} from './codec.ts';
import { statusError } from './client.ts';

/** A path as SMB wants it: backslashes, no leading separator; `..` and the rest exactly as typed. */
export function smbPath(path: string): string {
  return path.replace(/\//g, '\\').replace(/^\\+/, '');
}

/** Largest single READ or WRITE asked (the server's maximum may be lower). */
const MAX_IO = 1024 * 1024;
/** Requests in flight during a transfer. */
const PIPELINE = 4;
/** Most entries one listing returns. */
export const MAX_ENTRIES = 100_000;

export async function open(c: SmbClient, tree: Tree, path: string, o: { access: number; disposition?: number; options?: number; attributes?: number }): Promise<CreateResponse> {
  const name = smbPath(path);
  const r = await c.call(COMMAND.create, createBody({ name, access: o.access, disposition: o.disposition ?? DISPOSITION.open, options: o.options ?? 0, attributes: o.attributes }), { treeId: tree.id, what: JSON.stringify(name || '\\') });
  return decodeCreateResponse(r.msg);
}

export async function close(c: SmbClient, tree: Tree, fileId: Uint8Array, postQuery = false) {
  const r = await c.call(COMMAND.close, closeBody(fileId, postQuery), { treeId: tree.id });
  return decodeCloseResponse(r.msg);
}

export async function listDirectory(c: SmbClient, tree: Tree, path: string, pattern = '*', max = MAX_ENTRIES): Promise<{ dir: CreateResponse; entries: DirectoryEntry[]; truncated: boolean }> {
  const dir = await open(c, tree, path, { access: ACCESS.readData | ACCESS.readAttributes | ACCESS.synchronize, options: CREATE_OPTIONS.directory });
  const entries: DirectoryEntry[] = [];
  let truncated = false;
  try {
    const outputLength = Math.min(c.negotiated?.maxTransactSize ?? 65536, 65536);
    for (let first = true; ; first = false) {
      const r = await c.call(COMMAND.queryDirectory, queryDirectoryBody(dir.fileId, pattern, outputLength, first ? QUERY_FLAGS.restartScans : 0), { treeId: tree.id, what: JSON.stringify(pattern), ok: [STATUS.NO_MORE_FILES] });
      if (r.header.status === STATUS.NO_MORE_FILES) break;
      entries.push(...decodeDirectoryEntries(decodeQueryDirectoryResponse(r.msg)));
      if (entries.length > max) {
        entries.length = max;
        truncated = true;
        break;
      }
    }
  } finally {
    await close(c, tree, dir.fileId);
  }
  return { dir, entries, truncated };
}

/**
 * Reads [offset, end) into `sink`, PIPELINE reads in flight: each response is written (and its write awaited)
 * in order before another read is asked, so the sink's pace sets the server's.
 */
export async function readRange(c: SmbClient, tree: Tree, fileId: Uint8Array, offset: number, end: number, sink: ByteSink): Promise<number> {
  const chunk = Math.min(MAX_IO, c.negotiated?.maxReadSize ?? 65536, c.multiCredit ? MAX_IO : 65536);
  const inFlight: { id: bigint; at: number; len: number }[] = [];
  let next = offset;
  let written = 0;
  const issue = async () => {
    const len = Math.min(chunk, end - next);
    const charge = c.chargeFor(len);
    const id = await c.send(COMMAND.read, readBody(fileId, BigInt(next), len), { treeId: tree.id, charge, what: `${len} bytes at ${next}` });
    inFlight.push({ id, at: next, len });
    next += len;
  };
  while (next < end || inFlight.length > 0) {
    while (next < end && inFlight.length < PIPELINE && c.availableCredits >= c.chargeFor(Math.min(chunk, end - next))) await issue();
    if (inFlight.length === 0) {
      if (next < end) await issue();
      continue;
    }
    const req = inFlight.shift()!;
    const r = await c.receive(req.id);
    if (r.header.status === STATUS.END_OF_FILE) throw new ServerError(`READ at ${req.at}: STATUS_END_OF_FILE: the file ended before its announced size (${end} bytes); it shrank during the transfer`, { statusName: 'STATUS_END_OF_FILE' });
    if (r.header.status !== STATUS.SUCCESS) throw statusError(`READ at ${req.at}`, r.header.status);
    let data = decodeReadResponse(r.msg, req.len);
    if (data.length === 0) throw new ProtocolError(`SMB: an empty READ answer at ${req.at} before the end of the file`);
    // A short read: ask for the rest of this range before the ranges already in flight are taken.
    for (let at = req.at + data.length; ; ) {
      await sink.write(data);
      written += data.length;
      if (at >= req.at + req.len) break;
      const missing = req.at + req.len - at;
      const got = await c.call(COMMAND.read, readBody(fileId, BigInt(at), missing), { treeId: tree.id, charge: c.chargeFor(missing) });
      data = decodeReadResponse(got.msg, missing);
      if (data.length === 0) throw new ProtocolError(`SMB: an empty READ answer at ${at} before the end of the file`);
      at += data.length;
    }
  }
  return written;
}

/** Writes the source from `offset` on, PIPELINE writes in flight; returns the bytes the server took. */
export async function writeFrom(c: SmbClient, tree: Tree, fileId: Uint8Array, source: ByteSource, offset = 0): Promise<number> {
  const chunk = Math.min(MAX_IO, c.negotiated?.maxWriteSize ?? 65536, c.multiCredit ? MAX_IO : 65536);
  const inFlight: { id: bigint; at: number; len: number }[] = [];
  let at = offset;
  let taken = 0;
  const settle = async () => {
    const req = inFlight.shift()!;
    const r = await c.receive(req.id);
    if (r.header.status !== STATUS.SUCCESS) throw statusError(`WRITE at ${req.at}`, r.header.status);
    const count = decodeWriteResponse(r.msg);
    if (count !== req.len) throw new ServerError(`WRITE at ${req.at}: the server took ${count} of ${req.len} bytes`);
    taken += count;
  };
  const flush = async (data: Uint8Array) => {
    while (inFlight.length >= PIPELINE || (inFlight.length > 0 && c.availableCredits < c.chargeFor(data.length))) await settle();
    const id = await c.send(COMMAND.write, writeBody(fileId, BigInt(at), data), { treeId: tree.id, charge: c.chargeFor(data.length), what: `${data.length} bytes at ${at}` });
    inFlight.push({ id, at, len: data.length });
    at += data.length;
  };
  for await (const data of fixedChunks(source, chunk)) await flush(data);
  while (inFlight.length > 0) await settle();
  return taken;
}

export async function rename(c: SmbClient, tree: Tree, from: string, to: string, replace: boolean): Promise<void> {
  const f = await open(c, tree, from, { access: ACCESS.delete | ACCESS.readAttributes | ACCESS.synchronize });
  try {
    await c.call(COMMAND.setInfo, setInfoBody(f.fileId, FILE_RENAME_INFORMATION, renameInformation(smbPath(to), replace)), { treeId: tree.id, what: `rename to ${JSON.stringify(smbPath(to))}` });
  } finally {
    await close(c, tree, f.fileId);
  }
}

/**
 * Deletes a file or an empty directory: opened with DELETE, then marked with FileDispositionInformation
 * ([MS-FSCC] §2.4.11), which is where the server says STATUS_DIRECTORY_NOT_EMPTY (delete-on-close at open is
 * checked only at close, whose failure no one hears).
 */
export async function remove(c: SmbClient, tree: Tree, path: string): Promise<CreateResponse> {
  const f = await open(c, tree, path, { access: ACCESS.delete | ACCESS.readAttributes | ACCESS.synchronize });
  try {
    await c.call(COMMAND.setInfo, setInfoBody(f.fileId, FILE_DISPOSITION_INFORMATION, Uint8Array.of(1)), { treeId: tree.id, what: `delete ${JSON.stringify(smbPath(path))}` });
  } finally {
    await close(c, tree, f.fileId);
  }
  return f;
}

export async function mkdir(c: SmbClient, tree: Tree, path: string): Promise<CreateResponse> {
  const f = await open(c, tree, path, { access: ACCESS.readAttributes | ACCESS.synchronize, disposition: DISPOSITION.create, options: CREATE_OPTIONS.directory });
  await close(c, tree, f.fileId);
  return f;
}
