// CVS client/server protocol (cvsclient.texi, "Connection and Authentication" and "Responses"), pserver
// flavour: the password scrambled with the table of cvs src/scramble.c, the AUTH and VERIFICATION requests
// answered "I LOVE YOU" / "I HATE YOU", then line requests answered by M/E/MT lines ended by ok or error.
import { utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';

/** cvs src/scramble.c: the "A" scrambling, a fixed substitution of each byte (not encryption). */
export const SHIFTS = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
  114, 120, 53, 79, 96, 109, 72, 108, 70, 64, 76, 67, 116, 74, 68, 87, 111, 52, 75, 119, 49, 34, 82, 81, 95, 65, 112, 86, 118, 110, 122, 105,
  41, 57, 83, 43, 46, 102, 40, 89, 38, 103, 45, 50, 42, 123, 91, 35, 125, 55, 54, 66, 124, 126, 59, 47, 92, 71, 115, 78, 88, 107, 106, 56,
  36, 121, 117, 104, 101, 100, 69, 73, 99, 63, 94, 93, 39, 37, 61, 48, 58, 113, 32, 90, 44, 98, 60, 51, 33, 97, 62, 77, 84, 80, 85, 223,
  225, 216, 187, 166, 229, 189, 222, 188, 141, 249, 148, 200, 184, 136, 248, 190, 199, 170, 181, 204, 138, 232, 218, 183, 255, 234, 220, 247, 213, 203, 226, 193,
  174, 172, 228, 252, 217, 201, 131, 230, 197, 211, 145, 238, 161, 179, 160, 212, 207, 221, 254, 173, 202, 146, 224, 151, 140, 196, 205, 130, 135, 133, 143, 246,
  192, 159, 244, 239, 185, 168, 215, 144, 139, 165, 180, 157, 147, 186, 214, 176, 227, 231, 219, 169, 175, 156, 206, 198, 129, 164, 150, 210, 154, 177, 134, 127,
  182, 128, 158, 208, 162, 132, 167, 209, 149, 241, 153, 251, 237, 236, 171, 195, 243, 233, 253, 240, 194, 250, 191, 155, 142, 137, 245, 235, 163, 242, 178, 152,
];

/** The scrambled password: "A" then each byte substituted. */
export function scramble(password: string): Uint8Array {
  const bytes = utf8(password);
  const out = new Uint8Array(bytes.length + 1);
  out[0] = 0x41;
  for (let i = 0; i < bytes.length; i++) out[i + 1] = SHIFTS[bytes[i]];
  return out;
}

/** BEGIN AUTH REQUEST (or VERIFICATION: check the password and close) with root, user and scrambled password. */
export function authRequest(kind: 'AUTH' | 'VERIFICATION', root: string, user: string, password: string): Uint8Array {
  for (const [field, value] of [['root', root], ['user', user]] as const) if (/[\n\0]/.test(value)) throw new ProtocolError(`${field} may not contain a newline`);
  const head = utf8(`BEGIN ${kind} REQUEST\n${root}\n${user}\n`);
  const tail = utf8(`\nEND ${kind} REQUEST\n`);
  const pw = scramble(password);
  const out = new Uint8Array(head.length + pw.length + tail.length);
  out.set(head);
  out.set(pw, head.length);
  out.set(tail, head.length + pw.length);
  return out;
}

/** The responses this client understands (sent as Valid-responses; the server refuses a request whose answers we lack). */
export const VALID_RESPONSES = [
  'ok', 'error', 'Valid-requests', 'Checked-in', 'New-entry', 'Checksum', 'Copy-file', 'Updated', 'Created', 'Update-existing', 'Merged',
  'Patched', 'Rcs-diff', 'Mode', 'Mod-time', 'Removed', 'Remove-entry', 'Set-static-directory', 'Clear-static-directory', 'Set-sticky',
  'Clear-sticky', 'Template', 'Notified', 'Module-expansion', 'Wrapper-rcsOption', 'M', 'Mbinary', 'E', 'F', 'MT',
];

export type ResponseLine =
  | { kind: 'ok' }
  | { kind: 'error'; code: string; text: string }
  | { kind: 'M' | 'E'; text: string }
  | { kind: 'MT'; tag: string; data: string }
  | { kind: 'Valid-requests'; requests: string[] }
  | { kind: 'other'; name: string; text: string };

/** One response line (without its newline). */
export function parseResponse(line: string): ResponseLine {
  if (line === 'ok') return { kind: 'ok' };
  const sp = line.indexOf(' ');
  const name = sp < 0 ? line : line.slice(0, sp);
  const rest = sp < 0 ? '' : line.slice(sp + 1);
  switch (name) {
    case 'error': {
      // "error" errno-code " " text: the code may be empty.
      const at = rest.indexOf(' ');
      return { kind: 'error', code: at < 0 ? rest : rest.slice(0, at), text: at < 0 ? '' : rest.slice(at + 1) };
    }
    case 'M':
    case 'E':
      return { kind: name, text: rest };
    case 'MT': {
      const at = rest.indexOf(' ');
      return { kind: 'MT', tag: at < 0 ? rest : rest.slice(0, at), data: at < 0 ? '' : rest.slice(at + 1) };
    }
    case 'Valid-requests':
      return { kind: 'Valid-requests', requests: rest.split(' ').filter(Boolean) };
    default:
      return { kind: 'other', name, text: rest };
  }
}

/** Collects the text of M lines and MT tagged text (text, fname, date... each to the line; newline ends it). */
export class OutputCollector {
  readonly lines: string[] = [];
  readonly messages: string[] = [];
  private tagged: string | null = null;

  add(r: ResponseLine): void {
    if (r.kind === 'M') this.lines.push(r.text);
    else if (r.kind === 'E') this.messages.push(r.text);
    else if (r.kind === 'MT') {
      if (r.tag === 'newline') {
        this.lines.push(this.tagged ?? '');
        this.tagged = null;
      } else if (r.tag.startsWith('+') || r.tag.startsWith('-')) {
        // +name / -name bracket a group of tagged text; nothing to add.
      } else this.tagged = (this.tagged ?? '') + r.data;
    }
  }
}
