// Telnet, RFC 854 (NVT, IAC commands) and RFC 855 (option negotiation, subnegotiation), with the options this
// client speaks: TERMINAL-TYPE (RFC 1091), NAWS (RFC 1073), END-OF-RECORD (RFC 885), ECHO (RFC 857), SGA (RFC 858),
// BINARY (RFC 856), NEW-ENVIRON (RFC 1572: USER and other variables), the older ENVIRON (RFC 1408, answered the
// same way) and LINEMODE (RFC 1184: accepted when the settings say so; its MODE, SLC and FORWARDMASK are answered by
// linemode.ts, and named here for the transcript). The negotiation follows RFC 1143's rule: answer only what changes
// a state, so no loop can start.
import { ProtocolError } from '../../core/errors.ts';

export const IAC = 255;
// EOF, SUSP and ABORT are RFC 1184's (2.5): what a client in LINEMODE with TRAPSIG or EDIT sends for those keys.
export const Cmd = { SE: 240, NOP: 241, DM: 242, BRK: 243, IP: 244, AO: 245, AYT: 246, EC: 247, EL: 248, GA: 249, SB: 250, WILL: 251, WONT: 252, DO: 253, DONT: 254, EOR: 239, ABORT: 238, SUSP: 237, EOF: 236 } as const;
const CMD_NAMES = Object.fromEntries(Object.entries(Cmd).map(([k, v]) => [v, k])) as Record<number, string>;

export const Opt = { BINARY: 0, ECHO: 1, SGA: 3, STATUS: 5, TIMING_MARK: 6, TTYPE: 24, EOR: 25, NAWS: 31, TSPEED: 32, LFLOW: 33, LINEMODE: 34, XDISPLOC: 35, ENVIRON: 36, AUTHENTICATION: 37, ENCRYPT: 38, NEW_ENVIRON: 39 } as const;
const OPT_NAMES: Record<number, string> = {
  0: 'BINARY',
  1: 'ECHO',
  3: 'SUPPRESS-GO-AHEAD',
  5: 'STATUS',
  6: 'TIMING-MARK',
  24: 'TERMINAL-TYPE',
  25: 'END-OF-RECORD',
  31: 'NAWS',
  32: 'TERMINAL-SPEED',
  33: 'TOGGLE-FLOW-CONTROL',
  34: 'LINEMODE',
  35: 'X-DISPLAY-LOCATION',
  36: 'ENVIRON',
  37: 'AUTHENTICATION',
  38: 'ENCRYPT',
  39: 'NEW-ENVIRON',
};

export function optionName(o: number): string {
  return OPT_NAMES[o] ?? `option ${o}`;
}

export function commandName(c: number): string {
  return CMD_NAMES[c] ?? `command ${c}`;
}

export type Verb = 'WILL' | 'WONT' | 'DO' | 'DONT';

export type TelnetEvent =
  | { type: 'data'; bytes: Uint8Array }
  | { type: 'negotiate'; verb: Verb; option: number }
  | { type: 'subnegotiation'; option: number; data: Uint8Array }
  | { type: 'command'; command: string };

const MAX_SB = 4096;

/**
 * Splits the server's stream into data and commands, across any chunking (sans-I/O).
 * How it works: a small state machine — data, after IAC, after a verb, inside SB, after IAC inside SB.
 * IAC IAC is a data byte 255; CR NUL is a bare CR (RFC 854 "NVT").
 */
export class TelnetParser {
  private state: 'data' | 'iac' | 'verb' | 'sb' | 'sbIac' = 'data';
  private verb = 0;
  private sb: number[] = [];
  private lastCr = false;

  feed(chunk: Uint8Array): TelnetEvent[] {
    const events: TelnetEvent[] = [];
    let data: number[] = [];
    const flush = () => {
      if (data.length) events.push({ type: 'data', bytes: Uint8Array.from(data) });
      data = [];
    };
    for (const b of chunk) {
      switch (this.state) {
        case 'data':
          if (b === IAC) this.state = 'iac';
          else if (this.lastCr && b === 0) this.lastCr = false;
          else {
            data.push(b);
            this.lastCr = b === 0x0d;
          }
          break;
        case 'iac':
          this.lastCr = false;
          if (b === IAC) {
            data.push(IAC);
            this.state = 'data';
          } else if (b === Cmd.WILL || b === Cmd.WONT || b === Cmd.DO || b === Cmd.DONT) {
            this.verb = b;
            this.state = 'verb';
          } else if (b === Cmd.SB) {
            this.sb = [];
            this.state = 'sb';
          } else {
            flush();
            events.push({ type: 'command', command: commandName(b) });
            this.state = 'data';
          }
          break;
        case 'verb':
          flush();
          events.push({ type: 'negotiate', verb: commandName(this.verb) as Verb, option: b });
          this.state = 'data';
          break;
        case 'sb':
          if (b === IAC) this.state = 'sbIac';
          else {
            if (this.sb.length >= MAX_SB) throw new ProtocolError(`telnet subnegotiation longer than ${MAX_SB} bytes`);
            this.sb.push(b);
          }
          break;
        case 'sbIac':
          if (b === IAC) {
            this.sb.push(IAC);
            this.state = 'sb';
          } else if (b === Cmd.SE) {
            flush();
            if (this.sb.length === 0) throw new ProtocolError('telnet subnegotiation without an option (IAC SB IAC SE)');
            events.push({ type: 'subnegotiation', option: this.sb[0], data: Uint8Array.from(this.sb.slice(1)) });
            this.state = 'data';
          } else {
            // RFC 855: only IAC SE ends a subnegotiation; anything else after IAC inside one is malformed.
            throw new ProtocolError(`telnet: IAC ${commandName(b)} inside a subnegotiation of ${optionName(this.sb[0] ?? -1)}`);
          }
          break;
      }
    }
    flush();
    return events;
  }
}

export function negotiation(verb: Verb, option: number): Uint8Array {
  return Uint8Array.of(IAC, Cmd[verb], option);
}

/** IAC SB option data IAC SE, with 255s in the data doubled. */
export function subnegotiation(option: number, data: readonly number[]): Uint8Array {
  const out = [IAC, Cmd.SB, option];
  for (const b of data) {
    out.push(b);
    if (b === IAC) out.push(IAC);
  }
  out.push(IAC, Cmd.SE);
  return Uint8Array.from(out);
}

/** RFC 1091: IAC SB TERMINAL-TYPE IS <name> IAC SE. */
export function terminalTypeIs(name: string): Uint8Array {
  return subnegotiation(Opt.TTYPE, [0, ...Array.from(name, (c) => c.charCodeAt(0) & 0x7f)]);
}

/** RFC 1073: IAC SB NAWS width(16) height(16) IAC SE. */
export function windowSize(cols: number, rows: number): Uint8Array {
  return subnegotiation(Opt.NAWS, [(cols >> 8) & 0xff, cols & 0xff, (rows >> 8) & 0xff, rows & 0xff]);
}

/** User data for the wire: IAC doubled; a CR not followed by LF becomes CR NUL (RFC 854, outside BINARY). */
export function escapeData(bytes: Uint8Array, binary = false): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    out.push(b);
    if (b === IAC) out.push(IAC);
    else if (!binary && b === 0x0d && bytes[i + 1] !== 0x0a) out.push(0);
  }
  return Uint8Array.from(out);
}

/** RFC 1572 §2: NEW-ENVIRON command and type codes. */
export const Environ = { IS: 0, SEND: 1, INFO: 2, VAR: 0, VALUE: 1, ESC: 2, USERVAR: 3 } as const;
const ENV_TYPES: Record<number, string> = { 0: 'VAR', 1: 'VALUE', 3: 'USERVAR' };
/** RFC 1572 §3: the well-known variables go as VAR; anything else as USERVAR. */
const WELL_KNOWN_VARS = new Set(['USER', 'JOB', 'ACCT', 'PRINTER', 'SYSTEMTYPE', 'DISPLAY']);

/**
 * RFC 1408 ENVIRON has VAR 0 and VALUE 1 and no USERVAR; RFC 1571 4 tells of servers built with the two swapped
 * (VAR 1, VALUE 0), which the codes in a SEND reveal.
 */
const OLD_ENV_TYPES: Record<number, string> = { 0: 'VAR', 1: 'VALUE' };
const OLD_ENV_SWAPPED: Record<number, string> = { 1: 'VAR', 0: 'VALUE' };

/** An ENVIRON or NEW-ENVIRON body after IS/SEND/INFO, read as (type, text) items; ESC quotes the next byte. */
function environItems(data: Uint8Array, types: Record<number, string> = ENV_TYPES): { type: string; text: string }[] {
  const items: { type: string; text: string }[] = [];
  for (let i = 0; i < data.length; i++) {
    const b = data[i];
    if (b === Environ.ESC && i + 1 < data.length) {
      if (items.length === 0) items.push({ type: '?', text: '' });
      items[items.length - 1].text += String.fromCharCode(data[++i]);
    } else if (types[b] !== undefined) items.push({ type: types[b], text: '' });
    else {
      if (items.length === 0) items.push({ type: '?', text: '' });
      items[items.length - 1].text += String.fromCharCode(b);
    }
  }
  return items;
}

/** RFC 1184 2.2: the MODE mask's bits. */
export const Mode = { EDIT: 1, TRAPSIG: 2, ACK: 4, SOFT_TAB: 8, LIT_ECHO: 16 } as const;
/** RFC 1184 2.1: LINEMODE's suboptions. */
export const LM = { MODE: 1, FORWARDMASK: 2, SLC: 3 } as const;
/** RFC 1184 2.4: the special characters, by function number, and the modifier byte's levels and flags. */
export const SLC_NAMES = ['', 'SYNCH', 'BRK', 'IP', 'AO', 'AYT', 'EOR', 'ABORT', 'EOF', 'SUSP', 'EC', 'EL', 'EW', 'RP', 'LNEXT', 'XON', 'XOFF', 'FORW1', 'FORW2', 'MCL', 'MCR', 'MCWL', 'MCWR', 'MCBOL', 'MCEOL', 'INSRT', 'OVER', 'ECR', 'EWR', 'EBOL', 'EEOL'] as const;
export const Level = { NOSUPPORT: 0, CANTCHANGE: 1, VALUE: 2, DEFAULT: 3 } as const;
export const SLC_ACK = 0x80;
export const SLC_FLUSHIN = 0x40;
export const SLC_FLUSHOUT = 0x20;
const LEVEL_NAMES = ['NOSUPPORT', 'CANTCHANGE', 'VALUE', 'DEFAULT'];

export function modeNames(mask: number): string {
  const names = Object.entries(Mode)
    .filter(([, bit]) => mask & bit)
    .map(([name]) => name.replace('_', '-'));
  return names.length ? names.join('|') : '0';
}

/** A character as a terminal shows it: ^C for control characters, ^? for DEL. */
export function caret(b: number): string {
  if (b < 0x20) return `^${String.fromCharCode(b + 0x40)}`;
  if (b === 0x7f) return '^?';
  return b < 0x80 ? String.fromCharCode(b) : `0x${b.toString(16)}`;
}

/** RFC 2941: AUTHENTICATION's commands, and the SSL type's (7, Tim Hudson's SSLtelnet, as telnetd-ssl speaks it). */
export const Auth = { IS: 0, SEND: 1, REPLY: 2, NAME: 3, NULL: 0, SSL: 7, SSL_START: 1, SSL_ACCEPT: 2, SSL_REJECT: 3 } as const;
const AUTH_TYPES: Record<number, string> = { 0: 'NULL', 1: 'KERBEROS_V4', 2: 'KERBEROS_V5', 3: 'SPX', 4: 'MINK', 5: 'SRP', 6: 'RSA', 7: 'SSL', 10: 'LOKI', 11: 'SSA', 12: 'KEA_SJ', 13: 'KEA_SJ_INTEG', 14: 'DSS', 15: 'NTLM' };

export function authTypeName(t: number): string {
  return AUTH_TYPES[t] ?? `type ${t}`;
}

function describeAuthentication(data: Uint8Array): string | null {
  const verb = ['IS', 'SEND', 'REPLY', 'NAME'][data[0]];
  if (verb === undefined) return null;
  if (data[0] === Auth.SEND) {
    const pairs: string[] = [];
    for (let i = 1; i + 1 < data.length; i += 2) pairs.push(`${authTypeName(data[i])} ${data[i + 1]}`);
    return `AUTHENTICATION SEND ${pairs.join(', ')}`;
  }
  if (data[0] === Auth.NAME) return `AUTHENTICATION NAME ${String.fromCharCode(...data.subarray(1, 65))}`;
  const what = data[1] === Auth.SSL && data.length >= 4 ? (['', 'START', 'ACCEPT', 'REJECT'][data[3]] ?? String(data[3])) : Array.from(data.subarray(3, 19), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `AUTHENTICATION ${verb} ${authTypeName(data[1])} ${data[2] ?? ''} ${what}`.trimEnd();
}

function describeLinemode(data: Uint8Array): string | null {
  if (data[0] === LM.MODE && data.length === 2) return `LINEMODE MODE ${modeNames(data[1])}`;
  if (data[0] >= Cmd.WILL && data[0] <= Cmd.DONT && data[1] === LM.FORWARDMASK) return `LINEMODE ${commandName(data[0])} FORWARDMASK${data.length > 2 ? ` ${data.length - 2} bytes` : ''}`;
  if (data[0] === LM.SLC && data.length % 3 === 1) {
    const triplets: string[] = [];
    for (let i = 1; i + 2 < data.length; i += 3) {
      const [f, m, v] = [data[i], data[i + 1], data[i + 2]];
      const flags = [LEVEL_NAMES[m & 3], m & SLC_ACK ? 'ACK' : '', m & SLC_FLUSHIN ? 'FLUSHIN' : '', m & SLC_FLUSHOUT ? 'FLUSHOUT' : ''].filter(Boolean).join('|');
      triplets.push(`${SLC_NAMES[f] ?? `function ${f}`} ${flags} ${caret(v)}`);
    }
    return `LINEMODE SLC ${triplets.join(', ')}`;
  }
  return null;
}

/** A subnegotiation by name: TERMINAL-TYPE SEND, NAWS 80x24, NEW-ENVIRON SEND VAR USER ..., LINEMODE MODE EDIT; other options in hex. */
export function describeSubnegotiation(option: number, data: Uint8Array): string {
  const hex = () => Array.from(data, (b) => b.toString(16).padStart(2, '0')).join(' ');
  if (option === Opt.TTYPE && data.length > 0) {
    if (data[0] === 1) return 'TERMINAL-TYPE SEND';
    if (data[0] === 0) return `TERMINAL-TYPE IS ${String.fromCharCode(...data.subarray(1, 41))}`;
  }
  if (option === Opt.NAWS && data.length === 4) return `NAWS ${(data[0] << 8) | data[1]}x${(data[2] << 8) | data[3]}`;
  if (option === Opt.LINEMODE) {
    const lm = describeLinemode(data);
    if (lm) return lm;
  }
  if (option === Opt.AUTHENTICATION && data.length > 0) {
    const auth = describeAuthentication(data);
    if (auth) return auth;
  }
  if ((option === Opt.NEW_ENVIRON || option === Opt.ENVIRON) && data.length > 0 && data[0] <= 2) {
    const verb = ['IS', 'SEND', 'INFO'][data[0]];
    const items = environItems(data.subarray(1, 1 + MAX_SB), option === Opt.ENVIRON ? OLD_ENV_TYPES : ENV_TYPES);
    return [`${optionName(option)} ${verb}`, ...items.map((it) => (it.type === 'VALUE' ? `VALUE ${JSON.stringify(it.text)}` : `${it.type}${it.text ? ` ${it.text}` : ''}`))].join(' ');
  }
  return `${optionName(option)} ${hex()}`;
}

/**
 * RFC 1572: IAC SB NEW-ENVIRON IS (VAR|USERVAR name VALUE value)* IAC SE, special bytes escaped; `wanted` narrows it
 * (empty: all). RFC 1408 (`old`): IAC SB ENVIRON IS (VAR name VALUE value)*, with VAR and VALUE swapped for a server
 * that swaps them (`swapped`).
 */
export function environIs(vars: Readonly<Record<string, string>>, wanted: readonly string[], old?: { swapped: boolean }): Uint8Array {
  const out: number[] = [Environ.IS];
  const put = (text: string) => {
    for (const c of text) {
      const b = c.charCodeAt(0) & 0xff;
      if (b <= Environ.USERVAR) out.push(Environ.ESC);
      out.push(b);
    }
  };
  const [varCode, valueCode] = old?.swapped ? [Environ.VALUE, Environ.VAR] : [Environ.VAR, Environ.VALUE];
  for (const [name, value] of Object.entries(vars)) {
    if (wanted.length > 0 && !wanted.includes(name)) continue;
    out.push(old || WELL_KNOWN_VARS.has(name) ? varCode : Environ.USERVAR);
    put(name);
    out.push(valueCode);
    put(value);
  }
  return subnegotiation(old ? Opt.ENVIRON : Opt.NEW_ENVIRON, out);
}

export function describeEvent(e: TelnetEvent): string {
  switch (e.type) {
    case 'negotiate':
      return `IAC ${e.verb} ${optionName(e.option)}`;
    case 'subnegotiation':
      return `IAC SB ${describeSubnegotiation(e.option, e.data)} IAC SE`;
    case 'command':
      return `IAC ${e.command}`;
    case 'data':
      return `${e.bytes.length} bytes of data`;
  }
}

export interface TelnetSettings {
  terminalType: string;
  cols: number;
  rows: number;
  /** NEW-ENVIRON (and ENVIRON) variables offered when the server asks (USER: the login name). */
  environ?: Record<string, string>;
  /** Refuse NEW-ENVIRON, so that a server falls back to the older ENVIRON (RFC 1408). */
  oldEnvironOnly?: boolean;
  /** Accept LINEMODE (RFC 1184) when the server asks for it; refused with WONT otherwise. */
  linemode?: boolean;
  /** Accept AUTHENTICATION (RFC 2941) to ask for its SSL type: TLS from there on (telnetd-ssl). */
  authSsl?: boolean;
}

/** Where AUTH SSL stands: not begun, START sent, the server's ACCEPT, its REJECT, or SSL not among the types it offered. */
export type AuthSslState = 'idle' | 'started' | 'accepted' | 'rejected' | 'not-offered';

/**
 * The client's side of option negotiation. Options the server may enable on its side (WILL): ECHO, SGA,
 * BINARY, EOR. Options this client enables (DO from the server): TERMINAL-TYPE, NAWS, SGA, BINARY, and
 * NEW-ENVIRON and ENVIRON when there are variables to give, LINEMODE when the settings accept it (otherwise WONT, RFC
 * 1184 2.1: characters then go as typed and the server does the editing). Anything else is refused. A verb that would
 * not change the state gets no answer (RFC 1143 §4, RFC 854).
 */
export class Negotiator {
  readonly remote = new Set<number>();
  readonly local = new Set<number>();
  /** Options we asked for and have not heard back about. */
  private readonly asked = new Set<string>();
  readonly log: string[] = [];
  static readonly REMOTE_OK = new Set<number>([Opt.ECHO, Opt.SGA, Opt.BINARY, Opt.EOR]);
  static readonly LOCAL_OK = new Set<number>([Opt.TTYPE, Opt.NAWS, Opt.SGA, Opt.BINARY]);
  auth: { state: AuthSslState; offered: string[] } = { state: 'idle', offered: [] };

  constructor(public settings: TelnetSettings) {}

  /** Asks the server for something first (we send DO/WILL), remembering it so the reply is not answered again. */
  request(verb: 'DO' | 'WILL', option: number): Uint8Array {
    this.asked.add(`${verb} ${option}`);
    this.log.push(`> IAC ${verb} ${optionName(option)}`);
    return negotiation(verb, option);
  }

  /** What to send back for a server event (possibly nothing), each with its transcript line. */
  answer(e: TelnetEvent): { bytes: Uint8Array; text: string }[] {
    const out: { bytes: Uint8Array; text: string }[] = [];
    const push = (bytes: Uint8Array, text: string) => {
      this.log.push(`> ${text}`);
      out.push({ bytes, text });
    };
    const say = (verb: Verb, option: number) => push(negotiation(verb, option), `IAC ${verb} ${optionName(option)}`);
    if (e.type === 'negotiate') {
      this.log.push(`< IAC ${e.verb} ${optionName(e.option)}`);
      const o = e.option;
      switch (e.verb) {
        case 'WILL':
          if (this.remote.has(o)) break;
          if (Negotiator.REMOTE_OK.has(o)) {
            this.remote.add(o);
            if (!this.asked.delete(`DO ${o}`)) say('DO', o);
          } else if (!this.asked.delete(`DO ${o}`)) say('DONT', o);
          break;
        case 'WONT':
          this.asked.delete(`DO ${o}`);
          if (this.remote.delete(o)) say('DONT', o);
          break;
        case 'DO':
          if (this.local.has(o)) break;
          if (Negotiator.LOCAL_OK.has(o) || this.givesEnviron(o) || (o === Opt.LINEMODE && this.settings.linemode === true) || (o === Opt.AUTHENTICATION && this.settings.authSsl === true)) {
            this.local.add(o);
            if (!this.asked.delete(`WILL ${o}`)) say('WILL', o);
            if (o === Opt.NAWS) push(windowSize(this.settings.cols, this.settings.rows), `IAC SB NAWS ${this.settings.cols}x${this.settings.rows} IAC SE`);
          } else if (!this.asked.delete(`WILL ${o}`)) say('WONT', o);
          break;
        case 'DONT':
          this.asked.delete(`WILL ${o}`);
          if (this.local.delete(o)) say('WONT', o);
          break;
      }
    } else if (e.type === 'subnegotiation') {
      this.log.push(`< ${describeEvent(e)}`);
      // RFC 1091: IAC SB TERMINAL-TYPE SEND IAC SE asks for our terminal type.
      if (e.option === Opt.TTYPE && e.data[0] === 1 && this.local.has(Opt.TTYPE)) push(terminalTypeIs(this.settings.terminalType), `IAC SB TERMINAL-TYPE IS ${this.settings.terminalType} IAC SE`);
      // RFC 1572 §2: SEND, optionally naming variables, asks for them; the answer is IS with those we have.
      // RFC 1408: ENVIRON SEND the same way; a server whose SEND names a variable after code 1 swaps VAR and VALUE (RFC 1571).
      if ((e.option === Opt.NEW_ENVIRON || e.option === Opt.ENVIRON) && e.data[0] === Environ.SEND && this.local.has(e.option)) {
        const old = e.option === Opt.ENVIRON ? { swapped: e.data[1] === Environ.VALUE } : undefined;
        const wanted = environItems(e.data.subarray(1), old?.swapped ? OLD_ENV_SWAPPED : old ? OLD_ENV_TYPES : ENV_TYPES)
          .map((it) => it.text)
          .filter((t) => t !== '');
        const bytes = environIs(this.settings.environ ?? {}, wanted, old);
        push(bytes, `IAC SB ${describeSubnegotiation(e.option, bytes.subarray(3, bytes.length - 2))} IAC SE`);
      }
      if (e.option === Opt.AUTHENTICATION && this.local.has(Opt.AUTHENTICATION)) this.authenticate(e.data, push);
    }
    return out;
  }

  /**
   * NEW-ENVIRON (unless refused for the older one), or ENVIRON while NEW-ENVIRON is not on, when there are variables
   * to give: a server that asks for both (BSD telnetd) then waits on the older one too, so it is refused once the newer is on.
   */
  private givesEnviron(o: number): boolean {
    if (Object.keys(this.settings.environ ?? {}).length === 0) return false;
    if (o === Opt.ENVIRON) return !this.local.has(Opt.NEW_ENVIRON);
    return o === Opt.NEW_ENVIRON && !this.settings.oldEnvironOnly;
  }

  /**
   * RFC 2941 with the SSL type: SEND lists the types the server takes, as (type, modifiers) pairs; SSL among them is
   * answered IS SSL START, anything else IS NULL (none taken). REPLY SSL ACCEPT is the go-ahead for the TLS handshake.
   */
  private authenticate(data: Uint8Array, push: (bytes: Uint8Array, text: string) => void): void {
    const say = (body: number[]) => push(subnegotiation(Opt.AUTHENTICATION, body), `IAC SB ${describeSubnegotiation(Opt.AUTHENTICATION, Uint8Array.from(body))} IAC SE`);
    if (data[0] === Auth.SEND && this.auth.state === 'idle') {
      const pairs: [number, number][] = [];
      for (let i = 1; i + 1 < data.length; i += 2) pairs.push([data[i], data[i + 1]]);
      this.auth.offered = pairs.map(([t]) => authTypeName(t));
      const ssl = pairs.find(([t]) => t === Auth.SSL);
      if (ssl) {
        this.auth.state = 'started';
        say([Auth.IS, Auth.SSL, ssl[1], Auth.SSL_START]);
      } else {
        this.auth.state = 'not-offered';
        say([Auth.IS, Auth.NULL, 0]);
      }
    } else if (data[0] === Auth.REPLY && data[1] === Auth.SSL && this.auth.state === 'started') {
      if (data[3] === Auth.SSL_ACCEPT) this.auth.state = 'accepted';
      else if (data[3] === Auth.SSL_REJECT) this.auth.state = 'rejected';
    }
  }

  /** NAWS update after a resize, when the server accepted NAWS. */
  resize(cols: number, rows: number): Uint8Array | undefined {
    this.settings = { ...this.settings, cols, rows };
    if (!this.local.has(Opt.NAWS)) return undefined;
    this.log.push(`> IAC SB NAWS ${cols}x${rows} IAC SE`);
    return windowSize(cols, rows);
  }

  state(): { local: string[]; remote: string[] } {
    return { local: [...this.local].map(optionName), remote: [...this.remote].map(optionName) };
  }
}
