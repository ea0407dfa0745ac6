// LINEMODE (RFC 1184): the server hands line editing and signal trapping to the client, and tells it which keys do
// what. inetutils telnetd follows its pty: while the program there reads whole lines (login, cat, read), it asks
// for MODE EDIT|TRAPSIG and the client edits the line and sends it whole; when the program takes the terminal raw
// (bash's readline, vi), it turns EDIT off, or LINEMODE itself, and characters go as typed again.
//
// How it works (sans-I/O): `answer` takes the server's LINEMODE subnegotiations and returns the replies: MODE is
// taken and acknowledged, FORWARDMASK refused (lines are sent at their end, or at FORW1/FORW2), and special
// characters (SLC) follow RFC 1184 2.4's rules: a triplet the same as ours is ignored, an acknowledgement of a
// different value taken silently, DEFAULT answered with ours, and any other value taken and acknowledged, so no
// loop can start. `type` takes keystrokes and returns what goes to the server and what the terminal shows: with
// EDIT, keys build a line that EC, EW and EL erase, RP reprints and LNEXT quotes, echoed here unless the server
// echoes (it says WILL ECHO while a password is typed); with TRAPSIG, the IP, ABORT, SUSP, AYT, AO and BRK keys go
// as Telnet commands and IP, ABORT and SUSP drop the line being typed.
import { Cmd, IAC, LM, Level, Mode, Opt, SLC_ACK, SLC_NAMES, caret, commandName, describeSubnegotiation, escapeData, subnegotiation } from './codec.ts';

const F = { SYNCH: 1, BRK: 2, IP: 3, AO: 4, AYT: 5, EOR: 6, ABORT: 7, EOF: 8, SUSP: 9, EC: 10, EL: 11, EW: 12, RP: 13, LNEXT: 14, XON: 15, XOFF: 16, FORW1: 17, FORW2: 18 } as const;
const LAST_FUNCTION = 30;

/** The special characters this side starts with and returns to on DEFAULT: a Linux terminal's. */
const DEFAULTS: ReadonlyMap<number, number> = new Map([
  [F.IP, 0x03],
  [F.AO, 0x0f],
  [F.AYT, 0x14],
  [F.ABORT, 0x1c],
  [F.EOF, 0x04],
  [F.SUSP, 0x1a],
  [F.EC, 0x7f],
  [F.EL, 0x15],
  [F.EW, 0x17],
  [F.RP, 0x12],
  [F.LNEXT, 0x16],
  [F.XON, 0x11],
  [F.XOFF, 0x13],
]);

/** The keys that become Telnet commands under TRAPSIG, and whether they drop the line being typed. */
const TRAPPED: readonly [number, number, boolean][] = [
  [F.IP, Cmd.IP, true],
  [F.ABORT, Cmd.ABORT, true],
  [F.SUSP, Cmd.SUSP, true],
  [F.AYT, Cmd.AYT, false],
  [F.AO, Cmd.AO, false],
  [F.BRK, Cmd.BRK, false],
];

/** A line longer than this is sent as it stands (a terminal's canonical line is 4096 bytes too). */
const MAX_LINE = 4096;

export interface Reply {
  bytes: Uint8Array;
  text: string;
}

export interface Typed {
  /** Bytes for the server, escaped, each with its transcript line. */
  send: Reply[];
  /** What the terminal shows for the keys (the local echo). */
  echo: Uint8Array;
}

interface Slc {
  level: number;
  value: number;
}

export class Linemode {
  /** LINEMODE is on (the server asked, this side said WILL). */
  on = false;
  /** The MODE mask in force, ACK left out. */
  mode = 0;
  private readonly slc = new Map<number, Slc>();
  private line: number[] = [];
  private literal = false;
  private lastWasCr = false;

  constructor() {
    this.reset();
  }

  private reset(): void {
    this.slc.clear();
    for (const [f, value] of DEFAULTS) this.slc.set(f, { level: Level.VALUE, value });
  }

  /** The key bound to a function, or -1 when it has none. */
  private key(f: number): number {
    const s = this.slc.get(f);
    return s && s.level !== Level.NOSUPPORT ? s.value : -1;
  }

  /** The mode and the keys in force, by name, for the answer. */
  state(): { mode: string[]; keys: Record<string, string> } {
    const keys: Record<string, string> = {};
    for (const [f, name] of Object.entries(F)) {
      const k = this.key(name);
      if (k >= 0) keys[f] = caret(k);
    }
    return { mode: Object.entries(Mode).filter(([n, bit]) => n !== 'ACK' && this.mode & bit).map(([n]) => n.replace('_', '-')), keys };
  }

  /** LINEMODE turned on or off by the negotiation; a line being typed when it ends goes as it stands. */
  setOn(on: boolean): Reply[] {
    if (on === this.on) return [];
    this.on = on;
    if (on) return [];
    this.mode = 0;
    return this.flush();
  }

  /** The replies to one LINEMODE subnegotiation from the server (its data after the option byte). */
  answer(data: Uint8Array): Reply[] {
    const reply = (body: number[]): Reply => {
      const bytes = subnegotiation(Opt.LINEMODE, body);
      return { bytes, text: `IAC SB ${describeSubnegotiation(Opt.LINEMODE, Uint8Array.from(body))} IAC SE` };
    };
    if (data[0] === LM.MODE && data.length >= 2) {
      const mask = data[1] & (Mode.EDIT | Mode.TRAPSIG | Mode.SOFT_TAB | Mode.LIT_ECHO);
      const editWas = this.mode & Mode.EDIT;
      this.mode = mask;
      // EDIT turned off with a line half typed: it goes as it stands, and characters go as typed from here.
      const flushed = editWas && !(mask & Mode.EDIT) ? this.flush() : [];
      // RFC 1184 2.2: an ACK confirms a mode; one without is answered with the mode taken, ACK set.
      return data[1] & Mode.ACK ? flushed : [...flushed, reply([LM.MODE, mask | Mode.ACK])];
    }
    if (data[0] === Cmd.DO && data[1] === LM.FORWARDMASK) return [reply([Cmd.WONT, LM.FORWARDMASK])];
    if (data[0] === LM.SLC) {
      const out: number[] = [];
      for (let i = 1; i + 2 < data.length; i += 3) this.slcTriplet(data[i], data[i + 1], data[i + 2], out);
      return out.length ? [reply([LM.SLC, ...out])] : [];
    }
    return [];
  }

  private slcTriplet(f: number, modifiers: number, value: number, out: number[]): void {
    const level = modifiers & 3;
    if (f === 0) {
      // 0 DEFAULT 0: back to this side's defaults; 0 VALUE 0 (SLC_VARIABLE): send them. Both answer with the table.
      if (level === Level.DEFAULT) this.reset();
      if (level === Level.DEFAULT || level === Level.VALUE) for (const [g, s] of this.slc) out.push(g, s.level, s.value);
      return;
    }
    if (f > LAST_FUNCTION) {
      out.push(f, Level.NOSUPPORT, 0);
      return;
    }
    const mine = this.slc.get(f) ?? { level: Level.NOSUPPORT, value: 0 };
    const ack = modifiers & SLC_ACK;
    if (level === mine.level && (value === mine.value || ack)) return;
    if (ack) {
      this.slc.set(f, { level, value });
      return;
    }
    if (level === Level.DEFAULT) {
      const d = DEFAULTS.get(f);
      const next = d === undefined ? { level: Level.NOSUPPORT, value: 0 } : { level: Level.VALUE, value: d };
      this.slc.set(f, next);
      out.push(f, next.level, next.value);
      return;
    }
    // The server's key (VALUE, CANTCHANGE or NOSUPPORT) is taken as it is: this side's keys are the browser's, any will do.
    this.slc.set(f, { level, value });
    out.push(f, modifiers | SLC_ACK, value);
  }

  /** The line typed so far, sent as it stands (no line end). */
  private flush(): Reply[] {
    if (this.line.length === 0) return [];
    const bytes = Uint8Array.from(this.line);
    this.line = [];
    this.literal = false;
    return [{ bytes: escapeData(bytes, true), text: `${bytes.length} bytes of the line being typed` }];
  }

  /** Keystrokes from the terminal: what goes to the server, and what the terminal shows (`echo`: the server is not echoing). */
  type(keys: Uint8Array, opts: { echo: boolean; binary: boolean }): Typed {
    const send: Reply[] = [];
    const echo: number[] = [];
    const show = (text: string | number[]) => {
      if (!opts.echo) return;
      if (typeof text === 'string') for (const c of text) echo.push(c.charCodeAt(0));
      else echo.push(...text);
    };
    const edit = (this.mode & Mode.EDIT) !== 0;
    const trapsig = (this.mode & Mode.TRAPSIG) !== 0;
    let asTyped: number[] = [];
    const sendAsTyped = () => {
      if (asTyped.length) send.push({ bytes: escapeData(Uint8Array.from(asTyped), opts.binary), text: `${asTyped.length} bytes typed` });
      asTyped = [];
    };
    for (const b of keys) {
      if (edit && this.literal) {
        this.literal = false;
        this.line.push(b);
        show(this.shown(b));
        continue;
      }
      const trap = trapsig ? TRAPPED.find(([f]) => this.key(f) === b) : undefined;
      if (trap) {
        sendAsTyped();
        const [f, command, drops] = trap;
        if (drops) this.line = [];
        show(caret(b) + (drops && edit ? '\r\n' : ''));
        send.push({ bytes: Uint8Array.of(IAC, command), text: `IAC ${commandName(command)} (${caret(b)}, ${SLC_NAMES[f]})` });
        continue;
      }
      if (!edit) {
        asTyped.push(b);
        continue;
      }
      if (b === this.key(F.EC) || (b === 0x08 && this.key(F.EC) === 0x7f) || (b === 0x7f && this.key(F.EC) === 0x08)) {
        this.eraseOne(show);
      } else if (b === this.key(F.EW)) {
        while (this.line.at(-1) === 0x20) this.eraseOne(show);
        while (this.line.length > 0 && this.line.at(-1) !== 0x20) this.eraseOne(show);
      } else if (b === this.key(F.EL)) {
        while (this.line.length > 0) this.eraseOne(show);
      } else if (b === this.key(F.RP)) {
        show(`${caret(b)}\r\n`);
        for (const c of this.line) show(this.shown(c));
      } else if (b === this.key(F.LNEXT)) {
        this.literal = true;
      } else if (b === this.key(F.EOF)) {
        // At the start of a line: the end of input (IAC EOF, RFC 1184 2.5); inside one, the line goes as it stands.
        if (this.line.length === 0) send.push({ bytes: Uint8Array.of(IAC, Cmd.EOF), text: `IAC EOF (${caret(b)})` });
        else send.push(...this.flush());
      } else if (b === 0x0d || b === 0x0a) {
        // RFC 1184 5.2: a line ends with CR LF, which the server turns into the newline its pty expects. In BINARY the
        // server passes bytes as they are, and a pty in external processing (EXTPROC) maps no CR: the line ends with
        // LF, as BSD telnet sends the line its own terminal read. A browser's Enter is CR; the LF of a CR LF typed
        // together adds nothing.
        if (b === 0x0a && this.lastWasCr) {
          this.lastWasCr = false;
          continue;
        }
        this.line.push(...(opts.binary ? [0x0a] : [0x0d, 0x0a]));
        show('\r\n');
        send.push(...this.flush());
      } else {
        this.line.push(b);
        show(this.shown(b));
        if (b === this.key(F.FORW1) || b === this.key(F.FORW2) || this.line.length >= MAX_LINE) send.push(...this.flush());
      }
      this.lastWasCr = b === 0x0d;
    }
    sendAsTyped();
    return { send, echo: Uint8Array.from(echo) };
  }

  /** How a typed byte is echoed: control characters as ^X unless LIT_ECHO, tabs as spaces with SOFT_TAB. */
  private shown(b: number): number[] {
    if (b === 0x09) return this.mode & Mode.SOFT_TAB ? [0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20] : [0x09];
    if ((b < 0x20 || b === 0x7f) && !(this.mode & Mode.LIT_ECHO)) return Array.from(caret(b), (c) => c.charCodeAt(0));
    return [b];
  }

  /** Drops the last character of the line (a UTF-8 sequence whole) and rubs it out on the screen. */
  private eraseOne(show: (t: string) => void): void {
    let b = this.line.pop();
    while (b !== undefined && (b & 0xc0) === 0x80 && this.line.length > 0) b = this.line.pop();
    if (b !== undefined) show('\b \b'.repeat(b >= 0x80 ? 1 : this.shown(b).length));
  }
}
