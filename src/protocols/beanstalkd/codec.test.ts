// beanstalkd codec: golden replies with and without bodies, YAML, tube names, split feed, caps, fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { encodeCommand, parseYaml, replyFrame, tubeProblem } from './codec.ts';

const b = (s: string) => utf8(s);
const frame = replyFrame();

describe('beanstalkd replies: golden bytes', () => {
  it('status lines, and bodies delimited by their byte count (CRLF inside kept)', () => {
    const job = new Uint8Array([0x00, 0x0d, 0x0a, 0xff]);
    const bytes = concat([b('INSERTED 12\r\n'), b('RESERVED 12 4\r\n'), job, b('\r\n'), b('TIMED_OUT\r\n'), b('FOUND 3 0\r\n\r\n'), b('OK 20\r\n---\nkicks: 0\nx: "a"\n\r\n')]);
    assert.deepEqual(assertSplitFeed(frame, bytes), [
      { status: 'INSERTED', args: ['12'] },
      { status: 'RESERVED', args: ['12'], body: job },
      { status: 'TIMED_OUT', args: [] },
      { status: 'FOUND', args: ['3'], body: new Uint8Array(0) },
      { status: 'OK', args: [], body: b('---\nkicks: 0\nx: "a"\n') },
    ]);
  });

  it('commands: put carries its body and CRLF', () => {
    assert.deepEqual(encodeCommand(['put', 1024, 0, 60, 3], b('a\r\n')), b('put 1024 0 60 3\r\na\r\n\r\n'));
    assert.deepEqual(encodeCommand(['reserve-with-timeout', 5]), b('reserve-with-timeout 5\r\n'));
  });

  it('YAML: mappings with numbers and strings, lists', () => {
    assert.deepEqual(parseYaml(b('---\nid: 5\ntube: "my tube"\nstate: ready\npri: 1024\nversion: "1.12"\n')), { id: 5, tube: 'my tube', state: 'ready', pri: 1024, version: '1.12' });
    assert.deepEqual(parseYaml(b('---\n- default\n- emails\n')), ['default', 'emails']);
    assert.deepEqual(parseYaml(b('---\n')), {});
    assert.throws(() => parseYaml(b('id: 5\n')), /does not start with ---/);
  });

  it('tube names', () => {
    assert.equal(tubeProblem('emails.high_(1)+$;/'), undefined);
    assert.match(tubeProblem('-x')!, /must not start with "-"/);
    assert.match(tubeProblem('a b')!, /only letters/);
    assert.match(tubeProblem('x'.repeat(201))!, /longer than 200/);
  });
});

describe('beanstalkd replies: wrong bytes and caps', () => {
  const one = (s: string, f = frame) => new FrameDecoder(f).feed(b(s));
  it('a body larger than the cap is refused from the count alone', () => {
    assert.throws(() => one('RESERVED 1 4294967296\r\n'), (e: unknown) => e instanceof ProtocolError && /RESERVED body of 4294967296 bytes exceeds/.test(e.message));
    assert.throws(() => one('OK 2048\r\n', replyFrame(1024)), /exceeds the 1024-byte limit/);
  });
  it('malformed lines', () => {
    assert.throws(() => one('INSERTED 1\n'), /CRLF/);
    assert.throws(() => one('RESERVED 1 x\r\n'), /no byte count/);
    assert.throws(() => one('FOUND 1 2\r\nabcd'), /not followed by CRLF/);
    assert.throws(() => one('hello there\r\n'), /not a beanstalkd status/);
    assert.throws(() => one('X'.repeat(2000)), /longer than 1024/);
  });
  it('fuzz', () => {
    assertFuzzSafe(replyFrame(4096), { seeds: [b('RESERVED 1 3\r\nabc\r\n'), b('OK 8\r\n---\na: 1\r\n'), b('NOT_FOUND\r\n')] });
  });
});
