// Telnet codec: IAC parsing across any split, subnegotiation escaping, and the negotiation rules (no loops).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toHex, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { escapeData, Negotiator, Opt, TelnetParser, terminalTypeIs, windowSize, type TelnetEvent } from './codec.ts';

// What inetutils telnetd opened with in the lab (first bytes): WILL AUTHENTICATION, DO TERMINAL-TYPE,
// then "hi" with an escaped 255, an SB TERMINAL-TYPE SEND, and an EOR mark.
const SERVER = Uint8Array.of(255, 251, 37, 255, 253, 24, 0x68, 0x69, 255, 255, 0x0d, 0x00, 255, 250, 24, 1, 255, 240, 255, 239);

const EXPECTED: TelnetEvent[] = [
  { type: 'negotiate', verb: 'WILL', option: 37 },
  { type: 'negotiate', verb: 'DO', option: 24 },
  { type: 'data', bytes: Uint8Array.of(0x68, 0x69, 255, 0x0d) },
  { type: 'subnegotiation', option: 24, data: Uint8Array.of(1) },
  { type: 'command', command: 'EOR' },
];

/** Data events merged, so splits that cut data in pieces compare equal. */
function merged(events: TelnetEvent[]): TelnetEvent[] {
  const out: TelnetEvent[] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (e.type === 'data' && last?.type === 'data') last.bytes = Uint8Array.from([...last.bytes, ...e.bytes]);
    else out.push(e.type === 'data' ? { type: 'data', bytes: e.bytes.slice() } : e);
  }
  return out;
}

test('telnet: the parser splits negotiation, data (IAC IAC, CR NUL), SB and EOR', () => {
  assert.deepEqual(new TelnetParser().feed(SERVER), EXPECTED);
});

test('telnet: the same stream fed one byte at a time and at random splits parses the same', () => {
  const p = new TelnetParser();
  const one: TelnetEvent[] = [];
  for (const b of SERVER) one.push(...p.feed(Uint8Array.of(b)));
  assert.deepEqual(merged(one), EXPECTED);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: SERVER.length }), { maxLength: 6 }), (cuts) => {
      const q = new TelnetParser();
      const got: TelnetEvent[] = [];
      let at = 0;
      for (const c of [...new Set(cuts)].sort((a, b) => a - b).concat(SERVER.length)) {
        got.push(...q.feed(SERVER.subarray(at, c)));
        at = c;
      }
      assert.deepEqual(merged(got), EXPECTED);
    }),
  );
});

test('telnet: TERMINAL-TYPE IS and NAWS encodings (RFC 1091, RFC 1073), 255 doubled inside SB', () => {
  assert.equal(toHex(terminalTypeIs('xterm')), 'fffa1800' + toHex(utf8('xterm')) + 'fff0');
  assert.equal(toHex(windowSize(80, 24)), 'fffa1f00500018fff0');
  assert.equal(toHex(windowSize(255, 24)), 'fffa1f00ffff0018fff0');
  assert.equal(toHex(escapeData(Uint8Array.of(0x61, 0x0d, 0xff, 0x0d, 0x0a))), '610d00ffff0d0a');
  assert.equal(toHex(escapeData(Uint8Array.of(0x0d), true)), '0d');
});

test('telnet: negotiation accepts what it supports, refuses the rest, and never answers a state it is in', () => {
  const n = new Negotiator({ terminalType: 'vt100', cols: 100, rows: 30 });
  const ask = (verb: 'WILL' | 'WONT' | 'DO' | 'DONT', option: number) => n.answer({ type: 'negotiate', verb, option }).map((r) => r.text);
  assert.deepEqual(ask('DO', Opt.TTYPE), ['IAC WILL TERMINAL-TYPE']);
  assert.deepEqual(ask('DO', Opt.TTYPE), [], 'already on: no answer, no loop');
  assert.deepEqual(ask('DO', Opt.NAWS), ['IAC WILL NAWS', 'IAC SB NAWS 100x30 IAC SE']);
  assert.deepEqual(ask('WILL', Opt.ECHO), ['IAC DO ECHO']);
  assert.deepEqual(ask('WILL', 37), ['IAC DONT AUTHENTICATION']);
  assert.deepEqual(ask('DO', Opt.LINEMODE), ['IAC WONT LINEMODE']);
  assert.deepEqual(ask('WONT', Opt.ECHO), ['IAC DONT ECHO']);
  assert.deepEqual(ask('WONT', Opt.ECHO), []);
  const sb = n.answer({ type: 'subnegotiation', option: Opt.TTYPE, data: Uint8Array.of(1) });
  assert.equal(toHex(sb[0].bytes), toHex(terminalTypeIs('vt100')));
  assert.equal(toHex(n.resize(132, 43)!), toHex(windowSize(132, 43)));
  // Our own request is not answered twice when the server agrees.
  n.request('DO', Opt.EOR);
  assert.deepEqual(ask('WILL', Opt.EOR), []);
  assert.deepEqual(n.state(), { local: ['TERMINAL-TYPE', 'NAWS'], remote: ['END-OF-RECORD'] });
});

test('telnet: an oversized or broken subnegotiation is a protocol error; random bytes throw nothing else', () => {
  assert.throws(() => new TelnetParser().feed(Uint8Array.of(255, 250, 24, 255, 251)), /IAC WILL inside a subnegotiation/);
  assert.throws(() => new TelnetParser().feed(Uint8Array.from([255, 250, 24, ...new Array(5000).fill(1)])), /longer than 4096/);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      try {
        new TelnetParser().feed(bytes);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
    { numRuns: 1000 },
  );
});

test('NEW-ENVIRON (RFC 1572): SEND is answered with IS VAR USER VALUE, special bytes escaped; refused without variables', () => {
  const n = new Negotiator({ terminalType: 'xterm', cols: 80, rows: 24, environ: { USER: 'ann', 'X\x01Y': 'v\x02' } });
  const will = n.answer({ type: 'negotiate', verb: 'DO', option: Opt.NEW_ENVIRON });
  assert.deepEqual(will.map((w) => w.text), ['IAC WILL NEW-ENVIRON']);
  // SEND VAR USER: only USER.
  const one = n.answer({ type: 'subnegotiation', option: Opt.NEW_ENVIRON, data: Uint8Array.of(1, 0, ...utf8('USER')) });
  assert.equal(toHex(one[0].bytes), toHex(Uint8Array.of(255, 250, 39, 0, 0, ...utf8('USER'), 1, ...utf8('ann'), 255, 240)));
  assert.equal(one[0].text, 'IAC SB NEW-ENVIRON IS VAR USER VALUE "ann" IAC SE');
  // A bare SEND: everything; a user variable goes as USERVAR, its control bytes behind ESC.
  const all = n.answer({ type: 'subnegotiation', option: Opt.NEW_ENVIRON, data: Uint8Array.of(1) });
  assert.equal(toHex(all[0].bytes), toHex(Uint8Array.of(255, 250, 39, 0, 0, ...utf8('USER'), 1, ...utf8('ann'), 3, 0x58, 2, 1, 0x59, 1, 0x76, 2, 2, 255, 240)));
  const none = new Negotiator({ terminalType: 'xterm', cols: 80, rows: 24 });
  assert.deepEqual(none.answer({ type: 'negotiate', verb: 'DO', option: Opt.NEW_ENVIRON }).map((w) => w.text), ['IAC WONT NEW-ENVIRON']);
});

test('ENVIRON (RFC 1408): answered like NEW-ENVIRON, every name as VAR; VAR and VALUE swapped for a server whose SEND swaps them (RFC 1571)', () => {
  const n = new Negotiator({ terminalType: 'xterm', cols: 80, rows: 24, environ: { USER: 'ann', LANG: 'C' } });
  assert.deepEqual(n.answer({ type: 'negotiate', verb: 'DO', option: Opt.ENVIRON }).map((w) => w.text), ['IAC WILL ENVIRON']);
  // A bare SEND (inetutils telnetd): the RFC's codes, VAR 0 and VALUE 1, no USERVAR.
  const all = n.answer({ type: 'subnegotiation', option: Opt.ENVIRON, data: Uint8Array.of(1) });
  assert.equal(toHex(all[0].bytes), toHex(Uint8Array.of(255, 250, 36, 0, 0, ...utf8('USER'), 1, ...utf8('ann'), 0, ...utf8('LANG'), 1, ...utf8('C'), 255, 240)));
  assert.equal(all[0].text, 'IAC SB ENVIRON IS VAR USER VALUE "ann" VAR LANG VALUE "C" IAC SE');
  // SEND 1 USER: the server calls a variable 1, so it means VAR 1 and VALUE 0.
  const swapped = n.answer({ type: 'subnegotiation', option: Opt.ENVIRON, data: Uint8Array.of(1, 1, ...utf8('USER')) });
  assert.equal(toHex(swapped[0].bytes), toHex(Uint8Array.of(255, 250, 36, 0, 1, ...utf8('USER'), 0, ...utf8('ann'), 255, 240)));
  // SEND 0 LANG: the RFC's codes, only LANG.
  const one = n.answer({ type: 'subnegotiation', option: Opt.ENVIRON, data: Uint8Array.of(1, 0, ...utf8('LANG')) });
  assert.equal(toHex(one[0].bytes), toHex(Uint8Array.of(255, 250, 36, 0, 0, ...utf8('LANG'), 1, ...utf8('C'), 255, 240)));
});

test('ENVIRON is refused once NEW-ENVIRON is on', () => {
  const n = new Negotiator({ terminalType: 'xterm', cols: 80, rows: 24, environ: { USER: 'ann' } });
  assert.deepEqual(n.answer({ type: 'negotiate', verb: 'DO', option: Opt.NEW_ENVIRON }).map((w) => w.text), ['IAC WILL NEW-ENVIRON']);
  assert.deepEqual(n.answer({ type: 'negotiate', verb: 'DO', option: Opt.ENVIRON }).map((w) => w.text), ['IAC WONT ENVIRON']);
});

test('oldEnvironOnly refuses NEW-ENVIRON and gives the variables with ENVIRON; without variables both are refused', () => {
  const n = new Negotiator({ terminalType: 'xterm', cols: 80, rows: 24, environ: { USER: 'ann' }, oldEnvironOnly: true });
  assert.deepEqual(n.answer({ type: 'negotiate', verb: 'DO', option: Opt.NEW_ENVIRON }).map((w) => w.text), ['IAC WONT NEW-ENVIRON']);
  assert.deepEqual(n.answer({ type: 'negotiate', verb: 'DO', option: Opt.ENVIRON }).map((w) => w.text), ['IAC WILL ENVIRON']);
  // A SEND for the refused option gets nothing.
  assert.deepEqual(n.answer({ type: 'subnegotiation', option: Opt.NEW_ENVIRON, data: Uint8Array.of(1) }), []);
  const none = new Negotiator({ terminalType: 'xterm', cols: 80, rows: 24 });
  assert.deepEqual(none.answer({ type: 'negotiate', verb: 'DO', option: Opt.ENVIRON }).map((w) => w.text), ['IAC WONT ENVIRON']);
});

test('LINEMODE (RFC 1184) is refused with WONT, once', () => {
  const n = new Negotiator({ terminalType: 'xterm', cols: 80, rows: 24, environ: { USER: 'ann' } });
  assert.deepEqual(n.answer({ type: 'negotiate', verb: 'DO', option: Opt.LINEMODE }).map((w) => w.text), ['IAC WONT LINEMODE']);
  assert.deepEqual(n.answer({ type: 'negotiate', verb: 'DONT', option: Opt.LINEMODE }), []);
});

test('subnegotiations are described by name', () => {
  const n = new Negotiator({ terminalType: 'vt100', cols: 80, rows: 24 });
  n.answer({ type: 'subnegotiation', option: Opt.TTYPE, data: Uint8Array.of(1) });
  n.answer({ type: 'subnegotiation', option: Opt.NEW_ENVIRON, data: Uint8Array.of(1, 0, ...utf8('USER'), 3) });
  n.answer({ type: 'subnegotiation', option: Opt.NAWS, data: Uint8Array.of(0, 132, 0, 43) });
  assert.deepEqual(n.log, ['< IAC SB TERMINAL-TYPE SEND IAC SE', '< IAC SB NEW-ENVIRON SEND VAR USER USERVAR IAC SE', '< IAC SB NAWS 132x43 IAC SE']);
});

test('AUTHENTICATION with the SSL type (RFC 2941): SEND listing SSL is answered IS SSL START, ACCEPT is the go-ahead', () => {
  const n = new Negotiator({ terminalType: 'xterm', cols: 80, rows: 24, authSsl: true });
  assert.deepEqual(n.answer({ type: 'negotiate', verb: 'DO', option: Opt.AUTHENTICATION }).map((r) => r.text), ['IAC WILL AUTHENTICATION']);
  const start = n.answer({ type: 'subnegotiation', option: Opt.AUTHENTICATION, data: Uint8Array.of(1, 2, 0, 7, 0) });
  assert.deepEqual(start.map((r) => r.text), ['IAC SB AUTHENTICATION IS SSL 0 START IAC SE']);
  assert.equal(toHex(start[0].bytes), 'fffa25000700 01fff0'.replace(' ', ''));
  assert.equal(n.auth.state, 'started');
  assert.deepEqual(n.auth.offered, ['KERBEROS_V5', 'SSL']);
  n.answer({ type: 'subnegotiation', option: Opt.AUTHENTICATION, data: Uint8Array.of(2, 7, 0, 2) });
  assert.equal(n.auth.state, 'accepted');
  // SSL not offered: IS NULL, and the state says so; without authSsl the option is refused.
  const other = new Negotiator({ terminalType: 'xterm', cols: 80, rows: 24, authSsl: true });
  other.answer({ type: 'negotiate', verb: 'DO', option: Opt.AUTHENTICATION });
  assert.deepEqual(other.answer({ type: 'subnegotiation', option: Opt.AUTHENTICATION, data: Uint8Array.of(1, 2, 0) }).map((r) => r.text), ['IAC SB AUTHENTICATION IS NULL 0 IAC SE']);
  assert.equal(other.auth.state, 'not-offered');
  const off = new Negotiator({ terminalType: 'xterm', cols: 80, rows: 24 });
  assert.deepEqual(off.answer({ type: 'negotiate', verb: 'DO', option: Opt.AUTHENTICATION }).map((r) => r.text), ['IAC WONT AUTHENTICATION']);
});
