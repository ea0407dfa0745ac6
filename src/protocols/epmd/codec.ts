// EPMD, the Erlang Port Mapper Daemon (erts "Distribution Protocol", section "EPMD Protocol"): requests
// are a 2-byte length and the request; NAMES_REQ is answered by epmd's port and text lines until close,
// PORT_PLEASE2_REQ by PORT2_RESP with the node's port, type, protocol, versions and extra field.
import { ByteReader, ByteWriter, fromLatin1, fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const NAMES_REQ = 110;
export const PORT_PLEASE2_REQ = 122;
export const PORT2_RESP = 119;

/** A request: Length (2 bytes) then the request bytes, the first of which is its code. */
export function encodeRequest(code: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  return new ByteWriter(3 + body.length).u16(1 + body.length).u8(code).bytes(body).finish();
}

export const namesRequest = (): Uint8Array => encodeRequest(NAMES_REQ);
export const portPleaseRequest = (node: string): Uint8Array => encodeRequest(PORT_PLEASE2_REQ, utf8(node));

export interface NamesReply {
  epmdPort: number;
  nodes: { name: string; port: number }[];
  /** Lines that did not read "name N at port P". */
  other: string[];
}

/** NAMES_RESP: EPMDPortNo (4 bytes), then "name <node> at port <port>\n" lines up to the close. */
export function parseNames(bytes: Uint8Array): NamesReply {
  const r = new ByteReader(bytes);
  const epmdPort = r.u32('EPMDPortNo');
  const nodes: NamesReply['nodes'] = [];
  const other: string[] = [];
  for (const line of fromLatin1(r.rest()).split('\n')) {
    if (line === '') continue;
    const m = /^name (\S+) at port (\d+)$/.exec(line);
    if (m) nodes.push({ name: m[1], port: Number(m[2]) });
    else other.push(line);
  }
  return { epmdPort, nodes, other };
}

export const NODE_TYPES: Record<number, string> = { 72: 'hidden', 77: 'normal' };
export const NODE_PROTOCOLS: Record<number, string> = { 0: 'tcp/ipv4' };

export interface PortReply {
  result: number;
  node?: {
    name: string;
    port: number;
    nodeType: number;
    type: string;
    protocol: number;
    protocolName: string;
    highestVersion: number;
    lowestVersion: number;
    extra: string;
  };
}

/** PORT2_RESP: 119, Result; on 0: PortNo, NodeType, Protocol, HighestVersion, LowestVersion, Nlen, NodeName, Elen, Extra. */
export const port2Frame: Frame<PortReply> = (buf) => {
  if (buf.length < 2) return undefined;
  if (buf[0] !== PORT2_RESP) throw new ProtocolError(`PORT2_RESP expected (119), got code ${buf[0]}`);
  const result = buf[1];
  if (result !== 0) return { value: { result }, size: 2 };
  if (buf.length < 12) return undefined;
  const r = new ByteReader(buf, 2);
  const port = r.u16('PortNo');
  const nodeType = r.u8('NodeType');
  const protocol = r.u8('Protocol');
  const highestVersion = r.u16('HighestVersion');
  const lowestVersion = r.u16('LowestVersion');
  const nlen = r.u16('Nlen');
  if (buf.length < 12 + nlen + 2) return undefined;
  const name = fromUtf8(r.bytesN(nlen, 'NodeName'));
  const elen = r.u16('Elen');
  if (buf.length < 14 + nlen + elen) return undefined;
  const extra = fromLatin1(r.bytesN(elen, 'Extra'));
  return {
    value: {
      result,
      node: { name, port, nodeType, type: NODE_TYPES[nodeType] ?? `unknown (${nodeType})`, protocol, protocolName: NODE_PROTOCOLS[protocol] ?? `unknown (${protocol})`, highestVersion, lowestVersion, extra },
    },
    size: 14 + nlen + elen,
  };
};
