// Java RMI's transport, JRMP (Java SE "Java RMI Specification", chapter 10 "RMI Wire Protocol"): the
// stream protocol header and ProtocolAck with the endpoint, Ping/PingAck, and a Call to the registry
// (ObjID 0) with the stub operation number and the interface hash of sun.rmi.registry.RegistryImpl_Stub,
// answered by a Return whose serialization stream carries the return type, a UID and the value.
import { ByteWriter, fromBase64, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';
import { StreamReader, TC, attempt, type JValue } from './serialization.ts';

/** "JRMI", version 2, StreamProtocol. */
export const HEADER = new Uint8Array([0x4a, 0x52, 0x4d, 0x49, 0x00, 0x02, 0x4b]);
export const ProtocolAck = 0x4e;
export const ProtocolNotSupported = 0x4f;
export const Msg = { Call: 0x50, Ping: 0x52, DgcAck: 0x54 } as const;
export const Reply = { Return: 0x51, PingAck: 0x53 } as const;

/** java.rmi.registry.Registry through the JDK 1.1 stub protocol: operation numbers and the interface hash. */
export const Registry = { bind: 0, list: 1, lookup: 2, rebind: 3, unbind: 4, interfaceHash: 4905912898345647071n } as const;

/** Longest reply we parse (a registry list of many names, or an exception with its stack trace). */
export const MAX_REPLY = 4 * 1024 * 1024;

/** ProtocolAck: the endpoint (host, port) the server saw us connect from. */
export const ackFrame: Frame<{ host: string; port: number }> = (buf) => {
  if (buf.length < 1) return undefined;
  if (buf[0] === ProtocolNotSupported) throw new ProtocolError('the server answered ProtocolNotSupported to the JRMP stream protocol');
  if (buf[0] !== ProtocolAck) throw new ProtocolError(`ProtocolAck (0x4e) expected, got 0x${buf[0].toString(16)}`);
  return attempt(() => {
    const r = new StreamReader(buf, 1);
    const host = r.utf();
    const port = r.i32();
    return { value: { host, port }, size: r.pos };
  });
};

/** Our endpoint after the ack: the host the server named, and port 0. */
export function clientEndpoint(host: string): Uint8Array {
  return new ByteWriter().lengthPrefixed('u16', utf8(host)).u32(0).finish();
}

/** A Call to the registry: Call, stream header, block data (ObjID 0, operation, hash), then the arguments. */
export function registryCall(op: number, stringArg?: string): Uint8Array {
  const block = new ByteWriter(34)
    .u64(0n) // ObjID.objNum: REGISTRY_ID
    .u32(0).u64(0n).u16(0) // UID: unique, time, count (all 0 for well-known objects)
    .i32(op)
    .i64(Registry.interfaceHash)
    .finish();
  const w = new ByteWriter().u8(Msg.Call).u16(0xaced).u16(5).u8(TC.BLOCKDATA).u8(block.length).bytes(block);
  if (stringArg !== undefined) {
    const s = utf8(stringArg);
    if (s.length > 65535) throw new ProtocolError('name longer than 65535 bytes');
    w.u8(TC.STRING).lengthPrefixed('u16', s);
  }
  return w.finish();
}

export interface ReturnMessage {
  /** 1: the call returned normally; 2: it threw the value. */
  returnType: number;
  value: JValue;
}

/** A Return: 0x51, a serialization stream with returnType and UID in block data, then the value (or exception). */
export const returnFrame: Frame<ReturnMessage> = (buf) => {
  if (buf.length < 1) return undefined;
  if (buf[0] !== Reply.Return) throw new ProtocolError(`Return (0x51) expected, got 0x${buf[0].toString(16)}`);
  const got = attempt(() => {
    const r = new StreamReader(buf, 1);
    r.header();
    const head = r.blockData();
    if (head.length < 15) throw new ProtocolError(`return header of ${head.length} bytes (returnType and UID are 15)`);
    const returnType = head[0];
    if (returnType !== 1 && returnType !== 2) throw new ProtocolError(`return type ${returnType} (1 normal, 2 exceptional)`);
    // A void method returns nothing after the header; the registry's calls here all return a value.
    const value = r.content();
    return { value: { returnType, value }, size: r.pos };
  });
  if (!got && buf.length > MAX_REPLY) throw new ProtocolError(`RMI reply larger than ${MAX_REPLY} bytes`);
  return got;
};

/** What a RemoteObject's writeObject wrote: the ref class name, then (UnicastRef) the endpoint and ObjID. */
export function remoteEndpoint(annotation: JValue[] | undefined): { refType: string; host: string; port: number } | null {
  const block = annotation?.find((v): v is { block: string; bytes: number } => typeof v === 'object' && v !== null && 'block' in v);
  if (!block) return null;
  const bytes = fromBase64(block.block);
  return attempt(() => {
    const r = new StreamReader(bytes);
    const refType = r.utf();
    // UnicastRef2 writes a format byte first (0: host and port, 1: with a client socket factory).
    if (refType === 'UnicastRef2') r.u8();
    else if (refType !== 'UnicastRef') return { refType, host: '', port: 0 };
    return { refType, host: r.utf(), port: r.i32() };
  }) ?? null;
}
