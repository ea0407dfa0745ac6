// The BSD r-commands' wire forms: rshd(8) and rexecd(8) requests ("port\0user\0...\0command\0"), the one-byte
// answer (0, or 1 and a message line), and rlogin's handshake and window-size cookie, RFC 1282 §"Connection
// Establishment" and §"Window Size".
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';
import { ByteWriter, fromLatin1, utf8 } from '../../core/bytes.ts';

/** rshd reads each string into a fixed buffer; longer ones are refused ("locuser too long"). */
export const MAX_USER = 16;
export const MAX_COMMAND = 8192;
const MAX_MESSAGE = 1024;

function field(text: string, name: string, max: number): Uint8Array {
  const b = utf8(text);
  if (b.includes(0)) throw new RangeError(`${name} contains NUL`);
  if (b.length > max) throw new RangeError(`${name} is longer than ${max} bytes`);
  return b;
}

/**
 * rshd: "stderr-port\0 local-user\0 remote-user\0 command\0", sent from a port below 1024. Port 0 asks for no
 * second connection: standard error then travels with standard output.
 */
export function rshRequest(stderrPort: number, localUser: string, remoteUser: string, command: string): Uint8Array {
  return new ByteWriter(64)
    .cstring(String(stderrPort))
    .cstring(field(localUser, 'localUser', MAX_USER))
    .cstring(field(remoteUser, 'user', MAX_USER))
    .cstring(field(command, 'command', MAX_COMMAND))
    .finish();
}

/** rexecd: "stderr-port\0 user\0 password\0 command\0" (any source port; the password authenticates). */
export function rexecRequest(stderrPort: number, user: string, password: string, command: string): Uint8Array {
  return new ByteWriter(64)
    .cstring(String(stderrPort))
    .cstring(field(user, 'user', MAX_USER))
    .cstring(field(password, 'password', 15))
    .cstring(field(command, 'command', MAX_COMMAND))
    .finish();
}

/** RFC 1282: "\0 client-user\0 server-user\0 terminal-type/speed\0". */
export function rloginHandshake(localUser: string, remoteUser: string, terminal: string, speed: number): Uint8Array {
  return new ByteWriter(64)
    .u8(0)
    .cstring(field(localUser, 'localUser', MAX_USER))
    .cstring(field(remoteUser, 'user', MAX_USER))
    .cstring(`${terminal}/${speed}`)
    .finish();
}

/** RFC 1282 §"Window Size": FF FF 's' 's' rows cols xpixels ypixels, 16 bits each, network order. */
export function windowCookie(rows: number, cols: number, xpixels = 0, ypixels = 0): Uint8Array {
  return new ByteWriter(12).u8(0xff).u8(0xff).u8(0x73).u8(0x73).u16(rows).u16(cols).u16(xpixels).u16(ypixels).finish();
}

export type Reply = { ok: true } | { ok: false; message: string };

/** The server's first byte: 0 is go-ahead; 1 is followed by a message line saying why not. */
export const replyFrame: Frame<Reply> = (buf) => {
  if (buf.length === 0) return undefined;
  if (buf[0] === 0) return { value: { ok: true }, size: 1 };
  if (buf[0] !== 1) {
    // Some daemons print an error without the 1 byte: read the line as the message.
    const nl = buf.indexOf(0x0a);
    if (nl === -1) {
      if (buf.length > MAX_MESSAGE) throw new ProtocolError(`r-command answer starts with 0x${buf[0].toString(16)}, not 0 or 1`);
      return undefined;
    }
    return { value: { ok: false, message: fromLatin1(buf.subarray(0, nl)).trim() }, size: nl + 1 };
  }
  const nl = buf.indexOf(0x0a, 1);
  if (nl === -1) {
    if (buf.length > MAX_MESSAGE) throw new ProtocolError(`r-command error message longer than ${MAX_MESSAGE} bytes`);
    return undefined;
  }
  return { value: { ok: false, message: fromLatin1(buf.subarray(1, nl)).trim() }, size: nl + 1 };
};

/** rsh carries no exit status: the command is wrapped to print one after a newline, which `splitExitStatus` removes. */
export const EXIT_MARKER = '__PORTOLAN_EXIT__';

export function withExitStatus(command: string): string {
  return `(${command}); printf '\\n${EXIT_MARKER}%d\\n' $?`;
}

export function splitExitStatus(output: Uint8Array): { output: Uint8Array; exitStatus: number | null } {
  const tail = fromLatin1(output.subarray(Math.max(0, output.length - 64)));
  const m = new RegExp(`\\n${EXIT_MARKER}(\\d+)\\n$`).exec(tail);
  if (!m) return { output, exitStatus: null };
  return { output: output.subarray(0, output.length - m[0].length), exitStatus: Number(m[1]) };
}
