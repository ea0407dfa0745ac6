// SNPP codec: replies and multi-line help, DATA dot-stuffing, HOLD times, split feed, caps, fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { utf8 } from '../../core/bytes.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { dataLines, encodeData, holdTime, isSuccess, replyFrame } from './codec.ts';

const b = (s: string) => utf8(s);

describe('SNPP replies', () => {
  it('single lines and a 214 run closed by 250 (hfaxd HELP)', () => {
    const bytes = b('220 vm SNPP server ready.\r\n214 The following commands are recognized.\r\n214 DATA HELP\r\n250 Direct comments to FaxMaster.\r\n821 Valid pager ID\r\n550 Login incorrect.\r\n');
    assert.deepEqual(assertSplitFeed(replyFrame(), bytes), [
      { code: 220, lines: ['vm SNPP server ready.'] },
      { code: 250, lines: ['The following commands are recognized.', 'DATA HELP', 'Direct comments to FaxMaster.'] },
      { code: 821, lines: ['Valid pager ID'] },
      { code: 550, lines: ['Login incorrect.'] },
    ]);
    assert.equal(isSuccess(250), true);
    assert.equal(isSuccess(821), true);
    assert.equal(isSuccess(354), false);
    assert.equal(isSuccess(550), false);
  });
  it('wrong bytes and caps', () => {
    assert.throws(() => new FrameDecoder(replyFrame()).feed(b('HTTP/1.1 200 OK\r\n')), /three-digit code/);
    assert.throws(() => new FrameDecoder(replyFrame()).feed(b('2'.repeat(5000))), /longer than 4096/);
    assert.throws(() => new FrameDecoder(replyFrame()).feed(b('214 x\r\n'.repeat(1001))), /longer than 1000 lines/);
  });
  it('fuzz', () => {
    assertFuzzSafe(replyFrame(), { seeds: [b('220 ready\r\n'), b('214 a\r\n250 b\r\n')] });
  });
});

describe('SNPP commands', () => {
  it('DATA sends lines as they are (no dot-stuffing in SNPP) and ends with CRLF . CRLF', () => {
    assert.deepEqual(encodeData('line one\n.starts with a dot\n..two'), b('line one\r\n.starts with a dot\r\n..two\r\n.\r\n'));
    assert.deepEqual(encodeData('a\r\nb'), b('a\r\nb\r\n.\r\n'));
    assert.deepEqual(dataLines('a\r\n.\nb'), ['a', '.', 'b']);
  });
  it('HOLD time is YYMMDDHHMMSS in UTC', () => {
    assert.equal(holdTime(new Date('2027-03-04T05:06:07Z')), '270304050607 +0000');
  });
});
