// Ident, RFC 1413 §6: the query `<port-on-server> , <port-on-client>` and the USERID / ERROR replies.
import { ProtocolError } from '../../core/errors.ts';

export type IdentReply =
  | { kind: 'USERID'; serverPort: number; clientPort: number; opsys: string; charset: string | null; userId: string }
  | { kind: 'ERROR'; serverPort: number; clientPort: number; error: string };

/** RFC 1413 §6: INVALID-PORT, NO-USER, HIDDEN-USER and UNKNOWN-ERROR, or an X-token of the server's own. */
export const ERROR_MEANINGS: Record<string, string> = {
  'INVALID-PORT': 'the port pair was not valid',
  'NO-USER': 'no connection with this port pair is known, or it has no owner',
  'HIDDEN-USER': 'the owner exists but the server will not say who',
  'UNKNOWN-ERROR': 'the server cannot tell',
};

export function query(serverPort: number, clientPort: number): string {
  return `${serverPort}, ${clientPort}\r\n`;
}

function port(text: string, what: string): number {
  const t = text.trim();
  if (!/^\d{1,5}$/.test(t) || Number(t) < 1 || Number(t) > 65535) throw new ProtocolError(`ident reply: ${what} ${JSON.stringify(t)} is not a port`);
  return Number(t);
}

/** Parses one reply line (without CR LF). Spaces around tokens are optional (RFC 1413 §6). */
export function parseReply(line: string): IdentReply {
  const parts = line.split(':');
  if (parts.length < 3) throw new ProtocolError(`ident reply without its fields: ${JSON.stringify(line.slice(0, 200))}`);
  const [pair, type, ...rest] = parts;
  const ports = pair.split(',');
  if (ports.length !== 2) throw new ProtocolError(`ident reply: no port pair in ${JSON.stringify(pair)}`);
  const serverPort = port(ports[0], 'port-on-server');
  const clientPort = port(ports[1], 'port-on-client');
  const kind = type.trim().toUpperCase();
  if (kind === 'ERROR') return { kind: 'ERROR', serverPort, clientPort, error: rest.join(':').trim() };
  if (kind !== 'USERID') throw new ProtocolError(`ident reply type ${JSON.stringify(type.trim())} is neither USERID nor ERROR`);
  if (rest.length < 2) throw new ProtocolError('ident USERID reply without a user id');
  // The user id is everything after the third colon, colons and spaces included (RFC 1413 §6: octets up to CR LF).
  const [osField, ...idParts] = rest;
  const [opsys, charset] = osField.split(',').map((s) => s.trim());
  return { kind: 'USERID', serverPort, clientPort, opsys, charset: charset ?? null, userId: idParts.join(':').replace(/^ /, '') };
}
