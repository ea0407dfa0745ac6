// LINEMODE (RFC 1184): MODE, FORWARDMASK and SLC answered without loops, and the line editor's keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromLatin1, toHex } from '../../core/bytes.ts';
import { Cmd, IAC, Level, LM, Mode, Negotiator, Opt, SLC_ACK, SLC_FLUSHIN, SLC_FLUSHOUT } from './codec.ts';
import { Linemode } from './linemode.ts';

const keys = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const sent = (t: { send: { bytes: Uint8Array }[] }) => t.send.map((r) => fromLatin1(r.bytes));
const shown = (t: { echo: Uint8Array }) => fromLatin1(t.echo);

function editing(mode: number = Mode.EDIT | Mode.TRAPSIG): Linemode {
  const lm = new Linemode();
  lm.setOn(true);
  lm.answer(Uint8Array.of(LM.MODE, mode | Mode.ACK));
  return lm;
}

test('linemode: DO LINEMODE is WILL when the settings accept it, WONT otherwise', () => {
  const yes = new Negotiator({ terminalType: 'xterm', cols: 80, rows: 24, linemode: true });
  assert.deepEqual(yes.answer({ type: 'negotiate', verb: 'DO', option: Opt.LINEMODE }).map((r) => r.text), ['IAC WILL LINEMODE']);
  assert.deepEqual(yes.answer({ type: 'negotiate', verb: 'DONT', option: Opt.LINEMODE }).map((r) => r.text), ['IAC WONT LINEMODE']);
  const no = new Negotiator({ terminalType: 'xterm', cols: 80, rows: 24 });
  assert.deepEqual(no.answer({ type: 'negotiate', verb: 'DO', option: Opt.LINEMODE }).map((r) => r.text), ['IAC WONT LINEMODE']);
});

test('linemode: MODE is taken and acknowledged once; an ACK is not answered; FORWARDMASK is refused', () => {
  const lm = new Linemode();
  lm.setOn(true);
  const r = lm.answer(Uint8Array.of(LM.MODE, Mode.EDIT | Mode.TRAPSIG));
  assert.deepEqual(
    r.map((x) => x.text),
    ['IAC SB LINEMODE MODE EDIT|TRAPSIG|ACK IAC SE'],
  );
  assert.equal(toHex(r[0].bytes), 'fffa220107fff0');
  assert.deepEqual(lm.state().mode, ['EDIT', 'TRAPSIG']);
  assert.deepEqual(lm.answer(Uint8Array.of(LM.MODE, Mode.TRAPSIG | Mode.ACK)), []);
  assert.deepEqual(lm.state().mode, ['TRAPSIG']);
  assert.deepEqual(
    lm.answer(Uint8Array.of(Cmd.DO, LM.FORWARDMASK)).map((x) => x.text),
    ['IAC SB LINEMODE WONT FORWARDMASK IAC SE'],
  );
});

test('linemode: SLC by RFC 1184 2.4 — same values ignored, new ones taken and acknowledged, ACKs and DEFAULT, no loop', () => {
  const lm = new Linemode();
  lm.setOn(true);
  const flags = Level.VALUE | SLC_FLUSHIN | SLC_FLUSHOUT;
  // IP ^C as this side has it (flush flags aside): nothing to say. EC ^H is new: taken, acknowledged with its flags.
  const r = lm.answer(Uint8Array.of(LM.SLC, 3, flags, 0x03, 10, Level.VALUE, 0x08, 9, Level.NOSUPPORT, 0));
  assert.deepEqual(
    r.map((x) => x.text),
    ['IAC SB LINEMODE SLC EC VALUE|ACK ^H, SUSP NOSUPPORT|ACK ^@ IAC SE'],
  );
  assert.equal(lm.state().keys.EC, '^H');
  assert.equal(lm.state().keys.SUSP, undefined, 'NOSUPPORT: no key');
  // The server acknowledging what it was told, or repeating it: no answer (no loop).
  assert.deepEqual(lm.answer(Uint8Array.of(LM.SLC, 10, Level.VALUE | SLC_ACK, 0x08, 9, Level.NOSUPPORT, 0)), []);
  // An acknowledgement at the level this side has is not answered, whatever its value; one at another level is taken without a word.
  assert.deepEqual(lm.answer(Uint8Array.of(LM.SLC, 11, Level.VALUE | SLC_ACK, 0x18)), []);
  assert.equal(lm.state().keys.EL, '^U');
  assert.deepEqual(lm.answer(Uint8Array.of(LM.SLC, 11, Level.CANTCHANGE | SLC_ACK, 0x18)), []);
  assert.equal(lm.state().keys.EL, '^X');
  // DEFAULT for one function: this side's default, told back. A function past the table: NOSUPPORT.
  assert.deepEqual(lm.answer(Uint8Array.of(LM.SLC, 10, Level.DEFAULT, 0, 40, Level.VALUE, 1)).map((x) => toHex(x.bytes)), ['fffa22030a027f2800 00fff0'.replace(' ', '')]);
  // 0 DEFAULT 0: the whole table back to defaults, sent.
  const all = lm.answer(Uint8Array.of(LM.SLC, 0, Level.DEFAULT, 0));
  assert.match(all[0].text, /^IAC SB LINEMODE SLC IP VALUE \^C, AO VALUE \^O, .*EC VALUE \^\?, EL VALUE \^U, .*XOFF VALUE \^S IAC SE$/);
  assert.equal(lm.state().keys.SUSP, '^Z');
});

test('linemode EDIT: a line is edited here and sent whole with CR LF, echoed while the server does not echo', () => {
  const lm = editing();
  const t = lm.type(keys('ls -lx\x7f'), { echo: true, binary: false });
  assert.deepEqual(sent(t), [], 'nothing goes before the line ends');
  assert.equal(shown(t), 'ls -lx\b \b');
  const end = lm.type(keys(' /tmp\r'), { echo: true, binary: false });
  assert.deepEqual(sent(end), ['ls -l /tmp\r\n']);
  assert.equal(shown(end), ' /tmp\r\n');
  // Word erase, kill, reprint; a password typed while the server echoes (WILL ECHO) is not shown.
  assert.deepEqual(sent(lm.type(keys('echo one two\x17three\r'), { echo: true, binary: false })), ['echo one three\r\n']);
  const killed = lm.type(keys('wrong\x15right\x12'), { echo: true, binary: false });
  assert.equal(shown(killed), 'wrong\b \b\b \b\b \b\b \b\b \bright^R\r\nright');
  assert.deepEqual(sent(lm.type(keys('\r'), { echo: true, binary: false })), ['right\r\n']);
  const secret = lm.type(keys('hunter2\r'), { echo: false, binary: false });
  assert.deepEqual([sent(secret), shown(secret)], [['hunter2\r\n'], '']);
  // A UTF-8 character is erased whole; 255 typed is doubled on the wire.
  const utf = lm.type(Uint8Array.of(0x61, 0xc3, 0xa9, 0x7f, 0xff, 0x0d), { echo: false, binary: false });
  assert.equal(toHex(utf.send[0].bytes), '61ffff0d0a');
});

test('linemode EDIT: LNEXT quotes a key, EOF ends input on an empty line and sends a partial one, FORW1 forwards', () => {
  const lm = editing();
  const quoted = lm.type(keys('a\x16\x03b\r'), { echo: true, binary: false });
  assert.deepEqual(sent(quoted), ['a\x03b\r\n'], 'LNEXT: ^C is data');
  assert.equal(shown(quoted), 'a^Cb\r\n');
  const eof = lm.type(keys('\x04'), { echo: true, binary: false });
  assert.deepEqual(eof.send.map((r) => [toHex(r.bytes), r.text]), [[toHex(Uint8Array.of(IAC, Cmd.EOF)), 'IAC EOF (^D)']]);
  assert.deepEqual(sent(lm.type(keys('part\x04'), { echo: true, binary: false })), ['part']);
  lm.answer(Uint8Array.of(LM.SLC, 17, Level.VALUE, 0x1b));
  assert.deepEqual(sent(lm.type(keys('x\x1by'), { echo: false, binary: false })), ['x\x1b']);
});

test('linemode TRAPSIG: interrupt, quit and suspend go as IAC IP, ABORT, SUSP and drop the line; without EDIT keys go as typed', () => {
  const lm = editing();
  const ip = lm.type(keys('sleep 100\x03'), { echo: true, binary: false });
  assert.deepEqual(ip.send.map((r) => r.text), ['IAC IP (^C, IP)']);
  assert.equal(toHex(ip.send[0].bytes), 'fff4');
  assert.equal(shown(ip), 'sleep 100^C\r\n');
  assert.deepEqual(sent(lm.type(keys('\r'), { echo: false, binary: false })), ['\r\n'], 'the dropped line is gone');
  assert.deepEqual(lm.type(keys('\x1c\x1a\x14'), { echo: false, binary: false }).send.map((r) => r.text), ['IAC ABORT (^\\, ABORT)', 'IAC SUSP (^Z, SUSP)', 'IAC AYT (^T, AYT)']);
  // TRAPSIG without EDIT: characters as typed, ^C still a command.
  lm.answer(Uint8Array.of(LM.MODE, Mode.TRAPSIG | Mode.ACK));
  const raw = lm.type(keys('ab\x03c'), { echo: true, binary: false });
  assert.deepEqual(raw.send.map((r) => fromLatin1(r.bytes)), ['ab', '\xff\xf4', 'c']);
  assert.equal(shown(raw), '^C', 'no local echo of what the server edits');
  // Neither: ^C is just a byte.
  lm.answer(Uint8Array.of(LM.MODE, 0 | Mode.ACK));
  assert.deepEqual(sent(lm.type(keys('\x03'), { echo: false, binary: false })), ['\x03']);
});

test('linemode: EDIT turned off, or LINEMODE ended, with a line half typed sends it as it stands', () => {
  const lm = editing();
  lm.type(keys('vi not'), { echo: true, binary: false });
  assert.deepEqual(lm.answer(Uint8Array.of(LM.MODE, Mode.TRAPSIG)).map((r) => fromLatin1(r.bytes)), ['vi not', '\xff\xfa\x22\x01\x06\xff\xf0']);
  const again = editing();
  again.type(keys('half'), { echo: false, binary: false });
  assert.deepEqual(again.setOn(false).map((r) => fromLatin1(r.bytes)), ['half']);
  assert.equal(again.mode, 0);
});

test('linemode: SOFT-TAB and LIT-ECHO change only the echo', () => {
  const lm = editing(Mode.EDIT | Mode.SOFT_TAB | Mode.LIT_ECHO);
  const t = lm.type(keys('a\tb\x01\r'), { echo: true, binary: false });
  assert.equal(shown(t), 'a        b\x01\r\n');
  assert.deepEqual(sent(t), ['a\tb\x01\r\n']);
});

test('linemode: in BINARY a line ends with LF, the newline a pty in external processing reads (no CR mapping there)', () => {
  const lm = editing();
  assert.deepEqual(sent(lm.type(keys('id\r'), { echo: false, binary: true })), ['id\n']);
  assert.deepEqual(sent(lm.type(keys('id\r'), { echo: false, binary: false })), ['id\r\n']);
});
