import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { chunk, END_OF_STREAM, nulFrame, parseCommands, parseScanReply, parseStats, parseVersion, zCommand } from './codec.ts';

test('z-commands, INSTREAM chunks and the end marker, byte for byte', () => {
  assert.equal(toHex(zCommand('PING')), toHex(utf8('zPING\0')));
  assert.equal(toHex(chunk(utf8('abc'))), '00000003616263');
  assert.equal(toHex(END_OF_STREAM), '00000000');
});

test('NUL-terminated replies, whole, byte by byte and split; an endless reply is refused', () => {
  const replies = assertSplitFeed(nulFrame(), utf8('PONG\0stream: OK\0'));
  assert.deepEqual(replies, ['PONG', 'stream: OK']);
  assert.throws(() => nulFrame(16)(new Uint8Array(32).fill(0x41)), ProtocolError);
  assertFuzzSafe(nulFrame(64));
});

test('scan replies, VERSION, VERSIONCOMMANDS and STATS parsed', () => {
  assert.deepEqual(parseScanReply('stream: OK'), { status: 'clean' });
  assert.deepEqual(parseScanReply('stream: Eicar-Signature FOUND'), { status: 'infected', signature: 'Eicar-Signature' });
  assert.deepEqual(parseScanReply('INSTREAM size limit exceeded. ERROR'), { status: 'error', message: 'INSTREAM size limit exceeded.' });
  assert.throws(() => parseScanReply('what'), ProtocolError);
  assert.deepEqual(parseVersion('ClamAV 1.0.7/27000/Mon Jan  1 00:00:00 2024'), { engine: '1.0.7', database: 27000, databaseDate: 'Mon Jan  1 00:00:00 2024', raw: 'ClamAV 1.0.7/27000/Mon Jan  1 00:00:00 2024' });
  assert.equal(parseVersion('ClamAV 1.4.6').database, null);
  assert.deepEqual(parseCommands('ClamAV 1.4.6| COMMANDS: SCAN QUIT PING'), ['SCAN', 'QUIT', 'PING']);
  const s = parseStats('POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live 1  idle 0 max 4 idle-timeout 30\nQUEUE: 0 items\n\tSTATS 0.000002 \n\nMEMSTATS: heap N/A mmap N/A used N/A free N/A releasable N/A pools 1 pools_used 5.882M pools_total 5.964M\nEND');
  assert.deepEqual([s.pools, s.state, s.threads, s.queue], [1, 'VALID PRIMARY', { live: 1, idle: 0, max: 4, idleTimeout: 30 }, 0]);
  assert.equal(s.memory.pools_used, '5.882M');
});
