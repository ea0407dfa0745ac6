import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { parseDefinitionHeader, parsePairs, quote, splitWords, statusFrame, textBlockFrame } from './codec.ts';

// A DEFINE exchange as dictd sends it (RFC 2229 3.2.3): preliminary 150, one 151 with its text, 250.
const DEFINE = utf8(
  '150 1 definitions retrieved\r\n' +
    '151 "portolan" portolan "Portolan Lab Dictionary"\r\n' +
    'portolan\r\n   a medieval navigational chart\r\n..dot-stuffed line\r\n.\r\n' +
    '250 ok [d/m/c = 1/0/20; 0.000r 0.000u 0.000s]\r\n',
);

test('status lines and text blocks, split at every point', () => {
  const statuses = assertSplitFeed(statusFrame, utf8('220 dictd 1.13 <auth.mime> <1.2@host>\r\n250 ok\r\n'));
  assert.deepEqual(statuses, [
    { code: 220, text: 'dictd 1.13 <auth.mime> <1.2@host>' },
    { code: 250, text: 'ok' },
  ]);
  const text = assertSplitFeed(textBlockFrame(), utf8('line one\r\n..starts with a dot\r\n.\r\n'));
  assert.deepEqual(text, ['line one\n.starts with a dot']);
});

test('a whole DEFINE answer decodes: header, unstuffed text, final status', () => {
  const status = statusFrame(DEFINE)!;
  assert.deepEqual(status.value, { code: 150, text: '1 definitions retrieved' });
  const head = statusFrame(DEFINE.subarray(status.size))!;
  assert.deepEqual(parseDefinitionHeader(head.value.text), { word: 'portolan', database: 'portolan', description: 'Portolan Lab Dictionary' });
  const body = textBlockFrame()(DEFINE.subarray(status.size + head.size))!;
  assert.equal(body.value, 'portolan\n   a medieval navigational chart\n.dot-stuffed line');
});

test('UTF-8 definitions decode from bytes', () => {
  assert.deepEqual(textBlockFrame()(utf8('Grüße ⚓\r\n.\r\n'))!.value, 'Grüße ⚓');
});

test('malformed status lines are ProtocolErrors; decoders survive fuzz', () => {
  assert.throws(() => statusFrame(utf8('NOT A PROTOCOL\r\n')), ProtocolError);
  assert.throws(() => statusFrame(utf8('2500 ok\r\n')), ProtocolError);
  assertFuzzSafe(statusFrame, { seeds: [DEFINE] });
  assertFuzzSafe(textBlockFrame(4096), { seeds: [DEFINE] });
});

test('words: quoting both ways', () => {
  assert.deepEqual(splitWords('"a b" c \'d e\' "f\\"g"'), ['a b', 'c', 'd e', 'f"g']);
  assert.equal(quote('simple'), 'simple');
  assert.equal(quote('two words'), '"two words"');
  assert.equal(quote('say "hi"'), '"say \\"hi\\""');
  assert.deepEqual(parsePairs('portolan "Portolan Lab Dictionary"\nports "Portolan Lab Ports"\n'), [
    { name: 'portolan', description: 'Portolan Lab Dictionary' },
    { name: 'ports', description: 'Portolan Lab Ports' },
  ]);
});
